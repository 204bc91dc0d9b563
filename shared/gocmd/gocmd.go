// Package gocmd names the go command for code that builds vecron's binaries while it runs: the
// end-to-end tests, the bench harness and the image builder.
package gocmd

import (
	"path/filepath"
	"runtime"
)

// Path is the go command of the toolchain that built the running binary. A binary built with
// -trimpath (make test builds its test binaries so, for one build cache across clones) does not
// know its GOROOT; go test and go run then put the go command's own bin folder first in its
// PATH, so "go" is that toolchain. A -trimpath binary run by hand finds the first go in its PATH.
func Path() string {
	if root := runtime.GOROOT(); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}
