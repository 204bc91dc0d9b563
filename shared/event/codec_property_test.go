package event_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	natsce "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/event"
)

// TestToNATSWritesWhatTheSDKBindingWrites holds the hand-written binary-mode encoder to the
// CloudEvents SDK's NATS JetStream binding, header for header, for arbitrary events.
func TestToNATSWritesWhatTheSDKBindingWrites(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		ev := cloudevents.NewEvent()
		ev.SetID(trimmed(1).Draw(t, "id"))
		ev.SetType(trimmed(1).Draw(t, "type"))
		ev.SetSource(rapid.StringMatching(`/[a-z0-9/_-]{0,30}`).Draw(t, "source"))
		if rapid.Bool().Draw(t, "hasSubject") {
			ev.SetSubject(trimmed(0).Draw(t, "subject"))
		}
		if rapid.Bool().Draw(t, "hasTime") {
			zone := time.FixedZone("z", rapid.IntRange(-14*3600, 14*3600).Draw(t, "offset"))
			ev.SetTime(time.Unix(0, rapid.Int64Range(0, 1<<62).Draw(t, "nanos")).In(zone))
		}
		if rapid.Bool().Draw(t, "hasSchema") {
			ev.SetDataSchema("https://example.test/" + rapid.StringMatching(`[a-z0-9]{0,10}`).Draw(t, "schema"))
		}
		for i := range rapid.IntRange(0, 4).Draw(t, "extensions") {
			name := rapid.StringMatching(`[a-z0-9]{1,20}`).Filter(func(s string) bool {
				switch s {
				case "id", "type", "source", "subject", "time", "specversion", "datacontenttype", "dataschema", "data":
					return false
				}
				return true
			}).Draw(t, "name"+string(rune('0'+i)))
			var v any
			switch rapid.IntRange(0, 3).Draw(t, "kind") {
			case 0:
				v = rapid.String().Draw(t, "string")
			case 1:
				v = rapid.Int32().Draw(t, "int32")
			case 2:
				v = rapid.IntRange(math.MinInt32, math.MaxInt32).Draw(t, "int")
			default:
				v = rapid.Bool().Draw(t, "bool")
			}
			ev.SetExtension(name, v)
		}
		if rapid.Bool().Draw(t, "hasData") {
			ev.SetDataContentType(rapid.SampledFrom([]string{cloudevents.ApplicationJSON, "text/plain"}).Draw(t, "contentType"))
			ev.DataEncoded = rapid.SliceOf(rapid.Byte()).Draw(t, "data")
		}

		var body bytes.Buffer
		want, err := natsce.WriteMsg(t.Context(), binding.ToMessage(&ev), &body)
		require.NoError(t, err)
		got, err := event.ToNATS(t.Context(), ev)
		require.NoError(t, err)
		require.Equal(t, map[string][]string(want), map[string][]string(got.Header))
		require.True(t, bytes.Equal(body.Bytes(), got.Data), "data %q, want %q", got.Data, body.Bytes())
	})
}
