package timeline

import (
	"testing"
	"time"
)

// FuzzMisfireRange: the recorded text of a skip is read back, whatever it holds, without a
// panic, and a span read from it never ends before it starts; the tick's own wording round-trips.
func FuzzMisfireRange(f *testing.F) {
	f.Add("every fire from 2026-03-01T00:00:00Z until 2026-03-02T00:00:00Z: missed by 1h0m0s; misfire policy skip")
	f.Add("every fire from x until y: z")
	f.Add("frozen: release (freeze a until 2026-01-01T00:00:00Z)")
	f.Fuzz(func(t *testing.T, text string) {
		_ = SkipReason(text)
		_ = notSentReason(text)
		from, until, ok := misfireRange(text)
		if ok && until.Before(from) {
			t.Fatalf("span %s..%s ends before it starts", from, until)
		}
		_ = summary(text)
	})
}

func TestMisfireRangeReadsThePlannersWording(t *testing.T) {
	t.Parallel()
	from, until, ok := misfireRange("every fire from 2026-03-01T00:00:00Z until 2026-03-02T00:00:00Z: missed by 1h0m0s; misfire policy skip")
	if !ok || !from.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !until.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("got %s %s %v", from, until, ok)
	}
	if s := summary(string(make([]byte, 400))); len(s) > maxDetail+len("…") {
		t.Fatalf("summary of %d bytes", len(s))
	}
}
