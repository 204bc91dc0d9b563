package sqljob_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/sqljob"
)

// BenchmarkRunInsert runs one single-row INSERT per job, 256 at a time, against PostgreSQL
// through the runner's own pool of the default size: what execute-db does per execution after
// the queue, without the queue.
func BenchmarkRunInsert(b *testing.B) {
	tg := targets(b)[0]
	r := newRunner(b, sqljob.Config{})
	table := fmt.Sprintf("bench_insert_%d", b.N)
	res := r.Run(b.Context(), event.Due{JobID: "setup", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: tg.driver, DSN: tg.dsn,
		Statements: stmts("DROP TABLE IF EXISTS "+table, "CREATE TABLE "+table+" (job TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (job, n))")}})
	require.Equal(b, domain.StatusSucceeded, res.Status, res.Error)
	b.Cleanup(func() {
		r.Run(context.Background(), event.Due{JobID: "cleanup", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: tg.driver, DSN: tg.dsn,
			Statements: stmts("DROP TABLE IF EXISTS " + table)}})
	})
	var n atomic.Int64
	b.SetParallelism(128)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			spec := &domain.SQLSpec{Driver: tg.driver, DSN: tg.dsn, Statements: []domain.SQLStatement{{
				SQL: "INSERT INTO " + table + " (job, n) VALUES ($1, $2)", Params: []any{"j", n.Add(1)}}}}
			if res := r.Run(b.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: spec}); res.Status != domain.StatusSucceeded {
				b.Fatal(res.Error)
			}
		}
	})
}
