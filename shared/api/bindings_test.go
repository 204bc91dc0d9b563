package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

// A binding made or deleted through the API takes effect at once for its user's next request,
// not after the identity cache expires.
func TestBindingChangesTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	u := testfactory.User(t, c.st, testfactory.UserOpts{})
	userToken := testfactory.APIToken(t, c.st, u.ID, domain.AllNamespaces, nil)
	asUser := func() int {
		code, _, _ := c.do(http.MethodGet, "/api/v1/jobs", "", "Authorization", "Bearer "+userToken)
		return code
	}
	require.Equal(t, http.StatusForbidden, asUser())
	code, _, b := c.do(http.MethodPost, "/api/v1/role-bindings", `{"role":"viewer","user_id":"`+u.ID+`","namespace":"*"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.Equal(t, http.StatusOK, asUser())
	var binding domain.RoleBinding
	require.NoError(t, json.Unmarshal(b, &binding))
	code, _, b = c.do(http.MethodDelete, "/api/v1/role-bindings/"+binding.ID, "")
	require.Equal(t, http.StatusNoContent, code, string(b))
	require.Equal(t, http.StatusForbidden, asUser())
}
