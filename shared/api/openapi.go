package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
)

// The OpenAPI document is generated from the route table and nothing else: each route's op
// holds what its method, pattern and access cannot say (a summary, the Go types its handler
// reads and writes, the problems it answers), and the schemas are reflected from those types.
// A document written by hand would drift from the code; this one cannot without a test failing.
//
// It is generated when the code changes, not when the api starts: openapi.json is the document,
// embedded and served as it is, and TestOpenAPIDocumentIsCurrent fails when the route table no
// longer gives it (go test ./shared/api -run TestOpenAPIDocumentIsCurrent -update-openapi
// writes it again). The generator (openapi_gen_test.go) reflects the Go types with kin-openapi,
// which the api binary then does not link: about 1.5 MiB of a 30 MiB budget
// (docs/observability.md §5).

const openAPIPath = "/api/v1/openapi.json"

// op documents one route of the table.
type op struct {
	// summary is one line; description, when set, says more (CommonMark).
	summary, description string
	// tag groups the operation; by default the first segment of the path after /api/v1/.
	tag string
	// params are the query and header parameters. The pattern's {name}s are path parameters
	// without being listed; list one to describe it in words of its own.
	params []param
	// body is a value of the type the handler decodes the request body into (nil: no body);
	// bodyOptional when the body may be left out; yaml when the route also takes
	// application/yaml. A PATCH takes application/merge-patch+json as well as JSON.
	body         any
	bodyOptional bool
	yaml         bool
	// bodyTypes, when set, are the media types the route takes instead of application/json.
	bodyTypes []string
	// bodyExample replaces the example of body's type: JSON text (a string) or a Go value.
	bodyExample any
	// status is the success status: 0 means 200 with a response body, 204 without one. also
	// lists other success statuses that answer the same body (such as 201 from a PUT that
	// creates).
	status int
	also   []int
	// resp is a value of the type the handler encodes (nil: no body); respType is its media type
	// when not application/json (without resp, the body is text); respExample replaces the
	// example of resp's type.
	resp        any
	respType    string
	respExample any
	// headers are the headers of the success response (see responseHeader).
	headers []string
	// errs are the problem statuses the route answers beside those every route of its kind can
	// (see problemStatuses).
	errs []int
	// proposed: in a namespace that requires four eyes the write is not made but proposed, and
	// the route answers 202 with the pending change (docs/four-eyes.md).
	proposed bool
}

// param is a query or header parameter of an operation, or a path parameter described.
type param struct {
	name, in, desc string
	required       bool
	schema         *paramSchema
	example        any
}

// paramSchema is a parameter's JSON Schema, in the few words parameters use; the generator
// writes it as the document's schema object.
type paramSchema struct {
	// typ is string, integer, boolean or array (of items, at most maxItems).
	typ                          string
	enum                         []any
	format, pattern, description string
	min, max                     *float64
	def                          any
	items                        *paramSchema
	maxItems                     int
}

func newParam(in, name, desc string, example any) param {
	s := &paramSchema{typ: "string"}
	switch example.(type) {
	case int:
		s.typ = "integer"
	case bool:
		s.typ = "boolean"
	}
	return param{name: name, in: in, desc: desc, schema: s, example: example}
}

// query is a query parameter; example's Go type gives its JSON type (string, int or bool).
func query(name, desc string, example any) param { return newParam("query", name, desc, example) }

// inHeader is a request header parameter.
func inHeader(name, desc string, example any) param { return newParam("header", name, desc, example) }

// oneOf restricts p to values.
func (p param) oneOf(values ...string) param {
	for _, v := range values {
		p.schema.enum = append(p.schema.enum, v)
	}
	return p
}

// format sets p's string format, such as date-time or uuid.
func (p param) format(f string) param {
	p.schema.format = f
	return p
}

// many makes p a list given by repeating the parameter (?tag=a&tag=b), of at most max items
// each as p was.
func (p param) many(max int) param {
	p.schema = &paramSchema{typ: "array", items: p.schema, maxItems: max}
	p.example = []any{p.example}
	return p
}

// tagPattern is domain.ValidTag as a regular expression, for the document.
const tagPattern = `^[a-z0-9][a-z0-9_.:/-]{0,62}$`

// tagDescription documents a job's tag.
const tagDescription = "A lowercase label: letters a-z, digits and - _ . : /, starting with a letter or digit, at most 63 characters."

// must makes p required.
func (p param) must() param {
	p.required = true
	return p
}

// pageParams are the parameters of every paged list.
func pageParams() []param {
	limit := query("limit", "How many items a page holds, from 1 to 500.", limitDefault)
	limit.schema.min, limit.schema.max = ptr(1.0), ptr(float64(limitMax))
	limit.schema.def = limitDefault
	return []param{limit, query("cursor", "The next_cursor of the previous page; left out, the first page.", "MDE5M2I3YzQ")}
}

// historyParams are the parameters of an execution history listing.
func historyParams() []param {
	statuses, triggers := names(domain.Statuses()), names(domain.Triggers())
	return append([]param{
		query("status", "Keep executions with one of these statuses (comma-separated): "+strings.Join(statuses, ", ")+".", "failed,timed_out"),
		query("trigger", "Keep executions of one of these triggers (comma-separated): "+strings.Join(triggers, ", ")+".", "schedule"),
		query("from", "Keep fires scheduled at or after this RFC 3339 instant.", "2026-03-01T00:00:00+07:00").format("date-time"),
		query("to", "Keep fires scheduled before this RFC 3339 instant; after from.", "2026-03-02T00:00:00+07:00").format("date-time"),
	}, pageParams()...)
}

// pathParam describes the path parameter name of pattern, by the collection it names a member
// of; an op may list one of its own instead.
func pathParam(pattern, name string) param {
	before, _, _ := strings.Cut(pattern, "{"+name+"}")
	collection := before[strings.LastIndex(strings.TrimSuffix(before, "/"), "/")+1 : len(before)-1]
	p := newParam("path", name, "The "+strings.TrimSuffix(collection, "s")+"'s "+name+".", "")
	switch collection + " " + name {
	case "jobs id":
		p.desc, p.example = "The job's id.", exampleJobID
	case "executions id":
		p.desc, p.example = "The execution's id.", exampleExecutionID
	case "dead-letters id":
		p.desc, p.example = "The id of the dead-lettered execution.", exampleExecutionID
	case "variables name":
		p.desc, p.example = "The variable's name.", "REPORTS_TOKEN"
	case "roles name":
		p.desc, p.example = "The custom role's name.", "auditor"
	}
	if name == "id" {
		p.schema.format = "uuid"
		if p.example == "" {
			p.example = exampleUserID
		}
	}
	if p.example == "" {
		p.example = "name"
	}
	return p.must()
}

// Ids the document's examples use.
const (
	exampleJobID       = "0193b7c4-5d2e-7a41-9c3b-2f1e8d4a6b70"
	exampleExecutionID = "0193b7c9-0a11-7c2d-8e4f-5a6b7c8d9e0f"
	exampleUserID      = "0193b6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"
)

// openAPIJSON is the document (see above); openAPIETag its entity tag.
//
//go:embed openapi.json
var openAPIJSON []byte

var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIJSON)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// serveOpenAPI serves GET /api/v1/openapi.json. The document changes only with the binary, so
// a client may keep it and ask again with If-None-Match.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	serveBytes(w, r, "application/json", openAPIETag, openAPIJSON)
}

// serveBytes answers with body, or 304 for an If-None-Match that names tag. no-cache lets a
// browser keep the body but makes it ask each time whether it is still current.
func serveBytes(w http.ResponseWriter, r *http.Request, contentType, tag string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", tag)
	h.Set("Cache-Control", "public, no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// taggedParam is the tag filter of the job list.
func taggedParam() param {
	p := query("tag", "Keep the jobs that have this tag; repeated (tag=a&tag=b), the jobs that have every one.", "team:payments")
	p.schema.pattern, p.schema.description = tagPattern, tagDescription
	return p.many(domain.MaxTags)
}
