package jobs

import (
	"errors"
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
)

// FuzzCheckFreeze checks that no freeze request makes checkFreeze panic, that a rejection is a
// *domain.ValidationError naming only the request's fields, and that an accepted freeze holds
// what the checks promise: a namespace, a reason, and a window that starts no earlier than now,
// ends in the future and lasts at most MaxFreeze.
func FuzzCheckFreeze(f *testing.F) {
	f.Add("payments", "year-end close", int64(0), false, int64(3600), true)
	f.Add("*", "data centre move", int64(600), true, int64(7200), true)
	f.Add("", "", int64(-120), true, int64(-1), true)
	f.Add("a b", "a\x07b", int64(400*86400), true, int64(91*86400), true)
	f.Add("team-a", "r", int64(0), false, int64(0), false)
	f.Fuzz(func(t *testing.T, ns, reason string, startIn int64, hasStart bool, endIn int64, hasEnd bool) {
		now := time.Date(2026, 12, 31, 10, 0, 0, 0, time.UTC)
		req := FreezeRequest{Namespace: ns, Reason: reason}
		if hasStart {
			s := now.Add(time.Duration(startIn%(1<<40)) * time.Second)
			req.StartsAt = &s
		}
		if hasEnd {
			e := now.Add(time.Duration(endIn%(1<<40)) * time.Second)
			req.EndsAt = &e
		}
		f, err := checkFreeze(req, now)
		if err != nil {
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("rejection is not a ValidationError: %v", err)
			}
			for _, fe := range verr.Fields {
				switch fe.Field {
				case "namespace", "reason", "starts_at", "ends_at":
				default:
					t.Fatalf("unknown field %q", fe.Field)
				}
			}
			return
		}
		switch {
		case f.Namespace != domain.AllNamespaces && !domain.ValidNamespace(f.Namespace):
			t.Fatalf("accepted namespace %q", f.Namespace)
		case f.Reason == "" || len(f.Reason) > MaxFreezeReason:
			t.Fatalf("accepted reason %q", f.Reason)
		case f.StartsAt.Before(now) || !f.EndsAt.After(now) || !f.EndsAt.After(f.StartsAt) || f.EndsAt.Sub(f.StartsAt) > MaxFreeze:
			t.Fatalf("accepted window %s – %s at %s", f.StartsAt, f.EndsAt, now)
		}
	})
}
