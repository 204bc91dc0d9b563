package domain_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// The reason label's values are written once in code; the design note lists them for readers
// and dashboards, so the two must not drift.
func TestFailReasonsMatchTheObservabilityNote(t *testing.T) {
	t.Parallel()
	note, err := os.ReadFile("../../docs/observability.md")
	require.NoError(t, err)
	var row string
	for line := range strings.Lines(string(note)) {
		if strings.HasPrefix(line, "| `reason` (failed) |") {
			row = line
			break
		}
	}
	require.NotEmpty(t, row, "docs/observability.md has no row for the failed reason label")
	cells := strings.Split(row, "|")
	require.GreaterOrEqual(t, len(cells), 3)
	values, _, _ := strings.Cut(cells[2], " — ")
	var documented []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(values, -1) {
		documented = append(documented, m[1])
	}
	var inCode []string
	for _, r := range domain.FailReasons() {
		inCode = append(inCode, string(r))
	}
	assert.Equal(t, documented, inCode)
}
