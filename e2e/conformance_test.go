package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"
)

// contracts holds, by host:port, the OpenAPI document of each API under test whose answers
// apiClient checks.
var contracts sync.Map

// contract is an API's OpenAPI document, and what checking its answers found.
type contract struct {
	router  routers.Router
	mu      sync.Mutex
	checked int
	errs    []string
}

// checkConformance makes apiClient check every answer it gets from apiURL — status, headers
// and body — against the OpenAPI document that API serves, until t ends; t fails for each answer
// that does not conform.
func checkConformance(t *testing.T, apiURL string) {
	t.Helper()
	resp, err := http.Get(apiURL + "/api/v1/openapi.json")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	doc, err := openapi3.NewLoader().LoadFromData(body)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	u, err := url.Parse(apiURL)
	require.NoError(t, err)
	c := &contract{router: router}
	contracts.Store(u.Host, c)
	t.Cleanup(func() {
		contracts.Delete(u.Host)
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.errs {
			t.Error(e)
		}
		if c.checked == 0 {
			t.Error("no answer of " + apiURL + " was checked against its OpenAPI document")
		}
	})
}

// check checks resp, the answer to r, leaving its body to be read again.
func (c *contract) check(r *http.Request, resp *http.Response) {
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return // a live stream does not end; its status and headers are all there is to check
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	what := fmt.Sprintf("%s %s (%d)", r.Method, r.URL.Path, resp.StatusCode)
	if err == nil {
		err = c.validate(r, resp, body)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	if err != nil {
		c.errs = append(c.errs, fmt.Sprintf("the answer to %s does not conform to the OpenAPI document: %v\n%s", what, err, body))
	}
}

func (c *contract) validate(r *http.Request, resp *http.Response, body []byte) error {
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateResponse(context.WithoutCancel(r.Context()), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}
