//go:build !unix

package autoscale

import (
	"errors"
	"os"
	"syscall"
)

// terminate cannot ask for a drain where there is no SIGTERM: the caller kills p instead.
func terminate(*os.Process) error { return errors.New("no SIGTERM on this system") }

// sysProcAttr has nothing to add here.
func sysProcAttr() *syscall.SysProcAttr { return nil }
