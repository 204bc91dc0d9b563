package testenv

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ownedProcesses lists, from /proc, the live processes whose parent is this one or whose
// environment holds ownerEnv=owner. Zombies are left out: they run nothing.
func ownedProcesses(owner string) []process {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		dir := "/proc/" + e.Name() + "/"
		stat, err := os.ReadFile(dir + "stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[0] == "X" {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		environ, _ := os.ReadFile(dir + "environ")
		if ppid != self && !envHas(environ, ownerEnv, owner) {
			continue
		}
		cmdline, _ := os.ReadFile(dir + "cmdline")
		out = append(out, process{pid: pid, cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))})
	}
	return out
}

func kill(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }
