// Package history keeps execution history in shape: it makes the coming days' partitions before
// they are needed and drops the days that passed the retention, whole (docs/history-partitions.md).
// The tick runs one Keeper per replica; the replicas take turns dropping.
package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/shared/store"
)

// Defaults of Config.
const (
	RetentionDefault       = 30 * 24 * time.Hour
	PartitionsAheadDefault = 3
	// MinRetention keeps a day at least until it ended: one-day partitions cannot honour less.
	MinRetention = 24 * time.Hour
	// MaxPartitionsAhead bounds the empty days made in advance.
	MaxPartitionsAhead = 31
	// Interval is how often a keeper looks.
	Interval = time.Hour
)

// Config tunes the keeper.
type Config struct {
	Retention       time.Duration `koanf:"retention" usage:"how long execution history is kept, counted from each fire's scheduled instant; whole days are dropped (at least 24h)"`
	PartitionsAhead int           `koanf:"partitions_ahead" usage:"days of history partitions made ahead of today"`
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{Retention: RetentionDefault, PartitionsAhead: PartitionsAheadDefault}
}

// Validate reports the first setting out of range, naming it.
func (c Config) Validate() error {
	switch {
	case c.Retention < MinRetention:
		return fmt.Errorf("history.retention: %s is less than %s; history is kept in whole days", c.Retention, MinRetention)
	case c.PartitionsAhead < 0 || c.PartitionsAhead > MaxPartitionsAhead:
		return fmt.Errorf("history.partitions_ahead: %d is not between 0 and %d", c.PartitionsAhead, MaxPartitionsAhead)
	}
	return nil
}

// Store is what the keeper needs of the database.
type Store interface {
	PrepareHistory(ctx context.Context, at ...time.Time) error
	DropHistoryDays(ctx context.Context, before, now time.Time) (dropped []time.Time, held []store.HeldDay, err error)
}

// Keeper makes partitions ahead and drops expired days.
type Keeper struct {
	st    Store
	clock clockwork.Clock
	log   *slog.Logger
	cfg   Config
}

// New returns a keeper, or an error naming a bad setting.
func New(st Store, clock clockwork.Clock, log *slog.Logger, cfg Config) (*Keeper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Keeper{st: st, clock: clock, log: log, cfg: cfg}, nil
}

// Report says what one round did.
type Report struct {
	Dropped []time.Time
	Held    []store.HeldDay
	// Busy is set when another process was dropping, so this one left it to it.
	Busy bool
}

// Round makes today's and the next days' partitions and drops the days whose end is older than
// the retention, except those holding open work.
func (k *Keeper) Round(ctx context.Context) (Report, error) {
	now := k.clock.Now().UTC()
	ahead := make([]time.Time, 0, k.cfg.PartitionsAhead+1)
	for i := range k.cfg.PartitionsAhead + 1 {
		ahead = append(ahead, now.AddDate(0, 0, i))
	}
	if err := k.st.PrepareHistory(ctx, ahead...); err != nil {
		return Report{}, err
	}
	dropped, held, err := k.st.DropHistoryDays(ctx, now.Add(-k.cfg.Retention), now)
	if errors.Is(err, store.ErrHistoryBusy) {
		return Report{Busy: true}, nil
	}
	return Report{Dropped: dropped, Held: held}, err
}

// Run runs a round at once and then every Interval until ctx ends, then returns nil. A failed
// round is logged and tried again next time: history kept a little longer harms nobody.
func (k *Keeper) Run(ctx context.Context) error {
	for {
		r, err := k.Round(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			k.log.Warn("execution history: the round failed; it is tried again in an hour", "error", err)
		}
		for _, d := range r.Dropped {
			k.log.Info("execution history: dropped a day past the retention", "day", d.Format(time.DateOnly), "retention", k.cfg.Retention.String())
		}
		for _, h := range r.Held {
			k.log.Warn("execution history: a day past the retention is kept", "day", h.Day.Format(time.DateOnly), "reason", h.Reason)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-k.clock.After(Interval):
		}
	}
}
