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
	events, webhooks := 0, 0
	for i, t := range ts {
		field := fmt.Sprintf("triggers[%d]", i)
		switch {
		case t.Event != nil && t.Webhook != nil:
			v.Add(field, "must hold one of event and webhook, not both")
			continue
		case t.Webhook != nil:
			if webhooks++; webhooks > 1 {
				v.Add(field+".webhook", "a job has at most one webhook")
				continue
			}
			validateWebhook(v, field+".webhook", t.Webhook)
			continue
		case t.Event == nil:
			v.Add(field, "must hold event or webhook")
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
		validateRate(v, field+".event.max_rate", e.MaxRate)
	}
}

// validateRate checks a max_rate at field, when set.
func validateRate(v *domain.ValidationError, field string, r *domain.EventRate) {
	if r == nil {
		return
	}
	if r.Events < 1 || r.Events > MaxRateEvents {
		v.Add(field+".events", fmt.Sprintf("must be from 1 to %d", MaxRateEvents))
	}
	if d := time.Duration(r.Per); d < MinRatePer || d > MaxRatePer {
		v.Add(field+".per", fmt.Sprintf(`must be a duration such as "1m", from %s to %s`, MinRatePer, MaxRatePer))
	}
}
