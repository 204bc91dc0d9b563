package server_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/testenv"
)

func TestStopDuringStartIsACleanStop(t *testing.T) {
	t.Parallel()
	log := testenv.Logger(t)
	stopped, cancel := context.WithCancel(t.Context())
	cancel()
	cut := fmt.Errorf("migrate: failed to initialize: %w", context.Canceled)
	require.NoError(t, server.StopDuringStart(stopped, "tick", cut, log), "a stop asked for while starting")
	require.ErrorIs(t, server.StopDuringStart(t.Context(), "tick", cut, log), context.Canceled, "cancelled, but nobody asked to stop")
	other := errors.New("database.url: is required")
	require.Equal(t, other, server.StopDuringStart(stopped, "tick", other, log), "a real failure stays one")
	require.NoError(t, server.StopDuringStart(t.Context(), "tick", nil, log))
}
