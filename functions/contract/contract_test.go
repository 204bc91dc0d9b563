package contract_test

import (
	"encoding/json"
	"go/build"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/functions/contract"
	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/server"
)

// TestFunctionsListEveryBinary holds the list to the tree: every main package under functions/
// is a function, and so is every build of one with a tag its files are constrained by
// (execute-db -tags oracle); make build builds the same list.
func TestFunctionsListEveryBinary(t *testing.T) {
	t.Parallel()
	var want []string
	dirs, err := os.ReadDir("..")
	require.NoError(t, err)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		pkg, err := build.ImportDir(filepath.Join("..", d.Name()), 0)
		if err != nil || pkg.Name != "main" {
			continue
		}
		want = append(want, "./functions/"+d.Name())
		for _, tag := range pkg.AllTags {
			want = append(want, "./functions/"+d.Name()+" -tags "+tag)
		}
	}
	require.NotEmpty(t, want)

	var got, names, images []string
	for _, f := range contract.Functions("") {
		id := f.Package
		for _, tag := range f.Tags {
			id += " -tags " + tag
		}
		got = append(got, id)
		names, images = append(names, f.Name), append(images, f.Image)
		assert.Equal(t, "vecron-"+f.Name, f.Image, "%s: image name", f.Name)
		wantName := strings.TrimPrefix(f.Package, "./functions/")
		if len(f.Tags) > 0 {
			wantName += "-" + strings.Join(f.Tags, "-")
		}
		assert.Equal(t, wantName, f.Name, "%s: name of the build", f.Package)
	}
	assert.ElementsMatch(t, want, got)
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(images))), len(images), "image names are unique")

	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^FUNCTIONS := (.*)$`).FindSubmatch(makefile)
	require.NotNil(t, m, "the Makefile names its functions in FUNCTIONS")
	for _, fn := range strings.Fields(string(m[1])) {
		assert.Contains(t, names, fn, "make build builds %s", fn)
	}
	assert.Contains(t, string(makefile), "-tags oracle -o $(BIN)/execute-db-oracle ./functions/execute-db", "make build builds execute-db-oracle")
}

// TestSettingsHoldEveryKeyTheContractNames checks each key the contract refers to against the
// settings the binary reads, and each port's default against the setting's described default.
func TestSettingsHoldEveryKeyTheContractNames(t *testing.T) {
	t.Parallel()
	for _, f := range contract.Functions("") {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			require.NotEmpty(t, f.Settings)
			byKey := map[string]config.Setting{}
			env := map[string]bool{}
			for _, s := range f.Settings {
				byKey[s.Key] = s
				require.NotEmpty(t, s.Env, "%s has no environment variable", s.Key)
				assert.True(t, strings.HasPrefix(s.Env[0], config.EnvPrefix), "%s: first variable %s", s.Key, s.Env[0])
				for _, e := range s.Env {
					env[e] = true
				}
			}
			for _, key := range f.Required {
				assert.Contains(t, byKey, key, "required")
			}
			for _, c := range f.Consumers {
				assert.Contains(t, byKey, c.Setting, "consumer %s", c.Durable)
			}
			for _, name := range f.Platform {
				assert.True(t, env[name], "platform variable %s is read by no setting", name)
			}
			require.NotEmpty(t, f.Ports)
			assert.Equal(t, "http", f.Ports[0].Name, "the public port comes first")
			seen := map[int]string{}
			for _, p := range f.Ports {
				s, ok := byKey[p.Setting]
				if !assert.True(t, ok, "port %s: no setting %s", p.Name, p.Setting) {
					continue
				}
				assert.Equal(t, p.Default, portOf(t, s), "port %s: default of %s", p.Name, p.Setting)
				if p.Default != 0 {
					assert.NotContains(t, seen, p.Default, "port %s", p.Name)
					seen[p.Default] = p.Name
				}
			}
		})
	}
}

// portOf returns the port a setting's described default serves: a number, or the port of an
// address; 0 when it is empty (off).
func portOf(t *testing.T, s config.Setting) int {
	t.Helper()
	if s.Default == "" {
		return 0
	}
	if s.Type == "int" {
		n, err := strconv.Atoi(s.Default)
		require.NoError(t, err, s.Key)
		return n
	}
	_, port, err := net.SplitHostPort(s.Default)
	require.NoError(t, err, s.Key)
	n, err := strconv.Atoi(port)
	require.NoError(t, err, s.Key)
	return n
}

// TestConsumersFollowThePrefix checks, for any stream prefix an install may choose, that the
// consumers are the ones the pullers, the forwarder and the sink deliverer make, on that prefix's
// streams, that the settings described carry that prefix, and that no two consumers of the
// work-queue stream take one subject: the functions that take a kind's due events (its executor's
// builds, the tick's forwarder) share its one durable consumer.
func TestConsumersFollowThePrefix(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		prefix := rapid.StringMatching(`[a-z][a-z0-9]{0,11}`).Draw(t, "prefix")
		names := event.Names{Prefix: prefix}
		due := map[string]string{} // subject → durable
		for _, f := range contract.Functions(prefix) {
			for _, s := range f.Settings {
				if s.Key == "nats.prefix" && s.Default != prefix {
					t.Fatalf("%s: nats.prefix default %q, want %q", f.Name, s.Default, prefix)
				}
			}
			for _, c := range f.Consumers {
				switch c.Kind {
				case "":
					if c.Stream != names.EventsStream() || c.Durable != names.SinkConsumer() || c.Subject != "" {
						t.Fatalf("%s: lifecycle consumer %+v", f.Name, c)
					}
				default:
					if c.Stream != names.DueStream() || c.Durable != names.DueConsumer(c.Kind) || c.Subject != names.DueSubject(c.Kind) {
						t.Fatalf("%s: due consumer %+v", f.Name, c)
					}
					if other, ok := due[c.Subject]; ok && other != c.Durable {
						t.Fatalf("consumers %s and %s (%s) both take %s from the work-queue stream", other, c.Durable, f.Name, c.Subject)
					}
					due[c.Subject] = c.Durable
				}
			}
		}
		if len(due) == 0 {
			t.Fatalf("no function pulls due events")
		}
	})
}

func TestEmptyPrefixIsTheDefault(t *testing.T) {
	t.Parallel()
	assert.Equal(t, contract.Functions(event.DefaultPrefix), contract.Functions(""))
}

// TestPathsAreServed asks the handlers that serve the probes and the metrics for the contract's
// paths, and the api's generated document (which its tests hold to the route table) for the api's.
func TestPathsAreServed(t *testing.T) {
	t.Parallel()
	probes := server.Probes()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	admin := server.Admin(ok)
	get := func(h http.Handler, path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		return rec.Code
	}
	raw, err := os.ReadFile("../../shared/api/openapi.json")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))

	for _, f := range contract.Functions("") {
		assert.Equal(t, http.StatusOK, get(probes, f.Probes.Live), "%s: live", f.Name)
		assert.Equal(t, http.StatusOK, get(probes, f.Probes.Ready), "%s: ready", f.Name)
		assert.Equal(t, http.StatusOK, get(admin, f.Metrics), "%s: metrics", f.Name)
		assert.Equal(t, http.StatusNotFound, get(admin, f.Probes.Live), "%s: the admin port serves no probe", f.Name)
		if f.Name != "api" {
			continue
		}
		assert.Contains(t, doc.Paths[f.Probes.Live], "get")
		assert.Contains(t, doc.Paths[f.Probes.Ready], "get")
		assert.Contains(t, doc.Paths[f.EventsPath], "post")
	}
}

// TestDeadLetterPathIsServedInternallyOnly: the api takes dead-lettered events on its internal
// listener, at the contract's path, and never on the public port (the generated document lists
// the public routes); the other functions take none.
func TestDeadLetterPathIsServedInternallyOnly(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../shared/api/openapi.json")
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	internal := api.New(api.Deps{}, time.Now, slog.New(slog.DiscardHandler)).InternalEvents(nil)
	for _, f := range contract.Functions("") {
		if f.Name != "api" {
			assert.Empty(t, f.DeadLetterPath, f.Name)
			continue
		}
		require.NotEmpty(t, f.DeadLetterPath)
		assert.NotEqual(t, f.EventsPath, f.DeadLetterPath)
		assert.NotContains(t, doc.Paths, f.DeadLetterPath, "not on the public port")
		rec := httptest.NewRecorder()
		internal.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, f.DeadLetterPath, nil))
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "the internal listener routes %s (POST only)", f.DeadLetterPath)
		rec = httptest.NewRecorder()
		internal.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, f.DeadLetterPath+"-not", nil))
		assert.Equal(t, http.StatusNotFound, rec.Code, "and nothing beside it")
	}
}

// TestTheTickSharesTheExecutorsConsumers: the tick's forwarder takes each kind's due events from
// the consumer that kind's executor pulls, turned on by forward.enabled, and reads K_SINK.
func TestTheTickSharesTheExecutorsConsumers(t *testing.T) {
	t.Parallel()
	executors := map[string]contract.Consumer{}
	var tick contract.Function
	for _, f := range contract.Functions("") {
		if f.Name == "tick" {
			tick = f
		}
		if f.PushPath != "" {
			for _, c := range f.Consumers {
				c.Setting = ""
				executors[c.Durable] = c
			}
		}
	}
	require.Len(t, tick.Consumers, len(executors))
	for _, c := range tick.Consumers {
		assert.Equal(t, "forward.enabled", c.Setting)
		c.Setting = ""
		assert.Equal(t, executors[c.Durable], c)
	}
	assert.Contains(t, tick.Platform, "K_SINK")
}

// TestTheTickTakesCallbacksOnItsOwnPort: only the tick has a callback path, served on its
// "forward-callback" port (forward.callback_port, off by default) apart from the health port,
// and its settings name the callback URL and timeout the OpenFaaS stack sets.
func TestTheTickTakesCallbacksOnItsOwnPort(t *testing.T) {
	t.Parallel()
	for _, f := range contract.Functions("") {
		if f.Name != "tick" {
			assert.Empty(t, f.CallbackPath, f.Name)
			continue
		}
		assert.Equal(t, "/forward/callback", f.CallbackPath)
		assert.Contains(t, f.Ports, contract.Port{Name: "forward-callback", Setting: "forward.callback_port", Default: 0})
		keys := map[string][]string{}
		for _, s := range f.Settings {
			keys[s.Key] = s.Env
		}
		assert.Equal(t, []string{"VECRON_FORWARD__CALLBACK_PORT"}, keys["forward.callback_port"])
		assert.Equal(t, []string{"VECRON_FORWARD__CALLBACK_URL"}, keys["forward.callback_url"])
		assert.Equal(t, []string{"VECRON_FORWARD__CALLBACK_TIMEOUT"}, keys["forward.callback_timeout"])
	}
}
