// Package image builds vecron's container images without a Docker daemon: one image per
// function binary, on an empty base, holding the static binary, a CA bundle and a one-user
// passwd, run as a numeric non-root user (docs/deploy.md §2).
//
// Specs is the one table the images come from: the daemon-free builder (Build, used by
// deploy/cmd/images and make images) reads it, and the tests hold the Dockerfiles kept for
// people who build with Docker to it. Names and packages come from functions/contract.
package image

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/vecron/vecron/functions/contract"
)

// Paths and identity every image shares.
const (
	// BinDir holds the function's binary.
	BinDir = "/usr/local/bin"
	// CAFile is where Go reads the CA bundle on Linux, and where Debian's ca-certificates
	// package writes it: the builder copies the build machine's bundle from the same path.
	CAFile = "/etc/ssl/certs/ca-certificates.crt"
	// ExtraCADir is where an operator mounts CAs for job targets; SSL_CERT_DIR names it.
	ExtraCADir = "/etc/vecron/ca"
	// PasswdFile and GroupFile name the one user, for tools that print a user name.
	PasswdFile = "/etc/passwd"
	GroupFile  = "/etc/group"
	// UID and GID are the user's: distroless's nonroot, so runAsNonRoot holds without a name.
	UID = 65532
	GID = 65532
)

// User returns the config's user, "65532:65532": numeric, so that Kubernetes can check
// runAsNonRoot without a passwd lookup.
func User() string { return strconv.Itoa(UID) + ":" + strconv.Itoa(GID) }

// Labels that Build sets from the release being built rather than from the table.
const (
	LabelVersion  = "org.opencontainers.image.version"
	LabelRevision = "org.opencontainers.image.revision"
	LabelCreated  = "org.opencontainers.image.created"
)

// Source is the repository the images are built from, their source label.
const Source = "https://github.com/vecron/vecron"

// licenses is the licenses label: the repository carries no licence file yet, and SPDX's
// NOASSERTION says so rather than claiming one.
const licenses = "NOASSERTION"

// descriptions returns the images' description labels, by function. Specs refuses a function
// of the contract without one, so a new function cannot ship an image with an empty label.
func descriptions() map[string]string {
	return map[string]string{
		"tick":              "vecron's scheduler clock: claims due jobs from PostgreSQL and publishes them to NATS JetStream",
		"execute-http":      "vecron's HTTP executor: runs due http jobs and records their executions",
		"execute-db":        "vecron's SQL executor: runs due sql jobs against PostgreSQL and MySQL/MariaDB",
		"execute-db-oracle": "vecron's SQL executor with the Oracle driver: runs due sql jobs against PostgreSQL, MySQL/MariaDB and Oracle",
		"api":               "vecron's API: REST, dashboard, webhooks and CloudEvents ingest",
	}
}

// File is one regular file of an image.
type File struct {
	// Path is where the file is in the image.
	Path string
	// Mode is its permission bits.
	Mode fs.FileMode
	// Data is its content, for the files the table writes (passwd, group); empty for the
	// binary (built) and the CA bundle (copied from CAFile of the build machine).
	Data string
}

// Spec is how one function's image is built and what it holds.
type Spec struct {
	// Function is the function's name in the contract: "execute-db-oracle".
	Function string
	// Image is the image's name, the last segment of its repository: "vecron-execute-db-oracle".
	Image string
	// Package is the main package the binary is built from, relative to the main module's root.
	Package string
	// Tags are the binary's build tags.
	Tags []string
	// BuildFlags are the flags of go build, make build's BUILDFLAGS and the tags; the build
	// runs with CGO_ENABLED=0.
	BuildFlags []string
	// Dockerfile is the Dockerfile that builds the same image with Docker, relative to the
	// root (the build context).
	Dockerfile string
	// Binary is the binary's path in the image.
	Binary string
	// Files are every regular file of the image, the binary first. Nothing else is in it but
	// the directories that hold them.
	Files []File
	// User is the config's user.
	User string
	// Entrypoint is the config's entrypoint; the config has no Cmd.
	Entrypoint []string
	// Env is the config's environment.
	Env []string
	// Ports are the TCP ports the config exposes: the function's public and metrics ports.
	Ports []int
	// Labels are the config's labels but LabelVersion, LabelRevision and LabelCreated, which
	// Build sets from the release.
	Labels map[string]string
}

// BuildFlags are make build's flags (the Makefile's BUILDFLAGS): static, stripped, without
// local paths.
func BuildFlags() []string { return []string{"-trimpath", "-ldflags=-s -w"} }

// Specs returns the table: one image per function of contract.Functions, in its order. It
// fails when a function has no description or a description names no function.
func Specs() ([]Spec, error) {
	fns := contract.Functions("")
	descs := descriptions()
	var specs []Spec
	for _, f := range fns {
		desc, ok := descs[f.Name]
		if !ok {
			return nil, fmt.Errorf("image: function %q has no description", f.Name)
		}
		flags := BuildFlags()
		if len(f.Tags) > 0 {
			flags = append(flags, "-tags="+strings.Join(f.Tags, ","))
		}
		dockerfile := path.Join(strings.TrimPrefix(f.Package, "./"), "Dockerfile")
		if len(f.Tags) > 0 {
			dockerfile += "." + strings.Join(f.Tags, ".")
		}
		binary := path.Join(BinDir, f.Name)
		var ports []int
		for _, p := range f.Ports {
			if (p.Name == "http" || p.Name == "metrics") && p.Default != 0 {
				ports = append(ports, p.Default)
			}
		}
		specs = append(specs, Spec{
			Function: f.Name, Image: f.Image, Package: f.Package, Tags: slices.Clone(f.Tags),
			BuildFlags: flags, Dockerfile: dockerfile, Binary: binary,
			Files: []File{
				{Path: binary, Mode: 0o555},
				{Path: CAFile, Mode: 0o444},
				{Path: PasswdFile, Mode: 0o444, Data: "nonroot:x:" + strconv.Itoa(UID) + ":" + strconv.Itoa(GID) + ":nonroot:/nonexistent:/sbin/nologin\n"},
				{Path: GroupFile, Mode: 0o444, Data: "nonroot:x:" + strconv.Itoa(GID) + ":\n"},
			},
			User:       User(),
			Entrypoint: []string{binary},
			// Go reads the bundle (CAFile) and every file of these directories.
			Env:   []string{"SSL_CERT_DIR=" + path.Dir(CAFile) + ":" + ExtraCADir},
			Ports: ports,
			Labels: map[string]string{
				"org.opencontainers.image.title":       f.Image,
				"org.opencontainers.image.description": desc,
				"org.opencontainers.image.source":      Source,
				"org.opencontainers.image.licenses":    licenses,
				"org.opencontainers.image.vendor":      "vecron",
			},
		})
	}
	for name := range maps.Keys(descs) {
		if !slices.ContainsFunc(fns, func(f contract.Function) bool { return f.Name == name }) {
			return nil, fmt.Errorf("image: description of %q, which is no function of the contract", name)
		}
	}
	return specs, nil
}
