package alert_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/alert"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/event/eventschema"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// alertEvents returns the io.vecron.job.alert events on the events stream of names.
func alertEvents(t *testing.T, js jetstream.JetStream, names event.Names) []event.AlertData {
	t.Helper()
	s, err := js.Stream(t.Context(), names.EventsStream())
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	schemas, err := eventschema.Load("../../docs/events")
	require.NoError(t, err)
	var out []event.AlertData
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			continue
		}
		if m.Subject != names.EventSubject(event.TypeJobAlert) {
			continue
		}
		require.Equal(t, event.TypeJobAlert, m.Header.Get("ce-type"))
		require.Equal(t, event.SourceAlerts, m.Header.Get("ce-source"))
		ev, err := event.FromNATS(t.Context(), &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
		require.NoError(t, err)
		require.NoError(t, schemas.Validate(ev), "the alert event as sent matches docs/events/io.vecron.job.alert.schema.json")
		var d event.AlertData
		require.NoError(t, json.Unmarshal(m.Data, &d))
		out = append(out, d)
	}
	return out
}

// A job failing five times in a row, with a threshold of 3, alerts once on every channel —
// the events stream, a webhook and an e-mail — and a success then brings one recovery notice
// on each; failing again alerts again.
func TestFailureStreakNotifiesEveryChannelOnceAndRecovers(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "ops", Name: "settle"})
	slack := newHook(t)
	box := newMailbox(t, true)
	channels, err := alert.ParseChannels(fmt.Appendf(nil, `
channels:
  - name: ops-slack
    type: webhook
    preset: slack
    url: ${env:SLACK_URL}
  - name: ops-mail
    type: smtp
    host: 127.0.0.1
    port: %d
    from: vecron@example.com
    to: [oncall@example.com, "Ops <ops@example.com>"]
    username: vecron
    password: ${env:SMTP_PASSWORD}
    ca_file: %s
`, box.Addr.Port, box.CAFile), []string{"SLACK_URL=" + slack.URL + "/services/T0/B0/secret", "SMTP_PASSWORD=s3cret"})
	require.NoError(t, err)
	clock := clockwork.NewFakeClockAt(time.Now())
	d, err := alert.New(st, js, names, clock, testenv.Logger(t), alert.Config{Channels: channels,
		PublicURL: "https://vecron.example.com", Policy: egress.LoopbackPolicy()})
	require.NoError(t, err)

	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	next := func() time.Time { at = at.Add(time.Second); return at }
	for range 5 {
		testfactory.Outcome(t, st, j, domain.StatusFailed, next(), 0)
	}
	n, err := d.Pass(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = d.Pass(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "a delivered notice is done")

	evs := alertEvents(t, js, names)
	require.Len(t, evs, 1)
	require.Equal(t, domain.AlertFiring, evs[0].State)
	require.Equal(t, 3, evs[0].ConsecutiveFailures)
	require.Equal(t, 3, evs[0].Threshold)
	require.Equal(t, "settle", evs[0].JobName)
	require.Equal(t, "ops", evs[0].Namespace)
	require.Equal(t, "testfactory: failed", evs[0].LastError)
	require.Equal(t, "https://vecron.example.com/jobs/"+j.ID, evs[0].URL)
	require.NotEmpty(t, evs[0].ExecutionID)

	bodies := slack.Bodies()
	require.Len(t, bodies, 1)
	var msg struct{ Text string }
	require.NoError(t, json.Unmarshal([]byte(bodies[0]), &msg))
	require.Equal(t, "Job ops/settle failed 3 times in a row\nLast error: testfactory: failed\nhttps://vecron.example.com/jobs/"+j.ID, msg.Text)

	mails := box.Mails()
	require.Len(t, mails, 1)
	m := mails[0]
	require.Equal(t, "vecron@example.com", m.From)
	require.Equal(t, []string{"oncall@example.com", "ops@example.com"}, m.To)
	require.Equal(t, "vecron", m.User, "authenticated")
	require.True(t, m.TLS, "over STARTTLS")
	parsed, err := mail.ReadMessage(strings.NewReader(m.Data))
	require.NoError(t, err)
	require.Equal(t, "[vecron] Job ops/settle failed 3 times in a row", parsed.Header.Get("Subject"))
	require.Equal(t, "vecron@example.com", parsed.Header.Get("From"))
	require.Equal(t, "oncall@example.com, ops@example.com", parsed.Header.Get("To"))
	require.NotEmpty(t, parsed.Header.Get("Date"))
	require.NotEmpty(t, parsed.Header.Get("Message-Id"))
	body := decodeQP(t, parsed)
	require.Contains(t, body, "The job ops/settle ended 3 times in a row failed")
	require.Contains(t, body, "Last error:\r\ntestfactory: failed")
	require.Contains(t, body, "https://vecron.example.com/jobs/"+j.ID)

	testfactory.Outcome(t, st, j, domain.StatusSucceeded, next(), 0)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, next(), 0)
	_, err = d.Pass(t.Context())
	require.NoError(t, err)
	evs = alertEvents(t, js, names)
	require.Len(t, evs, 2)
	require.Equal(t, domain.AlertResolved, evs[1].State)
	require.Equal(t, 5, evs[1].ConsecutiveFailures)
	require.Len(t, slack.Bodies(), 2)
	require.Contains(t, slack.Bodies()[1], "Job ops/settle recovered after 5 failures in a row")
	require.Len(t, box.Mails(), 2)
	require.Contains(t, box.Mails()[1].Data, "recovered")

	for range 3 {
		testfactory.Outcome(t, st, j, domain.StatusTimedOut, next(), 0)
	}
	_, err = d.Pass(t.Context())
	require.NoError(t, err)
	evs = alertEvents(t, js, names)
	require.Len(t, evs, 3, "a new streak alerts again")
	require.Equal(t, domain.AlertFiring, evs[2].State)
	require.Len(t, slack.Bodies(), 3)
	require.Len(t, box.Mails(), 3)

	list, err := st.JobAlerts(t.Context(), j.ID, 10)
	require.NoError(t, err)
	for _, a := range list {
		require.NotNil(t, a.DoneAt)
		for _, ch := range []string{alert.EventsChannel, "ops-slack", "ops-mail"} {
			require.Equal(t, domain.DeliveryDelivered, a.Deliveries[ch].State, ch)
		}
	}
}

func decodeQP(t *testing.T, m *mail.Message) string {
	t.Helper()
	require.Equal(t, "quoted-printable", m.Header.Get("Content-Transfer-Encoding"))
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	require.NoError(t, err)
	return string(b)
}

// A channel that fails is retried after a back-off, without holding up the others, and given
// up after GiveUpAfter with the others delivered; a recovery waits for its alert to be done.
func TestFailingChannelRetriesAloneAndGivesUp(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 1}})
	good, flaky, dead := newHook(t), newHook(t, 500, 502), newHook(t, 500, 500, 500, 500, 500, 500, 500, 500)
	channels, err := alert.ParseChannels(fmt.Appendf(nil, `
channels:
  - {name: good, type: webhook, url: %q}
  - {name: flaky, type: webhook, url: %q, headers: {Authorization: "Bearer ${env:TOKEN}"}}
  - {name: dead, type: webhook, url: %q}
`, good.URL, flaky.URL, dead.URL+"/hooks/s3cr3t"), []string{"TOKEN=t0k3n"})
	require.NoError(t, err)
	clock := clockwork.NewFakeClockAt(time.Now())
	log := &testenv.LogBuffer{}
	d, err := alert.New(st, nil, event.Names{}, clock, slog.New(slog.NewJSONHandler(log, nil)), alert.Config{Channels: channels,
		Policy: egress.LoopbackPolicy(), MinBackoff: time.Second, MaxBackoff: 4 * time.Second, GiveUpAfter: time.Minute})
	require.NoError(t, err)

	at := clock.Now().UTC().Add(-2 * time.Second)
	testfactory.Outcome(t, st, j, domain.StatusFailed, at, 0)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, at.Add(time.Second), 0)
	pass := func() int {
		n, err := d.Pass(t.Context())
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 1, pass(), "the recovery waits for its alert")
	require.Len(t, good.Bodies(), 1)
	require.Len(t, flaky.Bodies(), 1)
	require.Equal(t, 0, pass(), "nothing is due before the back-off")
	clock.Advance(time.Second)
	require.Equal(t, 1, pass())
	require.Len(t, good.Bodies(), 1, "a delivered channel is not sent again")
	require.Len(t, flaky.Bodies(), 2)
	clock.Advance(2 * time.Second)
	pass()
	require.Len(t, flaky.Bodies(), 3, "delivered at the third attempt")
	require.Equal(t, "Bearer t0k3n", flaky.headers[2].Get("Authorization"))

	// Past GiveUpAfter, the dead channel's next failure gives up; the recovery follows.
	clock.Advance(time.Minute)
	pass()
	pass()
	list, err := st.JobAlerts(t.Context(), j.ID, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	firing := list[1]
	require.Equal(t, domain.AlertFiring, firing.State)
	require.NotNil(t, firing.DoneAt)
	require.Equal(t, domain.DeliveryFailed, firing.Deliveries["dead"].State)
	require.Contains(t, firing.Deliveries["dead"].LastError, "answered 500")
	require.NotContains(t, firing.Deliveries["dead"].LastError, "s3cr3t", "the URL may hold a token")
	require.NotContains(t, log.String(), "s3cr3t")
	require.NotContains(t, log.String(), "t0k3n")
	require.Equal(t, domain.DeliveryDelivered, firing.Deliveries["flaky"].State)
	require.Contains(t, log.String(), "giving up on the channel")
	// The recovery came after its alert, on every channel that works.
	require.Len(t, good.Bodies(), 2)
	require.Contains(t, good.Bodies()[1], `"state":"resolved"`)
}

// A channel whose host the egress policy refuses is never connected to, and gives up at once.
func TestChannelHostRefusedByEgress(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 1}})
	h := newHook(t)
	box := newMailbox(t, false)
	channels, err := alert.ParseChannels(fmt.Appendf(nil, `
channels:
  - {name: hook, type: webhook, url: %q}
  - {name: mail, type: smtp, host: 127.0.0.1, port: %d, from: a@example.com, to: [b@example.com], insecure_plain: true}
`, h.URL, box.Addr.Port), nil)
	require.NoError(t, err)
	d, err := alert.New(st, nil, event.Names{}, clockwork.NewRealClock(), testenv.Logger(t),
		alert.Config{Channels: channels, Policy: &egress.Policy{}}) // the default policy: no loopback
	require.NoError(t, err)
	testfactory.Outcome(t, st, j, domain.StatusFailed, time.Now().Add(-time.Minute), 0)
	_, err = d.Pass(t.Context())
	require.NoError(t, err)
	require.Empty(t, h.Bodies())
	require.Empty(t, box.Mails())
	list, err := st.JobAlerts(t.Context(), j.ID, 1)
	require.NoError(t, err)
	require.NotNil(t, list[0].DoneAt, "a refusal is permanent")
	for _, ch := range []string{"hook", "mail"} {
		require.Equal(t, domain.DeliveryFailed, list[0].Deliveries[ch].State)
		require.Contains(t, list[0].Deliveries[ch].LastError, "egress", ch)
	}
}

// Mail goes over STARTTLS: a server that does not offer it gets nothing, unless the channel is
// a loopback relay allowed plain.
func TestMailRefusesAServerWithoutStartTLS(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 1}})
	box := newMailbox(t, false)
	channels, err := alert.ParseChannels(fmt.Appendf(nil, `
channels:
  - {name: strict, type: smtp, host: 127.0.0.1, port: %d, from: a@example.com, to: [b@example.com]}
  - {name: relay, type: smtp, host: 127.0.0.1, port: %d, from: a@example.com, to: [c@example.com], insecure_plain: true}
`, box.Addr.Port, box.Addr.Port), nil)
	require.NoError(t, err)
	d, err := alert.New(st, nil, event.Names{}, clockwork.NewRealClock(), testenv.Logger(t),
		alert.Config{Channels: channels, Policy: egress.LoopbackPolicy()})
	require.NoError(t, err)
	testfactory.Outcome(t, st, j, domain.StatusFailed, time.Now().Add(-time.Minute), 0)
	_, err = d.Pass(t.Context())
	require.NoError(t, err)
	mails := box.Mails()
	require.Len(t, mails, 1)
	require.Equal(t, []string{"c@example.com"}, mails[0].To)
	list, err := st.JobAlerts(t.Context(), j.ID, 1)
	require.NoError(t, err)
	require.Equal(t, domain.DeliveryPending, list[0].Deliveries["strict"].State)
	require.Contains(t, list[0].Deliveries["strict"].LastError, "no STARTTLS")
}

var _ alert.Store = (*store.Store)(nil)

// Two replicas delivering at once send each notice once: a notice one holds, the other skips.
func TestReplicasDeliverEachNoticeOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	h := newHook(t)
	channels, err := alert.ParseChannels(fmt.Appendf(nil, "channels: [{name: hook, type: webhook, url: %q}]", h.URL), nil)
	require.NoError(t, err)
	var replicas []*alert.Dispatcher
	for range 2 {
		d, err := alert.New(st, nil, event.Names{}, clockwork.NewRealClock(), testenv.Logger(t),
			alert.Config{Channels: channels, Policy: egress.LoopbackPolicy(), BatchSize: 2})
		require.NoError(t, err)
		replicas = append(replicas, d)
	}
	at := time.Now().Add(-time.Minute)
	for i := range 6 {
		j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 1}})
		testfactory.Outcome(t, st, j, domain.StatusFailed, at.Add(time.Duration(i)*time.Second), 0)
	}
	done := make(chan error, 2)
	for _, d := range replicas {
		go func() {
			for {
				n, err := d.Pass(t.Context())
				if err != nil || n == 0 {
					done <- err
					return
				}
			}
		}()
	}
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	require.Len(t, h.Bodies(), 6)
}

// A notice left pending on a channel that the settings no longer list (renamed or removed while
// it failed) is given up like a failing channel once GiveUpAfter has passed, instead of staying
// due on every pass and holding the job's recovery behind it for good.
func TestChannelRemovedWhilePendingDoesNotHoldTheRecovery(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 1}})
	good, broken := newHook(t), newHook(t, 500, 500, 500, 500, 500, 500, 500, 500)
	clock := clockwork.NewFakeClockAt(time.Now())
	cfg := alert.Config{Policy: egress.LoopbackPolicy(), MinBackoff: time.Second, MaxBackoff: 4 * time.Second, GiveUpAfter: time.Minute}
	before, err := alert.ParseChannels(fmt.Appendf(nil, `
channels:
  - {name: good, type: webhook, url: %q}
  - {name: broken, type: webhook, url: %q}
`, good.URL, broken.URL), nil)
	require.NoError(t, err)
	cfg.Channels = before
	d, err := alert.New(st, nil, event.Names{}, clock, testenv.Logger(t), cfg)
	require.NoError(t, err)
	at := clock.Now().UTC().Add(-2 * time.Second)
	testfactory.Outcome(t, st, j, domain.StatusFailed, at, 0)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, at.Add(time.Second), 0)
	_, err = d.Pass(t.Context())
	require.NoError(t, err)
	require.Len(t, broken.Bodies(), 1)

	// The operator drops the broken channel and restarts.
	after, err := alert.ParseChannels(fmt.Appendf(nil, "channels: [{name: good, type: webhook, url: %q}]", good.URL), nil)
	require.NoError(t, err)
	cfg.Channels = after
	d, err = alert.New(st, nil, event.Names{}, clock, testenv.Logger(t), cfg)
	require.NoError(t, err)
	looked := 0
	for range 20 {
		clock.Advance(time.Second)
		n, err := d.Pass(t.Context())
		require.NoError(t, err)
		looked += n
	}
	require.Less(t, looked, 20, "a notice nobody here can send is not taken up on every pass")
	clock.Advance(time.Minute)
	for range 3 {
		_, err := d.Pass(t.Context())
		require.NoError(t, err)
	}
	list, err := st.JobAlerts(t.Context(), j.ID, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	firing := list[1]
	require.NotNil(t, firing.DoneAt, "given up once GiveUpAfter has passed")
	require.Equal(t, domain.DeliveryFailed, firing.Deliveries["broken"].State)
	require.Contains(t, firing.Deliveries["broken"].LastError, "not configured")
	require.NotNil(t, list[0].DoneAt)
	require.Len(t, good.Bodies(), 2, "the recovery went out")
	require.Contains(t, good.Bodies()[1], `"state":"resolved"`)
}

// A JSON body is checked when it is rendered, not only on the samples at start: a branch the
// samples do not take (here: an alert without public_url) that writes an error text unquoted
// is not posted, so that no job name or error can add a field to what the receiver reads.
func TestJSONBodyThatARealAlertBreaksIsNotPosted(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Name: `x", "routing_key": "attacker`, Alert: domain.AlertPolicy{AfterFailures: 1}})
	h := newHook(t)
	channels, err := alert.ParseChannels(fmt.Appendf(nil, `
channels:
  - name: pager
    type: webhook
    url: %q
    body: '{"routing_key": "ops", "summary": {{if .URL}}{{json .Title}}{{else if .Firing}}"{{.Title}}"{{else}}"recovered"{{end}}}'
`, h.URL), nil)
	require.NoError(t, err, "the samples take the URL branch of an alert")
	d, err := alert.New(st, nil, event.Names{}, clockwork.NewRealClock(), testenv.Logger(t),
		alert.Config{Channels: channels, Policy: egress.LoopbackPolicy()})
	require.NoError(t, err)
	testfactory.Outcome(t, st, j, domain.StatusFailed, time.Now().Add(-time.Minute), 0)
	_, err = d.Pass(t.Context())
	require.NoError(t, err)
	for _, b := range h.Bodies() {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(b), &v), b)
		require.Equal(t, "ops", v["routing_key"], b)
	}
	list, err := st.JobAlerts(t.Context(), j.ID, 1)
	require.NoError(t, err)
	require.Contains(t, list[0].Deliveries["pager"].LastError, "not valid JSON of the template's shape")
}
