// Package sqlresult reads what a sql job's execution keeps of its statements: the JSON list of
// Statement in its response excerpt. It is apart from sqljob, which runs them, so that code
// that only reads a result (the http executor's chains, the dashboard) links no database driver.
package sqlresult

import (
	"encoding/json"
	"io"
	"strings"
)

// Statement is what one statement did.
type Statement struct {
	Statement    int      `json:"statement"`
	RowsAffected *int64   `json:"rows_affected,omitempty"`
	Columns      []string `json:"columns,omitempty"`
	Rows         [][]any  `json:"rows,omitempty"`
	Truncated    bool     `json:"truncated,omitempty"`
	DurationMS   float64  `json:"duration_ms"`
}

// Read reads the excerpt of a sql execution. The excerpt is cut at a byte limit and has
// secrets masked, so it may well not be JSON: the results that are whole before the cut are
// returned, and complete says whether the list was read to its end. A text that does not start
// as such a list gives none.
func Read(excerpt string) (list []Statement, complete bool) {
	dec := json.NewDecoder(strings.NewReader(excerpt))
	dec.UseNumber() // values of a row as the database sent them, not through a float
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, false
	}
	for dec.More() {
		var sr Statement
		if err := dec.Decode(&sr); err != nil {
			return list, false
		}
		// The executor numbers the statements from 1, in order: anything else is not its list.
		if sr.Statement != len(list)+1 {
			return list, false
		}
		list = append(list, sr)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return list, false
	}
	_, err := dec.Token()
	return list, err == io.EOF
}

// Rows returns the rows the last statement of excerpt affected, or, for a query, the rows it
// returned (as many as were kept, unless it was cut short of them); nil when the excerpt holds
// no whole statement or was cut before its last one.
func Rows(excerpt string) *int64 {
	list, complete := Read(excerpt)
	if len(list) == 0 || !complete {
		return nil
	}
	last := list[len(list)-1]
	if last.RowsAffected != nil {
		n := *last.RowsAffected
		return &n
	}
	n := int64(len(last.Rows))
	return &n
}
