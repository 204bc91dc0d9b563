package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// mediaYAML is YAML's media type (RFC 9512), which export writes and apply takes.
const mediaYAML = "application/yaml"

func jobsExportCommand(e env) *cobra.Command {
	var namespace, file, format string
	cmd := e.apiCommand("export", "Write the definitions of jobs, as YAML (or JSON) to keep in Git and apply back", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			accept := mediaYAML
			switch format {
			case formatYAML:
			case formatJSON:
				accept = "application/json"
			default:
				return usageError{fmt.Errorf("-o: %q is not a format of an export: use yaml or json", format)}
			}
			q := url.Values{}
			if namespace != "" {
				q.Set("namespace", namespace)
			}
			// An export streams, a page of jobs at a time, for as long as it takes: no timeout,
			// no bound on its size.
			resp, err := c.send(cmd.Context(), request{method: http.MethodGet, path: "/api/v1/jobs/export", query: q,
				header: http.Header{"Accept": {accept}}})
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode >= 300 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				return problemOf(resp.StatusCode, b)
			}
			if file == "" || file == "-" {
				if _, err := io.Copy(cmd.OutOrStdout(), resp.Body); err != nil {
					return unreachableError{server: c.server, cause: err}
				}
				return nil
			}
			if err := writeFileWhole(file, resp.Body); err != nil {
				var w writeError
				if errors.As(err, &w) {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "the export broke off: %s is left as it was\n", file)
				return unreachableError{server: c.server, cause: err}
			}
			return nil
		})
	cmd.Long = `Writes the definitions of the jobs of --namespace, or of every namespace you may read, as
{"jobs": [...]}: the fields a create takes, every default written out, no secret values, sorted
by namespace and name. It is the file 'vecron jobs apply' reads: applied back, it changes nothing.

With -f the file is written only once the export is whole; a failed export leaves it as it was.`
	cmd.Example = `  vecron jobs export -n billing -f jobs/billing.yaml
  vecron jobs export -o json | jq '.jobs[].name'`
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only the jobs of this namespace")
	cmd.Flags().StringVarP(&format, "output", "o", formatYAML, "format: yaml (for Git) or json")
	cmd.Flags().StringVarP(&file, "filename", "f", "", "write to this file instead of standard output")
	return cmd
}

// writeError is a failure to write the local file, not to read the API.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

// writeFileWhole writes what r reads to name, through a temporary file beside it renamed over
// it at the end: name holds a whole document or what it held before. An error writing is a
// writeError; one reading r is returned as it is.
func writeFileWhole(name string, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return writeError{err}
	}
	defer os.Remove(f.Name()) // once renamed, there is nothing left to remove
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		var pe *os.PathError
		if errors.As(err, &pe) {
			return writeError{err}
		}
		return err
	}
	if err := f.Close(); err != nil {
		return writeError{err}
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil { // definitions hold no secrets: a file for Git
		return writeError{err}
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return writeError{err}
	}
	return nil
}

// applyAnswer is what POST /api/v1/jobs/apply answers.
type applyAnswer struct {
	DryRun bool `json:"dry_run"`
	Plan   []struct {
		Namespace string               `json:"namespace"`
		Name      string               `json:"name"`
		Action    string               `json:"action"`
		Diff      []domain.FieldChange `json:"diff"`
	} `json:"plan"`
	// Changes are the pending changes the apply became in namespaces that require four eyes.
	Changes []*domain.Change `json:"changes"`
}

func jobsApplyCommand(e env) *cobra.Command {
	var file string
	var namespaces []string
	var prune, dryRun bool
	var format *string
	cmd := e.apiCommand("apply -f FILE|DIR|-", "Make the stored jobs what files of definitions say, in one transaction", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			if file == "" {
				return usageError{errors.New("-f: name the file or directory of the jobs (- for standard input)")}
			}
			in, err := readApplyInput(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			body, err := in.body(namespaces, prune, dryRun)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/jobs/apply", body: body,
				header: http.Header{"Content-Type": {mediaYAML}}})
			if err != nil {
				return in.locate(err)
			}
			w := cmd.OutOrStdout()
			return showOne(w, *format, resp.body, func(a applyAnswer) { e.printApply(cmd.Context(), w, a) })
		})
	cmd.Long = `Reads {"jobs": [...]} from a JSON or YAML file, from every *.yaml, *.yml and *.json file of a
directory (one request with the jobs of all of them), or from standard input, and makes the
stored jobs of their namespaces be what they say: a job not stored is created, a stored one that
differs is updated, the rest are left as they are; with --prune the jobs of those namespaces the
files do not name are deleted. Everything is done in one transaction, or nothing.

The plan is printed: each job with what happens to it and the fields that change. --dry-run
prints it and changes nothing. Where a namespace requires four eyes, the changes wait for
another user's approval; they are printed with their ids.

A refused apply names each job by its place: "jobs[3].schedule.cron: …" (in a directory,
"DIR/ops.yaml: jobs[1].schedule.cron: …").`
	cmd.Example = `  vecron jobs export -n billing -f jobs/billing.yaml
  vecron jobs apply -f jobs/ --dry-run
  vecron jobs apply -f jobs/ --prune --namespace billing`
	cmd.Flags().StringVarP(&file, "filename", "f", "", "file or directory of the jobs, JSON or YAML; - reads standard input")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete the jobs of the namespaces applied to that the files do not name")
	cmd.Flags().StringSliceVarP(&namespaces, "namespace", "n", nil, "the namespaces applied to (repeat); every job must be in one; default: those of the jobs")
	format = outputFlag(cmd)
	return cmd
}

// printApply writes the plan of an apply for people, and the changes waiting for approval.
func (e env) printApply(ctx context.Context, w io.Writer, a applyAnswer) {
	rows := make([][]string, len(a.Plan))
	count := map[string]int{}
	for i, p := range a.Plan {
		changes := "-"
		if p.Action == "update" {
			changes = clip(diffSummary(p.Diff), 60)
		}
		count[p.Action]++
		rows[i] = []string{p.Namespace, p.Name, p.Action, changes}
	}
	table(w, "NAMESPACE\tNAME\tACTION\tCHANGES", rows)
	tally := fmt.Sprintf("%d to create, %d to update, %d to delete, %d unchanged",
		count["create"], count["update"], count["delete"], count["unchanged"])
	switch {
	case a.DryRun:
		fmt.Fprintf(w, "dry run, nothing changed: %s\n", tally)
	case len(a.Changes) > 0:
		if len(a.Changes) == 1 {
			fmt.Fprintln(w, "1 change waits for approval by another user with job:approve:")
		} else {
			fmt.Fprintf(w, "%d changes wait for approval by another user with job:approve:\n", len(a.Changes))
		}
		e.changesTable(ctx, w, a.Changes, nil)
		fmt.Fprintln(w, "review one with: vecron changes get ID; decide with: vecron changes approve ID (or reject)")
	default:
		fmt.Fprintf(w, "applied: %d created, %d updated, %d deleted, %d unchanged\n",
			count["create"], count["update"], count["delete"], count["unchanged"])
	}
}
