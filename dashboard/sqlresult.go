package dashboard

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/sqlresult"
)

// sqlResultView is what the statements of a sql execution did, read from its excerpt.
type sqlResultView struct {
	Statements []statementView
	// Summary sums them up in a line, for the attempt the excerpt belongs to.
	Summary string
	// Cut: the excerpt ends before its last statement's result does (it is kept to a size
	// limit), so the statements after those shown are not known. Unreadable: no statement's
	// result could be read at all; the excerpt is shown as kept.
	Cut, Unreadable bool
}

// statementView is one statement's result.
type statementView struct {
	N int
	// Affected is the rows a statement changed, Returned those a query answered ("" for
	// neither); More marks a query that had more rows than were kept.
	Affected, Returned string
	More               bool
	Duration           string
	Columns            []string
	Rows               [][]string
}

// readStatements reads the excerpt of a sql execution (see sqlresult.Read).
func readStatements(excerpt string) ([]sqljob.StatementResult, bool) { return sqlresult.Read(excerpt) }

// sqlResult makes the view of a sql execution's excerpt in lang; nil for an empty excerpt.
func (ui *UI) sqlResult(lang, excerpt string) *sqlResultView {
	if strings.TrimSpace(excerpt) == "" {
		return nil
	}
	// An attempt that failed before its first statement keeps the empty list, as "null".
	list, complete := readStatements(excerpt)
	if strings.TrimSpace(excerpt) == "null" {
		complete = true
	}
	v := &sqlResultView{Cut: !complete && len(list) > 0, Unreadable: len(list) == 0 && !complete}
	var parts []string
	for _, sr := range list {
		sv := statementView{N: sr.Statement, More: sr.Truncated, Columns: sr.Columns,
			Duration: humanize.Duration(time.Duration(sr.DurationMS*float64(time.Millisecond)), lang)}
		var part string
		switch {
		case sr.RowsAffected != nil:
			sv.Affected = humanize.Int(*sr.RowsAffected, lang)
			part = ui.cat.tr(lang, "execution.sql.affected_n", sv.Affected)
		case sr.Columns != nil:
			sv.Returned = humanize.Int(int64(len(sr.Rows)), lang)
			part = ui.cat.tr(lang, "execution.sql.returned_n", sv.Returned)
			if sr.Truncated {
				part = ui.cat.tr(lang, "execution.sql.returned_more_n", sv.Returned)
			}
		default:
			part = ui.cat.tr(lang, "execution.sql.no_count")
		}
		parts = append(parts, ui.cat.tr(lang, "execution.sql.statement_n", sr.Statement)+": "+part)
		for _, row := range sr.Rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = cellText(c)
			}
			sv.Rows = append(sv.Rows, cells)
		}
		v.Statements = append(v.Statements, sv)
	}
	v.Summary = strings.Join(parts, " · ")
	return v
}

// sqlOf fills in what the statements of execution e of job j (nil when gone) did. A job that
// is gone is taken for a sql job when it got no HTTP status and its excerpt reads as the sql
// executor's list of results.
func (ui *UI) sqlOf(lang string, e *domain.Execution, j *domain.Job, ev *executionView) {
	switch {
	case j != nil && j.Kind == domain.KindSQL:
		ev.IsSQL, ev.SQL = true, ui.sqlResult(lang, e.ResponseExcerpt)
	case j == nil && e.HTTPStatus == 0:
		if v := ui.sqlResult(lang, e.ResponseExcerpt); v != nil && len(v.Statements) > 0 {
			ev.IsSQL, ev.SQL = true, v
		}
	}
}

// cellText writes a value of a returned row: text as it is, NULL as NULL, anything else as
// its JSON.
func cellText(v any) string {
	switch c := v.(type) {
	case nil:
		return "NULL"
	case string:
		return c
	case json.Number:
		return c.String()
	case bool:
		return strconv.FormatBool(c)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the template escapes for the page
	if enc.Encode(v) != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}
