package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/store"
)

// auditSettings configure the audit commands that read the database.
type auditSettings struct {
	Database store.Config `koanf:"database"`
	Audit    audit.Config `koanf:"audit"`
}

func auditCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read, verify, export and prune the audit log"}
	cmd.AddCommand(auditVerifyCommand(false), auditVerifyCommand(true), auditExportCommand(), auditListCommand(e), auditPruneCommand())
	return cmd
}

// withAuditStore loads the settings of cmd, opens the store and calls fn with it and the keys.
func withAuditStore(cmd *cobra.Command, s *auditSettings, file string, fn func(st *store.Store, keys *audit.Keys) error) error {
	if err := loadDatabaseSettings(cmd, s, file); err != nil {
		return err
	}
	keys, err := s.Audit.Load()
	if err != nil {
		return usageError{err}
	}
	return withMigratedStore(cmd, s.Database, func(st *store.Store) error { return fn(st, keys) })
}

// loadDatabaseSettings loads the settings s of a command that reads the database from file,
// the environment (DATABASE_URL too) and cmd's flags.
func loadDatabaseSettings(cmd *cobra.Command, s any, file string) error {
	if err := config.Load(s, config.Options{File: file, Environ: os.Environ(), Prefix: config.EnvPrefix,
		Flags: cmd.Flags(), Aliases: map[string]string{"DATABASE_URL": "database.url"}}); err != nil {
		return usageError{err}
	}
	return nil
}

// withMigratedStore opens the database of cfg, brings its schema up to date quietly and calls fn.
func withMigratedStore(cmd *cobra.Command, cfg store.Config, fn func(st *store.Store) error) error {
	st, err := store.Open(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(cmd.Context(), slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	return fn(st)
}

// auditVerifyCommand is `vecron audit verify`, or `vecron audit anchor` (which prints the head
// to keep elsewhere once the chain verifies).
func auditVerifyCommand(anchorOnly bool) *cobra.Command {
	s := auditSettings{Database: store.Config{MaxConns: 2}}
	var file, anchor, from string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that no audit row was altered, removed or forged",
		Long: `Reads the whole audit log in order and checks its HMAC chain with the audit keys
(audit.keys, which live in configuration, never in the database). It reports the first row that
was altered, removed, reordered or forged. With --anchor (a head printed earlier by
'vecron audit anchor' and kept elsewhere) it also detects rows cut from the end. With --from (an
anchor of a row whose predecessors retention removed) it starts there. Exit status 1 when the
chain is broken.`,
		Example: `  VECRON_AUDIT__KEYS=… DATABASE_URL=postgres://… vecron audit verify --anchor vecron-audit:1042:3q2-…`,
		Args:    cobra.NoArgs,
	}
	if anchorOnly {
		cmd.Use, cmd.Short = "anchor", "Verify the audit log and print its head, to keep where the database's users cannot write"
		cmd.Long = "Verifies the audit log as 'vecron audit verify' does and prints its head (vecron-audit:<seq>:<mac>).\nKeep it elsewhere (a ticket, a WORM bucket, a signed e-mail); 'verify --anchor' then proves\nthat no row up to it was cut."
		cmd.Example = ""
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var kept, start *audit.Anchor
		for _, a := range []struct {
			flag, value string
			dst         **audit.Anchor
		}{{"--anchor", anchor, &kept}, {"--from", from, &start}} {
			if a.value == "" {
				continue
			}
			parsed, err := audit.ParseAnchor(strings.TrimSpace(a.value))
			if err != nil {
				return usageError{fmt.Errorf("%s: %w", a.flag, err)}
			}
			*a.dst = &parsed
		}
		return withAuditStore(cmd, &s, file, func(st *store.Store, keys *audit.Keys) error {
			v := keys.Verifier(kept)
			after := int64(0)
			if start != nil {
				v, after = keys.VerifierFrom(*start, kept), start.Seq
			}
			err := st.AuditChain(cmd.Context(), after, nil, func(r *audit.Record) error {
				var broken *audit.Broken
				if err := v.Next(r); errors.As(err, &broken) {
					return errStop
				} else if err != nil {
					return err
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStop) {
				return err
			}
			report, err := v.Finish()
			if err != nil {
				return err
			}
			if anchorOnly {
				fmt.Fprintln(cmd.OutOrStdout(), report.Head.String())
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the audit log verifies: %d rows, head %s\n", report.Rows, report.Head)
			return nil
		})
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	if !anchorOnly {
		cmd.Flags().StringVar(&anchor, "anchor", "", "a head kept earlier: the log must reach it unchanged")
	}
	cmd.Flags().StringVar(&from, "from", "", "the anchor of the last row removed by retention: verify from the row after it")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}

func auditPruneCommand() *cobra.Command {
	s := auditSettings{Database: store.Config{MaxConns: 2}}
	var file, before, from string
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove audit rows older than a time, once they verify, and print the anchor to verify from",
		Long: `Audit rows are kept until an operator removes them; nothing expires on its own. prune checks
with the audit keys that the rows to remove form an unbroken chain (a broken log is refused, exit
status 1, and nothing is removed), then removes the rows older than --before in one transaction.

Only the oldest rows go, so that the rest is still a chain: prune stops at the first row at or
after --before, keeps the newest row (the next one chains to it) and, when the log is forwarded
to a SIEM (audit.sink), every row the sink has not accepted yet.

It prints the anchor of the last row removed (vecron-audit:<seq>:<mac>), and nothing when it
removed nothing. The log no longer starts at its first row: keep the anchor, and pass it to
'vecron audit verify --from' and to the next prune's --from.`,
		Example: `  vecron audit prune --before 2026-01-01T00:00:00Z --from vecron-audit:1042:3q2-… > audit-anchor.txt`,
		Args:    cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if before == "" {
			return usageError{errors.New("--before: is required, an RFC 3339 time such as 2026-01-01T00:00:00Z")}
		}
		cutoff, err := time.Parse(time.RFC3339Nano, before)
		if err != nil {
			return usageError{errors.New("--before: must be an RFC 3339 time such as 2026-01-01T00:00:00Z")}
		}
		var start *audit.Anchor
		if from != "" {
			a, err := audit.ParseAnchor(strings.TrimSpace(from))
			if err != nil {
				return usageError{fmt.Errorf("--from: %w", err)}
			}
			start = &a
		}
		return withAuditStore(cmd, &s, file, func(st *store.Store, keys *audit.Keys) error {
			st.UseAudit(keys)
			res, err := st.PruneAudit(cmd.Context(), cutoff, start)
			var broken *audit.Broken
			if errors.As(err, &broken) {
				// What a log pruned before, verified from its start, looks like.
				if start == nil && broken.Seq == 1 && strings.HasPrefix(broken.Reason, "the first row does not start the chain") {
					return fmt.Errorf("refusing to prune, nothing removed: %w (if rows were pruned before, pass --from the anchor that prune printed)", err)
				}
				return fmt.Errorf("refusing to prune, nothing removed: %w", err)
			}
			if err != nil {
				return err
			}
			msg := cmd.ErrOrStderr()
			if res.Rows == 0 {
				fmt.Fprintf(msg, "nothing to prune before %s\n", cutoff.UTC().Format(time.RFC3339Nano))
			} else {
				rows := "rows"
				if res.Rows == 1 {
					rows = "row"
				}
				fmt.Fprintf(msg, "removed %d audit %s, up to seq %d: keep the anchor printed and verify with 'vecron audit verify --from <anchor>'\n",
					res.Rows, rows, res.Last.Seq)
			}
			switch {
			case res.Unforwarded:
				fmt.Fprintf(msg, "stopped at seq %d: older rows after it stay until audit.sink has accepted them\n", res.Forwarded)
			case res.HeadKept:
				fmt.Fprintf(msg, "kept seq %d, the newest row, though older: the next row chains to it\n", res.Head)
			}
			if res.Rows > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), res.Last.String())
			}
			return nil
		})
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	cmd.Flags().StringVar(&before, "before", "", "remove rows older than this time (RFC 3339)")
	cmd.Flags().StringVar(&from, "from", "", "the anchor printed by the last prune, where the log now starts")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}

// errStop ends a walk of the chain at its first broken row; the verifier keeps the reason.
var errStop = errors.New("stop")

func auditExportCommand() *cobra.Command {
	s := auditSettings{Database: store.Config{MaxConns: 2}}
	var file, since string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the audit log as NDJSON, one row per line, MACs included",
		Long: `Writes audit rows in sequence order to standard output, one JSON object per line, with
their MACs, so a SIEM or an archive holds rows that 'vecron audit verify' style checks can still
prove. --since keeps rows from that time on.`,
		Example: `  vecron audit export --since 2026-12-01T00:00:00Z > audit-2026-12.ndjson`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var from *time.Time
			if since != "" {
				t, err := time.Parse(time.RFC3339Nano, since)
				if err != nil {
					return usageError{errors.New("--since: must be an RFC 3339 time such as 2026-12-01T00:00:00Z")}
				}
				from = &t
			}
			return withAuditStore(cmd, &s, file, func(st *store.Store, _ *audit.Keys) error {
				w := bufio.NewWriter(cmd.OutOrStdout())
				enc := json.NewEncoder(w)
				if err := st.AuditChain(cmd.Context(), 0, from, func(r *audit.Record) error { return enc.Encode(r) }); err != nil {
					return err
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	cmd.Flags().StringVar(&since, "since", "", "export rows from this time on (RFC 3339)")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}

// auditListCommand lists audit rows through the API, as the signed-in user.
func auditListCommand(e env) *cobra.Command {
	var actor, action, objectKind, objectID, namespace, since, until string
	var limit int
	cmd := e.apiCommand("list", "List audit rows through the API, newest first", cobra.NoArgs, func(cmd *cobra.Command, c *client, _ []string) error {
		q := url.Values{}
		for k, v := range map[string]string{"actor": actor, "action": action, "object_kind": objectKind, "object_id": objectID,
			"namespace": namespace, "since": since, "until": until} {
			if v != "" {
				q.Set(k, v)
			}
		}
		q.Set("limit", fmt.Sprint(limit))
		var page struct {
			Items []audit.Record `json:"items"`
		}
		if err := c.getJSON(cmd.Context(), "/api/v1/audit", q, &page); err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		for _, r := range page.Items {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s %s\t%s\n", r.Seq, r.Time.Format(time.RFC3339), actorOf(r), r.Action, r.ObjectKind, r.ObjectID, r.Namespace)
		}
		return nil
	})
	cmd.Flags().StringVar(&actor, "actor", "", "only rows of this actor id")
	cmd.Flags().StringVar(&action, "action", "", "only rows of this action, e.g. job.delete")
	cmd.Flags().StringVar(&objectKind, "object-kind", "", "only rows about objects of this kind, e.g. job")
	cmd.Flags().StringVar(&objectID, "object-id", "", "only rows about this object")
	cmd.Flags().StringVar(&namespace, "namespace", "", "only rows of this namespace")
	cmd.Flags().StringVar(&since, "since", "", "only rows from this time on (RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "only rows before this time (RFC 3339)")
	cmd.Flags().IntVar(&limit, "limit", 50, "rows to show")
	return cmd
}

func actorOf(r audit.Record) string {
	if r.ActorName != "" {
		return r.ActorName
	}
	if r.ActorID != "" {
		return r.ActorID
	}
	return r.ActorKind + "@" + r.SourceIP
}
