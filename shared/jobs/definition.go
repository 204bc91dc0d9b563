package jobs

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
)

// Definition is a job as its owner writes it (domain.JobDefinition).
type Definition = domain.JobDefinition

// DefinitionOf returns the definition of j, normalised (see Normalize).
func DefinitionOf(j *domain.Job) Definition {
	n := Normalize(j)
	return Definition{
		Namespace: n.Namespace, Name: n.Name, Description: n.Description, Tags: n.Tags, Kind: n.Kind, Enabled: n.Enabled,
		Schedule: n.Schedule, Timezone: n.Timezone, HTTP: n.HTTP, SQL: n.SQL, Timeout: n.Timeout,
		MisfirePolicy: n.MisfirePolicy, MaxCatchup: n.MaxCatchup, StartingDeadline: n.StartingDeadline,
		ConcurrencyPolicy: n.ConcurrencyPolicy, Retry: n.Retry, Triggers: n.Triggers, Chains: n.Chains, Alert: n.Alert,
		MissedAfter: n.MissedAfter,
	}
}

// Normalize returns a copy of j in the one form that two definitions meaning the same job share:
// its defaults filled in (WithDefaults), a cron schedule's kind written out, instants in UTC,
// and durations the store keeps in milliseconds cut to them. j is left as it is.
func Normalize(j *domain.Job) *domain.Job {
	n := cloneJob(j)
	// Cut first: a duration that the cut makes zero takes its default, as the stored one would.
	n.Timeout = domain.Duration(time.Duration(n.Timeout).Truncate(time.Millisecond))
	n.StartingDeadline = domain.Duration(time.Duration(n.StartingDeadline).Truncate(time.Millisecond))
	n.MissedAfter = domain.Duration(time.Duration(n.MissedAfter).Truncate(time.Millisecond))
	WithDefaults(n)
	if n.Schedule.Kind == "" && n.Schedule.Cron != "" {
		n.Schedule.Kind = domain.ScheduleCron
	}
	for _, t := range []**time.Time{&n.Schedule.Anchor, &n.Schedule.At, &n.Schedule.StartAt, &n.Schedule.EndAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return n
}

// cloneJob copies j deeply enough that filling in the copy's defaults leaves j as it was.
func cloneJob(j *domain.Job) *domain.Job {
	c := *j
	c.Tags = slices.Clone(j.Tags)
	c.Schedule.ExcludedDates = slices.Clone(j.Schedule.ExcludedDates)
	c.Retry.Backoff = slices.Clone(j.Retry.Backoff)
	c.Triggers = domain.CloneTriggers(j.Triggers)
	c.Chains = j.Chains.Clone()
	c.Alert = j.Alert.Clone()
	if j.HTTP != nil {
		h := *j.HTTP
		h.Headers = maps.Clone(j.HTTP.Headers)
		c.HTTP = &h
	}
	if j.SQL != nil {
		q := *j.SQL
		q.Statements = make([]domain.SQLStatement, len(j.SQL.Statements))
		for i, st := range j.SQL.Statements {
			q.Statements[i] = domain.SQLStatement{SQL: st.SQL, Params: slices.Clone(st.Params), NamedParams: maps.Clone(st.NamedParams)}
		}
		if j.SQL.Statements == nil {
			q.Statements = nil
		}
		c.SQL = &q
	}
	return &c
}

// FieldChange is one field a change sets (domain.FieldChange).
type FieldChange = domain.FieldChange

// Diff returns the fields in which the definition of job b differs from that of job a, both
// normalised, in the order of the definition; nil for a job not there (a create or a delete).
// Two definitions are the same exactly when Diff returns nothing.
func Diff(a, b *domain.Job) []FieldChange {
	rawA, rawB := leavesOf(a, false), leavesOf(b, false)
	shownA, shownB := leavesOf(a, true), leavesOf(b, true)
	inA, inB := index(rawA), index(rawB)
	valA, valB := index(shownA), index(shownB)
	var out []FieldChange
	add := func(path string) {
		c := FieldChange{Path: path}
		if i, ok := valA[path]; ok {
			c.Old = shownA[i].value
		}
		if i, ok := valB[path]; ok {
			c.New = shownB[i].value
		}
		out = append(out, c)
	}
	for _, l := range rawB {
		if i, ok := inA[l.path]; !ok || !reflect.DeepEqual(rawA[i].value, l.value) {
			add(l.path)
		}
	}
	for _, l := range rawA {
		if _, ok := inB[l.path]; !ok {
			add(l.path)
		}
	}
	return out
}

// leaf is one scalar (or empty object or list) of a definition, at its JSON path.
type leaf struct {
	path  string
	value any
}

func index(ls []leaf) map[string]int {
	m := make(map[string]int, len(ls))
	for i, l := range ls {
		m[l.path] = i
	}
	return m
}

// leavesOf flattens the definition of j (redacted when shown); nil has none.
func leavesOf(j *domain.Job, shown bool) []leaf {
	if j == nil {
		return nil
	}
	if shown {
		j = Normalize(j).Redacted()
	}
	b, err := json.Marshal(DefinitionOf(j))
	if err != nil {
		// Only a value JSON cannot hold (a NaN parameter) fails; it shows as the whole job.
		return []leaf{{path: "", value: err.Error()}}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []leaf
	_ = flatten(dec, "", &out) // JSON json.Marshal wrote
	return foldList(out, "tags")
}

// foldList makes the items of the list at path one leaf holding the whole list. The tags are a
// sorted set: by position, adding one would show every later one as changed; as one leaf, a
// diff shows the list before and after.
func foldList(ls []leaf, path string) []leaf {
	var (
		items []any
		at    = -1
		out   = make([]leaf, 0, len(ls))
	)
	for _, l := range ls {
		if !strings.HasPrefix(l.path, path+"[") {
			out = append(out, l)
			continue
		}
		if at < 0 {
			at = len(out)
			out = append(out, leaf{path: path})
		}
		items = append(items, l.value)
	}
	if at >= 0 {
		out[at].value = items
	}
	return out
}

func flatten(dec *json.Decoder, at string, out *[]leaf) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		*out = append(*out, leaf{at, tok})
		return nil
	}
	n := 0
	for ; dec.More(); n++ {
		path := at + "[" + strconv.Itoa(n) + "]"
		if d == '{' {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			path = k.(string)
			if at != "" {
				path = at + "." + path
			}
		}
		if err := flatten(dec, path, out); err != nil {
			return err
		}
	}
	if n == 0 {
		empty := any([]any{})
		if d == '{' {
			empty = map[string]any{}
		}
		*out = append(*out, leaf{at, empty})
	}
	_, err = dec.Token()
	return err
}
