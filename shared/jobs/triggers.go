package jobs

import (
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/eventfilter"
)

// Limits of a job's triggers.
const (
	MaxTriggers = 8
	// MinDebounce and MaxDebounce bound an event trigger's debounce window.
	MinDebounce = time.Second
	MaxDebounce = 24 * time.Hour
	// MaxRateEvents and the bounds of max_rate.per keep a limit meaningful in Redis.
	MaxRateEvents = 1_000_000
	MinRatePer    = time.Second
	MaxRatePer    = 24 * time.Hour
)

// validateTriggers checks a job's triggers, naming each bad field
// ("triggers[0].event.filters[1].prefix.type").
func validateTriggers(v *domain.ValidationError, ts []domain.JobTrigger) {
	if len(ts) > MaxTriggers {
		v.Add("triggers", fmt.Sprintf("lists more than %d triggers", MaxTriggers))
		return
	}
	events := 0
	for i, t := range ts {
		field := fmt.Sprintf("triggers[%d]", i)
		if t.Event == nil {
			v.Add(field, "must hold event (the only kind of trigger so far)")
			continue
		}
		if events++; events > 1 {
			v.Add(field+".event", "a job has at most one event trigger; combine conditions with any")
			continue
		}
		e := t.Event
		if _, err := eventfilter.Compile(field+".event.filters", e.Filters); err != nil {
			if verr, ok := err.(*domain.ValidationError); ok {
				v.Fields = append(v.Fields, verr.Fields...)
			}
		}
		if d := time.Duration(e.Debounce); d != 0 && (d < MinDebounce || d > MaxDebounce) {
			v.Add(field+".event.debounce", fmt.Sprintf("must be from %s to %s when set", MinDebounce, MaxDebounce))
		}
		if r := e.MaxRate; r != nil {
			if r.Events < 1 || r.Events > MaxRateEvents {
				v.Add(field+".event.max_rate.events", fmt.Sprintf("must be from 1 to %d", MaxRateEvents))
			}
			if d := time.Duration(r.Per); d < MinRatePer || d > MaxRatePer {
				v.Add(field+".event.max_rate.per", fmt.Sprintf(`must be a duration such as "1m", from %s to %s`, MinRatePer, MaxRatePer))
			}
		}
	}
}
