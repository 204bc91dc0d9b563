//go:build unix && !linux

package autoscale

import "syscall"

// sysProcAttr puts a replica in a process group of its own, so that Ctrl-C in a terminal reaches
// the parent only, which then stops its replicas in order.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
