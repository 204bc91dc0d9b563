package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// watching is a `vecron executions watch` running until stop.
type watching struct {
	out, msg syncBuffer
	code     int
	stop     func() int
}

func (a *apiEnv) watch(t *testing.T, args ...string) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w := &watching{}
	var wg sync.WaitGroup
	e := a.env()
	wg.Go(func() {
		w.code = execute(ctx, e, strings.NewReader(""), &w.out, &w.msg, append([]string{"executions", "watch"}, args...)...)
	})
	w.stop = func() int { cancel(); wg.Wait(); return w.code }
	t.Cleanup(func() { w.stop() })
	testenv.Eventually(t, "the watch connects", func() bool { return strings.Contains(w.msg.String(), "watching ") })
	return w
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// TestExecutionsWatchFollowsTheLiveStream: a change made with the CLI reaches a running watch
// at once; when the connection drops the watch reconnects with the id of the last event it
// printed, and the event made meanwhile arrives once.
func TestExecutionsWatchFollowsTheLiveStream(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, true)
	j := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "watched"})
	other := testfactory.Job(t, a.st, testfactory.JobOpts{Name: "other"})

	asJSON := a.watch(t, "--job", "watched", "-o", "json")
	forPeople := a.watch(t, "--types", "io.vecron.job.*")

	a.ok("jobs", "disable", other.ID) // not the watched job: only the second watch shows it
	a.ok("jobs", "disable", "watched")
	testenv.Eventually(t, "the pause reaches the JSON watch", func() bool { return asJSON.out.String() != "" })
	var ev struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Subject string `json:"subject"`
		Data    struct {
			Version int64 `json:"version"`
			Enabled bool  `json:"enabled"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(asJSON.out.String()), &ev), asJSON.out.String())
	require.Equal(t, "io.vecron.job.paused", ev.Type)
	require.Equal(t, j.ID, ev.Subject)
	require.False(t, ev.Data.Enabled)

	testenv.Eventually(t, "both pauses reach the table watch", func() bool { return len(lines(forPeople.out.String())) == 2 })
	shown := lines(forPeople.out.String())
	require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  job\.paused +default/other  version 2$`, shown[0])
	require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC  job\.paused +default/watched  version 2$`, shown[1])

	// The connections drop; the resume is made while the watches reconnect, before or after.
	a.srv.CloseClientConnections()
	a.ok("jobs", "enable", "watched")
	testenv.Eventually(t, "the resume reaches the JSON watch", func() bool { return len(lines(asJSON.out.String())) == 2 })
	testenv.Eventually(t, "the table watch reconnected and shows the resume", func() bool { return len(lines(forPeople.out.String())) == 3 })
	got := lines(asJSON.out.String())
	require.Contains(t, got[1], `"type":"io.vecron.job.resumed"`)
	require.Regexp(t, `job\.resumed +default/watched  version 3$`, lines(forPeople.out.String())[2])

	resumed := regexp.MustCompile(`reconnected; resuming after event (\d+)`).FindStringSubmatch(asJSON.msg.String())
	require.Len(t, resumed, 2, asJSON.msg.String())
	a.mu.Lock()
	require.Contains(t, a.streams, resumed[1], "the reconnection sends Last-Event-ID")
	a.mu.Unlock()

	require.Equal(t, 0, asJSON.stop(), asJSON.msg.String())
	require.Equal(t, 0, forPeople.stop(), forPeople.msg.String())
	require.Len(t, lines(asJSON.out.String()), 2, "nothing printed twice")
}

// TestExecutionsWatchRefused: a watch the API refuses ends at once with the problem's status.
func TestExecutionsWatchRefused(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	_, stderr, code := a.run("", "executions", "watch")
	require.Equal(t, exitUnavailable, code)
	require.Equal(t, "vecron: Service Unavailable (503): the live stream needs NATS: this api runs without nats.url\n", stderr)
	_, stderr, code = a.run("", "executions", "watch", "--types", "io.vecron.nothing")
	require.Equal(t, exitInvalid, code)
	require.Contains(t, stderr, "\n  types: \"io.vecron.nothing\" is not an event type of the stream")
}
