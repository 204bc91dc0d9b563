package crds_test

import (
	"fmt"

	"github.com/vecron/vecron/deploy/crds"
)

func ExampleSet_Validate() {
	s, err := crds.Load()
	if err != nil {
		panic(err)
	}
	err = s.Validate(map[string]any{
		"apiVersion": "keda.sh/v1alpha1",
		"kind":       "ScaledObject",
		"metadata":   map[string]any{"name": "vecron-execute-sql"},
		"spec": map[string]any{
			"scaleTargetRef":  map[string]any{"name": "vecron-execute-db"},
			"minReplicaCount": 0,
			"triggers": []any{map[string]any{
				"type": "nats-jetstream",
				"metadata": map[string]any{
					"natsServerMonitoringEndpoint": "nats.vecron.svc:8222",
					"account":                      "$G",
					"stream":                       "VECRON_DUE",
					"consumer":                     "execute-sql",
					"lagthreshold":                 "32",
				},
			}},
		},
	})
	fmt.Println(err)
	// Output:
	// ScaledObject "vecron-execute-sql" (keda.sh/v1alpha1) is invalid:
	//   spec.triggers[0].metadata.lagthreshold: unknown key for the nats-jetstream scaler (KEDA v2.20.2 reads: account, accountID, activationLagThreshold, consumer, lagThreshold, natsServerMonitoringEndpoint, stream, useHttps)
}
