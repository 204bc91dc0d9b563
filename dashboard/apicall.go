package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
)

// apiResponse is what the API answered an in-process request.
type apiResponse struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *apiResponse) Header() http.Header         { return a.header }
func (a *apiResponse) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *apiResponse) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// ok reports whether the API answered with a 2xx status.
func (a *apiResponse) ok() bool { return a.status >= 200 && a.status < 300 }

// decode reads the JSON answer into v.
func (a *apiResponse) decode(v any) error {
	if err := json.Unmarshal(a.body.Bytes(), v); err != nil {
		return fmt.Errorf("dashboard: api answer (%d): %w", a.status, err)
	}
	return nil
}

// problem is an RFC 9457 answer of the API.
type problem struct {
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Errors []domain.FieldError `json:"errors"`
}

// problem reads the API's error answer; a body that is none gives the status alone.
func (a *apiResponse) problem() problem {
	var p problem
	_ = json.Unmarshal(a.body.Bytes(), &p)
	p.Status = a.status
	return p
}

// reauthenticate checks the session of the browser's request r again, for an API request
// that outlives a page (the live stream).
func (ui *UI) reauthenticate(r *http.Request) api.Reauthenticate {
	return func(ctx context.Context) (*rbac.Identity, error) {
		sess, err := ui.sessions.check(r.WithContext(ctx))
		if errors.Is(err, errNoSession) {
			return nil, identity.ErrUnauthenticated
		}
		if err != nil {
			return nil, err
		}
		return sess.id, nil
	}
}

// call makes a request of the API in-process as sess's identity and returns its answer. The
// request is built here: method and path are the dashboard's own (ids in it are validated by
// the caller), and of the browser's request it takes only what the audit log and the login
// limit record (client address, proxies' X-Forwarded-For, User-Agent, request id), never a
// cookie or a credential. body, when not nil, is sent as JSON.
func (ui *UI) call(r *http.Request, sess *session, method, path string, body any) (*apiResponse, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	var contentType string
	if method != http.MethodGet {
		contentType = "application/json"
	}
	return ui.send(r, sess, method, path, contentType, b, nil)
}

// send makes a request of the API in-process, with a body already encoded and headers of the
// caller's own (If-Match, Accept): the builder sends the very bytes it showed, and import sends
// YAML as the user gave it.
func (ui *UI) send(r *http.Request, sess *session, method, path, contentType string, body []byte, header http.Header) (*apiResponse, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := ui.apiRequest(r.Context(), r, sess, method, path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res := &apiResponse{header: http.Header{}}
	if t := timingOf(r.Context()); t != nil {
		defer t.begin()()
	}
	ui.api.ServeHTTP(res, req)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	return res, nil
}

// apiRequest builds the in-process request of the API for the browser's request r, on ctx, as
// sess's identity (none when nil): of r it takes only what the audit log and the login limit
// record, never a cookie or a credential.
func (ui *UI) apiRequest(ctx context.Context, r *http.Request, sess *session, method, path string, body io.Reader) (*http.Request, error) {
	if sess != nil {
		ctx = api.WithIdentity(ctx, sess.id, ui.reauthenticate(r))
	}
	req, err := http.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr, req.Host, req.TLS = r.RemoteAddr, r.Host, r.TLS
	for _, h := range []string{"User-Agent", "X-Forwarded-For", "X-Request-Id"} {
		if v := r.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}
