package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// FuzzParseInstant: --since and --until never panic, and what they accept is an instant no
// later than now for a duration, exactly the instant for an RFC 3339 one.
func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{"90m", "36h", "7d", "0d", "1h30m", "2026-12-01", "2026-12-01T09:00:00+07:00", "-1h", "99999999d", "", " 2d ", "1e9h"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	zone := time.FixedZone("+07", 7*3600)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseInstant("since", s, now, zone)
		if err != nil {
			if exitCode(err) != exitUsage {
				t.Fatalf("%q: a bad value is a usage error, got %v", s, err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q: %v is not UTC", s, got)
		}
		trimmed := strings.TrimSpace(s)
		if _, derr := time.ParseDuration(trimmed); derr == nil || strings.HasSuffix(trimmed, "d") {
			if got.After(now) {
				t.Fatalf("%q: a duration back from now gave %v, after now", s, got)
			}
		}
		if want, perr := time.Parse(time.RFC3339Nano, trimmed); perr == nil && !got.Equal(want) {
			if _, derr := time.ParseDuration(trimmed); derr != nil {
				t.Fatalf("%q: got %v, want %v", s, got, want)
			}
		}
	})
}

// FuzzParseJobDocument: any file given to create or edit -f gives a JSON object without the
// fields the API does not take, or an error; a JSON object gives itself back, less those.
func FuzzParseJobDocument(f *testing.F) {
	for _, s := range []string{jobYAML, `{"name":"x","schedule":{"cron":"@daily"},"id":"a","version":3}`,
		"a: &x [1, 2]\nb: *x\n", "- 1\n- 2\n", "version: two\n", "name: \"\\u0000\"\n", "x: .inf\n", "{}", "", "a: {b: {c: [[[]]]}}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := parseJobDocument(b)
		if err != nil {
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(doc.body, &obj); err != nil {
			t.Fatalf("%q gave %s, not a JSON object: %v", b, doc.body, err)
		}
		for k := range obj {
			if readOnlyJobField(k) {
				t.Fatalf("%q: %s is sent", b, k)
			}
		}
		var in map[string]any
		if json.Unmarshal(b, &in) == nil {
			for k := range in {
				if readOnlyJobField(k) {
					delete(in, k)
				}
			}
			want, _ := json.Marshal(in)
			got, _ := json.Marshal(obj)
			if string(want) != string(got) {
				t.Fatalf("%q: JSON in, %s out, want %s", b, got, want)
			}
		}
	})
}

// FuzzReadSSE: whatever a server sends, the reader neither panics nor takes an id with a NUL.
func FuzzReadSSE(f *testing.F) {
	f.Add("retry: 2000\n: vecron live stream\n\nid: 7\n\nid: 8\nevent: io.vecron.job.paused\ndata: {}\n\n")
	f.Add("data: a\ndata: b\r\n\r\nid\nevent\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		last := ""
		_ = readSSE(strings.NewReader(s), &last, func(ev sseEvent) error {
			if ev.data == "" && !strings.Contains(s, "data") {
				t.Fatalf("an event without data from %q", s)
			}
			return nil
		})
		if strings.ContainsRune(last, 0) {
			t.Fatalf("id %q from %q", last, s)
		}
	})
}

// FuzzParseJobsFile: any file given to apply -f gives its jobs or an error; the jobs it gives
// go into a body that is no file of jobs itself (it holds the flags) and reads back as the same
// values the file holds.
func FuzzParseJobsFile(f *testing.F) {
	for _, s := range []string{"jobs: []\n", "jobs:\n  - " + `{"name":"x","schedule":{"cron":"@daily"}}` + "\n", `{"jobs":[{"name":"a","n":1.5,"t":true,"z":null}]}`,
		"jobs:\n- &x {a: 1}\n- *x\n", "jobs: []\n---\njobs: []\n", "prune: true\n", "jobs: {}\n", "", "[]", "jobs: [\"yes\", '0123', 1e3, ~, .nan]\n",
		"jobs:\n  - name: \"\\u0000\"\n", "jobs:\n  - !!binary aGk=\n", "# only a comment\n"} {
		f.Add([]byte(s))
	}
	type request struct {
		Jobs       []any    `yaml:"jobs"`
		Namespaces []string `yaml:"namespaces"`
		Prune      bool     `yaml:"prune"`
		DryRun     bool     `yaml:"dry_run"`
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := parseJobsFile(b)
		if err != nil {
			if exitCode(usageError{err}) != exitUsage || err.Error() == "" {
				t.Fatalf("%q: %v", b, err)
			}
			return
		}
		body, err := (&applyInput{items: items}).body([]string{"ops"}, true, false)
		if err != nil {
			t.Fatalf("%q: its jobs make no body: %v", b, err)
		}
		if _, err := parseJobsFile(body); err == nil {
			t.Fatalf("%q: the body %q passed for a file of jobs, flags and all", b, body)
		}
		var node yaml.Node
		if err := yaml.Unmarshal(body, &node); err != nil {
			t.Fatalf("%q: the body %q is not YAML: %v", b, body, err)
		}
		var file request
		if yaml.Unmarshal(b, &file) != nil {
			return // a value Go cannot hold, such as a key twice: the API names it
		}
		var got request
		if err := yaml.Unmarshal(body, &got); err != nil {
			t.Fatalf("%q: the body %q does not read back: %v", b, body, err)
		}
		if len(got.Jobs) != len(items) || !got.Prune || got.DryRun || fmt.Sprint(got.Namespaces) != "[ops]" {
			t.Fatalf("%q: the body %q does not hold the file's %d jobs and the flags", b, body, len(items))
		}
		if fmt.Sprintf("%#v", file.Jobs) != fmt.Sprintf("%#v", got.Jobs) {
			t.Fatalf("%q: jobs %#v came back as %#v", b, file.Jobs, got.Jobs)
		}
	})
}
