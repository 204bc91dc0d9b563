package provenance_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vecron/vecron/deploy/crds/provenance"
)

func ExampleParse() {
	data, err := os.ReadFile(filepath.Join("..", provenance.FileName))
	if err != nil {
		panic(err)
	}
	s, err := provenance.Parse(data)
	if err != nil {
		panic(err)
	}
	for _, f := range s.Files {
		from := provenance.HandWritten
		if !f.IsHandWritten() {
			from = f.Module + "@" + f.Version
		}
		fmt.Println(f.Name, "←", from)
	}
	// Output:
	// keda.sh_scaledobjects.yaml ← github.com/kedacore/keda/v2@v2.20.2
	// keda.sh_triggerauthentications.yaml ← github.com/kedacore/keda/v2@v2.20.2
	// messaging.knative.dev_natsjetstreamchannels.yaml ← hand-written
	// monitoring.coreos.com_podmonitors.yaml ← github.com/prometheus-operator/prometheus-operator@v0.85.0
	// monitoring.coreos.com_prometheusrules.yaml ← github.com/prometheus-operator/prometheus-operator@v0.85.0
	// monitoring.coreos.com_servicemonitors.yaml ← github.com/prometheus-operator/prometheus-operator@v0.85.0
}
