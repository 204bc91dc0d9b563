package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

func TestServeFinishesTheRequestInFlightThenReturns(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() {
		served <- server.Serve(ctx, "127.0.0.1:0", h, 10*time.Second, testenv.Logger(t), func(a net.Addr) { addrs <- a })
	}()
	addr := <-addrs

	type answer struct {
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr.String()+"/", nil)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		req.Close = true // no idle connection left behind
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{body: string(b), err: err}
	}()
	<-arrived
	cancel() // shutdown begins with the request in flight
	close(release)
	got := <-answered
	require.NoError(t, got.err)
	require.Equal(t, "done", got.body)
	require.NoError(t, <-served)
}

func TestServeReportsAnAddressInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = server.Serve(t.Context(), ln.Addr().String(), http.NotFoundHandler(), time.Second, testenv.Logger(t), nil)
	require.ErrorContains(t, err, "listen on "+ln.Addr().String())
}
