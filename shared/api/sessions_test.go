package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// signedIn returns a client that calls the API with an access token of u's own, from a password
// login: a person, not an API token.
func (c *client) signedIn(u *domain.User) *client {
	c.t.Helper()
	other := *c
	other.token = ""
	code, _, b := other.do(http.MethodPost, "/api/v1/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Username, testfactory.Password))
	require.Equal(c.t, http.StatusOK, code, string(b))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(c.t, json.Unmarshal(b, &tok))
	other.token = tok.AccessToken
	return &other
}

type sessionPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

func (c *client) sessions(path string) sessionPage {
	c.t.Helper()
	code, _, b := c.do(http.MethodGet, path, "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var p sessionPage
	require.NoError(c.t, json.Unmarshal(b, &p))
	return p
}

func ids(p sessionPage) []string {
	var out []string
	for _, s := range p.Items {
		out = append(out, s["id"].(string))
	}
	return out
}

// valid reports whether the session whose token hashes to hash still signs its browser in.
func valid(t *testing.T, st *store.Store, ds *domain.DashboardSession) bool {
	t.Helper()
	_, err := st.DashboardSession(t.Context(), ds.TokenHash, time.Now())
	if err != nil {
		require.ErrorIs(t, err, domain.ErrNotFound)
		return false
	}
	return true
}

// TestSessionsRefuseHostileCallers: only an admin of every namespace lists or ends others'
// sessions; an admin of one namespace, an operator, or an API token of an admin's cannot, and a
// user ending "their own" session by another's id gets 404 and ends nothing. Nothing answered
// holds what would sign anyone in.
func TestSessionsRefuseHostileCallers(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	victim := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	theirs, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{User: victim})
	idp, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{Subject: "sub-" + uuid.NewString()[:8], Username: "lan", Groups: []string{"ops"}})

	nsAdmin := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleAdmin, Namespace: "team-a"})
	operator := testfactory.User(t, c.st, testfactory.UserOpts{Role: rbac.RoleOperator})
	mine, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{User: operator})
	for name, hostile := range map[string]*client{
		"AdminOfOneNamespace": c.signedIn(nsAdmin),
		"Operator":            c.signedIn(operator),
	} {
		for _, req := range []struct{ method, path, body string }{
			{http.MethodGet, "/api/v1/sessions", ""},
			{http.MethodGet, "/api/v1/sessions?user_id=" + victim.ID, ""},
			{http.MethodDelete, "/api/v1/sessions/" + theirs.ID, ""},
			{http.MethodPost, "/api/v1/sessions/end", `{"user_id":"` + victim.ID + `"}`},
			{http.MethodPost, "/api/v1/sessions/end", `{"subject":"` + idp.OIDCSubject + `"}`},
		} {
			p := hostile.problem(req.method, req.path, req.body, http.StatusForbidden)
			require.Contains(t, p.Detail, "missing permission user:admin", "%s: %s %s", name, req.method, req.path)
		}
		// Another's session through the route of one's own: as if it did not exist.
		hostile.problem(http.MethodDelete, "/api/v1/auth/sessions/"+theirs.ID, "", http.StatusNotFound)
		hostile.problem(http.MethodDelete, "/api/v1/auth/sessions/"+idp.ID, "", http.StatusNotFound)
		hostile.problem(http.MethodDelete, "/api/v1/auth/sessions/not-a-session", "", http.StatusNotFound)
	}
	require.True(t, valid(t, c.st, theirs), "no refused call ended the admin's session")
	require.True(t, valid(t, c.st, idp), "nor the identity provider's user's")

	// Even an admin's API token manages no sign-ins: a leaked token of a pipeline must not end
	// (or list) its owner's sessions.
	tokenOfAdmin := *c
	tokenOfAdmin.token = testfactory.APIToken(t, c.st, victim.ID, domain.AllNamespaces, nil)
	tokenOfAdmin.problem(http.MethodGet, "/api/v1/auth/sessions", "", http.StatusForbidden)
	tokenOfAdmin.problem(http.MethodDelete, "/api/v1/auth/sessions/"+theirs.ID, "", http.StatusForbidden)
	anonymous := *c
	anonymous.token = ""
	anonymous.problem(http.MethodGet, "/api/v1/auth/sessions", "", http.StatusUnauthorized)
	anonymous.problem(http.MethodDelete, "/api/v1/sessions/"+theirs.ID, "", http.StatusUnauthorized)

	// One's own: listed, with nothing that signs in; ended.
	own := c.signedIn(operator)
	list := own.sessions("/api/v1/auth/sessions")
	require.Equal(t, []string{mine.ID}, ids(list))
	keys := make([]string, 0, len(list.Items[0]))
	for k := range list.Items[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	require.Equal(t, []string{"created_at", "expires_at", "id", "idle_expires_at", "last_seen_at", "mode", "user_id", "username"}, keys)
	code, _, b := own.do(http.MethodDelete, "/api/v1/auth/sessions/"+mine.ID, "")
	require.Equal(t, http.StatusOK, code, string(b))
	require.False(t, valid(t, c.st, mine))
	require.Empty(t, own.sessions("/api/v1/auth/sessions").Items)
	own.problem(http.MethodDelete, "/api/v1/auth/sessions/"+mine.ID, "", http.StatusNotFound)
}

// TestSessionsInputIsValidated: every refusal of what a caller sent is a 400 or 404 naming the
// field, never a 500.
func TestSessionsInputIsValidated(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for query, field := range map[string]string{
		"user_id=nope":                               "user_id",
		"subject=":                                   "subject",
		"subject=" + url.QueryEscape("a\nb"):         "subject",
		"subject=" + strings.Repeat("s", 256):        "subject",
		"user_id=" + uuid.NewString() + "&subject=x": "subject",
		"mode=ldap":                                  "mode",
		"limit=0":                                    "limit",
		"limit=501":                                  "limit",
		"cursor=!!!":                                 "cursor",
		"cursor=" + encodedCursor():                  "cursor",
	} {
		p := c.problem(http.MethodGet, "/api/v1/sessions?"+query, "", http.StatusBadRequest)
		require.Contains(t, fields(p), field, query)
	}
	for body, field := range map[string]string{
		`{}`:              "user_id",
		`{"user_id":"x"}`: "user_id",
		`{"subject":"` + strings.Repeat("s", 256) + `"}`:       "subject",
		`{"subject":"a\u0000b"}`:                               "subject",
		`{"user_id":"` + uuid.NewString() + `","subject":"s"}`: "subject",
	} {
		p := c.problem(http.MethodPost, "/api/v1/sessions/end", body, http.StatusBadRequest)
		require.Contains(t, fields(p), field, body)
	}
	c.problem(http.MethodPost, "/api/v1/sessions/end", `{"user_id":"`+uuid.NewString()+`"}`, http.StatusNotFound)
	c.problem(http.MethodPost, "/api/v1/sessions/end", `{"subject":1}`, http.StatusBadRequest)
	c.problem(http.MethodPost, "/api/v1/sessions/end", `{"subject":"s","extra":true}`, http.StatusBadRequest)
	c.problem(http.MethodPost, "/api/v1/sessions/end", `{"subject":"s"}`, http.StatusUnsupportedMediaType, "Content-Type", "text/plain")
	for _, id := range []string{"x", "1' OR '1'='1", uuid.NewString()} {
		c.problem(http.MethodDelete, "/api/v1/sessions/"+url.PathEscape(id), "", http.StatusNotFound)
	}
}

// encodedCursor is a cursor of the right shape whose id is not a session id.
func encodedCursor() string {
	return "MTAwMF9ub3QtYS11dWlk" // "1000_not-a-uuid"
}

// TestAdminEndsSessions: an admin lists a user's sessions, ends one, then all of a database
// user's or of an identity provider's subject; each end is in the audit log in the same
// transaction, and a database user's login's refresh tokens end with it. Others' sessions stay.
func TestAdminEndsSessions(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	user := testfactory.User(t, c.st, testfactory.UserOpts{})
	first, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{User: user})
	second, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{User: user})
	sub := "sub-" + uuid.NewString()[:8]
	idp1, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{Subject: sub, Username: "lan", Groups: []string{"ops"}})
	idp2, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{Subject: sub, Username: "lan", Groups: []string{"ops"}})
	bystander, _ := testfactory.DashboardSession(t, c.st, testfactory.SessionOpts{User: testfactory.User(t, c.st, testfactory.UserOpts{})})

	require.ElementsMatch(t, []string{first.ID, second.ID}, ids(c.sessions("/api/v1/sessions?user_id="+user.ID)))
	list := c.sessions("/api/v1/sessions?subject=" + sub)
	require.ElementsMatch(t, []string{idp1.ID, idp2.ID}, ids(list))
	require.Equal(t, "lan", list.Items[0]["username"])
	require.Equal(t, []any{"ops"}, list.Items[0]["groups"])
	page := c.sessions("/api/v1/sessions?mode=oidc&limit=1&subject=" + sub)
	require.Len(t, page.Items, 1)
	rest := c.sessions("/api/v1/sessions?mode=oidc&limit=1&subject=" + sub + "&cursor=" + page.NextCursor)
	require.ElementsMatch(t, []string{idp1.ID, idp2.ID}, append(ids(page), ids(rest)...), "the cursor pages through")

	code, h, b := c.do(http.MethodDelete, "/api/v1/sessions/"+first.ID, "")
	require.Equal(t, http.StatusOK, code, string(b))
	require.False(t, valid(t, c.st, first))
	require.True(t, valid(t, c.st, second))
	_, err := c.st.RotateRefreshToken(t.Context(), first.RefreshHash, &domain.RefreshToken{ID: uuid.NewString(), UserID: user.ID,
		Hash: []byte(uuid.NewString()), ExpiresAt: time.Now().Add(time.Hour)}, time.Now())
	require.Error(t, err, "the login's refresh tokens ended with the session")
	rows := c.audit("action=session.end&object_id=" + user.ID).Items
	require.Len(t, rows, 1)
	require.Equal(t, h.Get("X-Request-Id"), rows[0].RequestID, "recorded with the request that ended it")
	require.Contains(t, string(rows[0].After), first.ID)
	c.problem(http.MethodDelete, "/api/v1/sessions/"+first.ID, "", http.StatusNotFound)

	code, _, b = c.do(http.MethodPost, "/api/v1/sessions/end", `{"subject":"`+sub+`"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	var ended struct {
		Ended    int                  `json:"ended"`
		Sessions []domain.SessionInfo `json:"sessions"`
	}
	require.NoError(t, json.Unmarshal(b, &ended))
	require.Equal(t, 2, ended.Ended)
	require.False(t, valid(t, c.st, idp1))
	require.False(t, valid(t, c.st, idp2))
	require.Len(t, c.audit("action=session.end&object_id=oidc:"+sub).Items, 1)

	code, _, b = c.do(http.MethodPost, "/api/v1/sessions/end", `{"user_id":"`+user.ID+`"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	require.Contains(t, string(b), `"ended":1`)
	require.False(t, valid(t, c.st, second))
	require.True(t, valid(t, c.st, bystander), "another user's session stays")
	require.Empty(t, c.sessions("/api/v1/sessions?user_id="+user.ID).Items)
}
