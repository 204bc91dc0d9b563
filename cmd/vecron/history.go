package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
)

// historySettings configure the history commands.
type historySettings struct {
	Database store.Config `koanf:"database"`
}

func historyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "history", Short: "List and archive the days of execution history"}
	cmd.AddCommand(historyListCommand(), historyExportCommand())
	return cmd
}

// withHistoryStore loads the settings of cmd and calls fn with the store.
func withHistoryStore(cmd *cobra.Command, s *historySettings, file string, fn func(st *store.Store) error) error {
	if err := loadDatabaseSettings(cmd, s, file); err != nil {
		return err
	}
	return withMigratedStore(cmd, s.Database, fn)
}

func historyListCommand() *cobra.Command {
	s := historySettings{Database: store.Config{MaxConns: 2}}
	var file string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the days of execution history the database holds, oldest first",
		Long: `Each day of execution history (UTC, by the fires' scheduled instants) is kept in its own
partition until it passes history.retention. list prints each day with the number of executions
the database estimates it holds ("not counted yet" until PostgreSQL first analyzes the day).`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return withHistoryStore(cmd, &s, file, func(st *store.Store) error {
			days, err := st.HistoryDays(cmd.Context())
			if err != nil {
				return err
			}
			for _, d := range days {
				count := fmt.Sprintf("~%d executions", d.Executions)
				if d.Executions < 0 {
					count = "not counted yet"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", d.Day.Format(time.DateOnly), count)
			}
			return nil
		})
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}

func historyExportCommand() *cobra.Command {
	s := historySettings{Database: store.Config{MaxConns: 2}}
	var file, day, before, output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write days of execution history as NDJSON, to archive them before retention drops them",
		Long: `Writes the executions of one day (--partition) or of every day before a date (--before), each
with its attempts, one JSON object per line, in the order they were scheduled. Days are UTC days of
the fires' scheduled instants, the days retention drops whole once they are older than
history.retention: export a day before that to keep it.

With --output the file appears complete or not at all (it is written beside and renamed); without
it the lines go to standard output.`,
		Example: `  vecron history export --partition 2026-01-15 --output 2026-01-15.ndjson
  vecron history export --before 2026-02-01 | gzip > january.ndjson.gz`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if (day == "") == (before == "") {
			return usageError{errors.New("give one of --partition (a day, such as 2026-01-15) or --before (a date: every day before it)")}
		}
		var (
			first time.Time
			err   error
		)
		if day != "" {
			if first, err = time.Parse(time.DateOnly, day); err != nil {
				return usageError{errors.New("--partition: must be a date such as 2026-01-15")}
			}
		} else if first, err = time.Parse(time.DateOnly, before); err != nil {
			return usageError{errors.New("--before: must be a date such as 2026-01-15")}
		}
		return withHistoryStore(cmd, &s, file, func(st *store.Store) error {
			days := []time.Time{first}
			if before != "" {
				all, err := st.HistoryDays(cmd.Context())
				if err != nil {
					return err
				}
				days = days[:0]
				for _, d := range all {
					if d.Day.Before(first) {
						days = append(days, d.Day)
					}
				}
			}
			return writeAtomically(output, cmd.OutOrStdout(), func(w io.Writer) error {
				enc := json.NewEncoder(w)
				total := 0
				for _, d := range days {
					n, err := st.ExportHistoryDay(cmd.Context(), d, func(e *domain.Execution) error { return enc.Encode(e) })
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d executions\n", d.Format(time.DateOnly), n)
					total += n
				}
				if len(days) > 1 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d days, %d executions\n", len(days), total)
				}
				return nil
			})
		})
	}
	cmd.Flags().StringVar(&file, "config", "", "settings file (YAML or JSON)")
	cmd.Flags().StringVar(&day, "partition", "", "the day to export (UTC), such as 2026-01-15")
	cmd.Flags().StringVar(&before, "before", "", "export every day before this date (UTC)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write; standard output when not given")
	config.BindFlags(cmd.Flags(), &s)
	return cmd
}

// writeAtomically calls write with a buffered writer to path, which appears only once write
// succeeded and the data is on disk, or to stdout when path is "".
func writeAtomically(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" {
		w := bufio.NewWriter(stdout)
		if err := write(w); err != nil {
			return err
		}
		return w.Flush()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) //nolint:errcheck // gone after the rename
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
