package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// changesCommand is `vecron changes`: the changes of jobs waiting for a second user's approval
// in namespaces that require four eyes (docs/four-eyes.md).
func changesCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "changes", Short: "Review, approve, reject and withdraw changes of jobs waiting for approval",
		Long: `In a namespace that requires four eyes, a create, edit or delete of a job is not made: it becomes
a pending change, made only when another user holding job:approve there approves it. Its
requester may withdraw it; nobody may approve their own.`}
	cmd.AddCommand(changesListCommand(e), changesGetCommand(e),
		changesDecideCommand(e, "approve", "Approve another user's change: it is made at once", "approved"),
		changesDecideCommand(e, "reject", "Reject another user's change", "rejected"),
		changesDecideCommand(e, "withdraw", "Withdraw a change of your own", "withdrew"))
	return cmd
}

func changesListCommand(e env) *cobra.Command {
	var namespace, status, job string
	var lf *listFlags
	cmd := e.apiCommand("list", "List changes, newest first", cobra.NoArgs, func(cmd *cobra.Command, c *client, _ []string) error {
		q := url.Values{}
		if namespace != "" {
			q.Set("namespace", namespace)
		}
		if status != "" {
			q.Set("status", status)
		}
		if job != "" {
			id, err := c.jobID(cmd.Context(), job, namespace)
			if err != nil {
				return err
			}
			q.Set("job_id", id)
		}
		return lf.show(cmd, c, "/api/v1/changes", q, func(items []json.RawMessage) error {
			list, err := decodeItems[*domain.Change](items)
			if err != nil {
				return err
			}
			e.changesTable(cmd.Context(), cmd.OutOrStdout(), list, newJobNames(c))
			return nil
		})
	})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only changes of this namespace")
	cmd.Flags().StringVar(&status, "status", "", "only changes that are pending, approved, rejected, withdrawn, expired or failed")
	cmd.Flags().StringVar(&job, "job", "", "only changes of this job (id or name)")
	lf = addListFlags(cmd)
	return cmd
}

// changesTable writes changes as a table; names looks up the job of a change that holds no
// definition (a delete), when not nil.
func (e env) changesTable(ctx context.Context, w io.Writer, list []*domain.Change, names *jobNames) {
	rows := make([][]string, len(list))
	for i, c := range list {
		changes := "-"
		if c.Action == domain.ChangeUpdate {
			changes = clip(diffSummary(c.Diff), 40)
		}
		rows[i] = []string{c.ID, c.Namespace, changeJob(ctx, c, names), string(c.Action), string(c.Status), c.RequestedBy,
			clock(&c.RequestedAt, e.local, "-"), changes}
	}
	table(w, "ID\tNAMESPACE\tJOB\tACTION\tSTATUS\tREQUESTED BY\tREQUESTED\tCHANGES", rows)
}

// changeJob is the name of the job of change c: the one it defines, else the stored job's, else
// its id.
func changeJob(ctx context.Context, c *domain.Change, names *jobNames) string {
	if c.Definition != nil {
		return c.Definition.Name
	}
	if names != nil && c.JobID != "" {
		if j := names.get(ctx, c.JobID); j != nil {
			return j.Name
		}
	}
	return cmpOr(c.JobID, "-")
}

func changesGetCommand(e env) *cobra.Command {
	var format *string
	cmd := e.apiCommand("get ID", "Show a change: who asked for what, its diff and the definition it makes", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: "/api/v1/changes/" + url.PathEscape(args[0])})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			return showOne(w, *format, resp.body, func(ch domain.Change) {
				e.changeFields(cmd.Context(), w, &ch, newJobNames(c))
				var raw struct {
					Definition json.RawMessage `json:"definition"`
				}
				if json.Unmarshal(resp.body, &raw) != nil || len(raw.Definition) == 0 || string(raw.Definition) == "null" {
					return
				}
				y, err := jsonToYAML(raw.Definition)
				if err != nil {
					return
				}
				fmt.Fprintln(w, "\nDefinition:")
				for line := range strings.Lines(string(y)) {
					fmt.Fprint(w, "  "+line)
				}
			})
		})
	format = outputFlag(cmd)
	return cmd
}

// changeFields writes one change for people: its facts, then each field it changes.
func (e env) changeFields(ctx context.Context, w io.Writer, c *domain.Change, names *jobNames) {
	job := changeJob(ctx, c, names)
	if c.JobID != "" {
		job += " (" + c.JobID + ")"
	}
	by := func(t *time.Time, who string) string {
		s := clock(t, e.local, "")
		if s != "" && who != "" {
			s += " by " + who
		}
		return s
	}
	expires := ""
	if c.Status == domain.ChangePending {
		expires = clock(&c.ExpiresAt, e.local, "")
	}
	base := ""
	if c.BaseVersion > 0 {
		base = strconv.FormatInt(c.BaseVersion, 10)
	}
	fields(w, [][2]string{
		{"ID", c.ID},
		{"Namespace", c.Namespace},
		{"Job", job},
		{"Action", string(c.Action)},
		{"Status", string(c.Status)},
		{"Base version", base},
		{"Requested", by(&c.RequestedAt, c.RequestedBy)},
		{"Expires", expires},
		{"Decided", by(c.DecidedAt, c.DecidedBy)},
		{"Comment", c.Comment},
		{"Reason", c.Reason},
	})
	fmt.Fprintln(w, "\nChanges:")
	if c.Action == domain.ChangeDelete {
		fmt.Fprintln(w, "  the job is deleted")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, d := range c.Diff {
		fmt.Fprintf(tw, "  %s\t%s → %s\n", d.Path, diffValue(d.Old), diffValue(d.New))
	}
	_ = tw.Flush()
}

// diffValue is a value of a diff as JSON on one line, or (none) for a side without it.
func diffValue(v any) string {
	if v == nil {
		return "(none)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b), 80)
}

// changesDecideCommand is `vecron changes approve`, `reject` or `withdraw`.
func changesDecideCommand(e env, verb, short, done string) *cobra.Command {
	var comment string
	var format *string
	cmd := e.apiCommand(verb+" ID", short, cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		body := map[string]string{}
		if comment != "" {
			body["comment"] = comment
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/changes/" + url.PathEscape(args[0]) + "/" + verb, body: body})
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		return showOne(w, *format, resp.body, func(ch domain.Change) {
			fmt.Fprintf(w, "%s change %s: the %s of job %s/%s", done, ch.ID, ch.Action, ch.Namespace, changeJob(cmd.Context(), &ch, newJobNames(c)))
			if ch.Status == domain.ChangeApproved {
				fmt.Fprint(w, " is made")
			}
			fmt.Fprintln(w)
		})
	})
	cmd.Flags().StringVar(&comment, "comment", "", "a comment kept with the decision (at most 2000 bytes)")
	format = outputFlag(cmd)
	return cmd
}

// namespacesCommand is `vecron namespaces`: the settings of namespaces.
func namespacesCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "namespaces", Short: "Read and change the settings of namespaces"}
	settings := &cobra.Command{Use: "settings", Short: "Whether a namespace requires four eyes, and how long its changes wait"}
	settings.AddCommand(namespaceSettingsGetCommand(e), namespaceSettingsSetCommand(e))
	cmd.AddCommand(settings)
	return cmd
}

func settingsPath(ns string) string { return "/api/v1/namespaces/" + url.PathEscape(ns) + "/settings" }

// settingsFields writes the settings of a namespace for people.
func (e env) settingsFields(w io.Writer, s domain.NamespaceSettings) {
	four := "off: creates, edits and deletes of jobs are made at once"
	if s.FourEyes {
		four = "on: creates, edits and deletes of jobs wait for another user's approval"
	}
	updated := clock(s.UpdatedAt, e.local, "")
	if updated != "" && s.UpdatedBy != "" {
		updated += " by " + s.UpdatedBy
	}
	fields(w, [][2]string{
		{"Namespace", s.Namespace},
		{"Four eyes", four},
		{"Change expiry", short(time.Duration(s.ChangeExpiry))},
		{"Updated", updated},
	})
}

func namespaceSettingsGetCommand(e env) *cobra.Command {
	var format *string
	cmd := e.apiCommand("get NAMESPACE", "Show the settings of a namespace", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: settingsPath(args[0])})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(s domain.NamespaceSettings) { e.settingsFields(cmd.OutOrStdout(), s) })
		})
	format = outputFlag(cmd)
	return cmd
}

func namespaceSettingsSetCommand(e env) *cobra.Command {
	var fourEyes bool
	var expiry string
	var format *string
	cmd := e.apiCommand("set NAMESPACE [--four-eyes=true|false] [--change-expiry DURATION]",
		"Require four eyes in a namespace, or not; set how long its changes wait (needs user:admin)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			setFour, setExpiry := cmd.Flags().Changed("four-eyes"), cmd.Flags().Changed("change-expiry")
			if !setFour && !setExpiry {
				return usageError{errors.New("name what to set: --four-eyes=true|false, --change-expiry, or both")}
			}
			var d time.Duration
			if setExpiry {
				var err error
				if d, err = time.ParseDuration(expiry); err != nil || d <= 0 {
					return usageError{fmt.Errorf("--change-expiry: %q is not a duration such as 72h", expiry)}
				}
			}
			// The API replaces both settings at once: what is not named stays as it is.
			if !setFour || !setExpiry {
				var cur domain.NamespaceSettings
				if err := c.getJSON(cmd.Context(), settingsPath(args[0]), nil, &cur); err != nil {
					return err
				}
				if !setFour {
					fourEyes = cur.FourEyes
				}
				if !setExpiry {
					d = time.Duration(cur.ChangeExpiry)
				}
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPut, path: settingsPath(args[0]),
				body: map[string]any{"four_eyes": fourEyes, "change_expiry": d.String()}})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(s domain.NamespaceSettings) { e.settingsFields(cmd.OutOrStdout(), s) })
		})
	cmd.Long = `Turns four eyes on or off in a namespace, and sets how long a change there waits for a decision
before it expires (1h to 720h). A setting not named stays as it is. Needs user:admin for all
namespaces: who must approve is access control. Turning four eyes off takes effect at once;
changes still pending stay pending.`
	cmd.Example = `  vecron namespaces settings set payments --four-eyes=true --change-expiry 72h
  vecron namespaces settings set payments --four-eyes=false`
	cmd.Flags().BoolVar(&fourEyes, "four-eyes", false, "creates, edits and deletes of jobs wait for another user's approval")
	cmd.Flags().StringVar(&expiry, "change-expiry", "", "how long a change waits for a decision before it expires, such as 72h")
	format = outputFlag(cmd)
	return cmd
}

var indexSuffix = regexp.MustCompile(`\[\d+\]$`)

// diffSummary names the fields a diff changes, once each, lists by their name:
// "schedule.cron, retry.backoff".
func diffSummary(diff []domain.FieldChange) string {
	var paths []string
	for _, d := range diff {
		p := indexSuffix.ReplaceAllString(d.Path, "")
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return "-"
	}
	return strings.Join(paths, ", ")
}

// pendingNote says that a write became a change waiting for approval; label names the job when
// the change holds no definition (a delete).
func (e env) pendingNote(w io.Writer, c domain.Change, label string) {
	if c.Definition != nil {
		label = c.Namespace + "/" + c.Definition.Name
	}
	fmt.Fprintf(w, "namespace %s requires four eyes: the %s of job %s waits for another user's approval, until %s\n",
		c.Namespace, c.Action, label, clock(&c.ExpiresAt, e.local, "-"))
	fmt.Fprintf(w, "change %s; vecron changes get %s shows it\n", c.ID, c.ID)
}

// isPending reports whether resp is a 202: a write that became a change waiting for approval.
func isPending(resp *response) bool { return resp.status == http.StatusAccepted }
