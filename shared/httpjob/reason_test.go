package httpjob

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/testenv"
)

// TestEveryFailureHasAReason: each way a request can fail names one reason of the closed set,
// and a success names none, so the failure metrics never see an empty or unknown label.
func TestEveryFailureHasAReason(t *testing.T) {
	t.Parallel()
	// Each blocking handler returns when its request's context ends (the attempt's deadline), or
	// at the end of the test, whichever comes first.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	wait := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	answer := func(code int) string {
		return newTarget(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }).URL
	}
	tlsTarget := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(tlsTarget.Close)
	plain := newTarget(t, nil)
	slowHeaders := newTarget(t, func(_ http.ResponseWriter, r *http.Request) { wait(r) })
	slowBody := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		wait(r)
	})
	redirectAway := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(plain.URL, "127.0.0.1", "localhost", 1), http.StatusFound)
	})
	loopback := newRunner(t, Config{})
	deny := runnerWith(t, egress.Config{})

	tests := []struct {
		name     string
		runner   *Runner
		spec     *domain.HTTPSpec
		ctx      func(context.Context) context.Context
		timeout  bool
		want     domain.FailReason
		wantStat domain.ExecutionStatus
	}{
		{name: "Succeeded", spec: &domain.HTTPSpec{URL: plain.URL}, wantStat: domain.StatusSucceeded},
		{name: "NoSpec", want: domain.FailOther},
		{name: "Unparsable", spec: &domain.HTTPSpec{URL: "http://[::1"}, want: domain.FailOther},
		{name: "UnsupportedScheme", spec: &domain.HTTPSpec{URL: "ftp://example.com/x"}, want: domain.FailOther},
		{name: "ConnectionRefused", spec: &domain.HTTPSpec{URL: "http://" + testenv.RefusedAddr(t).String() + "/"}, want: domain.FailConnect},
		{name: "UntrustedCertificate", spec: &domain.HTTPSpec{URL: tlsTarget.URL}, want: domain.FailTLS},
		{name: "PlainServerBehindHTTPS", spec: &domain.HTTPSpec{URL: strings.Replace(plain.URL, "http://", "https://", 1)}, want: domain.FailTLS},
		{name: "ClientError", spec: &domain.HTTPSpec{URL: answer(http.StatusNotFound)}, want: domain.FailHTTPStatus},
		{name: "Unauthorized", spec: &domain.HTTPSpec{URL: answer(http.StatusUnauthorized)}, want: domain.FailHTTPStatus},
		{name: "ServerError", spec: &domain.HTTPSpec{URL: answer(http.StatusBadGateway)}, want: domain.FailHTTPStatus},
		{name: "RedirectNotFollowed", spec: &domain.HTTPSpec{URL: redirectAway.URL}, want: domain.FailHTTPStatus},
		{name: "TimeoutWaitingForHeaders", spec: &domain.HTTPSpec{URL: slowHeaders.URL}, timeout: true, want: domain.FailTimeout, wantStat: domain.StatusTimedOut},
		{name: "TimeoutReadingBody", spec: &domain.HTTPSpec{URL: slowBody.URL}, timeout: true, want: domain.FailTimeout, wantStat: domain.StatusTimedOut},
		{name: "EgressDenied", runner: deny, spec: &domain.HTTPSpec{URL: plain.URL}, want: domain.FailEgressDenied},
		{name: "SecretNotBoundToTheRedirect", spec: &domain.HTTPSpec{URL: redirectAway.URL, FollowRedirects: 1},
			ctx: func(ctx context.Context) context.Context {
				return secret.WithBindings(ctx, secret.Bindings{{Name: "token", Hosts: []string{"127.0.0.1"}}})
			}, want: domain.FailEgressDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			if tt.timeout {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
			}
			d := dueFor(tt.spec)
			d.HTTP = tt.spec
			res := cmpRunner(tt.runner, loopback).Run(ctx, d)
			assert.Equal(t, tt.want, res.Reason, res.Error)
			if tt.wantStat == "" {
				tt.wantStat = domain.StatusFailed
			}
			assert.Equal(t, tt.wantStat, res.Status, res.Error)
			if tt.want != "" {
				require.True(t, slices.Contains(domain.FailReasons(), res.Reason))
			}
		})
	}
}

func cmpRunner(r, fallback *Runner) *Runner {
	if r != nil {
		return r
	}
	return fallback
}

// A cancelled attempt is the executor taking it back, not the target failing: the runner
// names no reason of the target's.
func TestACancelledRequestIsNotTheTargetsFault(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	tg := newTarget(t, func(_ http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	res := newRunner(t, Config{}).Run(ctx, dueFor(&domain.HTTPSpec{URL: tg.URL}))
	assert.Equal(t, domain.FailOther, res.Reason)
}
