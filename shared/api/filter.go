package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
)

// parseExecutionFilter reads the filters of a history listing: status and trigger (each a
// comma-separated list of values), and from and to (RFC 3339 instants bounding the fires'
// scheduled instants, from inclusive, to exclusive). Every bad parameter is named.
func parseExecutionFilter(r *http.Request) (domain.ExecutionFilter, error) {
	q := r.URL.Query()
	var (
		f domain.ExecutionFilter
		v domain.ValidationError
	)
	f.Statuses = oneOf(&v, "status", q.Get("status"), domain.Statuses())
	f.Triggers = oneOf(&v, "trigger", q.Get("trigger"), domain.Triggers())
	instant := func(name string) *time.Time {
		raw := q.Get(name)
		if raw == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			v.Add(name, fmt.Sprintf("%q is not an RFC 3339 instant such as 2026-12-01T00:00:00+07:00", raw))
			return nil
		}
		t = t.UTC()
		return &t
	}
	f.From, f.To = instant("from"), instant("to")
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		v.Add("to", "must be after from")
	}
	return f, v.Err()
}

// oneOf parses a comma-separated list of values of param, each one of known.
func oneOf[T ~string](v *domain.ValidationError, param, raw string, known []T) []T {
	if raw == "" {
		return nil
	}
	parts := strings.Split(raw, ",")
	if len(parts) > len(known) {
		v.Add(param, fmt.Sprintf("lists more than the %d values there are", len(known)))
		return nil
	}
	var out []T
	for _, p := range parts {
		x := T(strings.TrimSpace(p))
		if !slices.Contains(known, x) {
			names := make([]string, len(known))
			for i, k := range known {
				names[i] = string(k)
			}
			v.Add(param, fmt.Sprintf("%q is not one of %s", x, strings.Join(names, ", ")))
			return nil
		}
		out = append(out, x)
	}
	return out
}

// tagFilter reads the tags a job list asks for (?tag=a&tag=b keeps the jobs that have both).
// A blank value filters nothing, as a blank namespace or kind does; a value that no job could
// have as a tag is refused naming the parameter, rather than answered with an empty page that
// hides the typo.
func tagFilter(v *domain.ValidationError, raw []string) []string {
	if len(raw) > domain.MaxTags {
		v.Add("tag", fmt.Sprintf("asks for %d tags; a job has at most %d", len(raw), domain.MaxTags))
		return nil
	}
	var tags []string
	for _, t := range raw {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if p := domain.TagProblem(t); p != "" {
			v.Add("tag", quoted(printable(t, 80))+" "+p)
			return nil
		}
		tags = append(tags, t)
	}
	return domain.NormalizeTags(tags)
}
