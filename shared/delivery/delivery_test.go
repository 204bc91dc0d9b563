package delivery

import (
	"errors"
	"fmt"
	"net/http"
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
	require.Equal(t, "handler panicked with a string (its value is withheld: it may hold a secret)", other.Error())
	require.Equal(t, Outcome{Action: Redeliver, Delay: RetryDelayDefault}, Decide(other))
}
