package testenv

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOwnedProcessesFindsChildrenAndTheirChildren(t *testing.T) {
	owner := "test." + Name(t)
	t.Setenv(ownerEnv, owner)
	// A shell whose own child carries the mark in its environment but is not our child.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})

	// The shell's child is a copy of the shell until it has exec'd sleep.
	var found []process
	Await(t, "the shell and its sleep", func() (string, bool) {
		found = ownedProcesses(owner)
		cmdlines := make([]string, 0, len(found))
		for _, p := range found {
			cmdlines = append(cmdlines, p.cmdline)
		}
		slices.Sort(cmdlines)
		return strings.Join(cmdlines, ", "), slices.Equal(cmdlines, []string{"sh -c sleep 30 & wait", "sleep 30"})
	})
	others := ownedProcesses(owner + ".other")
	require.Len(t, others, 1, "another binary's mark is not ours; our child is")
	require.Equal(t, cmd.Process.Pid, others[0].pid)

	for _, p := range found {
		if strings.HasPrefix(p.cmdline, "sleep") {
			kill(p.pid)
		}
	}
	<-done
	Eventually(t, "the processes gone", func() bool { return len(ownedProcesses(owner)) == 0 })
}
