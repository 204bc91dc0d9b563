package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// env is what the commands read from their surroundings: main passes the process's, tests a
// made-up one each, so that they run in parallel.
type env struct {
	getenv    func(string) string
	configDir func() (string, error)
	// local is the zone of times that belong to no job (and of a job whose zone is unknown).
	local *time.Location
	now   func() time.Time
}

func processEnv() env {
	return env{getenv: os.Getenv, configDir: os.UserConfigDir, local: time.Local, now: time.Now}
}

// Exit statuses a script can branch on; `vecron help exit-codes` and docs/cli.md list them.
const (
	exitOK           = 0
	exitError        = 1
	exitUsage        = 2
	exitNotFound     = 3
	exitConflict     = 4
	exitUnauthorized = 5
	exitInvalid      = 6
	exitUnavailable  = 7
)

// usageError marks a mistake in how the command was called (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// authError marks a command that has no credential to call the API with (exit status 5).
type authError struct{ err error }

func (e authError) Error() string { return e.err.Error() }
func (e authError) Unwrap() error { return e.err }

// unreachableError is an API that did not answer (exit status 7). It keeps only the last link
// of the transport's error chain: "connection refused" says it all.
type unreachableError struct {
	server string
	cause  error
}

func (e unreachableError) Error() string {
	cause := e.cause
	for {
		next := errors.Unwrap(cause)
		if next == nil {
			break
		}
		cause = next
	}
	if errors.Is(e.cause, context.DeadlineExceeded) {
		return "no answer from " + e.server + " in time"
	}
	return "cannot reach " + e.server + ": " + cause.Error()
}

func (e unreachableError) Unwrap() error { return e.cause }

// apiError is an answer of the API other than 2xx: its RFC 9457 problem document.
type apiError struct {
	Status int
	Title  string
	Detail string
	Fields []domain.FieldError
}

// Error reads as the problem does: its title and status, then the detail, or each offending
// field on a line of its own.
func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d)", e.Title, e.Status)
	if len(e.Fields) == 0 {
		if e.Detail != "" {
			b.WriteString(": " + e.Detail)
		}
		return b.String()
	}
	b.WriteString(":")
	for _, f := range e.Fields {
		b.WriteString("\n  " + f.Field + ": " + f.Reason)
	}
	return b.String()
}

// problemOf reads the problem document of an answer with status; a body that is not one (a
// proxy's error page) is summed up by the status alone.
func problemOf(status int, body []byte) *apiError {
	var p struct {
		Title  string              `json:"title"`
		Detail string              `json:"detail"`
		Errors []domain.FieldError `json:"errors"`
	}
	_ = json.Unmarshal(body, &p)
	return &apiError{Status: status, Title: cmpOr(p.Title, http.StatusText(status), "Error"), Detail: p.Detail, Fields: p.Errors}
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// exitCode is the status the process ends with after err.
func exitCode(err error) int {
	var (
		u  usageError
		a  authError
		un unreachableError
		p  *apiError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	case errors.As(err, &a):
		return exitUnauthorized
	case errors.As(err, &un):
		return exitUnavailable
	case errors.As(err, &p):
		switch {
		case p.Status == http.StatusNotFound:
			return exitNotFound
		case p.Status == http.StatusConflict, p.Status == http.StatusPreconditionFailed, p.Status == http.StatusPreconditionRequired:
			return exitConflict
		case p.Status == http.StatusUnauthorized, p.Status == http.StatusForbidden:
			return exitUnauthorized
		case p.Status == http.StatusBadRequest, p.Status == http.StatusUnprocessableEntity:
			return exitInvalid
		case p.Status == http.StatusTooManyRequests, p.Status >= 500:
			return exitUnavailable
		}
	}
	return exitError
}

// request is one call of the API.
type request struct {
	method, path string
	query        url.Values
	// body is sent as JSON: raw when a json.RawMessage, marshalled otherwise; a []byte is sent
	// as it is, with the Content-Type header names.
	body   any
	header http.Header
}

// response is a 2xx answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// client calls one API as one caller.
type client struct {
	server, token string
	http          *http.Client
}

// timeout bounds a call that is not a stream.
const timeout = 30 * time.Second

// do sends r and returns the answer when it is a 2xx; a problem answer is an *apiError.
func (c *client) do(ctx context.Context, r request) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, unreachableError{server: c.server, cause: err}
	}
	if resp.StatusCode >= 300 {
		return nil, problemOf(resp.StatusCode, b)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// send sends r and returns the open answer, whatever its status.
func (c *client) send(ctx context.Context, r request) (*http.Response, error) {
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case json.RawMessage:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(raw)
	}
	u := strings.TrimRight(c.server, "/") + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, usageError{fmt.Errorf("--server: %q is not a URL", c.server)}
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if (r.body != nil || r.method == http.MethodPost) && req.Header.Get("Content-Type") == "" {
		// Every /api/v1 write is JSON, with a body or without, unless it says otherwise.
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := c.http
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ctx.Err()
		}
		return nil, unreachableError{server: c.server, cause: err}
	}
	return resp, nil
}

// getJSON GETs path and decodes the answer into out.
func (c *client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return err
	}
	return json.Unmarshal(resp.body, out)
}

// call sends in as JSON to the API and decodes a 2xx answer into out (when not nil). A problem
// answer is an *apiError.
func call(ctx context.Context, method, server, path, token string, in, out any) error {
	return (&client{server: server, token: token}).call(ctx, method, path, in, out)
}

// call sends in as JSON and decodes a 2xx answer into out (when not nil).
func (c *client) call(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.do(ctx, request{method: method, path: path, body: in})
	if err != nil {
		return err
	}
	if out == nil || resp.status == http.StatusNoContent {
		return nil
	}
	return json.Unmarshal(resp.body, out)
}

// rawPage is a page of a list as the API answers it, its items kept as sent.
type rawPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

// pageMax is the largest page the API serves.
const pageMax = 500

// list reads the items of a keyset-paged list at path: up to limit of them, or every one with
// all, following next_cursor. The page it returns holds the items and, when it stopped before
// the end, the cursor to go on from.
func (c *client) list(ctx context.Context, path string, q url.Values, limit int, all bool) (rawPage, error) {
	if !all && (limit < 1) {
		return rawPage{}, usageError{fmt.Errorf("--limit must be at least 1, got %d", limit)}
	}
	q = cloneValues(q)
	out := rawPage{Items: []json.RawMessage{}}
	for {
		size := pageMax
		if !all {
			size = min(pageMax, limit-len(out.Items))
		}
		q.Set("limit", fmt.Sprint(size))
		var p rawPage
		if err := c.getJSON(ctx, path, q, &p); err != nil {
			return rawPage{}, err
		}
		out.Items = append(out.Items, p.Items...)
		out.NextCursor = p.NextCursor
		if p.NextCursor == "" || (!all && len(out.Items) >= limit) {
			return out, nil
		}
		q.Set("cursor", p.NextCursor)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// serverURL is the API to call: --server, else VECRON_SERVER, else the server `vecron login`
// signed in to, else the local one `vecron dev` serves.
func (e env) serverURL(flag string) string {
	if flag != "" {
		return flag
	}
	if s := e.getenv("VECRON_SERVER"); s != "" {
		return s
	}
	if c, err := e.readCredentials(); err == nil && c.Server != "" {
		return c.Server
	}
	return serverDefault
}

// apiCommand is a command that calls the API as the signed-in user: run gets a client of the
// server and credential the flags and the environment name.
func (e env) apiCommand(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, c *client, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: usageArgs(args)}
	server := cmd.Flags().String("server", "", "URL of the vecron API (default: $VECRON_SERVER, else the server of vecron login, else "+serverDefault+")")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		srv := e.serverURL(*server)
		token, err := e.bearerToken(cmd.Context(), srv)
		if err != nil {
			return err
		}
		return run(cmd, &client{server: srv, token: token}, args)
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	return cmd
}

// usageArgs makes a wrong number of arguments a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		return nil
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
