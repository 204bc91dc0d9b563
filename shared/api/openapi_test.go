package api

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// servedDocument is the OpenAPI document as GET /api/v1/openapi.json serves it to anyone,
// loaded and checked by kin-openapi as a client would load it.
func servedDocument(t *testing.T, e *accessEnv) *openapi3.T {
	t.Helper()
	rec := e.call(t, http.MethodGet, openAPIPath, "", "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	require.NoError(t, err)
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc := servedDocument(t, newAccessEnv(t))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.True(t, doc.IsOpenAPI31OrLater())
	// Validate checks every example against its schema too.
	require.NoError(t, doc.Validate(t.Context(), openapi3.IsOpenAPI31OrLater()))
}

// The document has every route the router serves, with its method and path, and nothing else.
func TestOpenAPIDocumentHasEveryRouteAndNoOther(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	doc := servedDocument(t, e)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	chiParam := regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)
	served := map[string]bool{}
	require.NoError(t, chi.Walk(e.s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		key := method + " " + chiParam.ReplaceAllString(route, "{$1}")
		served[key] = true
		require.True(t, documented[key], "%s is served but not in the document", key)
		return nil
	}))
	for key := range documented {
		require.True(t, served[key], "%s is in the document but not served", key)
	}
	require.Len(t, documented, len(e.s.routes()))
}

// Every operation says what it does, what it needs, what it answers when it works and the
// problems it answers when it does not.
func TestOpenAPIOperationsAreDocumented(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	doc := servedDocument(t, e)
	for _, rt := range e.s.routes() {
		key := rt.method + " " + rt.pattern
		o := doc.Paths.Find(rt.pattern).GetOperation(rt.method)
		require.NotNil(t, o, key)
		require.NotEmpty(t, o.Summary, key)
		require.NotEmpty(t, o.Tags, key)
		switch {
		case rt.access.public:
			require.Equal(t, "public", o.Extensions["x-vecron-access"], key)
			require.NotNil(t, o.Security, key)
			require.Empty(t, *o.Security, "%s is public: no security requirement", key)
		case rt.access.perm == "":
			require.Equal(t, "signed-in", o.Extensions["x-vecron-access"], key)
			require.Len(t, *o.Security, 2, key)
		default:
			require.Equal(t, "permission", o.Extensions["x-vecron-access"], key)
			require.Equal(t, string(rt.access.perm), o.Extensions["x-vecron-permission"], key)
			require.Contains(t, o.Description, "`"+string(rt.access.perm)+"`", key)
			require.Len(t, *o.Security, 2, key)
		}
		if o.RequestBody != nil {
			for mt, m := range o.RequestBody.Value.Content {
				require.NotNil(t, m.Schema, "%s %s", key, mt)
				require.NotNil(t, m.Example, "%s: the %s request has no example", key, mt)
			}
		}
		successes, problems := 0, 0
		for code, ref := range o.Responses.Map() {
			status, err := strconv.Atoi(code)
			require.NoError(t, err, "%s answers %q, not a status", key, code)
			r := ref.Value
			require.NotNil(t, r, "%s %d", key, status)
			if ref.Ref != "" {
				problems++
				require.GreaterOrEqual(t, status, 400, key)
				require.Equal(t, "#/components/responses/"+problemName(status), ref.Ref, "%s %d", key, status)
				m := r.Content.Get("application/problem+json")
				require.NotNil(t, m, "%s %d is not problem+json", key, status)
				require.Equal(t, "#/components/schemas/Problem", m.Schema.Ref)
				require.NotNil(t, m.Example, "%s %d", key, status)
				continue
			}
			if status >= 200 && status < 300 {
				successes++
			}
			if status == http.StatusNoContent {
				require.Empty(t, r.Content, key)
				continue
			}
			require.NotEmpty(t, r.Content, "%s %d has no body", key, status)
			for mt, m := range r.Content {
				require.NotNil(t, m.Schema, "%s %d %s", key, status, mt)
				if strings.Contains(mt, "json") {
					require.NotNil(t, m.Example, "%s %d has no example", key, status)
				}
			}
		}
		require.Positive(t, successes, key)
		require.Positive(t, problems, key)
		require.NotNil(t, o.Responses.Status(http.StatusInternalServerError), key)
		if !rt.access.public {
			require.NotNil(t, o.Responses.Status(http.StatusUnauthorized), key)
			require.NotNil(t, o.Responses.Status(http.StatusForbidden), key)
		}
	}
	problemSchema := doc.Components.Schemas["Problem"].Value
	require.ElementsMatch(t, []string{"type", "title", "status", "detail", "errors"}, slices.Collect(maps.Keys(problemSchema.Properties)))
	fieldError := problemSchema.Properties["errors"].Value.Items.Value
	require.ElementsMatch(t, []string{"field", "reason"}, fieldError.Required)
}

func TestOpenAPIDocumentIsCacheable(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	rec := e.call(t, http.MethodGet, openAPIPath, "", "")
	require.Equal(t, http.StatusOK, rec.Code)
	tag := rec.Header().Get("ETag")
	require.NotEmpty(t, tag)
	require.Equal(t, "public, no-cache", rec.Header().Get("Cache-Control"))

	req := httptest.NewRequest(http.MethodGet, openAPIPath, nil)
	req.Header.Set("If-None-Match", tag)
	rec = httptest.NewRecorder()
	e.s.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotModified, rec.Code)
	require.Empty(t, rec.Body.Bytes())
}
