package contract_test

import (
	"fmt"

	"github.com/vecron/vecron/functions/contract"
)

// The ports, probes and consumers of each function of an install with the default stream names.
func ExampleFunctions() {
	for _, f := range contract.Functions("") {
		fmt.Println(f.Name, f.Image, f.Tags)
		for _, p := range f.Ports {
			fmt.Printf("  port %s: %s, default %d\n", p.Name, p.Setting, p.Default)
		}
		fmt.Printf("  probes %s %s, metrics %s\n", f.Probes.Live, f.Probes.Ready, f.Metrics)
		for _, c := range f.Consumers {
			fmt.Printf("  consumer %s on %s %q (with %s)\n", c.Durable, c.Stream, c.Subject, c.Setting)
		}
		fmt.Println("  platform", f.Platform)
	}
	// Output:
	// tick vecron-tick []
	//   port http: port, default 8080
	//   port metrics: admin.addr, default 9464
	//   port forward-callback: forward.callback_port, default 0
	//   port pprof: debug.pprof_addr, default 0
	//   probes /healthz /readyz, metrics /metrics
	//   consumer execute-http on VECRON_DUE "vecron.due.http" (with forward.enabled)
	//   consumer execute-sql on VECRON_DUE "vecron.due.sql" (with forward.enabled)
	//   platform [K_SINK PORT]
	// execute-http vecron-execute-http []
	//   port http: port, default 8080
	//   port metrics: admin.addr, default 9464
	//   port pprof: debug.pprof_addr, default 0
	//   probes /healthz /readyz, metrics /metrics
	//   consumer execute-http on VECRON_DUE "vecron.due.http" (with transport)
	//   platform [PORT]
	// execute-db vecron-execute-db []
	//   port http: port, default 8080
	//   port metrics: admin.addr, default 9464
	//   port pprof: debug.pprof_addr, default 0
	//   probes /healthz /readyz, metrics /metrics
	//   consumer execute-sql on VECRON_DUE "vecron.due.sql" (with transport)
	//   platform [PORT]
	// execute-db-oracle vecron-execute-db-oracle [oracle]
	//   port http: port, default 8080
	//   port metrics: admin.addr, default 9464
	//   port pprof: debug.pprof_addr, default 0
	//   probes /healthz /readyz, metrics /metrics
	//   consumer execute-sql on VECRON_DUE "vecron.due.sql" (with transport)
	//   platform [PORT]
	// api vecron-api []
	//   port http: port, default 8080
	//   port metrics: admin.addr, default 9464
	//   port events-internal: events.internal_port, default 0
	//   port pprof: debug.pprof_addr, default 0
	//   probes /healthz /readyz, metrics /metrics
	//   consumer event-sink on VECRON_EVENTS "" (with events.sink)
	//   platform [K_SINK PORT]
}
