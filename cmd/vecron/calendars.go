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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// calendarsCommand is `vecron calendars`: the shared calendars of days jobs do not fire on.
func calendarsCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "calendars", Short: "List, read, create, edit and delete shared calendars of days jobs skip",
		Long: `A calendar names days on which the jobs that list it in schedule.calendars do not fire: dates
(YYYY-MM-DD), days of every year (MM-DD), and the business days of the week they may fire on. It
belongs to one namespace, whose jobs may name it, or to every namespace ("*"). An edit re-plans
the jobs that name it at once (docs/calendars-and-freezes.md).`}
	cmd.AddCommand(calendarsListCommand(e), calendarsGetCommand(e), calendarsCreateCommand(e), calendarsEditCommand(e),
		calendarsDeleteCommand(e), calendarsDateCommand(e, true), calendarsDateCommand(e, false))
	return cmd
}

func calendarPath(name string) string { return "/api/v1/calendars/" + url.PathEscape(name) }

// calendarAnswer is a calendar as the API answers it; after an edit, with how many jobs it
// re-planned.
type calendarAnswer struct {
	domain.Calendar
	ReplannedJobs *int `json:"replanned_jobs"`
}

// readOnlyCalendarField reports whether the API writes field of a calendar and never takes it:
// a calendar as `get -o yaml` shows it is a document to create or edit from.
func readOnlyCalendarField(field string) bool {
	switch field {
	case "version", "created_at", "updated_at", "created_by", "updated_by", "replanned_jobs":
		return true
	}
	return false
}

// namespaceLabel is a calendar's or a freeze's namespace for people.
func namespaceLabel(ns string) string {
	if ns == domain.AllNamespaces {
		return "every namespace"
	}
	return "namespace " + ns
}

// businessDays is a calendar's weekdays in a table cell.
func businessDays(days []string) string {
	if len(days) == 0 {
		return "every day"
	}
	return strings.Join(days, ",")
}

// splitDates parts a calendar's excluded days into dates and days of every year, each sorted.
func splitDates(list []domain.CalendarDate) (dates, yearly []domain.CalendarDate) {
	for _, d := range list {
		if len(d.Date) == len("01-02") {
			yearly = append(yearly, d)
		} else {
			dates = append(dates, d)
		}
	}
	byDate := func(a, b domain.CalendarDate) int { return strings.Compare(a.Date, b.Date) }
	slices.SortFunc(dates, byDate)
	slices.SortFunc(yearly, byDate)
	return dates, yearly
}

// nextExcluded is the first excluded day of c on or after today, with its label, or "-".
func nextExcluded(c domain.Calendar, today time.Time) string {
	y, m, d := today.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var (
		best  time.Time
		label string
	)
	consider := func(t time.Time, l string) {
		if !t.Before(from) && (best.IsZero() || t.Before(best)) {
			best, label = t, l
		}
	}
	for _, x := range c.ExcludedDates {
		if t, err := time.Parse(time.DateOnly, x.Date); err == nil {
			consider(t, x.Label)
			continue
		}
		// A day of every year: this year's, else the next year that has it (02-29).
		for yy := y; yy <= y+8; yy++ {
			t, err := time.Parse(time.DateOnly, strconv.Itoa(yy)+"-"+x.Date)
			if err == nil && !t.Before(from) {
				consider(t, x.Label)
				break
			}
		}
	}
	if best.IsZero() {
		return "-"
	}
	if label != "" {
		return best.Format(time.DateOnly) + " " + label
	}
	return best.Format(time.DateOnly)
}

func calendarsListCommand(e env) *cobra.Command {
	var namespace string
	var lf *listFlags
	cmd := e.apiCommand("list", "List calendars with their business days and next excluded day", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			return lf.showNamespaced(cmd, c, "/api/v1/calendars", nil, namespace, func(items []json.RawMessage) error {
				list, err := decodeItems[domain.Calendar](items)
				if err != nil {
					return err
				}
				today := e.now().In(e.local)
				rows := make([][]string, len(list))
				for i, cal := range list {
					dates, yearly := splitDates(cal.ExcludedDates)
					rows[i] = []string{cal.Name, cal.Namespace, businessDays(cal.Weekdays), strconv.Itoa(len(dates)),
						strconv.Itoa(len(yearly)), clip(nextExcluded(cal, today), 40), strconv.FormatInt(cal.Version, 10)}
				}
				table(cmd.OutOrStdout(), "NAME\tNAMESPACE\tBUSINESS DAYS\tDATES\tYEARLY\tNEXT EXCLUDED\tVERSION", rows)
				return nil
			})
		})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only the calendars jobs of this namespace may name: its own and those of every namespace (* for those alone)")
	lf = addListFlags(cmd)
	return cmd
}

// showNamespaced is show for a list the API does not filter by namespace: with namespace set,
// it reads every page and keeps the items of that namespace and of every namespace ("*"; with
// namespace "*", those alone), then shows at most --limit of them.
func (f *listFlags) showNamespaced(cmd *cobra.Command, c *client, path string, q url.Values, namespace string, rows func(items []json.RawMessage) error) error {
	if namespace == "" {
		return f.show(cmd, c, path, q, rows)
	}
	if err := checkFormat(*f.format); err != nil {
		return err
	}
	if !f.all && f.limit < 1 {
		return usageError{fmt.Errorf("--limit must be at least 1, got %d", f.limit)}
	}
	p, err := c.list(cmd.Context(), path, q, 0, true)
	if err != nil {
		return err
	}
	kept := []json.RawMessage{}
	for _, it := range p.Items {
		var v struct {
			Namespace string `json:"namespace"`
		}
		if err := json.Unmarshal(it, &v); err != nil {
			return fmt.Errorf("the API answered with something unexpected: %w", err)
		}
		if v.Namespace == namespace || v.Namespace == domain.AllNamespaces {
			kept = append(kept, it)
		}
	}
	cut := !f.all && len(kept) > f.limit
	if cut {
		kept = kept[:f.limit]
	}
	if *f.format != formatTable {
		raw, err := json.Marshal(rawPage{Items: kept})
		if err != nil {
			return err
		}
		_, err = printRaw(cmd.OutOrStdout(), *f.format, raw)
		return err
	}
	if err := rows(kept); err != nil {
		return err
	}
	if cut {
		fmt.Fprintf(cmd.ErrOrStderr(), "showing the first %d; --limit shows more, --all every one\n", len(kept))
	}
	return nil
}

// calendarFields writes one calendar for people: its fields, then its excluded days.
func calendarFields(w io.Writer, c domain.Calendar, local *time.Location) {
	ns := c.Namespace
	if ns == domain.AllNamespaces {
		ns = "* (every namespace)"
	}
	by := func(t time.Time, who string) string {
		s := clock(&t, local, "")
		if who != "" {
			s += " by " + who
		}
		return s
	}
	fields(w, [][2]string{
		{"Name", c.Name},
		{"Namespace", ns},
		{"Description", c.Description},
		{"Business days", businessDays(c.Weekdays)},
		{"Version", strconv.FormatInt(c.Version, 10)},
		{"Created", by(c.CreatedAt, c.CreatedBy)},
		{"Updated", by(c.UpdatedAt, c.UpdatedBy)},
	})
	dates, yearly := splitDates(c.ExcludedDates)
	for _, part := range []struct {
		header string
		list   []domain.CalendarDate
	}{{"EXCLUDED DATE\tLABEL", dates}, {"EVERY YEAR\tLABEL", yearly}} {
		if len(part.list) == 0 {
			continue
		}
		rows := make([][]string, len(part.list))
		for i, d := range part.list {
			rows[i] = []string{d.Date, cmpOr(d.Label, "-")}
		}
		fmt.Fprintln(w)
		table(w, part.header, rows)
	}
}

func calendarsGetCommand(e env) *cobra.Command {
	var format *string
	cmd := e.apiCommand("get NAME", "Show a calendar with its excluded days", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: calendarPath(args[0])})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(cal domain.Calendar) { calendarFields(cmd.OutOrStdout(), cal, e.local) })
		})
	format = outputFlag(cmd)
	return cmd
}

func calendarsCreateCommand(e env) *cobra.Command {
	var file string
	var format *string
	cmd := e.apiCommand("create -f FILE", "Create a calendar from a JSON or YAML file (- for standard input)", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			if file == "" {
				return usageError{errors.New("-f: name the file of the calendar (- for standard input)")}
			}
			b, err := readDocument(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			doc, err := parseCalendarDocument(b)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/calendars", body: doc.body})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(cal domain.Calendar) {
				fmt.Fprintf(cmd.OutOrStdout(), "created calendar %s for %s: %d excluded days, business days %s\n", cal.Name,
					namespaceLabel(cal.Namespace), len(cal.ExcludedDates), businessDays(cal.Weekdays))
			})
		})
	cmd.Example = `  vecron calendars create -f - <<'YAML'
  name: vn-holidays
  namespace: "*"
  excluded_dates:
    - {date: 2026-02-17, label: Tết}
    - {date: 09-02, label: Quốc khánh}
  weekdays: [mon, tue, wed, thu, fri]
  YAML`
	cmd.Flags().StringVarP(&file, "filename", "f", "", "file of the calendar, JSON or YAML; - reads standard input")
	format = outputFlag(cmd)
	return cmd
}

// printEdited writes what a calendar edit did: its new version and the jobs it re-planned.
func printEdited(w io.Writer, what string, cal calendarAnswer) {
	replanned := ""
	if cal.ReplannedJobs != nil {
		replanned = fmt.Sprintf(", %d jobs re-planned", *cal.ReplannedJobs)
		if *cal.ReplannedJobs == 1 {
			replanned = ", 1 job re-planned"
		}
	}
	fmt.Fprintf(w, "%s calendar %s: version %d%s\n", what, cal.Name, cal.Version, replanned)
}

// putCalendar replaces the calendar name with body, guarded by the version it was read at (0:
// whatever is current), and writes the answer as -o asks, the table saying what.
func putCalendar(cmd *cobra.Command, c *client, format, name string, body json.RawMessage, version int64, what string) error {
	match := "*"
	if version > 0 {
		match = `"` + strconv.FormatInt(version, 10) + `"`
	}
	resp, err := c.do(cmd.Context(), request{method: http.MethodPut, path: calendarPath(name), body: body,
		header: http.Header{"If-Match": {match}}})
	if err != nil {
		return err
	}
	return showOne(cmd.OutOrStdout(), format, resp.body, func(cal calendarAnswer) { printEdited(cmd.OutOrStdout(), what, cal) })
}

func calendarsEditCommand(e env) *cobra.Command {
	var file string
	var format *string
	cmd := e.apiCommand("edit NAME", "Edit a calendar in $EDITOR as YAML, or replace it from a file with -f", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			var doc jobDocument
			kept := ""
			if file != "" {
				b, err := readDocument(file, cmd.InOrStdin())
				if err != nil {
					return err
				}
				if doc, err = parseCalendarDocument(b); err != nil {
					return err
				}
			} else {
				resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: calendarPath(args[0])})
				if err != nil {
					return err
				}
				y, err := editableDocument(resp.body, readOnlyCalendarField)
				if err != nil {
					return err
				}
				header := fmt.Sprintf("# Calendar %s. Save and quit to replace it, and re-plan the jobs that name it; quit\n"+
					"# without a change to leave it as it is. version is the one this edit is made on: a change\n"+
					"# made since is refused. name and namespace cannot be changed.\n", args[0])
				after, name, changed, err := e.editText(cmd, append([]byte(header), y...), "vecron-calendar-*.yaml")
				if err != nil || !changed {
					return err
				}
				if doc, err = parseCalendarDocument(after); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "the edit is kept in %s\n", name)
					return err
				}
				kept = name
			}
			err := putCalendar(cmd, c, *format, args[0], doc.body, doc.version, "edited")
			if err != nil && kept != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "the edit is kept in %s: fix it and run vecron calendars edit %s -f %s\n", kept, args[0], kept)
			}
			if err == nil && kept != "" {
				_ = os.Remove(kept)
			}
			return err
		})
	cmd.Long = `Opens the calendar as YAML in $VISUAL or $EDITOR (vi when neither is set); when the editor
exits with the file changed, the calendar is replaced by it (PUT), and the jobs that name it are
re-planned in the same transaction. The edit names the version it was made on (If-Match), so a
change someone made in the meantime is refused (exit status 4) instead of overwritten; the edit
is then kept in a file to retry from.

With -f the calendar is replaced from a JSON or YAML file instead, such as one written by
'vecron calendars get NAME -o yaml': its version guards the edit the same way; a file without a
version replaces whatever version is current.`
	cmd.Flags().StringVarP(&file, "filename", "f", "", "replace the calendar from this file, JSON or YAML; - reads standard input")
	format = outputFlag(cmd)
	return cmd
}

// editText opens before in the user's editor, in a 0600 file named after pattern, and
// returns what they saved, the file it is kept in, and whether they changed anything. The file
// is removed unless the caller is given it (changed).
func (e env) editText(cmd *cobra.Command, before []byte, pattern string) ([]byte, string, bool, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return nil, "", false, err
	}
	name := f.Name()
	_, err = f.Write(before)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, "", false, err
	}
	editor := cmpOr(e.getenv("VISUAL"), e.getenv("EDITOR"), "vi")
	// Through the shell, as git and kubectl do, so that EDITOR="code --wait" works.
	ed := exec.CommandContext(cmd.Context(), "sh", "-c", editor+` "$1"`, "vecron-edit", name)
	ed.Stdin, ed.Stdout, ed.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := ed.Run(); err != nil {
		os.Remove(name)
		return nil, "", false, fmt.Errorf("the editor (%s) failed: %w", filepath.Base(strings.Fields(editor)[0]), err)
	}
	after, err := os.ReadFile(name)
	if err != nil {
		os.Remove(name)
		return nil, "", false, err
	}
	if bytes.Equal(bytes.TrimSpace(after), bytes.TrimSpace(before)) {
		os.Remove(name)
		fmt.Fprintln(cmd.ErrOrStderr(), "no change: it is left as it is")
		return nil, "", false, nil
	}
	return after, name, true, nil
}

func calendarsDeleteCommand(e env) *cobra.Command {
	return e.apiCommand("delete NAME", "Delete a calendar no job names", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if _, err := c.do(cmd.Context(), request{method: http.MethodDelete, path: calendarPath(args[0])}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted calendar %s\n", args[0])
			return nil
		})
}

// calendarsDateCommand is `vecron calendars exclude` (add a day), or `include` (remove one): the
// calendar is read, changed by that one day, and written back on the version read.
func calendarsDateCommand(e env, exclude bool) *cobra.Command {
	use, short := "exclude NAME DATE", "Add an excluded day to a calendar (YYYY-MM-DD, or MM-DD for every year)"
	if !exclude {
		use, short = "include NAME DATE", "Remove an excluded day from a calendar, so jobs fire on it again"
	}
	var label string
	var format *string
	cmd := e.apiCommand(use, short, cobra.ExactArgs(2), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		name, day := args[0], strings.TrimSpace(args[1])
		resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: calendarPath(name)})
		if err != nil {
			return err
		}
		var cal domain.Calendar
		if err := json.Unmarshal(resp.body, &cal); err != nil {
			return fmt.Errorf("the API answered with something unexpected: %w", err)
		}
		dates, what, changed := cal.ExcludedDates, "", false
		i := slices.IndexFunc(dates, func(d domain.CalendarDate) bool { return d.Date == day })
		switch {
		case exclude && i < 0:
			dates, what, changed = append(dates, domain.CalendarDate{Date: day, Label: label}), "excluded "+day+" from", true
		case exclude && label != "" && dates[i].Label != label:
			dates[i].Label, what, changed = label, "relabelled "+day+" of", true
		case !exclude && i >= 0:
			dates, what, changed = slices.Delete(dates, i, i+1), "included "+day+" in", true
		case !exclude && len(day) == len(time.DateOnly):
			// A date a day of every year excludes stays excluded: say which, rather than do nothing.
			if j := slices.IndexFunc(dates, func(d domain.CalendarDate) bool { return d.Date == day[5:] }); j >= 0 {
				return usageError{fmt.Errorf("%s is excluded every year as %s%s: include %s to remove the yearly day", day, day[5:],
					labelled(dates[j].Label), day[5:])}
			}
		}
		if !changed {
			state := "already excluded from"
			if !exclude {
				state = "not an excluded day of"
			}
			if done, err := printRaw(cmd.OutOrStdout(), *format, resp.body); done {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s calendar %s: nothing to change\n", day, state, name)
			return nil
		}
		body := map[string]any{"name": cal.Name, "namespace": cal.Namespace, "description": cal.Description,
			"excluded_dates": dates, "weekdays": cal.Weekdays}
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		return putCalendar(cmd, c, *format, name, raw, cal.Version, what)
	})
	if exclude {
		cmd.Flags().StringVar(&label, "label", "", "why the day is excluded, such as a holiday's name (replaces the label of a day already excluded)")
		cmd.Example = `  vecron calendars exclude vn-holidays 2026-04-30 --label "Ngày Giải phóng"
  vecron calendars exclude vn-holidays 09-02 --label "Quốc khánh"    # every year`
	}
	cmd.Long = short + `.

The calendar is read and written back with that one day added or removed, on the version read
(If-Match): an edit someone made in between is refused (exit status 4), never overwritten. The
jobs that name the calendar are re-planned at once; the answer says how many.`
	format = outputFlag(cmd)
	return cmd
}

func labelled(label string) string {
	if label == "" {
		return ""
	}
	return " (" + label + ")"
}

// parseCalendarDocument reads a calendar written in JSON or YAML into the JSON object the API
// takes, without the fields the API does not take. Its errors name the line.
func parseCalendarDocument(b []byte) (jobDocument, error) {
	return parseObjectDocument(b, readOnlyCalendarField, "a calendar is an object of fields such as name and excluded_dates")
}
