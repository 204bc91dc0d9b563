package provenance_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/crds/provenance"
)

func sample() *provenance.Sources {
	return &provenance.Sources{
		Modules: []provenance.Module{{Path: "example.com/m/v2", Version: "v2.0.1", Sum: "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
		Files: []provenance.File{
			{Name: "a.yaml", Module: "example.com/m/v2", Version: "v2.0.1", Path: "config/a.yaml", SHA256: provenance.SHA256([]byte("a"))},
			{Name: "b.yaml", SHA256: provenance.SHA256([]byte("b"))},
		},
		Scalers: []provenance.Scaler{{
			Type: "nats-jetstream", Module: "example.com/m/v2", Version: "v2.0.1", Path: "pkg/s.go", Struct: "meta",
			SHA256: provenance.SHA256([]byte("s")),
			Params: []provenance.Param{
				{Names: []string{"stream"}, Order: []string{provenance.OrderTriggerMetadata}},
				{Names: []string{"a", "b"}, Order: []string{provenance.OrderAuthParams, provenance.OrderResolvedEnv}, Optional: true},
				{Names: []string{"lag"}, Order: []string{provenance.OrderTriggerMetadata}, Default: "a \"quoted\" value", HasDefault: true},
				{Names: []string{"old"}, Order: []string{provenance.OrderTriggerMetadata}, Deprecated: "use new, with spaces"},
			},
		}},
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	t.Parallel()
	s := sample()
	got, err := provenance.Parse(s.Format())
	require.NoError(t, err)
	require.Equal(t, s, got)
	require.True(t, got.Files[1].IsHandWritten())
	require.True(t, got.Scalers[0].Params[0].Required())
	require.False(t, got.Scalers[0].Params[2].Required(), "a default makes a key optional")
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	sha := "sha256:" + provenance.SHA256(nil)
	for _, tc := range []struct {
		name, line, want string
	}{
		{"UnknownRecord", "blob x", `unknown record "blob"`},
		{"ShortSHA", "file a.yaml hand-written sha256:abc", "is not sha256:<64 lowercase hex>"},
		{"FileFields", "file a.yaml m v1 " + sha, "file: want name"},
		{"TwiceListed", "file a.yaml hand-written " + sha + "\nfile a.yaml hand-written " + sha, "a.yaml listed twice"},
		{"ParamBeforeScaler", "param s x order=triggerMetadata", "scaler s is not declared above"},
		{"BadOrder", "scaler s m v1 p.go T " + sha + "\nparam s x order=secrets", `order "secrets"`},
		{"NoOrder", "scaler s m v1 p.go T " + sha + "\nparam s x optional", "no order="},
		{"UnquotedDefault", "scaler s m v1 p.go T " + sha + "\nparam s x order=triggerMetadata default=10", "want a quoted string"},
		{"Unterminated", `scaler s m v1 p.go T ` + sha + "\n" + `param s x order=triggerMetadata default="10`, "unterminated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := provenance.Parse([]byte(tc.line + "\n"))
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, "SOURCES line")
		})
	}
}

// FuzzParse holds Parse to never panic and to read back whatever it formats.
func FuzzParse(f *testing.F) {
	committed, err := os.ReadFile(filepath.Join("..", provenance.FileName))
	require.NoError(f, err)
	f.Add(committed)
	f.Add(sample().Format())
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := provenance.Parse(data)
		if err != nil {
			return
		}
		again, err := provenance.Parse(s.Format())
		require.NoError(t, err)
		require.Equal(t, s, again)
	})
}
