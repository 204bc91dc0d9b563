package testenv_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
)

func TestRefusedAddrRefusesAndCannotBeTaken(t *testing.T) {
	t.Parallel()
	addr := testenv.RefusedAddr(t)
	_, err := net.Dial("tcp", addr.String())
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "dial: %v", err)
	_, err = net.Listen("tcp", addr.String())
	require.True(t, errors.Is(err, syscall.EADDRINUSE), "listen: %v", err)
}
