package forward

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/testenv"
)

// noMetadata is a message whose reply subject is not JetStream's: the server never sends one on a
// pull consumer, so no real one can be made to test the branch that gives it up.
type noMetadata struct {
	jetstream.Msg
	termed bool
}

func (m *noMetadata) Metadata() (*jetstream.MsgMetadata, error) {
	return nil, errors.New("message metadata not present")
}
func (m *noMetadata) Subject() string { return "vecron.due.http" }
func (m *noMetadata) Term() error     { m.termed = true; return nil }

// A message given up for want of metadata is counted gave_up, as every other given up is: the
// metric is how an operator learns of it without reading the logs.
func TestAMessageWithoutMetadataIsCountedGivenUp(t *testing.T) {
	t.Parallel()
	reg, err := metric.New(metric.Config{Function: "tick"})
	require.NoError(t, err)
	f, err := New(nil, event.Names{}, nil, nil, testenv.Logger(t), Config{Metrics: reg})
	require.NoError(t, err)
	msg := &noMetadata{}
	f.handle(t.Context(), route{kind: domain.KindHTTP}, msg, func() {})
	require.True(t, msg.termed)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != string(metric.ForwardDeliveries) {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if v := m.GetCounter().GetValue(); v != 0 {
				got[labels["kind"]+"/"+labels["result"]] = v
			}
		}
	}
	require.Equal(t, map[string]float64{"http/gave_up": 1}, got)
}
