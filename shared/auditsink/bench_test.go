package auditsink

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// BenchmarkForward forwards a backlog of n rows to a sink that accepts at once: a transaction
// and an HTTP request per row, which bounds how fast a backlog (forwarding enabled on an old
// log, a sink back from an outage) drains. Each iteration moves the cursor back to 0.
func BenchmarkForward(b *testing.B) {
	const n = 1000
	b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
		st, dbURL := testfactory.Store(b)
		ctx := domain.WithActor(b.Context(), domain.Actor{ID: "u1", Name: "ann", Kind: "user", Mode: "database"})
		for i := range n {
			if err := st.Record(ctx, store.Change{Action: "job.create", ObjectKind: "job", ObjectID: fmt.Sprint("job-", i),
				After: map[string]any{"name": fmt.Sprint("job-", i)}}); err != nil {
				b.Fatal(err)
			}
		}
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
		b.Cleanup(sink.Close)
		f, err := New(st, clockwork.NewFakeClock(), testenv.Logger(b), Config{Sink: sink.URL})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(f.sink.CloseIdleConnections)
		conn, err := pgx.Connect(b.Context(), dbURL)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close(context.Background()) })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conn.Exec(b.Context(), `INSERT INTO audit_forward (last_seq) VALUES (0) ON CONFLICT (id) DO UPDATE SET last_seq = 0`); err != nil {
				b.Fatal(err)
			}
			for {
				full, err := f.pass(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if !full {
					break
				}
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
