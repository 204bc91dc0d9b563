package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// tokens holds the API token of each API under test, by host:port. The tests' requests go
// through apiClient, which signs them in for the API they address, so each helper call needs
// no token of its own, and stacks that run in parallel keep theirs apart.
var tokens sync.Map

// apiClient is the client the tests call the API with; it checks the answers of an API that
// checkConformance names against that API's OpenAPI document.
var apiClient = &http.Client{Transport: signIn{http.DefaultTransport}}

type signIn struct{ next http.RoundTripper }

func (s signIn) RoundTrip(r *http.Request) (*http.Response, error) {
	if tok, ok := tokens.Load(r.URL.Host); ok && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok.(string))
	}
	resp, err := s.next.RoundTrip(r)
	if c, ok := contracts.Load(r.URL.Host); ok && err == nil {
		c.(*contract).check(r, resp)
	}
	return resp, err
}

// useToken makes apiClient sign requests to apiURL in with token until t ends.
func useToken(t *testing.T, apiURL, token string) {
	t.Helper()
	u, err := url.Parse(apiURL)
	require.NoError(t, err)
	tokens.Store(u.Host, token)
	t.Cleanup(func() { tokens.Delete(u.Host) })
}

// signInAsAdmin creates an admin with an API token in the database at dbURL (migrated by the
// API) and makes apiClient use it for apiURL.
func signInAsAdmin(t *testing.T, dbURL, apiURL string) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{URL: dbURL, MaxConns: 2})
	require.NoError(t, err)
	defer st.Close()
	useToken(t, apiURL, testfactory.AdminToken(t, st))
}
