package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/vecron/vecron/shared/domain"
)

// problem is an RFC 9457 problem details document; Errors names each offending field.
type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []domain.FieldError `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // response excerpts are data, not HTML to embed
	_ = enc.Encode(v)
}

func writeProblem(w http.ResponseWriter, p problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "Bearer <token>" reads as written; nosniff keeps it from being HTML
	_ = enc.Encode(p)
}

// writeError answers with the problem err stands for; unexpected errors are logged here, once,
// and reach the client only as a generic 500.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var (
		verr  *domain.ValidationError
		cerr  *domain.ConflictError
		stale *domain.StaleError
	)
	switch {
	case errors.As(err, &verr):
		writeProblem(w, problem{Status: http.StatusBadRequest, Title: "Invalid input", Detail: verr.Error(), Errors: verr.Fields})
	case errors.Is(err, domain.ErrNotFound):
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "no such resource"})
	case errors.As(err, &cerr):
		writeProblem(w, problem{Status: http.StatusConflict, Detail: cerr.FieldError.Error(), Errors: []domain.FieldError{cerr.FieldError}})
	case errors.As(err, &stale):
		w.Header().Set("ETag", etag(stale.Current))
		writeProblem(w, problem{Status: http.StatusPreconditionFailed,
			Detail: stale.Error() + "; read it again and make your change on that version (If-Match: " + etag(stale.Current) + ")"})
	case errors.Is(err, domain.ErrConflict):
		writeProblem(w, problem{Status: http.StatusConflict, Detail: "a resource with that identity already exists"})
	default:
		// The route, not the path: a path may hold a webhook's token.
		log.ErrorContext(r.Context(), "request failed", "request_id", r.Header.Get(requestIDHeader), "method", r.Method, "route", routePattern(r), "error", err)
		writeProblem(w, problem{Status: http.StatusInternalServerError, Detail: "internal error; see the server log"})
	}
}

// decodeBody decodes a JSON body into v, rejecting unknown fields, and turns decoding errors into
// a *domain.ValidationError that names the field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// decodeOptionalBody is decodeBody for a body the client may leave out: empty, v stays as it is.
func decodeOptionalBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil || len(body) == 0 {
		return err
	}
	return decodeJSON(body, v)
}

// readBody reads a request body of at most maxBody bytes; a larger one is a
// *domain.ValidationError.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "body", Reason: fmt.Sprintf("is larger than %d bytes", maxErr.Limit)}}}
	case err != nil:
		return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "body", Reason: err.Error()}}}
	}
	return body, nil
}

// decodeJSON is decodeBody for a body already read.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		var verr domain.ValidationError
		if field := duplicateKey(body); field != "" {
			verr.Add(field, "appears twice; give each field once")
		} else if field := nulField(v); field != "" {
			verr.Add(cmpOr(field, "body"), "must not hold a NUL byte (\\u0000)")
		}
		return verr.Err()
	}
	var (
		verr    domain.ValidationError
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr) && typeErr.Type == reflect.TypeFor[domain.Duration]():
		verr.Add(typeErr.Field, fmt.Sprintf(`must be a duration string such as "30s", not %s`, typeErr.Value))
	case errors.As(err, &typeErr):
		verr.Add(cmpOr(typeErr.Field, "body"), fmt.Sprintf("must be a JSON %s, not %s", typeErr.Type.Kind(), typeErr.Value))
	case errors.As(err, &synErr):
		verr.Add("body", fmt.Sprintf("is not valid JSON (at byte %d): %v", synErr.Offset, synErr))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		verr.Add(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "is not a known field")
	default:
		verr.Add("body", err.Error())
	}
	return &verr
}
