package delivery

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		want   Outcome
		status int
	}{
		{"Nil", nil, Outcome{Action: Ack}, http.StatusOK},
		{"Permanent", fmt.Errorf("bad event: %w", ErrPermanent), Outcome{Action: Drop}, http.StatusBadRequest},
		{"Retry", fmt.Errorf("run: %w", &RetryError{After: 5 * time.Second, Err: errors.New("busy")}), Outcome{Action: Redeliver, Delay: 5 * time.Second}, http.StatusServiceUnavailable},
		{"Other", errors.New("db down"), Outcome{Action: Redeliver, Delay: RetryDelayDefault}, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Decide(tt.err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.status, got.HTTPStatus())
		})
	}
}

func TestRecoveredIsRedeliveredAndQuotesOnlyRuntimeErrors(t *testing.T) {
	t.Parallel()
	var runtimeErr error
	index := func(s []string, i int) string { return s[i] }
	func() {
		defer func() { runtimeErr = Recovered(recover()) }()
		index([]string{"s3cr3t"}, 1)
	}()
	require.Equal(t, "handler panicked: runtime error: index out of range [1] with length 1", runtimeErr.Error())
	require.Equal(t, Outcome{Action: Redeliver, Delay: RetryDelayDefault}, Decide(runtimeErr))

	other := Recovered("cannot call https://x.test/?token=s3cr3t")
	require.Equal(t, "handler panicked: a string (its value is withheld: it may hold a secret)", other.Error())
	require.Equal(t, Outcome{Action: Redeliver, Delay: RetryDelayDefault}, Decide(other))
}

func TestDescribePanicQuotesOnlyWhatAMaskCovers(t *testing.T) {
	t.Parallel()
	mask := func(s string) string { return strings.ReplaceAll(s, "s3cr3t", "***") }
	for name, c := range map[string]struct {
		v    any
		mask func(string) string
		want string
	}{
		"StringMasked":      {"cannot call https://x.test/?token=s3cr3t", mask, "cannot call https://x.test/?token=***"},
		"ErrorMasked":       {errors.New("dial s3cr3t.internal"), mask, "dial ***.internal"},
		"StringWithoutMask": {"token=s3cr3t", nil, "a string (its value is withheld: it may hold a secret)"},
		// A header map holds Basic credentials as base64 of "user:password", a form no mask of
		// the password knows; bytes print as numbers.
		"MapWithheld":   {map[string][]string{"Authorization": {"Basic dXNlcjpzM2NyM3Q="}}, mask, "a map[string][]string (its value is withheld: it may hold a secret)"},
		"BytesWithheld": {[]byte("s3cr3t"), mask, "a []uint8 (its value is withheld: it may hold a secret)"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, DescribePanic(c.v, c.mask))
		})
	}
}
