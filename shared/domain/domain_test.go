package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// TestListsHoldEveryConstant reads this package's source, so a status or trigger constant added
// without being added to its list fails here, and, through the list, the tables below.
func TestListsHoldEveryConstant(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typeName string
		listed   []string
	}{
		{"ExecutionStatus", strs(domain.Statuses())},
		{"Trigger", strs(domain.Triggers())},
	} {
		t.Run(c.typeName, func(t *testing.T) {
			t.Parallel()
			require.ElementsMatch(t, constantsOf(t, c.typeName), c.listed, "every %s constant, each once", c.typeName)
		})
	}
}

func TestEveryStatusIsClassifiedByTerminal(t *testing.T) {
	t.Parallel()
	// Whether an execution in the status is done: no attempt of it will run on its own.
	terminal := map[domain.ExecutionStatus]bool{
		domain.StatusQueued:       false, // waits for its first attempt, or its next after a failed one
		domain.StatusRunning:      false,
		domain.StatusSucceeded:    true,
		domain.StatusFailed:       true, // retries exhausted, or a failure no retry mends
		domain.StatusTimedOut:     true,
		domain.StatusSkipped:      true,
		domain.StatusDeadLettered: true, // a replay is a new execution, with its own key
		domain.StatusCancelled:    true,
	}
	for _, s := range domain.Statuses() {
		want, ok := terminal[s]
		require.True(t, ok, "status %q is not classified: add it to this table and to ExecutionStatus.Terminal", s)
		require.Equal(t, want, s.Terminal(), "%q.Terminal()", s)
	}
	require.Len(t, terminal, len(domain.Statuses()), "the table has a status domain.Statuses does not list")
	require.False(t, domain.ExecutionStatus("").Terminal(), "an unknown status is not terminal")
}

// keyForm is the shape of the idempotency keys of a trigger's executions (ARCHITECTURE §4).
type keyForm int

const (
	scheduledForm keyForm = iota + 1 // "<job id>:<scheduled unix ms>"
	triggerForm                      // "<job id>:<trigger>:<ULID or the source event id>"
)

func TestEveryTriggerHasAKeyForm(t *testing.T) {
	t.Parallel()
	forms := map[domain.Trigger]keyForm{
		domain.TriggerSchedule: scheduledForm,
		// A backfilled fire takes the key of its scheduled instant, so it never doubles a fire
		// that already ran.
		domain.TriggerBackfill: scheduledForm,
		domain.TriggerManual:   triggerForm,
		domain.TriggerWebhook:  triggerForm,
		domain.TriggerEvent:    triggerForm,
		domain.TriggerChain:    triggerForm,
		domain.TriggerRetry:    triggerForm,
		domain.TriggerReplay:   triggerForm,
	}

	const jobID = "0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"
	at := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	for _, tr := range domain.Triggers() {
		form, ok := forms[tr]
		require.True(t, ok, "trigger %q has no idempotency-key form: add it to this table (ARCHITECTURE §4)", tr)
		switch form {
		case scheduledForm:
			key := domain.Key(jobID, tr, at, "ignored")
			require.Equal(t, jobID+":"+strconv.FormatInt(at.UnixMilli(), 10), key, tr)
			require.Equal(t, domain.ScheduledKey(jobID, at), key, "%s: a backfill never doubles a fire that ran", tr)
			require.Equal(t, key, domain.Key(jobID, tr, at.In(time.FixedZone("ICT", 7*3600)), ""),
				"%s: the instant keys the fire, whatever zone it is read in", tr)
		case triggerForm:
			// The trigger is the key's middle part: a ':' in it would shift the parts, and the
			// tick's summary of a long misfire owns "<job id>:misfire:<ms>".
			require.NotEmpty(t, string(tr))
			require.NotContains(t, string(tr), ":", tr)
			require.NotEqual(t, "misfire", string(tr))
			const sourceID = "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66" // an event id may hold ':'
			key := domain.Key(jobID, tr, at, sourceID)
			require.Equal(t, []string{jobID, string(tr), sourceID}, strings.SplitN(key, ":", 3), tr)
			require.NotEqual(t, domain.MisfireRangeKey(jobID, at), key, tr)
			_, err := strconv.ParseInt(strings.SplitN(key, ":", 2)[1], 10, 64)
			require.Error(t, err, "%s: a key of this form never reads as a scheduled fire's", tr)
		}
	}
	require.Len(t, forms, len(domain.Triggers()), "the table has a trigger domain.Triggers does not list")
}

func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// constantsOf returns the values of the constants of type typeName declared in this package's
// source, written `Name T = "value"` or `Name = T("value")`.
func constantsOf(t *testing.T, typeName string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var values []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for _, v := range vs.Values {
					if id, ok := vs.Type.(*ast.Ident); ok && id.Name == typeName {
						values = append(values, stringLit(t, fset, v))
					} else if call, ok := v.(*ast.CallExpr); ok && len(call.Args) == 1 {
						if id, ok := call.Fun.(*ast.Ident); ok && id.Name == typeName {
							values = append(values, stringLit(t, fset, call.Args[0]))
						}
					}
				}
			}
		}
	}
	require.NotEmpty(t, values, "no %s constants found", typeName)
	return values
}

func stringLit(t *testing.T, fset *token.FileSet, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	require.True(t, ok && lit.Kind == token.STRING, "%s: not a string literal", fset.Position(e.Pos()))
	s, err := strconv.Unquote(lit.Value)
	require.NoError(t, err)
	return s
}

func TestMisfireRangeKeyNeverReadsAsAFire(t *testing.T) {
	t.Parallel()
	const jobID = "0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"
	at := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	key := domain.MisfireRangeKey(jobID, at)
	require.Equal(t, jobID+":misfire:"+strconv.FormatInt(at.UnixMilli(), 10), key)
	require.NotEqual(t, domain.ScheduledKey(jobID, at), key)
}
