package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vecron/vecron/deploy/crds"
	"github.com/vecron/vecron/deploy/render"
)

// chart is the chart every test renders.
const chart = "../../charts/vecron"

// helm is the binary TestMain installs, set once before any test runs and only read after.
var helm *render.Helm

// schemas are the vendored CRD schemas, loaded once by TestMain and only read after.
var schemas *crds.Set

// TestMain builds the pinned helm once per machine (kept in the user's cache directory between
// runs) before any test renders.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	home, err := os.MkdirTemp("", "vecron-helm-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(home)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	h, took, err := render.Install(ctx, render.CacheDir(), home)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if took > 0 {
		fmt.Fprintf(os.Stderr, "built helm %s into %s in %s\n", render.HelmVersion, filepath.Dir(h.Path), took.Round(time.Second))
	}
	helm = h
	if schemas, err = crds.Load(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
