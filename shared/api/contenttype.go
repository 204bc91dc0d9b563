package api

import (
	"mime"
	"net/http"
)

// jsonOnly refuses, with 415, a write (POST, PUT, PATCH) whose Content-Type is not JSON —
// application/json, or application/merge-patch+json for PATCH — whether or not it has a body.
// A web page can make a browser send a text/plain or form post, or a bodyless POST, to any
// address without asking the server first; a JSON write it can only send after a CORS preflight,
// which this API never grants. So no page a user opens can act on the API in the user's name.
func jsonOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
		default:
			next.ServeHTTP(w, r)
			return
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err == nil && (mt == "application/json" || (r.Method == http.MethodPatch && mt == "application/merge-patch+json")) {
			next.ServeHTTP(w, r)
			return
		}
		want := "application/json"
		if r.Method == http.MethodPatch {
			want += " or application/merge-patch+json"
		}
		w.Header().Set("Accept-Post", "application/json")
		writeProblem(w, problem{Status: http.StatusUnsupportedMediaType,
			Detail: "Content-Type must be " + want + " (got " + quoted(r.Header.Get("Content-Type")) + ")"})
	})
}

// jsonOrYAML is jsonOnly for a write that also takes application/yaml: YAML, like JSON, is no
// type a page can send without a preflight.
func jsonOrYAML(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err == nil && (mt == "application/json" || mt == mediaYAML) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Accept-Post", "application/json, "+mediaYAML)
		writeProblem(w, problem{Status: http.StatusUnsupportedMediaType,
			Detail: "Content-Type must be application/json or " + mediaYAML + " (got " + quoted(r.Header.Get("Content-Type")) + ")"})
	})
}

// quoted shows a header value the client sent, or that it sent none.
func quoted(v string) string {
	if v == "" {
		return "none"
	}
	if len(v) > 100 {
		v = v[:100] + "…"
	}
	return `"` + v + `"`
}

// structuredMediaType is the content type of CloudEvents' structured mode.
const structuredMediaType = "application/cloudevents+json"

// cloudEventsOnly is jsonOnly for POST /events (ARCHITECTURE §11: it takes CloudEvents in their
// HTTP modes): structured or batch mode by their media types, or binary mode, whose data may be
// of any type but whose ce- headers a page cannot send without a preflight.
func cloudEventsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Header.Get("Ce-Specversion") != "" || err == nil && (mt == structuredMediaType || mt == batchMediaType) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Accept-Post", structuredMediaType+", "+batchMediaType)
		writeProblem(w, problem{Status: http.StatusUnsupportedMediaType,
			Detail: "Content-Type must be " + structuredMediaType + " or " + batchMediaType +
				", or the event in binary mode with ce- headers (got " + quoted(r.Header.Get("Content-Type")) + ")"})
	})
}
