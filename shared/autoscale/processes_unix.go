//go:build unix

package autoscale

import (
	"os"
	"syscall"
)

// terminate asks p to drain and exit, as the kubelet does a pod's containers.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
