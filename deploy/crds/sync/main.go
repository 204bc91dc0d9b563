// Command sync copies the CRD files deploy/crds validates against out of the Go modules that
// publish them, reads the metadata keys of the KEDA scalers vecron configures from their Go
// source, and writes deploy/crds/SOURCES (module, version, path and sha256 of every file).
//
// Run it from deploy/ with `go generate ./crds`. It needs the Go module proxy (it runs `go mod
// download -json <module>@<version>`, which does not need the module in any go.mod); the tests
// then read only the copies.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

// source is one module and the files taken from it.
type source struct {
	module, version string
	files           []string // paths inside the module
	scalers         []scalerSource
}

// scalerSource is a KEDA scaler whose metadata keys are read from its metadata struct's tags.
type scalerSource struct {
	trigger, path, structName string
}

// sources is the table sync copies. Versions are the ones docs/deploy.md §10 records: KEDA
// v2.20.2 (v2.21 needs a newer Go than the project's), prometheus-operator v0.85.0 (the
// proxy's latest of the root module, whose example/ holds the CRDs without the Go types).
func sources() []source {
	return []source{
		{
			module:  "github.com/kedacore/keda/v2",
			version: "v2.20.2",
			files: []string{
				"config/crd/bases/keda.sh_scaledobjects.yaml",
				"config/crd/bases/keda.sh_triggerauthentications.yaml",
			},
			scalers: []scalerSource{
				{trigger: "nats-jetstream", path: "pkg/scalers/nats_jetstream_scaler.go", structName: "natsJetStreamMetadata"},
			},
		},
		{
			module:  "github.com/prometheus-operator/prometheus-operator",
			version: "v0.85.0",
			files: []string{
				"example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
				"example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
				"example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
			},
		},
	}
}

// handWritten are the schemas in deploy/crds that no served module publishes: the proxy refuses
// knative.dev/eventing-natss (its version list and v0.50.0 alike), so NatsJetStreamChannel's is
// written from its documented fields. sync lists them in SOURCES as hand-written.
func handWritten() []string {
	return []string{"messaging.knative.dev_natsjetstreamchannels.yaml"}
}

func main() {
	out := flag.String("out", "", "the deploy/crds directory to write the files and SOURCES into")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "sync: -out is required (go generate ./crds passes it)")
		os.Exit(2)
	}
	if err := run(ctx, *out, sources(), handWritten()); err != nil {
		fmt.Fprintln(os.Stderr, "sync:", err)
		os.Exit(1)
	}
}
