package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/telemetry"
)

type identityKey struct{}

// inProcessKey carries the caller of a request that code of this process built and hands to
// the API's handler itself (the dashboard, which authenticated its own session cookie). Only a
// context value can carry it, and a request from the network has no way to set one: the server
// builds its context, and nothing in the API copies a header, cookie or query parameter into it.
type inProcessKey struct{}

// inProcess is an in-process caller: who, and how to check them again.
type inProcess struct {
	id    *rbac.Identity
	again Reauthenticate
}

// Reauthenticate makes an in-process caller's identity again, for a long request (the live
// stream) that checks its caller periodically. It returns an error wrapping
// identity.ErrUnauthenticated when the caller may no longer act.
type Reauthenticate func(ctx context.Context) (*rbac.Identity, error)

// WithIdentity returns ctx marking the request it is attached to as made by id, for a request
// built in this process and served by the API's handler directly. The guard then takes id as the
// caller without a bearer credential; permissions are checked as for any other caller. again
// checks the caller anew where a bearer credential would be verified again; nil ends such a
// request at its first check. Code that forwards a network request must never use it: the
// identity must be one this process authenticated. A nil id leaves the request unauthenticated.
func WithIdentity(ctx context.Context, id *rbac.Identity, again Reauthenticate) context.Context {
	return context.WithValue(ctx, inProcessKey{}, inProcess{id: id, again: again})
}

// inProcessOf returns the in-process caller of r, if r has one.
func inProcessOf(r *http.Request) (inProcess, bool) {
	ip, ok := r.Context().Value(inProcessKey{}).(inProcess)
	return ip, ok && ip.id != nil
}

// identityOf returns who made r (nil on a public route).
func identityOf(r *http.Request) *rbac.Identity {
	id, _ := r.Context().Value(identityKey{}).(*rbac.Identity)
	return id
}

// bearer returns the credential of an "Authorization: Bearer …" header, and whether the header
// was there at all.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(cred), true
}

// guard lets a request reach next only with a valid credential holding a's permission in some
// namespace: 401 without one, 403 naming the missing permission. The handler checks the
// permission again in the namespace of the object it touches.
func (s *Server) guard(a access, next http.HandlerFunc) http.Handler {
	if a.public {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next(w, r.WithContext(domain.WithActor(r.Context(), s.actor(r, nil))))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, present := bearer(r)
		var (
			id  *rbac.Identity
			err error
		)
		if ip, ok := inProcessOf(r); ok {
			id = ip.id
		} else {
			id, err = s.ident.Authenticate(r.Context(), cred)
		}
		switch {
		case errors.Is(err, identity.ErrUnauthenticated):
			challenge := `Bearer realm="vecron"`
			detail := "sign in: send Authorization: Bearer <token> (POST /api/v1/auth/login, or an API token)"
			if present {
				challenge += `, error="invalid_token"`
				detail = "the credential is not valid: expired, revoked, or not a token of this API"
			}
			w.Header().Set("WWW-Authenticate", challenge)
			writeProblem(w, problem{Status: http.StatusUnauthorized, Detail: detail})
			return
		case err != nil:
			writeError(w, r, s.log, err)
			return
		}
		if a.perm != "" && !id.CanAnywhere(a.perm) {
			writeProblem(w, problem{Status: http.StatusForbidden, Detail: "missing permission " + string(a.perm)})
			return
		}
		ctx := domain.WithActor(context.WithValue(r.Context(), identityKey{}, id), s.actor(r, id))
		// The username or the token's name, never the credential: every line the request logs
		// with its context says who asked.
		ctx = telemetry.WithLogAttrs(ctx, "user", id.Name)
		next(w, r.WithContext(domain.WithCaller(ctx, callerOf(id))))
	})
}

// actor is who makes r, for the audit log: the identity, or an anonymous caller of a public
// route (whom a login names once it knows the user).
func (s *Server) actor(r *http.Request, id *rbac.Identity) domain.Actor {
	a := domain.Actor{Kind: "anonymous", SourceIP: s.ident.ClientAddr(r), UserAgent: printable(r.UserAgent(), 512),
		RequestID: r.Header.Get(requestIDHeader)}
	if id != nil {
		a.ID, a.Name, a.Kind, a.Mode = id.Subject, id.Name, string(id.Kind), id.Mode
	}
	return a
}

// printable returns s as UTF-8 of at most max bytes, cut at a character: a header is whatever
// bytes the client sent, and the audit log stores text.
func printable(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// callerOf is id as a job's chains record their editor: the token or the user, found again by
// id when a chained run starts; a user of the identity provider by the groups they came with.
func callerOf(id *rbac.Identity) domain.Caller {
	c := domain.Caller{Rights: id}
	switch {
	case id.Kind == rbac.KindToken:
		c.Editor.TokenID = id.Subject
	case id.Mode == "oidc":
		c.Editor.Groups = slices.Clone(id.Groups)
	default:
		c.Editor.UserID = id.UserID
	}
	return c
}
