package alert_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/alert"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// Every channel attempt is counted once by its channel's type and how it went: delivered, to be
// retried, or given up.
func TestNotificationsAreCountedByChannelTypeAndResult(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 1}})
	good, flaky, dead := newHook(t), newHook(t, 500), newHook(t, 500, 500, 500, 500)
	channels, err := alert.ParseChannels(fmt.Appendf(nil, `
channels:
  - {name: good, type: webhook, url: %q}
  - {name: flaky, type: webhook, url: %q}
  - {name: dead, type: webhook, url: %q}
`, good.URL, flaky.URL, dead.URL), nil)
	require.NoError(t, err)
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)
	clock := clockwork.NewFakeClockAt(time.Now())
	d, err := alert.New(st, nil, event.Names{}, clock, testenv.Logger(t), alert.Config{Channels: channels,
		Policy: egress.LoopbackPolicy(), MinBackoff: time.Second, MaxBackoff: time.Second, GiveUpAfter: time.Minute, Metrics: reg})
	require.NoError(t, err)
	testfactory.Outcome(t, st, j, domain.StatusFailed, clock.Now().UTC().Add(-time.Second), 0)
	pass := func() {
		_, err := d.Pass(t.Context())
		require.NoError(t, err)
	}
	pass() // good delivered, flaky and dead retried
	clock.Advance(time.Second)
	pass() // flaky delivered, dead retried
	clock.Advance(time.Minute)
	pass() // dead given up

	got := map[string]float64{}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != string(metric.AlertNotifications) {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	require.Equal(t, 2.0, got["channel_type=webhook result=ok "], "%v", got)
	require.Equal(t, 3.0, got["channel_type=webhook result=retry "], "%v", got)
	require.Equal(t, 1.0, got["channel_type=webhook result=gave_up "], "%v", got)
	require.Len(t, got, 9, "every closed combination is there, the ones not seen at 0: %v", got)
	for k, v := range got {
		if !strings.HasPrefix(k, "channel_type=webhook ") {
			require.Zero(t, v, k)
		}
	}
}
