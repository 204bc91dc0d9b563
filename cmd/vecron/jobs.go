package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// jobsCommand is `vecron jobs`: the jobs of the API, read and changed as the signed-in user.
func jobsCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "List, read, create, edit, run, pause, delete, export and apply jobs",
		Long: `Jobs are named by id, or by name: within --namespace, or in the one namespace that has a job
of that name.

In a namespace that requires four eyes, create, edit and delete make a change that waits for
another user's approval (see vecron changes).`}
	cmd.AddCommand(jobsListCommand(e), jobsGetCommand(e), jobsCreateCommand(e), jobsEditCommand(e), jobsDeleteCommand(e),
		jobsTriggerCommand(e), jobsEnableCommand(e, true), jobsEnableCommand(e, false), jobsCloneCommand(e),
		jobsExportCommand(e), jobsApplyCommand(e))
	return cmd
}

// jobPath is the path of the job ref names, resolved by the --namespace of cmd.
func jobPath(cmd *cobra.Command, c *client, ref, namespace string) (string, error) {
	id, err := c.jobID(cmd.Context(), ref, namespace)
	if err != nil {
		return "", err
	}
	return "/api/v1/jobs/" + url.PathEscape(id), nil
}

func jobsListCommand(e env) *cobra.Command {
	var namespace string
	var tags []string
	var lf *listFlags
	cmd := e.apiCommand("list", "List jobs with their schedule, state, next run and success rate", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			q := url.Values{"include": {"stats"}}
			if namespace != "" {
				q.Set("namespace", namespace)
			}
			for _, t := range tags {
				q.Add("tag", t)
			}
			return lf.show(cmd, c, "/api/v1/jobs", q, func(items []json.RawMessage) error {
				list, err := decodeItems[jobWithStats](items)
				if err != nil {
					return err
				}
				rows := make([][]string, len(list))
				for i, j := range list {
					rate := "-"
					if j.Stats != nil && j.Stats.SuccessRate != nil {
						rate = strconv.FormatFloat(*j.Stats.SuccessRate*100, 'f', 1, 64) + "%"
					}
					rows[i] = []string{j.Namespace, j.Name, string(j.Kind), scheduleSummary(j.Job, e.local), j.State,
						clock(j.NextRunAt, zoneOf(j.Timezone, e.local), "-"), rate}
				}
				table(cmd.OutOrStdout(), "NAMESPACE\tNAME\tKIND\tSCHEDULE\tSTATE\tNEXT RUN\tSUCCESS 7D", rows)
				return nil
			})
		})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only jobs of this namespace")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "only jobs with this tag; repeated, with every one")
	lf = addListFlags(cmd)
	return cmd
}

// jobWithStats is a job of the list with its statistics.
type jobWithStats struct {
	domain.Job
	Stats *domain.JobStats `json:"stats"`
}

// scheduleSummary says when j fires, in a table cell.
func scheduleSummary(j domain.Job, local *time.Location) string {
	s := j.Schedule
	switch s.Kind {
	case domain.ScheduleFixedRate:
		return "every " + short(time.Duration(s.Every))
	case domain.ScheduleFixedDelay:
		return short(time.Duration(s.Every)) + " after each run"
	case domain.ScheduleOnce:
		return "once at " + clock(s.At, zoneOf(j.Timezone, local), "?")
	}
	return s.Cron
}

// jobFields writes one job for people.
func jobFields(w io.Writer, j domain.Job, local *time.Location) {
	zone := zoneOf(j.Timezone, local)
	target := ""
	switch {
	case j.HTTP != nil:
		target = j.HTTP.Method + " " + j.HTTP.URL
	case j.SQL != nil:
		target = fmt.Sprintf("%s, %d statements", j.SQL.Driver, len(j.SQL.Statements))
	}
	retry := fmt.Sprintf("%d attempts", j.Retry.MaxAttempts)
	if len(j.Retry.Backoff) > 0 {
		steps := make([]string, len(j.Retry.Backoff))
		for i, b := range j.Retry.Backoff {
			steps[i] = short(time.Duration(b))
		}
		retry += ", backoff " + strings.Join(steps, " ")
	}
	by := func(t time.Time, who string) string {
		s := clock(&t, zone, "")
		if who != "" {
			s += " by " + who
		}
		return s
	}
	fields(w, [][2]string{
		{"ID", j.ID},
		{"Name", j.Namespace + "/" + j.Name},
		{"Description", j.Description},
		{"Kind", string(j.Kind)},
		{"Target", target},
		{"Schedule", scheduleSummary(j, local) + " (" + j.Timezone + ")"},
		{"State", j.State},
		{"Next run", clock(j.NextRunAt, zone, "-")},
		{"Timeout", short(time.Duration(j.Timeout))},
		{"Retry", retry},
		{"Misfire", j.MisfirePolicy},
		{"Concurrency", j.ConcurrencyPolicy},
		{"Version", strconv.FormatInt(j.Version, 10)},
		{"Created", by(j.CreatedAt, j.CreatedBy)},
		{"Updated", by(j.UpdatedAt, j.UpdatedBy)},
	})
}

func jobsGetCommand(e env) *cobra.Command {
	var namespace string
	var format *string
	cmd := e.apiCommand("get JOB", "Show a job", cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		path, err := jobPath(cmd, c, args[0], namespace)
		if err != nil {
			return err
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: path})
		if err != nil {
			return err
		}
		return showOne(cmd.OutOrStdout(), *format, resp.body, func(j domain.Job) { jobFields(cmd.OutOrStdout(), j, e.local) })
	})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named")
	format = outputFlag(cmd)
	return cmd
}

func jobsCreateCommand(e env) *cobra.Command {
	var file string
	var format *string
	cmd := e.apiCommand("create -f FILE", "Create a job from a JSON or YAML file (- for standard input)", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			if file == "" {
				return usageError{errors.New("-f: name the file of the job (- for standard input)")}
			}
			b, err := readDocument(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			doc, err := parseJobDocument(b)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/jobs", body: doc.body})
			if err != nil {
				return err
			}
			if isPending(resp) {
				return showOne(cmd.OutOrStdout(), *format, resp.body, func(ch domain.Change) { e.pendingNote(cmd.OutOrStdout(), ch, "") })
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(j domain.Job) {
				fmt.Fprintf(cmd.OutOrStdout(), "created job %s/%s (%s), next run %s\n", j.Namespace, j.Name, j.ID,
					clock(j.NextRunAt, zoneOf(j.Timezone, e.local), "none"))
			})
		})
	cmd.Example = `  vecron jobs create -f nightly.yaml
  vecron jobs get nightly -o yaml | sed 's/nightly/nightly-copy/' | vecron jobs create -f -`
	cmd.Flags().StringVarP(&file, "filename", "f", "", "file of the job, JSON or YAML; - reads standard input")
	format = outputFlag(cmd)
	return cmd
}

func jobsEditCommand(e env) *cobra.Command {
	var namespace, file string
	var format *string
	cmd := e.apiCommand("edit JOB", "Edit a job in $EDITOR as YAML, or replace it from a file with -f", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			path, err := jobPath(cmd, c, args[0], namespace)
			if err != nil {
				return err
			}
			var doc jobDocument
			kept := ""
			if file != "" {
				b, err := readDocument(file, cmd.InOrStdin())
				if err != nil {
					return err
				}
				if doc, err = parseJobDocument(b); err != nil {
					return err
				}
			} else {
				var changed bool
				doc, kept, changed, err = e.editInEditor(cmd, c, path)
				if err != nil || !changed {
					return err
				}
			}
			if doc.id != "" && doc.id != strings.TrimPrefix(path, "/api/v1/jobs/") {
				return usageError{fmt.Errorf("the document is of job %s, not of %s", doc.id, args[0])}
			}
			// The version the document was read at guards the edit: a change made since is
			// refused, not overwritten. A file without one replaces whatever is current.
			match := "*"
			if doc.version > 0 {
				match = `"` + strconv.FormatInt(doc.version, 10) + `"`
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPut, path: path, body: doc.body,
				header: http.Header{"If-Match": {match}}})
			if err != nil {
				if kept != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "the edit is kept in %s: fix it and run vecron jobs edit %s -f %s\n", kept, args[0], kept)
				}
				return err
			}
			if kept != "" {
				_ = os.Remove(kept)
			}
			if isPending(resp) {
				return showOne(cmd.OutOrStdout(), *format, resp.body, func(ch domain.Change) { e.pendingNote(cmd.OutOrStdout(), ch, args[0]) })
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(j domain.Job) {
				fmt.Fprintf(cmd.OutOrStdout(), "edited job %s/%s: version %d, next run %s\n", j.Namespace, j.Name, j.Version,
					clock(j.NextRunAt, zoneOf(j.Timezone, e.local), "none"))
			})
		})
	cmd.Long = `Opens the job as YAML in $VISUAL or $EDITOR (vi when neither is set); when the editor exits
with the file changed, the job is replaced by it (PUT). The edit names the version it was made
on (If-Match), so a change someone made in the meantime is refused (exit status 4) instead of
overwritten; the edit is then kept in a file to retry from.

With -f the job is replaced from a JSON or YAML file instead, such as one written by
'vecron jobs get JOB -o yaml': its version guards the edit the same way; a file without a
version replaces whatever version is current.`
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named")
	cmd.Flags().StringVarP(&file, "filename", "f", "", "replace the job from this file, JSON or YAML; - reads standard input")
	format = outputFlag(cmd)
	return cmd
}

// editInEditor opens the job at path in the user's editor and returns what they saved, the
// file it is kept in until the edit lands, and whether they changed anything.
func (e env) editInEditor(cmd *cobra.Command, c *client, path string) (jobDocument, string, bool, error) {
	resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: path})
	if err != nil {
		return jobDocument{}, "", false, err
	}
	y, err := editableJob(resp.body)
	if err != nil {
		return jobDocument{}, "", false, err
	}
	var j domain.Job
	_ = json.Unmarshal(resp.body, &j)
	header := fmt.Sprintf("# Job %s/%s (%s). Save and quit to replace it; quit without a change to\n"+
		"# leave it as it is. version is the one this edit is made on: a change made since is refused.\n", j.Namespace, j.Name, j.ID)
	before := append([]byte(header), y...)
	f, err := os.CreateTemp("", "vecron-job-*.yaml") // 0600: a job may name hosts and users
	if err != nil {
		return jobDocument{}, "", false, err
	}
	name := f.Name()
	_, err = f.Write(before)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return jobDocument{}, "", false, err
	}
	editor := cmpOr(e.getenv("VISUAL"), e.getenv("EDITOR"), "vi")
	// Through the shell, as git and kubectl do, so that EDITOR="code --wait" works.
	ed := exec.CommandContext(cmd.Context(), "sh", "-c", editor+` "$1"`, "vecron-edit", name)
	ed.Stdin, ed.Stdout, ed.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := ed.Run(); err != nil {
		os.Remove(name)
		return jobDocument{}, "", false, fmt.Errorf("the editor (%s) failed: %w", filepath.Base(strings.Fields(editor)[0]), err)
	}
	after, err := os.ReadFile(name)
	if err != nil {
		os.Remove(name)
		return jobDocument{}, "", false, err
	}
	if bytes.Equal(bytes.TrimSpace(after), bytes.TrimSpace(before)) {
		os.Remove(name)
		fmt.Fprintln(cmd.ErrOrStderr(), "no change: the job is left as it is")
		return jobDocument{}, "", false, nil
	}
	doc, err := parseJobDocument(after)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "the edit is kept in %s\n", name)
		return jobDocument{}, "", false, err
	}
	return doc, name, true, nil
}

func jobsDeleteCommand(e env) *cobra.Command {
	var namespace string
	cmd := e.apiCommand("delete JOB", "Delete a job; its execution history stays until retention drops it", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			path, err := jobPath(cmd, c, args[0], namespace)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodDelete, path: path})
			if err != nil {
				return err
			}
			if isPending(resp) {
				var ch domain.Change
				if err := json.Unmarshal(resp.body, &ch); err != nil {
					return fmt.Errorf("the API answered with something unexpected: %w", err)
				}
				e.pendingNote(cmd.OutOrStdout(), ch, args[0])
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted job %s\n", args[0])
			return nil
		})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named")
	return cmd
}

func jobsTriggerCommand(e env) *cobra.Command {
	var namespace, payload, key string
	var force bool
	var format *string
	cmd := e.apiCommand("trigger JOB", "Run a job now, outside its schedule", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			body := map[string]any{}
			if payload != "" {
				if !json.Valid([]byte(payload)) {
					return usageError{errors.New(`--payload: must be JSON, such as '{"reason":"month end"}'`)}
				}
				body["payload"] = json.RawMessage(payload)
			}
			if force {
				body["force"] = true
			}
			h := http.Header{}
			if key != "" {
				if !domain.WellFormedID(key) {
					return usageError{errors.New("--idempotency-key: 1 to 128 letters, digits, -, _, . and :")}
				}
				h.Set("Idempotency-Key", key)
			}
			path, err := jobPath(cmd, c, args[0], namespace)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: path + "/trigger", body: body, header: h})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(t struct {
				ExecutionID string `json:"execution_id"`
				Status      string `json:"status"`
			}) {
				msg := "started"
				if resp.header.Get("Idempotent-Replayed") == "true" {
					msg = "already started with this idempotency key:"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s execution %s (%s); follow it with vecron executions get %s\n", msg, t.ExecutionID, t.Status, t.ExecutionID)
			})
		})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named")
	cmd.Flags().StringVar(&payload, "payload", "", "JSON value the job's templates read as trigger.payload")
	cmd.Flags().BoolVar(&force, "force", false, "run even while a run of a forbid job is going")
	cmd.Flags().StringVar(&key, "idempotency-key", "", "the same key within 24 hours returns the run it started first")
	format = outputFlag(cmd)
	return cmd
}

// jobsEnableCommand is `vecron jobs enable`, or `disable` (pause).
func jobsEnableCommand(e env, enable bool) *cobra.Command {
	use, short, route, done := "enable JOB", "Resume a paused job's schedule", "/enable", "resumed"
	if !enable {
		use, short, route, done = "disable JOB", "Pause a job's schedule (runs started by hand still run)", "/disable", "paused"
	}
	var namespace string
	var format *string
	cmd := e.apiCommand(use, short, cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		path, err := jobPath(cmd, c, args[0], namespace)
		if err != nil {
			return err
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: path + route})
		if err != nil {
			return err
		}
		return showOne(cmd.OutOrStdout(), *format, resp.body, func(j domain.Job) {
			fmt.Fprintf(cmd.OutOrStdout(), "%s job %s/%s, next run %s\n", done, j.Namespace, j.Name, clock(j.NextRunAt, zoneOf(j.Timezone, e.local), "none"))
		})
	})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named")
	format = outputFlag(cmd)
	return cmd
}

func jobsCloneCommand(e env) *cobra.Command {
	var namespace, name, into string
	var enabled bool
	var format *string
	cmd := e.apiCommand("clone JOB --name NAME", "Copy a job's definition into a new job, paused unless --enabled", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			if name == "" {
				return usageError{errors.New("--name: name the new job")}
			}
			path, err := jobPath(cmd, c, args[0], namespace)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: path + "/clone",
				body: map[string]any{"name": name, "namespace": into, "enabled": enabled}})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(j domain.Job) {
				fmt.Fprintf(cmd.OutOrStdout(), "created job %s/%s (%s), %s\n", j.Namespace, j.Name, j.ID, j.State)
			})
		})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named")
	cmd.Flags().StringVar(&name, "name", "", "name of the new job")
	cmd.Flags().StringVar(&into, "to-namespace", "", "namespace of the new job (default: the source's)")
	cmd.Flags().BoolVar(&enabled, "enabled", false, "start the new job's schedule at once")
	format = outputFlag(cmd)
	return cmd
}
