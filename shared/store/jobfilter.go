package store

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/vecron/vecron/shared/domain"
)

// clause builds the WHERE clause of a listing from the filters actually given, one condition
// each. A condition left out is absent from the SQL, not hidden behind "$n is empty OR …": the
// planner then sees the one search it must plan for, and can use the index that fits it (a
// name search the trigram index, an id list the primary key) instead of a plan for any value.
type clause struct {
	conds []string
	args  []any
}

// add appends the condition format, whose %s (or %[1]s, to use it twice) is the parameter
// bound to arg.
func (w *clause) add(format string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, fmt.Sprintf(format, "$"+strconv.Itoa(len(w.args))))
}

// addIf is add when ok.
func (w *clause) addIf(ok bool, format string, arg any) {
	if ok {
		w.add(format, arg)
	}
}

// and appends a condition that takes no parameter.
func (w *clause) and(sql string) { w.conds = append(w.conds, sql) }

// param binds arg and returns its placeholder, for what follows the WHERE clause.
func (w *clause) param(arg any) string {
	w.args = append(w.args, arg)
	return "$" + strconv.Itoa(len(w.args))
}

// sql returns the clause, "WHERE …" or "" for no condition.
func (w *clause) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(w.conds, "\n\t\t\tAND ")
}

// queryArgs returns the arguments of a query built with w. The statement is described once and
// then planned with its values on every execution: a name search that matches one job in a
// million and one that matches most of them need different plans, and the generic plan that
// PostgreSQL may settle on for a prepared statement after five executions is right for one of
// them only.
func (w *clause) queryArgs() []any { return append([]any{pgx.QueryExecModeCacheDescribe}, w.args...) }

// jobFilter adds the conditions of p's filters to w, in the order of the fields of
// domain.ListJobsParams; the cursor and the limit are the caller's.
func jobFilter(w *clause, p domain.ListJobsParams) {
	w.addIf(p.Namespace != "", "namespace = %s", p.Namespace)
	w.addIf(p.Namespaces != nil, "namespace = ANY(%s)", nullSlice(p.Namespaces))
	w.addIf(len(p.IDs) > 0, "id = ANY(%s::uuid[])", p.IDs)
	// lower(name) = lower(…) adds nothing to name = …, but it is what the trigram index on
	// lower(name) answers; the unique index on (namespace, name) answers only within a
	// namespace, and without one the whole index would be read.
	w.addIf(p.Name != "", "lower(name) = lower(%[1]s) AND name = %[1]s", p.Name)
	if p.Search != "" {
		nameSearch(w, p.Search)
	}
	w.addIf(p.Kind != "", "kind = %s", string(p.Kind))
	if p.State != "" {
		w.and(stateCondition(p.State))
	}
	// tags <> '{}' repeats the predicate of the tags' index, so the planner may use it.
	w.addIf(len(p.Tags) > 0, "tags @> %s AND tags <> '{}'", p.Tags)
}

// nameSearch keeps the jobs whose name holds search, ignoring case; %, _ and \ in it are
// literal.
//
// The trigram index on lower(name) (migration 00021) answers a LIKE whose pattern has a run of
// three letters or digits: that is what pg_trgm makes trigrams of. A shorter search gives it no
// trigram, and the index would hand over every row for a recheck, slower than reading the jobs
// in id order until a page is full; so such a search is written so that the index cannot be
// used (strpos), which the planner then does.
func nameSearch(w *clause, search string) {
	if !hasTrigram(search) {
		w.add("strpos(lower(name), lower(%s)) > 0", search)
		return
	}
	w.add("lower(name) LIKE lower(%s)", "%"+escapeLike(search)+"%")
}

// hasTrigram reports whether s holds three letters or digits in a row.
func hasTrigram(s string) bool {
	run := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if run++; run == 3 {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

// escapeLike makes s match itself in a LIKE pattern (whose escape character is \).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// stateCondition keeps the jobs in state, one of the domain.State… states:
// domain.Job.DeriveState in SQL. Any other state keeps nothing.
func stateCondition(state string) string {
	switch state {
	case domain.StatePaused:
		return "NOT enabled"
	case domain.StateScheduled:
		return "enabled AND next_run_at IS NOT NULL"
	case domain.StateWaiting:
		return "enabled AND next_run_at IS NULL AND schedule->>'kind' = 'fixed_delay'"
	case domain.StateCompleted:
		return "enabled AND next_run_at IS NULL AND schedule->>'kind' = 'once'"
	case domain.StateOnEvent:
		return "enabled AND next_run_at IS NULL AND " + unscheduled
	case domain.StateEnded:
		return "enabled AND next_run_at IS NULL AND coalesce(schedule->>'kind', '') NOT IN ('fixed_delay', 'once') AND NOT " + unscheduled
	}
	return "false"
}

// unscheduled is domain.Job.HasSchedule false with triggers, in SQL: a job that runs only on
// events.
const unscheduled = `(triggers IS NOT NULL AND schedule->>'kind' IS NULL AND schedule->>'cron' IS NULL
		AND schedule->>'every' IS NULL AND schedule->>'anchor' IS NULL AND schedule->>'at' IS NULL)`
