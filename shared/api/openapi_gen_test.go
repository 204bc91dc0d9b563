package api

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

// The generator of openapi.json (see openapi.go): the route table's documentation, with the
// schemas reflected from the Go types its handlers read and write.

var updateOpenAPI = flag.Bool("update-openapi", false, "write openapi.json from the route table")

// The embedded document is the one the route table gives: a route, a type or an example
// changed without the document is a failure that says how to write it again.
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	want, err := generateOpenAPI()
	require.NoError(t, err)
	if *updateOpenAPI {
		require.NoError(t, os.WriteFile("openapi.json", want, 0o644))
		return
	}
	require.True(t, string(want) == string(openAPIJSON),
		"openapi.json is not what the route table gives: go test ./shared/api -run TestOpenAPIDocumentIsCurrent -update-openapi")
}

// generateOpenAPI returns the document of the route table as openapi.json holds it.
func generateOpenAPI() ([]byte, error) {
	doc, err := buildOpenAPI((&Server{}).routes())
	if err != nil {
		return nil, fmt.Errorf("build the openapi document: %w", err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// tagSchema documents a job's tag.
func tagSchema(s *openapi3.Schema) {
	s.Pattern = tagPattern
	s.Description = tagDescription
}

// openAPI returns s as the document's schema object.
func (s *paramSchema) openAPI() *openapi3.Schema {
	var out *openapi3.Schema
	switch s.typ {
	case "integer":
		out = openapi3.NewIntegerSchema()
	case "boolean":
		out = openapi3.NewBoolSchema()
	case "array":
		out = openapi3.NewArraySchema().WithItems(s.items.openAPI()).WithMaxItems(int64(s.maxItems))
	default:
		out = openapi3.NewStringSchema()
	}
	out.Enum, out.Format, out.Pattern, out.Description = s.enum, s.format, s.pattern, s.description
	out.Min, out.Max, out.Default = s.min, s.max, s.def
	return out
}

// Security schemes of the document: both carry their credential as Authorization: Bearer.
const (
	schemeBearer   = "bearerAuth"
	schemeAPIToken = "apiToken"
)

// buildOpenAPI returns the OpenAPI 3.1 document of routes.
func buildOpenAPI(routes []route) (*openapi3.T, error) {
	g := newSchemaGen(routes)
	doc := &openapi3.T{
		OpenAPI:           "3.1.0",
		JSONSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
		Info: &openapi3.Info{Title: "vecron API", Version: "1",
			Description: "vecron's REST API: jobs, their executions, variables, users, roles and tokens.\n\n" +
				"Sign in with `POST /api/v1/auth/login` and send the access token as `Authorization: Bearer <token>`, " +
				"or send an API token the same way. Writes take `application/json` (and `application/merge-patch+json` " +
				"for PATCH), a POST without a body too; any other Content-Type is refused with 415. Every error is an " +
				"RFC 9457 `application/problem+json` document whose `errors` name each offending field. Lists are paged: pass a page's `next_cursor` as " +
				"`cursor` for the next one.\n\nEach operation names the permission it needs (`x-vecron-permission`); " +
				"objects in namespaces the caller holds nothing in answer 404."},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:   openapi3.Schemas{},
			Responses: openapi3.ResponseBodies{},
			SecuritySchemes: openapi3.SecuritySchemes{
				schemeBearer: {Value: openapi3.NewJWTSecurityScheme().WithDescription(
					"An access token: from POST /api/v1/auth/login in database mode, from the identity provider in oidc mode.")},
				schemeAPIToken: {Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer").
					WithDescription("An API token (POST /api/v1/tokens), sent as Authorization: Bearer <token>.")},
			},
		},
		Security: signedInSecurity(),
	}
	g.schemas = doc.Components.Schemas
	tags := map[string]bool{}
	for _, rt := range routes {
		o, err := g.operation(rt)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", rt.method, rt.pattern, err)
		}
		path, err := oasPath(rt.pattern)
		if err != nil {
			return nil, err
		}
		doc.AddOperation(path, rt.method, o)
		tags[o.Tags[0]] = true
	}
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: name})
	}
	problemRef, err := g.schema(problem{})
	if err != nil {
		return nil, err
	}
	for _, status := range slices.Sorted(maps.Keys(g.problems)) {
		resp, err := problemResponse(status, problemRef)
		if err != nil {
			return nil, err
		}
		doc.Components.Responses[problemName(status)] = &openapi3.ResponseRef{Value: resp}
	}
	if g.err != nil {
		return nil, g.err
	}
	return doc, nil
}

func signedInSecurity() openapi3.SecurityRequirements {
	return openapi3.SecurityRequirements{{schemeBearer: {}}, {schemeAPIToken: {}}}
}

// oasPath is chi's pattern as an OpenAPI path: the same {name} syntax, without chi's regular
// expressions; a wildcard has no OpenAPI form.
func oasPath(pattern string) (string, error) {
	if strings.Contains(pattern, "*") {
		return "", fmt.Errorf("%s: a wildcard route has no OpenAPI path; name its parameters", pattern)
	}
	return chiRegexp.ReplaceAllString(pattern, "{$1}"), nil
}

var (
	chiRegexp       = regexp.MustCompile(`\{([^}:]+):[^}]*\}`)
	pathParamRegexp = regexp.MustCompile(`\{([^}]+)\}`)
)

// pathParamNames are the {name}s of an OpenAPI path, in order.
func pathParamNames(path string) []string {
	var out []string
	for _, m := range pathParamRegexp.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// operation documents rt.
func (g *schemaGen) operation(rt route) (*openapi3.Operation, error) {
	d := rt.doc
	if d.summary == "" {
		return nil, fmt.Errorf("no summary: give the route an op{summary: …}")
	}
	path, err := oasPath(rt.pattern)
	if err != nil {
		return nil, err
	}
	o := &openapi3.Operation{Summary: d.summary, OperationID: operationID(rt.method, path),
		Tags: []string{cmpOr(d.tag, defaultTag(path))}, Responses: openapi3.NewResponses(),
		Extensions: map[string]any{}}
	var who string
	switch {
	case rt.access.public:
		o.Security = &openapi3.SecurityRequirements{}
		o.Extensions["x-vecron-access"] = "public"
		who = "Public: needs no credential."
	case rt.access.perm == "":
		o.Security = ptr(signedInSecurity())
		o.Extensions["x-vecron-access"] = "signed-in"
		who = "Needs a signed-in caller; no permission."
	default:
		o.Security = ptr(signedInSecurity())
		o.Extensions["x-vecron-access"] = "permission"
		o.Extensions["x-vecron-permission"] = string(rt.access.perm)
		who = "Needs `" + string(rt.access.perm) + "`: a caller without it anywhere gets 403; the handler checks it again " +
			"in the namespace of the object it touches."
	}
	o.Description = strings.TrimSpace(d.description + "\n\n" + who)

	described := map[string]param{}
	for _, p := range d.params {
		described[p.in+" "+p.name] = p
	}
	for _, name := range pathParamNames(path) {
		p, ok := described["path "+name]
		if !ok {
			p = pathParam(path, name)
		}
		o.AddParameter(p.parameter())
	}
	hasQuery := false
	for _, p := range d.params {
		switch p.in {
		case "path":
			if !slices.Contains(pathParamNames(path), p.name) {
				return nil, fmt.Errorf("path parameter %s is not in the pattern", p.name)
			}
			continue
		case "query":
			hasQuery = true
		}
		o.AddParameter(p.parameter())
	}

	if d.body != nil {
		body, err := g.requestBody(rt.method, d)
		if err != nil {
			return nil, err
		}
		o.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}

	status := d.status
	if status == 0 {
		status = http.StatusOK
		if d.resp == nil && d.respType == "" {
			status = http.StatusNoContent
		}
	}
	for _, st := range append([]int{status}, d.also...) {
		resp, err := g.response(st, d)
		if err != nil {
			return nil, err
		}
		o.AddResponse(st, resp)
	}
	if d.proposed {
		resp, err := g.response(http.StatusAccepted, op{resp: domain.Change{}, headers: []string{"Location"}})
		if err != nil {
			return nil, err
		}
		resp.WithDescription("Proposed, not made: the namespace requires four eyes, and the pending change waits for another user's approval.")
		o.AddResponse(http.StatusAccepted, resp)
	}

	for _, st := range problemStatuses(rt, path, hasQuery) {
		if o.Responses.Value(strconv.Itoa(st)) != nil {
			return nil, fmt.Errorf("status %d is both a success and a problem", st)
		}
		g.problems[st] = true
		o.Responses.Set(strconv.Itoa(st), &openapi3.ResponseRef{Ref: "#/components/responses/" + problemName(st)})
	}
	return o, nil
}

// problemStatuses are the problem statuses rt answers: 500 from any route; 401 and 403 from
// one that is not public; 404 from one with a path parameter; 400 from one that reads a body or
// a query; 415 from a write under /api/v1 (see jsonOnly); and those its op names.
func problemStatuses(rt route, path string, hasQuery bool) []int {
	out := append([]int{http.StatusInternalServerError}, rt.doc.errs...)
	if !rt.access.public {
		out = append(out, http.StatusUnauthorized, http.StatusForbidden)
	}
	if len(pathParamNames(path)) > 0 {
		out = append(out, http.StatusNotFound)
	}
	if rt.doc.body != nil || hasQuery {
		out = append(out, http.StatusBadRequest)
	}
	switch rt.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if strings.HasPrefix(rt.pattern, "/api/v1/") {
			out = append(out, http.StatusUnsupportedMediaType)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (p param) parameter() *openapi3.Parameter {
	return &openapi3.Parameter{Name: p.name, In: p.in, Description: p.desc, Required: p.required,
		Schema: &openapi3.SchemaRef{Value: p.schema.openAPI()}, Example: p.example}
}

// requestBody documents d's body, with the media types the route takes.
func (g *schemaGen) requestBody(method string, d op) (*openapi3.RequestBody, error) {
	ref, err := g.schema(d.body)
	if err != nil {
		return nil, err
	}
	ex, err := g.example(d.body, d.bodyExample)
	if err != nil {
		return nil, err
	}
	types := []string{"application/json"}
	if len(d.bodyTypes) > 0 {
		types = d.bodyTypes
	}
	if method == http.MethodPatch {
		types = append(types, "application/merge-patch+json")
		if ref, err = g.mergePatch(ref); err != nil {
			return nil, err
		}
	}
	if d.yaml {
		types = append(types, "application/yaml")
	}
	content := openapi3.Content{}
	for _, t := range types {
		content[t] = &openapi3.MediaType{Schema: ref, Example: ex}
	}
	return &openapi3.RequestBody{Required: !d.bodyOptional, Content: content}, nil
}

// mergePatch returns the schema of a JSON merge patch (RFC 7396) of the component ref names: its
// fields, each of which may be null (a reset to the default), none required. A PATCH handler
// merges the body into the current object and decodes the result as that component's type.
func (g *schemaGen) mergePatch(ref *openapi3.SchemaRef) (*openapi3.SchemaRef, error) {
	name, ok := strings.CutPrefix(ref.Ref, "#/components/schemas/")
	target := g.schemas[name]
	if !ok || target == nil || target.Value == nil {
		return nil, fmt.Errorf("a PATCH body must be a struct type, not %q", ref.Ref)
	}
	patch := name + "Patch"
	if _, done := g.schemas[patch]; !done {
		s := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{},
			AdditionalProperties: target.Value.AdditionalProperties,
			Description: "A JSON merge patch (RFC 7396) of " + name + ": the fields it holds are set, null resets one " +
				"to its default, the others are kept."}
		for field, prop := range target.Value.Properties {
			if prop.Ref == "" && prop.Value != nil && prop.Value.Type != nil {
				c := *prop.Value // nullable changes its argument's type; the component's stays as it is
				prop = &openapi3.SchemaRef{Value: &c}
			}
			s.Properties[field] = nullable(prop)
		}
		g.schemas[patch] = &openapi3.SchemaRef{Value: s}
	}
	return &openapi3.SchemaRef{Ref: "#/components/schemas/" + patch}, nil
}

// response documents d's success response of status.
func (g *schemaGen) response(status int, d op) (*openapi3.Response, error) {
	resp := openapi3.NewResponse().WithDescription(http.StatusText(status))
	switch {
	case d.resp != nil:
		ref, err := g.schema(d.resp)
		if err != nil {
			return nil, err
		}
		ex, err := g.example(d.resp, d.respExample)
		if err != nil {
			return nil, err
		}
		resp.Content = openapi3.Content{cmpOr(d.respType, "application/json"): &openapi3.MediaType{Schema: ref, Example: ex}}
	case d.respType != "":
		resp.Content = openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{d.respType})
	}
	if len(d.headers) > 0 {
		resp.Headers = openapi3.Headers{}
	}
	for _, name := range d.headers {
		h, err := responseHeader(name)
		if err != nil {
			return nil, err
		}
		resp.Headers[name] = &openapi3.HeaderRef{Value: h}
	}
	return resp, nil
}

// responseHeader documents a response header by name.
func responseHeader(name string) (*openapi3.Header, error) {
	var desc string
	var example any
	switch name {
	case "ETag":
		desc, example = "The entity tag of the version answered; send it back in If-Match to change that version only.", `"3"`
	case "Location":
		desc, example = "Where the new resource is read.", "/api/v1/jobs/"+exampleJobID
	case "Retry-After":
		desc, example = "Seconds to wait before trying again.", "30"
	case "WWW-Authenticate":
		desc, example = "The challenge: how to sign in.", `Bearer realm="vecron"`
	case "Accept-Post":
		desc, example = "The media types a write takes.", "application/json"
	case "Idempotent-Replayed":
		desc, example = "true when the Idempotency-Key was used before: the answer is the first request's run.", "true"
	default:
		return nil, fmt.Errorf("response header %s is not described: add it to responseHeader", name)
	}
	return &openapi3.Header{Parameter: openapi3.Parameter{Description: desc,
		Schema: &openapi3.SchemaRef{Value: openapi3.NewStringSchema()}, Example: example}}, nil
}

// problemName is the name of status's component response.
func problemName(status int) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(http.StatusText(status))
}

// problemResponse is the problem+json answer of status, with an example of it.
func problemResponse(status int, schema *openapi3.SchemaRef) (*openapi3.Response, error) {
	p := problem{Type: "about:blank", Title: http.StatusText(status), Status: status}
	desc := http.StatusText(status)
	headers := openapi3.Headers{}
	addHeader := func(name string) error {
		h, err := responseHeader(name)
		headers[name] = &openapi3.HeaderRef{Value: h}
		return err
	}
	var err error
	switch status {
	case http.StatusBadRequest:
		desc = "The input is invalid: errors names each offending field, parameter or header."
		p.Title, p.Detail = "Invalid input", "invalid input: schedule.cron: 61 is not a second (0-59)"
		p.Errors = []domain.FieldError{{Field: "schedule.cron", Reason: "61 is not a second (0-59)"}}
	case http.StatusUnauthorized:
		desc, p.Detail = "No valid credential.", "sign in: send Authorization: Bearer <token> (POST /api/v1/auth/login, or an API token)"
		err = addHeader("WWW-Authenticate")
	case http.StatusForbidden:
		desc, p.Detail = "The caller lacks the permission.", "missing permission job:write in namespace payments"
	case http.StatusNotFound:
		desc, p.Detail = "No such resource, or one in a namespace the caller holds nothing in.", "no such resource"
	case http.StatusConflict:
		desc, p.Detail = "The change conflicts with the resource's state.", "name: a job of that name exists in namespace default"
		p.Errors = []domain.FieldError{{Field: "name", Reason: "a job of that name exists in namespace default"}}
	case http.StatusPreconditionFailed:
		desc = "If-Match names a version that is no longer current; ETag is the current one."
		p.Detail = "the job changed since it was read: it is at version 4 now; read it again and make your change on that version (If-Match: \"4\")"
		err = addHeader("ETag")
	case http.StatusUnsupportedMediaType:
		desc, p.Detail = "The request's Content-Type is not one the route takes.", `Content-Type must be application/json (got "text/plain")`
		err = addHeader("Accept-Post")
	case http.StatusPreconditionRequired:
		desc, p.Detail = "An edit without If-Match.", "an edit must send If-Match with the job's ETag (its version, as GET returned it: \"3\"), so that it cannot overwrite a change it has not seen"
	case http.StatusTooManyRequests:
		desc, p.Detail = "Too many attempts; wait Retry-After seconds.", "too many failed sign-ins; try again in 30s"
		err = addHeader("Retry-After")
	case http.StatusServiceUnavailable:
		desc, p.Detail = "A service the route needs is not available now.", "the live stream needs NATS: this api runs without nats.url"
	case http.StatusInternalServerError:
		desc, p.Detail = "An unexpected error; the server log has it under the request id.", "internal error; see the server log"
	}
	if err != nil {
		return nil, err
	}
	ex, err := jsonValue(p)
	if err != nil {
		return nil, err
	}
	resp := openapi3.NewResponse().WithDescription(desc)
	resp.Content = openapi3.Content{"application/problem+json": &openapi3.MediaType{Schema: schema, Example: ex}}
	if len(headers) > 0 {
		resp.Headers = headers
	}
	return resp, nil
}

// operationID names an operation by its method and path: GET /api/v1/jobs/{id}/stats is
// getJobsIdStats.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for part := range strings.SplitSeq(strings.TrimPrefix(path, "/api/v1"), "/") {
		part = strings.Trim(part, "{}")
		for word := range strings.FieldsFuncSeq(part, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}

// defaultTag is the first segment of path after /api/v1/ ("health" for the probes).
func defaultTag(path string) string {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok {
		if strings.HasSuffix(path, "z") {
			return "health"
		}
		rest = strings.TrimPrefix(path, "/api/")
	}
	first, _, _ := strings.Cut(rest, "/")
	return first
}

// schemaGen reflects the document's schemas from Go types.
type schemaGen struct {
	gen *openapi3gen.Generator
	// schemas are the document's components; named types land there, once each.
	schemas openapi3.Schemas
	// inbound are the struct types a request body reaches: the client may leave their fields
	// out, so none is required.
	inbound map[reflect.Type]bool
	// names maps a component's name to its type, so that two types never share one.
	names    map[string]reflect.Type
	examples map[reflect.Type]any
	// problems are the problem statuses used, each a component response.
	problems map[int]bool
	err      error
}

func newSchemaGen(routes []route) *schemaGen {
	g := &schemaGen{inbound: map[reflect.Type]bool{}, names: map[string]reflect.Type{}, examples: typeExamples(),
		problems: map[int]bool{}}
	for _, rt := range routes {
		if rt.doc.body != nil {
			markInbound(reflect.TypeOf(rt.doc.body), g.inbound)
		}
	}
	g.gen = openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{
			ExportComponentSchemas: true, ExportTopLevelSchema: true, ExportGenerics: true}),
		openapi3gen.UseAllExportedFields(), // as encoding/json writes them
		openapi3gen.CreateTypeNameGenerator(g.typeName),
		openapi3gen.SchemaCustomizer(g.customize),
	)
	return g
}

// schema returns the schema of v's type: a reference to its component for a struct.
func (g *schemaGen) schema(v any) (*openapi3.SchemaRef, error) {
	ref, err := g.gen.NewSchemaRefForValue(v, g.schemas)
	if err != nil {
		return nil, fmt.Errorf("schema of %T: %w", v, err)
	}
	if g.err != nil {
		return nil, g.err
	}
	return ref, nil
}

// markInbound adds the struct types t reaches to set.
func markInbound(t reflect.Type, set map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		markInbound(t.Elem(), set)
	case reflect.Struct:
		if set[t] || t == reflect.TypeFor[time.Time]() {
			return
		}
		set[t] = true
		for _, f := range jsonFields(t) {
			markInbound(f.Type, set)
		}
	}
}

// typeName names t's component: its Go name capitalised, page[T] as TPage, and the package
// name in front when two packages' types share a name.
func (g *schemaGen) typeName(t reflect.Type) string {
	name := t.Name()
	if name == "" {
		return "" // an anonymous struct: openapi3gen writes it inline
	}
	if base, arg, ok := strings.Cut(name, "["); ok {
		arg = strings.TrimSuffix(arg[strings.LastIndex(arg, ".")+1:], "]")
		name = upperFirst(arg) + upperFirst(base)
	}
	name = upperFirst(name)
	if other, ok := g.names[name]; ok && other != t {
		pkg := t.PkgPath()
		name = upperFirst(pkg[strings.LastIndex(pkg, "/")+1:]) + name
		if other, ok := g.names[name]; ok && other != t && g.err == nil {
			g.err = fmt.Errorf("types %v and %v would share the schema name %s", other, t, name)
		}
	}
	g.names[name] = t
	return name
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Schema customisation: what reflection alone does not know of a type.

// durationPattern matches what domain.Duration writes and reads: time.Duration's String form.
const durationPattern = `^-?(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

// typeEnums are the values of the domain's string types.
func typeEnums() map[reflect.Type][]string {
	return map[reflect.Type][]string{
		reflect.TypeFor[domain.JobKind]():         {string(domain.KindHTTP), string(domain.KindSQL)},
		reflect.TypeFor[domain.ExecutionStatus](): names(domain.Statuses()),
		reflect.TypeFor[domain.Trigger]():         names(domain.Triggers()),
		reflect.TypeFor[domain.Permission]():      names(domain.Permissions()),
		reflect.TypeFor[domain.ScheduleKind](): {string(domain.ScheduleCron), string(domain.ScheduleFixedRate),
			string(domain.ScheduleFixedDelay), string(domain.ScheduleOnce)},
		reflect.TypeFor[rbac.Kind](): {string(rbac.KindUser), string(rbac.KindToken), string(rbac.KindSystem)},
	}
}

// fieldEnums are the values of plain string fields that take one of the domain's constants, by
// type and JSON name.
func fieldEnums(t reflect.Type, field string) []string {
	misfire := []string{domain.MisfireFireOnce, domain.MisfireSkip, domain.MisfireFireAll}
	concurrency := []string{domain.ConcurrencyAllow, domain.ConcurrencyForbid, domain.ConcurrencyReplace}
	switch t.Name() + "." + field {
	case "Job.misfire_policy":
		return misfire
	case "Job.concurrency_policy":
		return concurrency
	case "Job.state":
		return []string{domain.StateScheduled, domain.StatePaused, domain.StateWaiting, domain.StateCompleted, domain.StateEnded, domain.StateOnEvent}
	case "Schedule.dst_gap":
		return []string{domain.DSTGapShiftForward, domain.DSTGapSkip}
	case "Schedule.dst_overlap":
		return []string{domain.DSTOverlapFirst, domain.DSTOverlapLast, domain.DSTOverlapBoth}
	case "SQLSpec.driver":
		return []string{domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle}
	case "DeadLetter.state":
		return []string{domain.DeadLetterPending, domain.DeadLetterReplayed, domain.DeadLetterDiscarded}
	case "Variable.scope":
		return []string{domain.ScopeGlobal, domain.ScopeJob}
	case "User.source":
		return []string{domain.UserSourceDatabase, domain.UserSourceOIDC}
	}
	return nil
}

// uuidField reports whether the JSON field of that name always holds a UUID: the ids of jobs,
// executions, users, variables, tokens and bindings are all UUIDs.
func uuidField(field string) bool {
	switch field {
	case "id", "job_id", "execution_id", "user_id":
		return true
	}
	return false
}

// customize is openapi3gen's hook, called for each schema it makes from a type; name is the
// field's JSON name and tag its struct tag.
func (g *schemaGen) customize(_ string, t reflect.Type, _ reflect.StructTag, s *openapi3.Schema) error {
	// openapi3gen marks every pointer nullable, the OpenAPI 3.0 way; whether a field can be null
	// is up to its tag, so the struct that holds it decides, below.
	s.Nullable = false
	switch t {
	case reflect.TypeFor[domain.Duration]():
		// An int64 that its MarshalJSON writes as a string.
		s.Type, s.Format, s.Pattern = &openapi3.Types{"string"}, "", durationPattern
		s.Description = "A duration such as 30s, 1m30s or 2h (Go's time.Duration syntax)."
	case reflect.TypeFor[json.RawMessage]():
		s.Description = "Any JSON value."
	}
	if values, ok := typeEnums()[t]; ok {
		for _, v := range values {
			s.Enum = append(s.Enum, v)
		}
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return nil
	}
	fields := jsonFields(t)
	s.Required = nil
	for name, prop := range s.Properties {
		f, ok := fields[name]
		if !ok {
			return fmt.Errorf("%v: openapi3gen found field %s, which encoding/json does not write", t, name)
		}
		target := prop.Value
		if target != nil && target.Items != nil {
			target = target.Items.Value
		}
		if values := fieldEnums(t, name); values != nil && target != nil {
			for _, v := range values {
				target.Enum = append(target.Enum, v)
			}
		}
		if uuidField(name) && prop.Value != nil && prop.Value.Type.Is("string") {
			prop.Value.Format = "uuid"
		}
		if name == "tags" && prop.Value != nil && prop.Value.Items != nil && prop.Value.Items.Value != nil {
			prop.Value.MaxItems = ptr(uint64(domain.MaxTags))
			prop.Value.Description = "Labels to find the job by (GET /api/v1/jobs?tag=), stored without duplicates and sorted."
			tagSchema(prop.Value.Items.Value)
		}
		if name == "trace_id" && t == reflect.TypeFor[domain.Execution]() && prop.Value != nil {
			prop.Value.Pattern = "^[0-9a-f]{32}$"
			prop.Value.Description = "The W3C trace id of the sampled trace the run belongs to (docs/observability.md); " +
				"absent when it was not sampled or tracing is off."
		}
		omit := omitted(f.Tag)
		if canBeNull(f.Type) && !omit {
			s.Properties[name] = nullable(prop)
		}
		if !omit && !g.inbound[t] {
			s.Required = append(s.Required, name)
		}
	}
	slices.Sort(s.Required)
	// The API writes only these fields, and reads only these (it refuses unknown ones).
	s.AdditionalProperties = openapi3.AdditionalProperties{Has: ptr(false)}
	return nil
}

// canBeNull reports whether encoding/json writes null for a nil value of t that a handler
// leaves nil on purpose: a pointer (none) or bytes (empty). Other slices and maps are documented
// as never null, and the handlers keep them so: the response validation test holds them to it.
func canBeNull(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
}

// nullable is ref that also allows null: a pointer field without omitempty writes null.
func nullable(ref *openapi3.SchemaRef) *openapi3.SchemaRef {
	if strings.HasPrefix(ref.Ref, "#/components/") || ref.Value == nil || ref.Value.Type == nil {
		return &openapi3.SchemaRef{Value: &openapi3.Schema{AnyOf: openapi3.SchemaRefs{ref,
			{Value: &openapi3.Schema{Type: &openapi3.Types{"null"}}}}}}
	}
	if !ref.Value.Type.Includes("null") {
		types := append(openapi3.Types{}, *ref.Value.Type...)
		ref.Value.Type = ptr(append(types, "null"))
	}
	return ref
}

// jsonFields are the fields encoding/json writes of struct t, by JSON name, embedded structs'
// fields promoted as it does.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || len(f.Index) > 1 && !promoted(t, f.Index) {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			continue // its fields are promoted
		}
		out[cmpOr(name, f.Name)] = f
	}
	return out
}

// promoted reports whether the field at index is reached only through untagged embedded
// structs, as encoding/json promotes them.
func promoted(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f := t.Field(i)
		if !f.Anonymous || f.Tag.Get("json") != "" {
			return false
		}
		t = f.Type
	}
	return true
}

// omitted reports whether a field with tag leaves out its zero value.
func omitted(tag reflect.StructTag) bool {
	_, opts, _ := strings.Cut(tag.Get("json"), ",")
	for o := range strings.SplitSeq(opts, ",") {
		if o == "omitempty" || o == "omitzero" {
			return true
		}
	}
	return false
}

// example returns the example of v's type, or override (JSON text or a Go value), as the JSON
// value the document holds; an error names a type without one.
func (g *schemaGen) example(v, override any) (any, error) {
	if override != nil {
		return jsonValue(override)
	}
	ex, ok := g.exampleOf(reflect.TypeOf(v))
	if !ok {
		return nil, fmt.Errorf("no example of %T: add one to typeExamples", v)
	}
	return jsonValue(ex)
}

// exampleOf returns an example of t: the one typeExamples gives, or a page of one example item.
func (g *schemaGen) exampleOf(t reflect.Type) (any, bool) {
	if ex, ok := g.examples[t]; ok {
		return ex, true
	}
	if t.Kind() != reflect.Struct || !strings.HasPrefix(t.Name(), "page[") {
		return nil, false
	}
	items := t.Field(0).Type
	elem := items.Elem()
	base := elem
	if base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	item, ok := g.exampleOf(base)
	if !ok {
		return nil, false
	}
	iv := reflect.ValueOf(item)
	if elem.Kind() == reflect.Pointer {
		p := reflect.New(base)
		p.Elem().Set(iv)
		iv = p
	}
	page := reflect.New(t).Elem()
	page.Field(0).Set(reflect.Append(reflect.MakeSlice(items, 0, 1), iv))
	return page.Interface(), true
}

// jsonValue is v as a decoded JSON value; a string is JSON text already.
func jsonValue(v any) (any, error) {
	b, ok := v.(string)
	if !ok {
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("example %T: %w", v, err)
		}
		b = string(enc)
	}
	var out any
	if err := json.Unmarshal([]byte(b), &out); err != nil {
		return nil, fmt.Errorf("example %.40q is not JSON: %w", b, err)
	}
	return out, nil
}
