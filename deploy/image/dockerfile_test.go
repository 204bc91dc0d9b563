package image_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/image"
)

// The Dockerfiles build what the builder builds: each function's Dockerfile is read, instruction
// by instruction, and held to the builder's table.
func TestDockerfilesMatchTheBuilder(t *testing.T) {
	t.Parallel()
	specs, err := image.Specs()
	require.NoError(t, err)
	goVersion := goDirective(t)
	for _, s := range specs {
		t.Run(s.Function, func(t *testing.T) {
			t.Parallel()
			text, err := os.ReadFile(filepath.Join(root, s.Dockerfile))
			require.NoError(t, err, "every image has a Dockerfile at the table's path")
			require.Empty(t, checkDockerfile(s, goVersion, string(text)))
		})
	}
}

// Every Dockerfile under functions/ is one of the table's: none is left behind by a function
// that went away or was renamed.
func TestNoDockerfileOutsideTheTable(t *testing.T) {
	t.Parallel()
	specs, err := image.Specs()
	require.NoError(t, err)
	var found []string
	require.NoError(t, filepath.WalkDir(filepath.Join(root, "functions"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "Dockerfile") {
			rel, err := filepath.Rel(root, p)
			found = append(found, filepath.ToSlash(rel))
			return err
		}
		return err
	}))
	var want []string
	for _, s := range specs {
		want = append(want, s.Dockerfile)
	}
	require.ElementsMatch(t, want, found)
}

// The build context leaves out what no build reads.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	var lines []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSuffix(strings.TrimSpace(l), "/"); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for _, p := range []string{".vecron", "bin", "bench/results", ".git"} {
		require.Contains(t, lines, p)
	}
}

// The check fails for every way a Dockerfile can stray from the table: each mutation of a
// Dockerfile that passes must be caught.
func TestDockerfileCheckCatchesMutations(t *testing.T) {
	t.Parallel()
	specs, err := image.Specs()
	require.NoError(t, err)
	goVersion := goDirective(t)
	byName := map[string]image.Spec{}
	for _, s := range specs {
		byName[s.Function] = s
	}
	read := func(fn string) string {
		b, err := os.ReadFile(filepath.Join(root, byName[fn].Dockerfile))
		require.NoError(t, err)
		require.Empty(t, checkDockerfile(byName[fn], goVersion, string(b)), "the unmutated Dockerfile passes")
		return string(b)
	}
	cases := []struct {
		name, fn, old, new string
	}{
		{"RootUser", "tick", "USER 65532:65532", "USER 0:0"},
		{"NamedUser", "tick", "USER 65532:65532", "USER nonroot"},
		{"ShellEntrypoint", "tick", `ENTRYPOINT ["/usr/local/bin/tick"]`, `ENTRYPOINT /usr/local/bin/tick`},
		{"OtherEntrypoint", "tick", `ENTRYPOINT ["/usr/local/bin/tick"]`, `ENTRYPOINT ["/usr/local/bin/api"]`},
		{"Cmd", "tick", `ENTRYPOINT ["/usr/local/bin/tick"]`, "ENTRYPOINT [\"/usr/local/bin/tick\"]\nCMD [\"--port=0\"]"},
		{"NoTrimpath", "tick", "-trimpath ", ""},
		{"NotStripped", "api", "-ldflags='-s -w'", "-ldflags='-s'"},
		{"ExtraFlag", "api", "-trimpath", "-trimpath -race"},
		{"Cgo", "execute-http", "CGO_ENABLED=0", "CGO_ENABLED=1"},
		{"NoCgoSetting", "execute-http", "CGO_ENABLED=0 ", ""},
		{"NoOracleTag", "execute-db-oracle", " -tags oracle", ""},
		{"OracleTagOnSlim", "execute-db", "-trimpath", "-trimpath -tags oracle"},
		{"OtherPackage", "tick", "./functions/tick", "./functions/api"},
		{"BinaryElsewhere", "tick", "/out/tick /usr/local/bin/tick", "/out/tick /usr/bin/tick"},
		{"WritableBinary", "tick", "--chmod=0555", "--chmod=0755"},
		{"NoCABundle", "api", "COPY --from=build --chmod=0444 /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n", ""},
		{"NoGroup", "api", "COPY --from=build --chmod=0444 /out/group /etc/group\n", ""},
		{"OtherPasswd", "api", "nonroot:x:65532:65532:nonroot", "root:x:0:0:root"},
		{"Shell", "tick", "USER 65532", "COPY --from=build /bin/sh /bin/sh\nUSER 65532"},
		{"Run", "tick", "USER 65532", "RUN true\nUSER 65532"},
		{"Base", "tick", "FROM scratch", "FROM debian:bookworm-slim"},
		{"OldGo", "tick", "golang:1.26.8-bookworm", "golang:1.25.0-bookworm"},
		{"OneStage", "tick", "FROM scratch\n", ""},
		{"Title", "execute-db", `title="vecron-execute-db"`, `title="vecron-execute-sql"`},
		{"NoLicenses", "execute-db", "org.opencontainers.image.licenses=\"NOASSERTION\" \\\n", ""},
		{"FixedRevision", "execute-db", `revision="${REVISION}"`, `revision="abc"`},
		{"ExtraLabel", "execute-db", `LABEL org`, `LABEL maintainer="x" org`},
		{"Port", "tick", "EXPOSE 8080/tcp 9464/tcp", "EXPOSE 8081/tcp 9464/tcp"},
		{"NoMetricsPort", "tick", "EXPOSE 8080/tcp 9464/tcp", "EXPOSE 8080/tcp"},
		{"CertDir", "tick", "ENV SSL_CERT_DIR=/etc/ssl/certs:/etc/vecron/ca", "ENV SSL_CERT_DIR=/etc/ssl/certs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			text := read(c.fn)
			require.Contains(t, text, c.old, "the mutation applies")
			mutated := strings.Replace(text, c.old, c.new, 1)
			require.NotEmpty(t, checkDockerfile(byName[c.fn], goVersion, mutated), "mutation %q → %q passed", c.old, c.new)
		})
	}
}

// goDirective returns the main module's go version, which the build stage's image must carry.
func goDirective(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd   string   // upper case: "COPY"
	flags []string // leading --flags, as written: "--from=build"
	args  string   // the rest
	line  int
}

func (in instruction) String() string { return fmt.Sprintf("line %d: %s", in.line, in.cmd) }

// stage is one FROM and the instructions after it.
type stage struct {
	from instruction
	body []instruction
}

// parseDockerfile splits text into stages of instructions: comments and parser directives
// dropped, lines ending in a backslash joined to the next.
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	var cur strings.Builder
	start := 0
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue // a comment, also inside a continued instruction, as Docker reads it
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		in := cur.String()
		cur.Reset()
		cmd, rest, _ := strings.Cut(in, " ")
		ins := instruction{cmd: strings.ToUpper(cmd), line: start}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			var flag string
			flag, rest, _ = strings.Cut(rest, " ")
			ins.flags = append(ins.flags, flag)
			rest = strings.TrimSpace(rest)
		}
		ins.args = rest
		if ins.cmd == "FROM" {
			stages = append(stages, stage{from: ins})
			continue
		}
		if len(stages) == 0 {
			if ins.cmd == "ARG" {
				continue // an ARG before the first FROM is the FROM's
			}
			return nil, fmt.Errorf("%s before the first FROM", ins)
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, ins)
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: the last instruction continues past the end", start)
	}
	return stages, nil
}

// checkDockerfile returns how text strays from s: its build stage must run go build with the
// table's flags and package from the golang image of goVersion, and its final stage must be
// FROM scratch with exactly the table's files, modes, environment, user, ports, labels and
// entrypoint.
func checkDockerfile(s image.Spec, goVersion, text string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	stages, err := parseDockerfile(text)
	if err != nil {
		return []string{err.Error()}
	}
	if len(stages) != 2 {
		return []string{fmt.Sprintf("%d stages, want a build stage and the final one", len(stages))}
	}
	build, final := stages[0], stages[1]

	// The build stage: the golang image of the module's version, named build.
	words := shellWords(build.from.args)
	if want := []string{"golang:" + goVersion + "-bookworm", "AS", "build"}; !slices.Equal(words, want) &&
		!slices.Equal(words, []string{want[0], "as", want[2]}) {
		bad("build stage FROM %q, want %q", build.from.args, strings.Join(want, " "))
	}
	outputs := map[string]string{} // path written in the build stage → what it holds ("binary" or the data)
	built := 0
	for _, in := range build.body {
		if in.cmd != "RUN" {
			continue
		}
		for _, cmd := range shellCommands(shellWords(in.args)) {
			assign, argv := splitAssignments(cmd)
			switch {
			case len(argv) >= 2 && argv[0] == "go" && argv[1] == "build":
				built++
				if assign["CGO_ENABLED"] != "0" {
					bad("%s: go build without CGO_ENABLED=0", in)
				}
				flags, out, pkgs := goBuildArgs(argv[2:])
				if !sameSet(flags, s.BuildFlags) {
					bad("%s: go build flags %q, want %q", in, flags, s.BuildFlags)
				}
				if !slices.Equal(pkgs, []string{s.Package}) {
					bad("%s: go build of %q, want %q", in, pkgs, s.Package)
				}
				outputs[out] = "binary"
			case len(argv) == 4 && argv[0] == "printf" && argv[2] == ">":
				outputs[argv[3]] = strings.ReplaceAll(argv[1], `\n`, "\n")
			}
		}
	}
	if built != 1 {
		bad("the build stage runs go build %d times, want once", built)
	}

	// The final stage: nothing but the table's files on an empty base.
	if final.from.args != "scratch" || len(final.from.flags) > 0 {
		bad("final stage FROM %q, want scratch", final.from.args)
	}
	args := map[string]bool{}
	copied := map[string]bool{}
	var env, user, ports, labels, entrypoint []string
	for _, in := range final.body {
		switch in.cmd {
		case "ARG":
			name, _, _ := strings.Cut(in.args, "=")
			args[name] = true
		case "COPY":
			checkCopy(s, in, outputs, copied, bad)
		case "ENV":
			env = append(env, shellWords(in.args)...)
		case "USER":
			user = append(user, in.args)
		case "EXPOSE":
			ports = append(ports, shellWords(in.args)...)
		case "LABEL":
			labels = append(labels, shellWords(in.args)...)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
				bad("%s: not the exec form (a JSON array): %v", in, err)
			}
		default:
			bad("%s: the final stage takes only ARG, COPY, ENV, USER, EXPOSE, LABEL and ENTRYPOINT", in)
		}
	}
	for _, f := range s.Files {
		if !copied[f.Path] {
			bad("%s is not copied into the image", f.Path)
		}
	}
	if !slices.Equal(env, s.Env) {
		bad("ENV %q, want %q", env, s.Env)
	}
	if !slices.Equal(user, []string{s.User}) {
		bad("USER %q, want %q", user, s.User)
	}
	var wantPorts []string
	for _, p := range s.Ports {
		wantPorts = append(wantPorts, strconv.Itoa(p)+"/tcp")
	}
	if !sameSet(ports, wantPorts) {
		bad("EXPOSE %q, want %q", ports, wantPorts)
	}
	if !slices.Equal(entrypoint, s.Entrypoint) {
		bad("ENTRYPOINT %q, want %q", entrypoint, s.Entrypoint)
	}
	got := map[string]string{}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	want := map[string]string{}
	for k, v := range s.Labels {
		want[k] = v
	}
	for k, arg := range map[string]string{image.LabelVersion: "VERSION", image.LabelRevision: "REVISION", image.LabelCreated: "CREATED"} {
		want[k] = "${" + arg + "}"
		if !args[arg] {
			bad("the final stage declares no ARG %s for %s", arg, k)
		}
	}
	for k, v := range want {
		if got[k] != v {
			bad("LABEL %s=%q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			bad("LABEL %s is not the builder's", k)
		}
	}
	return problems
}

// checkCopy checks one COPY of the final stage: from the build stage, to one of the table's
// files, with its mode, from what the build stage made for it.
func checkCopy(s image.Spec, in instruction, outputs map[string]string, copied map[string]bool, bad func(string, ...any)) {
	var from, mode string
	for _, f := range in.flags {
		switch k, v, _ := strings.Cut(f, "="); k {
		case "--from":
			from = v
		case "--chmod":
			mode = v
		default:
			bad("%s: flag %s", in, f)
		}
	}
	words := shellWords(in.args)
	if len(words) != 2 {
		bad("%s: copies %q, want one source and one destination", in, words)
		return
	}
	src, dst := words[0], words[1]
	i := slices.IndexFunc(s.Files, func(f image.File) bool { return f.Path == dst })
	if i < 0 {
		bad("%s: %s is not a file of the image", in, dst)
		return
	}
	f := s.Files[i]
	copied[dst] = true
	if from != "build" {
		bad("%s: %s copied from %q, want the build stage", in, dst, from)
	}
	if want := fmt.Sprintf("%04o", f.Mode.Perm()); mode != want {
		bad("%s: %s with mode %q, want %s", in, dst, mode, want)
	}
	switch {
	case f.Path == s.Binary:
		if outputs[src] != "binary" {
			bad("%s: %s is not what go build wrote", in, src)
		}
	case f.Path == image.CAFile:
		if src != image.CAFile {
			bad("%s: the CA bundle from %s, want the golang image's Debian bundle %s", in, src, image.CAFile)
		}
	default:
		if outputs[src] != f.Data {
			bad("%s: %s holds %q, want %q", in, src, outputs[src], f.Data)
		}
	}
}

// goBuildArgs splits the arguments of go build into flags (written -flag=value), the output and
// the packages.
func goBuildArgs(args []string) (flags []string, out string, pkgs []string) {
	takesValue := map[string]bool{"-o": true, "-tags": true, "-ldflags": true, "-gcflags": true, "-asmflags": true, "-mod": true, "-p": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			pkgs = append(pkgs, a)
			continue
		}
		if takesValue[a] && i+1 < len(args) {
			a += "=" + args[i+1]
			i++
		}
		if v, ok := strings.CutPrefix(a, "-o="); ok {
			out = v
			continue
		}
		flags = append(flags, a)
	}
	return flags, out, pkgs
}

// splitAssignments splits the leading NAME=value words of a command from its argv.
func splitAssignments(words []string) (map[string]string, []string) {
	assign := map[string]string{}
	for i, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" || strings.ContainsAny(k, "-/.$") {
			return assign, words[i:]
		}
		assign[k] = v
	}
	return assign, nil
}

// shellCommands splits words at the && and ; between commands.
func shellCommands(words []string) [][]string {
	var cmds [][]string
	var cur []string
	for _, w := range words {
		if w == "&&" || w == ";" {
			cmds = append(cmds, cur)
			cur = nil
			continue
		}
		cur = append(cur, w)
	}
	return append(cmds, cur)
}
