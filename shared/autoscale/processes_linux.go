package autoscale

import "syscall"

// sysProcAttr puts a replica in a process group of its own, so that Ctrl-C in a terminal reaches
// the parent only, which then stops its replicas in order; and has the kernel send the replica
// SIGTERM should the parent die without stopping it, so that no executor is left running alone.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
