package store

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// deliveryColumns are the columns of an execution's delivery facts (migration 00029), in the
// order deliveryArgs gives their values.
const deliveryColumns = `claimed_by, claimed_at, published_at, stream_seq, consumer, delivery_count`

// deliveryArgs are f's values for deliveryColumns: NULL for every fact not known.
func deliveryArgs(f *domain.DeliveryFacts) []any {
	var (
		claimedBy, consumer *string
		seq                 *int64
		count               *int32
		claimedAt, pubAt    *time.Time
	)
	if f != nil {
		if f.ClaimedBy != "" {
			claimedBy = &f.ClaimedBy
		}
		if f.Consumer != "" {
			consumer = &f.Consumer
		}
		if f.StreamSeq > 0 {
			v := int64(f.StreamSeq)
			seq = &v
		}
		if f.DeliveryCount > 0 {
			v := int32(f.DeliveryCount)
			count = &v
		}
		claimedAt, pubAt = f.ClaimedAt, f.PublishedAt
	}
	return []any{claimedBy, claimedAt, pubAt, seq, consumer, count}
}

// deliveryColumnsOf gathers the delivery facts of a batch of executions, column by column, as
// plain values — the zero value for a fact not known, which the statement turns into NULL
// (deliveryFromUnnest) — so that a batch costs six slices, not a pointer per fact.
type deliveryColumnsOf struct {
	claimedBy, consumer    []string
	claimedAt, publishedAt []time.Time
	streamSeq              []int64
	count                  []int32
}

func newDeliveryColumns(n int) deliveryColumnsOf {
	return deliveryColumnsOf{claimedBy: make([]string, 0, n), consumer: make([]string, 0, n),
		claimedAt: make([]time.Time, 0, n), publishedAt: make([]time.Time, 0, n),
		streamSeq: make([]int64, 0, n), count: make([]int32, 0, n)}
}

func (d *deliveryColumnsOf) add(f *domain.DeliveryFacts) {
	var v domain.DeliveryFacts
	if f != nil {
		v = *f
	}
	var claimedAt, publishedAt time.Time
	if v.ClaimedAt != nil {
		claimedAt = *v.ClaimedAt
	}
	if v.PublishedAt != nil {
		publishedAt = *v.PublishedAt
	}
	d.claimedBy, d.consumer = append(d.claimedBy, v.ClaimedBy), append(d.consumer, v.Consumer)
	d.claimedAt, d.publishedAt = append(d.claimedAt, claimedAt), append(d.publishedAt, publishedAt)
	d.streamSeq, d.count = append(d.streamSeq, int64(v.StreamSeq)), append(d.count, int32(v.DeliveryCount))
}

// deliveryFromUnnest selects the delivery columns of an unnest of deliveryColumnsOf's arrays
// (aliased u), a zero value read as NULL: Go's zero time is 0001-01-01 UTC, no fire's.
const deliveryFromUnnest = `nullif(u.claimed_by, ''), nullif(u.claimed_at, '0001-01-01 00:00:00+00'),
			nullif(u.published_at, '0001-01-01 00:00:00+00'), nullif(u.stream_seq, 0), nullif(u.consumer, ''), nullif(u.delivery_count, 0)`

// DeliveryFacts returns what the execution id scheduled at scheduledAt recorded of its delivery;
// nil when it recorded nothing (a push delivery, a run recorded by the API, an older row).
func (s *Store) DeliveryFacts(ctx context.Context, id string, scheduledAt time.Time) (*domain.DeliveryFacts, error) {
	var (
		f                      domain.DeliveryFacts
		claimedBy, consumer    *string
		claimedAt, publishedAt *time.Time
		seq                    *int64
		count                  *int32
	)
	err := s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM job_executions WHERE id = $1 AND scheduled_at = $2`,
		id, scheduledAt).Scan(&claimedBy, &claimedAt, &publishedAt, &seq, &consumer, &count)
	if err != nil {
		return nil, translate("get delivery facts", err)
	}
	if claimedBy == nil && claimedAt == nil && publishedAt == nil && seq == nil && consumer == nil && count == nil {
		return nil, nil
	}
	f.ClaimedAt, f.PublishedAt = utcPtr(claimedAt), utcPtr(publishedAt)
	if claimedBy != nil {
		f.ClaimedBy = *claimedBy
	}
	if consumer != nil {
		f.Consumer = *consumer
	}
	if seq != nil {
		f.StreamSeq = uint64(*seq)
	}
	if count != nil {
		f.DeliveryCount = int(*count)
	}
	return &f, nil
}

// jobStateActions are the audit actions whose row holds the job as it is after them. Other rows
// of a job hold other things: a webhook's row has an "enabled" of its own, the webhook's, and
// disabling a webhook does not pause its job.
var jobStateActions = []string{"job.create", "job.update", "job.enable", "job.disable"}

// EnabledChange is one recorded change of whether a job is enabled.
type EnabledChange struct {
	At      time.Time
	Enabled bool
}

// EnabledChanges returns, in the order they were recorded, the audit rows of job jobID made
// before until that say whether the job was enabled after them (create, edit, apply, pause,
// resume), at most limit of the latest. Its time is the job's updated_at from the row, which the api sets from
// its clock, or the row's own time when the row has none.
func (s *Store) EnabledChanges(ctx context.Context, jobID string, until time.Time, limit int) ([]EnabledChange, error) {
	// By the api's time of the change, not the row's: the row's is the database's.
	rows, err := s.pool.Query(ctx, `SELECT at, enabled FROM (
			SELECT seq, coalesce((after::jsonb ->> 'updated_at')::timestamptz, time) AS at, (after::jsonb ->> 'enabled')::boolean AS enabled
			FROM audit_log WHERE object_kind = 'job' AND object_id = $1 AND action = ANY($4)
				AND after IS NOT NULL AND after::jsonb ? 'enabled') x
		WHERE at < $2 ORDER BY seq DESC LIMIT $3`, jobID, until, limit, jobStateActions)
	if err != nil {
		return nil, translate("list job state changes", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EnabledChange, error) {
		var c EnabledChange
		err := r.Scan(&c.At, &c.Enabled)
		c.At = c.At.UTC()
		return c, err
	})
	slices.Reverse(list)
	return list, translate("list job state changes", err)
}
