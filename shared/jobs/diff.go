package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/vecron/vecron/shared/domain"
)

// Diff returns the fields that differ between two JSON-encodable values (definitions of a job),
// as dotted paths into their objects ("schedule.cron", "http.headers.X-Team") with the value on
// each side, sorted by path. A nil value is the empty object: every field of the other side
// differs. Arrays are compared whole, so a reviewer sees the list as it was and as it will be.
func Diff(before, after any) ([]domain.FieldChange, error) {
	a, err := flatten(before)
	if err != nil {
		return nil, err
	}
	b, err := flatten(after)
	if err != nil {
		return nil, err
	}
	return diffFlat(a, b), nil
}

// flatten encodes v and returns its leaves by path, each as its compact JSON.
func flatten(v any) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if v == nil {
		return out, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers compare as written, not as float64
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	if obj, ok := tree.(map[string]any); ok && len(obj) > 0 {
		return out, flattenInto(out, "", obj)
	}
	if string(raw) != "null" {
		out[""] = raw
	}
	return out, nil
}

func flattenInto(out map[string]json.RawMessage, prefix string, obj map[string]any) error {
	for k, v := range obj {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		// An empty object is a leaf, so that {} against nothing shows.
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			if err := flattenInto(out, path, sub); err != nil {
				return err
			}
			continue
		}
		if v == nil {
			continue // null and absent are alike: the field is not set
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("diff: %w", err)
		}
		out[path] = raw
	}
	return nil
}

// diffFlat compares two flattened values.
func diffFlat(a, b map[string]json.RawMessage) []domain.FieldChange {
	out := []domain.FieldChange{}
	for path, av := range a {
		if bv, ok := b[path]; !ok || !bytes.Equal(av, bv) {
			out = append(out, domain.FieldChange{Field: path, Before: av, After: b[path]})
		}
	}
	for path, bv := range b {
		if _, ok := a[path]; !ok {
			out = append(out, domain.FieldChange{Field: path, After: bv})
		}
	}
	slices.SortFunc(out, func(x, y domain.FieldChange) int {
		switch {
		case x.Field < y.Field:
			return -1
		case x.Field > y.Field:
			return 1
		}
		return 0
	})
	return out
}
