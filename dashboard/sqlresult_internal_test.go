package dashboard

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/sqljob"
)

func TestReadStatements(t *testing.T) {
	t.Parallel()
	three := int64(3)
	whole, err := json.Marshal([]sqljob.StatementResult{{Statement: 1, RowsAffected: &three, DurationMS: 1.5},
		{Statement: 2, Columns: []string{"id", "note"}, Rows: [][]any{{12345678901234567, nil}, {1, "<b>"}}, Truncated: true}})
	require.NoError(t, err)
	for _, tc := range []struct {
		name     string
		excerpt  string
		n        int
		complete bool
	}{
		{"Whole", string(whole), 2, true},
		{"WithSpaceAround", " \n" + string(whole) + "\n", 2, true},
		{"CutInSecond", string(whole[:len(whole)-20]), 1, false},
		{"CutAfterFirst", string(whole[:len(`[{"statement":1,"rows_affected":3,"duration_ms":1.5}`)]), 1, false},
		{"CutInFirst", string(whole[:10]), 0, false},
		{"MaskedTail", string(whole[:len(whole)-8]) + "******", 1, false},
		{"Empty", "[]", 0, true},
		{"TextAfter", string(whole) + " and more", 2, false},
		{"NotAList", `{"statement":1}`, 0, false},
		{"NotJSON", "<html>502 Bad Gateway</html>", 0, false},
		{"OutOfOrder", `[{"statement":2}]`, 0, false},
		{"WrongType", `[{"statement":"1"}]`, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			list, complete := readStatements(tc.excerpt)
			require.Len(t, list, tc.n)
			require.Equal(t, tc.complete, complete)
		})
	}
	// A big number of a row stays as the database wrote it.
	list, _ := readStatements(string(whole))
	require.Equal(t, "12345678901234567", cellText(list[1].Rows[0][0]))
	require.Equal(t, "NULL", cellText(list[1].Rows[0][1]))
	require.Equal(t, "<b>", cellText(list[1].Rows[1][1]), "text as it is: the template escapes it")
	require.Equal(t, `{"a":[1,"<"]}`, cellText(map[string]any{"a": []any{json.Number("1"), "<"}}))
}

// FuzzReadStatements: whatever an excerpt holds, reading it ends, and what it returns is the
// executor's numbering of statements.
func FuzzReadStatements(f *testing.F) {
	f.Add(`[{"statement":1,"rows_affected":3,"duration_ms":1.5},{"statement":2,"columns":["v"],"rows":[[null],["x"]],"truncated":true}]`)
	f.Add(`[{"statement":1,"columns":["v"],"rows":[[{"a":[1,2]}]]}`)
	f.Add(`null`)
	f.Add(`******`)
	f.Fuzz(func(t *testing.T, excerpt string) {
		list, _ := readStatements(excerpt)
		for i, sr := range list {
			if sr.Statement != i+1 {
				t.Fatalf("statement %d numbered %d", i+1, sr.Statement)
			}
			for _, row := range sr.Rows {
				for _, c := range row {
					_ = cellText(c)
				}
			}
		}
	})
}
