package telemetry_test

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/telemetry"
)

func TestAttemptSpanIDIsTheDocumentedHash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  string
		n    int
	}{
		{"First", "job-1@2026-12-06T10:00:00Z", 1},
		{"Tenth", "job-1@2026-12-06T10:00:00Z", 10},
		{"LongerThanTheStackBuffer", strings.Repeat("k", 300), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sum := sha256.Sum256([]byte(tc.key + "\x00" + strconv.Itoa(tc.n)))
			sid := telemetry.AttemptSpanID(tc.key, tc.n)
			require.Equal(t, sum[:8], sid[:])
			require.NotEqual(t, sid, telemetry.AttemptSpanID(tc.key, tc.n+1))
		})
	}
}

func BenchmarkAttemptSpanID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		telemetry.AttemptSpanID("0193a4b2-7c1e-7000-8000-000000000001@2026-12-06T10:00:00Z", 3)
	}
}
