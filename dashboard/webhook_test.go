package dashboard_test

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/webhook"
)

var (
	hookURLInput    = regexp.MustCompile(`id="hook-url" readonly value="([^"]+)"`)
	hookSecretInput = regexp.MustCompile(`id="hook-secret" readonly value="([^"]+)"`)
)

// callHook posts body to url signed with secret, and answers the status.
func callHook(t *testing.T, url, secret, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, now, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestWebhookPage: an editor enables a job's webhook from the dashboard and is shown the URL,
// the secret and a curl example once; they work; the page shows only the hint afterwards, in
// English and Vietnamese; disabling makes calls 403; a viewer sees no button and cannot post.
func TestWebhookPage(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	editor := srv.User(t, rbac.RoleEditor, "pay")
	body, err := json.Marshal(map[string]any{"name": "orders in", "namespace": "pay",
		"http": map[string]string{"url": "http://example.test/run"}, "triggers": []any{map[string]any{"webhook": map[string]any{}}}})
	require.NoError(t, err)
	code, b := srv.API(t, srv.Token(t, editor), http.MethodPost, "/api/v1/jobs", string(body))
	require.Equal(t, http.StatusCreated, code, b)
	var j struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(b), &j))
	page := "/jobs/" + j.ID + "/webhook"

	c := newClient(t, srv)
	c.login(editor.Username)
	r := c.get("/jobs/" + j.ID)
	require.Contains(t, r.body, `href="`+page+`"`)
	r = c.get(page)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, `id="hook-none"`)

	r = c.post(page, url.Values{"csrf": {c.csrf(page)}})
	require.Equal(t, http.StatusCreated, r.StatusCode, r.body)
	hookURL := html.UnescapeString(hookURLInput.FindStringSubmatch(r.body)[1])
	secret := html.UnescapeString(hookSecretInput.FindStringSubmatch(r.body)[1])
	require.True(t, strings.HasPrefix(hookURL, srv.URL+"/hooks/vwh_"), hookURL)
	require.True(t, strings.HasPrefix(secret, "whsec_"))
	require.Contains(t, html.UnescapeString(r.body), "SECRET='"+secret+"'", "the curl example carries the secret")
	require.Contains(t, html.UnescapeString(r.body), "curl -X POST '"+hookURL+"'")
	require.Equal(t, http.StatusAccepted, callHook(t, hookURL, secret, `{"order":1}`))

	token := strings.TrimPrefix(hookURL, srv.URL+"/hooks/")
	for _, lang := range []string{"en", "vi"} {
		r = c.get(page, "Accept-Language", lang)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		require.NotContains(t, r.body, secret, lang)
		require.NotContains(t, r.body, token, lang)
		require.Contains(t, r.body, "/hooks/"+token[:8]+"…", lang)
		require.Contains(t, r.body, `id="hook-disable"`, lang)
	}
	require.Contains(t, c.get(page, "Accept-Language", "vi").body, "Tạo lại mã và khóa bí mật")

	r = c.post(page+"/disable", url.Values{"csrf": {c.csrf(page)}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	r = c.get(r.Header.Get("Location"))
	require.Contains(t, r.body, "The webhook is disabled")
	require.Contains(t, r.body, "Disabled: calls are refused (403)", "the state is said in words, not by colour")
	require.Equal(t, http.StatusForbidden, callHook(t, hookURL, secret, `{"order":2}`))

	viewer := srv.User(t, rbac.RoleViewer, "pay")
	v := newClient(t, srv)
	v.login(viewer.Username)
	r = v.get(page)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.NotContains(t, r.body, `id="hook-enable"`)
	require.Contains(t, r.body, "job:write")
	r = v.post(page, url.Values{"csrf": {v.csrf(page)}})
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	require.NotContains(t, r.body, "whsec_")
}
