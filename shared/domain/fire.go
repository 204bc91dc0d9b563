package domain

import (
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Fire is one due fire of a job: an outbox row until JetStream acknowledges its publication.
type Fire struct {
	Key         string
	JobID       string
	Kind        JobKind
	Trigger     Trigger
	ScheduledAt time.Time
	// PublishAt is when the fire is to be published: its scheduled instant, or for a backfill
	// its turn under the rate limit.
	PublishAt time.Time
	// Payload is the JSON data of the due event (the job snapshot).
	Payload []byte
}

// Skip is a fire that will not run, recorded as a skipped execution with its reason.
type Skip struct {
	Key         string
	ScheduledAt time.Time
	Reason      string
	// Until is the end (not itself skipped) of the instants the record stands for when it
	// stands for a range of them from ScheduledAt (MisfireRangeKey); zero for one fire.
	Until time.Time
}

// PlanResult is what a claim does with one job: the fires to publish, the fires recorded as
// skipped, and the job's next run (nil when there is none to compute now).
type PlanResult struct {
	Fires []Fire
	Skips []Skip
	Next  *time.Time
}

// Key mints the idempotency key of a fire of job jobID — the one function that does. Every
// delivery of the fire carries it, and the executions table holds it once. A scheduled fire, and
// a backfill of one, is keyed by its instant at ("<job id>:<unix ms>"), so a fire that already
// ran never runs twice; a fire of any other trigger by the id the trigger gives it, a ULID or the
// source event's id ("<job id>:<trigger>:<id>").
func Key(jobID string, trigger Trigger, at time.Time, id string) string {
	switch trigger {
	case TriggerSchedule, TriggerBackfill:
		return jobID + ":" + strconv.FormatInt(at.UnixMilli(), 10)
	}
	return jobID + ":" + string(trigger) + ":" + id
}

// Instant is t as a fire's scheduled instant: UTC, to the millisecond, as precise as the key
// that names it. Every fire is minted at such an instant, so that a key always travels with one
// instant (see KeyInstant) — two instants within one millisecond would share a key.
func Instant(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// KeyInstant returns the instant a key names, to the millisecond: the scheduled instant of a
// scheduled or backfill fire's key, or the first missed instant of a misfire range's key. It
// reports false for a key that names none (a replay's, a manual trigger's).
//
// Execution history is partitioned by the fire's scheduled instant, and its uniqueness holds per
// partition: a key must therefore travel with one instant wherever it goes — fixed when the key is
// minted, written into the outbox with it, never taken from when a delivery arrives
// (docs/history-partitions.md).
func KeyInstant(key string) (time.Time, bool) {
	i := strings.IndexByte(key, ':')
	if i <= 0 {
		return time.Time{}, false
	}
	rest := key[i+1:]
	if r, ok := strings.CutPrefix(rest, misfireRange+":"); ok {
		rest = r
	}
	if rest == "" || (rest[0] < '0' || rest[0] > '9') && rest[0] != '-' {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// ScheduledKey is Key of the scheduled fire of jobID at scheduledAt.
func ScheduledKey(jobID string, scheduledAt time.Time) string {
	return Key(jobID, TriggerSchedule, scheduledAt, "")
}

// misfireRange keys the one record of a long run of missed fires: not a trigger, and a word no
// trigger may be, so the key never collides with a fire's.
const misfireRange = "misfire"

// MisfireRangeKey is the key of the record that stands for the missed fires of jobID from from
// on, when there are too many to record one by one.
func MisfireRangeKey(jobID string, from time.Time) string {
	return Key(jobID, Trigger(misfireRange), from, strconv.FormatInt(from.UnixMilli(), 10))
}

// ShardOf returns the shard of a job id.
func ShardOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % ShardCount)
}
