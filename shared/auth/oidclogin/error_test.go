package oidclogin_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth/oidclogin"
)

func TestErrorReasonsMatchWithErrorsIs(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("callback: %w", &oidclogin.Error{Reason: oidclogin.ReasonExpired})
	require.ErrorIs(t, err, &oidclogin.Error{Reason: oidclogin.ReasonExpired})
	require.NotErrorIs(t, err, &oidclogin.Error{Reason: oidclogin.ReasonMismatch})
	var e *oidclogin.Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, "The sign-in took too long or was already used. Please try again.", e.Message())

	for _, r := range []oidclogin.Reason{oidclogin.ReasonExpired, oidclogin.ReasonMismatch, oidclogin.ReasonRefused,
		oidclogin.ReasonUnavailable, oidclogin.ReasonInvalidToken} {
		e := &oidclogin.Error{Reason: r}
		require.NotEmpty(t, e.Message())
		require.Contains(t, e.Error(), "oidc sign-in: ")
	}
	refused := &oidclogin.Error{Reason: oidclogin.ReasonRefused, Code: "access_denied"}
	require.Equal(t, "The identity provider refused the sign-in: access_denied.", refused.Message())
}
