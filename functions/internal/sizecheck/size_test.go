package sizecheck_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/gocmd"
)

// budget is the most a function binary may weigh: 30 MiB.
const budget = 30 << 20

// reflectMethod marks the linker's dependency edges that make it keep every exported method of
// every reachable type: a call of a method whose name is known only at run time, as
// text/template's (*state).evalField makes when a template calls a method.
const reflectMethod = "<ReflectMethod>"

// goCmd runs the go command at the module's root with the flags make build uses: static,
// stripped, without local paths.
func goCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(gocmd.Path(), args...)
	cmd.Dir = filepath.Join("..", "..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return cmd
}

// short reports whether a -short run may leave the builds out: never in CI, where the budget
// must be checked on every change.
func short(t *testing.T) bool {
	t.Helper()
	return testing.Short() && os.Getenv("CI") != "true"
}

// Every function binary, built as make build builds it, fits the budget. The functions are
// built in one command, which shares the build cache with the end-to-end tests' build.
func TestFunctionBinariesFitTheBudget(t *testing.T) {
	if short(t) {
		t.Skip("builds the function binaries")
	}
	t.Parallel()
	dir := t.TempDir()
	fns := []string{"tick", "execute-http", "execute-db", "api"}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, fn := range fns {
		args = append(args, "./functions/"+fn)
	}
	out, err := goCmd(t, args...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	for _, fn := range fns {
		fi, err := os.Stat(filepath.Join(dir, fn))
		require.NoError(t, err)
		t.Logf("%s: %d bytes (%.2f MiB)", fn, fi.Size(), float64(fi.Size())/(1<<20))
		require.LessOrEqual(t, fi.Size(), int64(budget), "functions/%s weighs %.2f MiB, over the 30 MiB budget", fn, float64(fi.Size())/(1<<20))
	}
}

// The api calls no method by a name known only at run time. The size test above says that the
// api grew; this one names the cause: whatever brings such a call back (an html/template page,
// a dependency that renders one, as gRPC's x/net/trace does) costs about 11 MiB.
func TestAPILinksNoTemplateReflection(t *testing.T) {
	if short(t) {
		t.Skip("links the api")
	}
	t.Parallel()
	cmd := goCmd(t, "build", "-trimpath", "-ldflags=-s -w -dumpdep", "-o", filepath.Join(t.TempDir(), "api"), "./functions/api")
	// The dependency dump is large: it is scanned as it comes, never held.
	dump, err := cmd.StderrPipe()
	require.NoError(t, err)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	var edges []string
	lines := bufio.NewScanner(dump)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		if line := lines.Text(); strings.Contains(line, reflectMethod) && len(edges) < 5 {
			edges = append(edges, line)
		}
	}
	require.NoError(t, lines.Err())
	require.NoError(t, cmd.Wait(), "go build: %s", stdout.String())
	require.Empty(t, edges, "the api calls a method by a name known only at run time, so the linker keeps every exported method:\n%s", strings.Join(edges, "\n"))
}
