package image

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ReleaseOf returns the release of the commit checked out in the git work tree at root: its
// hash, its commit time, and a version from git describe (the nearest tag, or the short hash
// when there is none). It fails when git fails, naming the command.
func ReleaseOf(ctx context.Context, root string) (Release, error) {
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	rev, err := run("rev-parse", "HEAD")
	if err != nil {
		return Release{}, err
	}
	at, err := run("log", "-1", "--format=%cI", "HEAD")
	if err != nil {
		return Release{}, err
	}
	created, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return Release{}, fmt.Errorf("git log: commit time %q: %w", at, err)
	}
	version, err := run("describe", "--tags", "--always")
	if err != nil {
		return Release{}, err
	}
	return Release{Version: version, Revision: rev, Created: created.UTC()}, nil
}
