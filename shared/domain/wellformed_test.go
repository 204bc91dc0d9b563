package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

func FuzzWellFormedID(f *testing.F) {
	f.Add("gw-01HZX3:req.42_a")
	f.Add("a\nb")
	f.Add(strings.Repeat("k", 129))
	f.Fuzz(func(t *testing.T, id string) {
		if !domain.WellFormedID(id) {
			return
		}
		require.NotContains(t, id, "\n")
		require.NotContains(t, id, " ")
		require.NotContains(t, id, "/")
		require.LessOrEqual(t, len(id), 128)
		require.NotEmpty(t, id)
	})
}
