package alert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/alert"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/testenv"
)

func TestChannelsConfigErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"UnknownPreset", `{channels: [{name: a, type: webhook, url: "https://x.test/", preset: discord}]}`, "alerts.channels[0].preset"},
		{"BadTemplate", `{channels: [{name: a, type: webhook, url: "https://x.test/", body: "{{.Nope"}]}`, "alerts.channels[0].body"},
		{"UnknownField", `{channels: [{name: a, type: webhook, url: "https://x.test/", body: "{{.Nope}}"}]}`, "alerts.channels[0].body"},
		{"MethodCall", `{channels: [{name: a, type: webhook, url: "https://x.test/", body: "{{json .Time.Unix}}"}]}`, "alerts.channels[0].body"},
		{"UnknownFunction", `{channels: [{name: a, type: webhook, url: "https://x.test/", body: "{{len .Title}}"}]}`, "alerts.channels[0].body"},
		{"TemplateCall", `{channels: [{name: a, type: webhook, url: "https://x.test/", body: "{{template \"a\"}}"}]}`, "alerts.channels[0].body"},
		{"Define", `{channels: [{name: m, type: smtp, host: smtp.example.com, from: a@example.com, to: [b@example.com], subject: "{{define \"x\"}}x{{end}}"}]}`, "alerts.channels[0].subject"},
		{"NotJSON", `{channels: [{name: a, type: webhook, url: "https://x.test/", body: "{\"text\": \"{{.Title}}\"}"}]}`, "alerts.channels[0].body: renders no valid JSON"},
		{"PresetAndBody", `{channels: [{name: a, type: webhook, url: "https://x.test/", preset: slack, body: "{}"}]}`, "alerts.channels[0].body"},
		{"NoURL", `{channels: [{name: a, type: webhook}]}`, "alerts.channels[0].url"},
		{"UnknownType", `{channels: [{name: a, type: pager}]}`, "alerts.channels[0].type"},
		{"BadName", `{channels: [{name: "A B", type: webhook, url: "https://x.test/"}]}`, "alerts.channels[0].name"},
		{"EventsName", `{channels: [{name: events, type: webhook, url: "https://x.test/"}]}`, "alerts.channels[0].name"},
		{"Twice", `{channels: [{name: a, type: webhook, url: "https://x.test/"}, {name: a, type: webhook, url: "https://y.test/"}]}`, "alerts.channels[1].name"},
		{"MissingEnv", `{channels: [{name: a, type: webhook, url: "https://x.test/${env:NOPE}"}]}`, "alerts.channels[0]: the environment has no NOPE"},
		{"PlainAcrossNetwork", `{channels: [{name: m, type: smtp, host: smtp.example.com, from: a@example.com, to: [b@example.com], insecure_plain: true}]}`, "alerts.channels[0].insecure_plain"},
		{"NoRecipient", `{channels: [{name: m, type: smtp, host: smtp.example.com, from: a@example.com}]}`, "alerts.channels[0].to"},
		{"BadFrom", `{channels: [{name: m, type: smtp, host: smtp.example.com, from: nobody, to: [b@example.com]}]}`, "alerts.channels[0].from"},
		{"BadSubject", `{channels: [{name: m, type: smtp, host: smtp.example.com, from: a@example.com, to: [b@example.com], subject: "{{"}]}`, "alerts.channels[0].subject"},
		{"UserWithoutPassword", `{channels: [{name: m, type: smtp, host: smtp.example.com, from: a@example.com, to: [b@example.com], username: u}]}`, "alerts.channels[0].password"},
		{"UnknownKey", `{channels: [{name: a, type: webhook, url: "https://x.test/", secret: "hunter2"}]}`, "alerts.channels_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := alert.ParseChannels([]byte(tt.yaml), nil)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
	_, err := alert.LoadChannels(filepath.Join(t.TempDir(), "none.yaml"), nil)
	require.ErrorContains(t, err, "alerts.channels_file")
	list, err := alert.ParseChannels(nil, nil)
	require.NoError(t, err, "an empty file lists no channel")
	require.Empty(t, list)
}

// Every preset renders valid JSON of the shape its service takes, whatever the job's name and
// error hold.
func TestPresetsRenderWhatTheServicesTake(t *testing.T) {
	t.Parallel()
	hooks := map[string]*hook{"slack": newHook(t), "teams": newHook(t), "googlechat": newHook(t)}
	var b strings.Builder
	b.WriteString("channels:\n")
	for name, h := range hooks {
		fmt.Fprintf(&b, "  - {name: %s, type: webhook, preset: %s, url: %q}\n", name, name, h.URL)
	}
	channels, err := alert.ParseChannels([]byte(b.String()), nil)
	require.NoError(t, err)
	st := &memStore{}
	d, err := alert.New(st, nil, event.Names{}, clockwork.NewRealClock(), testenv.Logger(t),
		alert.Config{Channels: channels, Policy: egress.LoopbackPolicy(), PublicURL: "https://vecron.example.com/"})
	require.NoError(t, err)
	evil := `pay "all" <now> & \ later` + "\n\t\u2028"
	st.list = []*domain.Alert{
		{ID: 1, JobID: "j1", Namespace: "ops", JobName: evil, State: domain.AlertFiring, ConsecutiveFailures: 4, Threshold: 4,
			LastError: evil, ExecutionID: "e1", CreatedAt: time.Now()},
		{ID: 2, JobID: "j1", Namespace: "ops", JobName: evil, State: domain.AlertResolved, ConsecutiveFailures: 6, Threshold: 4,
			ExecutionID: "e2", CreatedAt: time.Now()},
	}
	for range 2 {
		_, err = d.Pass(t.Context())
		require.NoError(t, err)
	}

	for name, h := range hooks {
		bodies := h.Bodies()
		require.Len(t, bodies, 2, name)
		require.Equal(t, "application/json", h.headers[0].Get("Content-Type"))
		for i, body := range bodies {
			require.True(t, json.Valid([]byte(body)), "%s: %s", name, body)
			var v map[string]any
			require.NoError(t, json.Unmarshal([]byte(body), &v))
			switch name {
			case "slack", "googlechat":
				text, ok := v["text"].(string)
				require.True(t, ok, "%s takes a text", name)
				require.Contains(t, text, "ops/"+evil)
				if i == 0 {
					require.Contains(t, text, "https://vecron.example.com/jobs/j1")
				}
			case "teams":
				require.Equal(t, "message", v["type"])
				att := v["attachments"].([]any)[0].(map[string]any)
				require.Equal(t, "application/vnd.microsoft.card.adaptive", att["contentType"])
				card := att["content"].(map[string]any)
				require.Equal(t, "AdaptiveCard", card["type"])
				title := card["body"].([]any)[0].(map[string]any)
				require.Contains(t, title["text"], "ops/"+evil)
				if i == 0 {
					require.Equal(t, "Attention", title["color"])
					action := card["actions"].([]any)[0].(map[string]any)
					require.Equal(t, "https://vecron.example.com/jobs/j1", action["url"])
				} else {
					require.Equal(t, "Good", title["color"])
				}
			}
		}
	}
}

// memStore hands its notices to the dispatcher one a pass, in order.
type memStore struct {
	list []*domain.Alert
}

func (m *memStore) DeliverAlerts(ctx context.Context, _ time.Time, _ int, deliver func(context.Context, []*domain.Alert) error) (int, error) {
	if len(m.list) == 0 {
		return 0, nil
	}
	a := m.list[0]
	m.list = m.list[1:]
	return 1, deliver(ctx, []*domain.Alert{a})
}

func (m *memStore) PruneAlerts(context.Context, time.Time) (int64, error) { return 0, nil }
