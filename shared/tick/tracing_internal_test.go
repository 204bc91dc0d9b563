package tick

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
)

// discard acknowledges every message without sending it: what is measured is the engine's
// share of a batch.
type discard struct{}

func (discard) PublishBatch(_ context.Context, msgs []queue.Message) []error {
	return make([]error, len(msgs))
}

// publishOnce publishes a batch of fires of a held claim that never commits.
func publishOnce(e *Engine, fires []pendingFire) {
	batches := make(chan []pendingFire, 1)
	batches <- fires
	close(batches)
	e.publishLoop(context.Background(), batches)
}

func benchFires(n int, h *heldClaim) []pendingFire {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	fires := make([]pendingFire, n)
	for i := range fires {
		fires[i] = pendingFire{Fire: domain.Fire{Key: domain.ScheduledKey("job", at.Add(time.Duration(i)*time.Second)), JobID: "job",
			Kind: domain.KindHTTP, Trigger: domain.TriggerSchedule, ScheduledAt: at, Payload: []byte(`{"job_id":"job"}`)}, held: h}
	}
	return fires
}

func benchEngine() *Engine {
	return &Engine{pub: discard{}, names: event.Names{}, cfg: DefaultConfig(), clock: clockwork.NewRealClock(), log: slog.New(slog.DiscardHandler)}
}

// Tracing off (no tracer, or the no-op provider functions build without otel.endpoint) costs no
// allocation on the fire's path.
func TestPublishWithTracingOffAllocatesNothingExtra(t *testing.T) {
	h := &heldClaim{left: 1 << 30}
	fires := benchFires(100, h)
	plain := benchEngine()
	noopEngine := benchEngine()
	noopEngine.SetTracer(noop.NewTracerProvider(), 0.1)
	require.Nil(t, noopEngine.tracer, "a no-op provider is tracing off")
	noopEngine.SetTracer(nil, 0.1)
	require.Nil(t, noopEngine.tracer)
	noopEngine.SetTracer(noop.NewTracerProvider(), 0.1)

	base := testing.AllocsPerRun(20, func() { publishOnce(plain, fires) })
	off := testing.AllocsPerRun(20, func() { publishOnce(noopEngine, fires) })
	require.Equal(t, base, off)
	// And none per fire from the tracing code: double the fires, double only the encoding's share.
	fires2 := benchFires(200, h)
	base2 := testing.AllocsPerRun(20, func() { publishOnce(plain, fires2) })
	t.Logf("allocations per batch: 100 fires %.0f, 200 fires %.0f (%.1f per fire)", base, base2, (base2-base)/100)
}

func BenchmarkPublishBatch(b *testing.B) {
	h := &heldClaim{left: 1 << 30}
	for _, tc := range []struct {
		name    string
		trigger domain.Trigger
		ratio   float64 // 0: tracing off
	}{{"TracingOff", domain.TriggerSchedule, 0}, {"TracingOnSchedule", domain.TriggerSchedule, 1}, {"TracingOnManual", domain.TriggerManual, 1},
		{"TracingOnScheduleRatio0.1", domain.TriggerSchedule, 0.1}} {
		b.Run(tc.name, func(b *testing.B) {
			fires := benchFires(100, h)
			for i := range fires {
				fires[i].Trigger = tc.trigger
				fires[i].Payload = []byte(`{"job_id":"job","kind":"http","http":{"url":"http://127.0.0.1:9/","method":"GET"},"trace":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`)
			}
			e := benchEngine()
			if tc.ratio > 0 {
				rec, tp := benchProvider(tc.ratio)
				defer tp.Shutdown(context.Background()) //nolint:errcheck // nothing to flush
				_ = rec
				e.SetTracer(tp, tc.ratio)
			}
			b.ReportAllocs()
			for b.Loop() {
				publishOnce(e, fires)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(fires)), "ns/fire")
		})
	}
}

// A fire the ratio drops gets no span: the engine answers for the sampler. What it publishes
// must be what the SDK's non-recording span would have given, and the fires it keeps must be
// the ones the SDK keeps.
func TestAnUnsampledFireCarriesWhatTheSDKWouldWrite(t *testing.T) {
	t.Parallel()
	const ratio = 0.3
	h := &heldClaim{left: 1 << 30}
	fires := benchFires(500, h)
	fires[0].Trigger = domain.TriggerManual // a requested fire without a request trace is a root too
	began := time.Now()
	shortcut, sdkOnly := benchEngine(), benchEngine()
	_, tp := benchProvider(ratio)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	shortcut.SetTracer(tp, ratio)
	sdkOnly.SetTracer(tp, ratio)
	sdkOnly.ratio = nil // every fire through the SDK's Start
	var dropped, kept int
	for i := range fires {
		fs, parent, state := shortcut.startFire(&fires[i], began)
		ref, refParent, refState := sdkOnly.startFire(&fires[i], began)
		require.Equal(t, refParent, parent, fires[i].Key)
		require.Equal(t, refState, state)
		require.Equal(t, ref.sc, fs.sc)
		require.Equal(t, ref.fire.IsRecording(), fs.fire != nil)
		if fs.fire == nil {
			dropped++
			require.False(t, fs.sc.IsSampled())
		} else {
			kept++
			require.True(t, fs.fire.IsRecording())
		}
		fs.end(nil)
		ref.end(nil)
	}
	require.InDelta(t, 500*ratio, kept, 50, "the ratio holds")
	require.NotZero(t, dropped)
}
