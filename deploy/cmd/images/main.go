// Command images builds vecron's container images without a Docker daemon and writes one OCI
// archive per function, <out>/vecron-<function>.tar (docs/deploy.md §2). make images runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vecron/vecron/deploy/image"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	root := fs.String("root", "..", "the main module's directory (the repository's root)")
	out := fs.String("out", "../bin/images", "directory the archives are written to")
	platforms := fs.String("platforms", "", "comma-separated platforms, linux/amd64,linux/arm64 for an index of both (default: this machine's)")
	version := fs.String("version", "", "version label and tag (default: git describe --tags --always)")
	repository := fs.String("repository", image.RepositoryDefault, "repository the archives name their images under")
	only := fs.String("functions", "", "comma-separated functions to build (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := image.Options{Root: *root, Out: *out, Repository: *repository}
	for p := range strings.SplitSeq(*platforms, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pl, err := v1.ParsePlatform(p)
		if err != nil || pl.OS == "" || pl.Architecture == "" {
			return fmt.Errorf("-platforms: %q is not os/arch[/variant]", p)
		}
		opts.Platforms = append(opts.Platforms, *pl)
	}
	rel, err := image.ReleaseOf(ctx, *root)
	if err != nil {
		return fmt.Errorf("-root: %w", err)
	}
	if *version != "" {
		rel.Version = *version
	}
	opts.Release = rel
	specs, err := image.Specs()
	if err != nil {
		return err
	}
	if *only != "" {
		var picked []image.Spec
		for name := range strings.SplitSeq(*only, ",") {
			i := indexOf(specs, strings.TrimSpace(name))
			if i < 0 {
				return fmt.Errorf("-functions: %q is no function", name)
			}
			picked = append(picked, specs[i])
		}
		specs = picked
	}
	results, err := image.Build(ctx, specs, opts)
	if err != nil {
		return err
	}
	for _, r := range results {
		for _, img := range r.Images {
			fmt.Printf("%s\t%s\t%s\tbinary %d bytes\timage %d bytes\n", filepath.Base(r.Archive), img.Platform, img.Digest, img.BinarySize, img.Size)
		}
	}
	return nil
}

func indexOf(specs []image.Spec, name string) int {
	for i, s := range specs {
		if s.Function == name {
			return i
		}
	}
	return -1
}
