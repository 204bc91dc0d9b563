package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// An executor process is handed its settings on stdin: dev's environment, which holds the
// database URL and the admin password, must not reach it, where /proc/<pid>/environ shows it.
func TestExecutorProcessGetsAMinimalEnvironment(t *testing.T) {
	t.Parallel()
	environ := []string{
		"PATH=/usr/bin:/bin", "HOME=/home/dev", "TZ=Europe/Paris", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"GOGC=200", "GOMEMLIMIT=1GiB", "TMPDIR=/var/tmp",
		"DATABASE_URL=postgres://vecron:s3cret@db/vecron", "REDIS_URL=redis://:s3cret@redis",
		"NATS_URL=nats://u:s3cret@nats", "VECRON_ADMIN_PASSWORD=s3cret", "VECRON_DATABASE_URL=postgres://x",
		"AWS_SECRET_ACCESS_KEY=s3cret", "OTEL_EXPORTER_OTLP_HEADERS=authorization=s3cret",
	}
	cmd := executorProcess("/bin/vecron", domain.KindHTTP, 2, []byte("{}"), environ)
	require.NotNil(t, cmd.Env, "a nil Env inherits the whole environment")
	for _, kv := range cmd.Env {
		require.NotContains(t, kv, "s3cret")
		name, _, _ := strings.Cut(kv, "=")
		require.False(t, strings.HasPrefix(name, "VECRON_"), "%s reaches the executor", name)
		require.NotEqual(t, "DATABASE_URL", name)
	}
	require.ElementsMatch(t, []string{
		"PATH=/usr/bin:/bin", "HOME=/home/dev", "TZ=Europe/Paris", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
		"GOGC=200", "GOMEMLIMIT=1GiB", "TMPDIR=/var/tmp",
	}, cmd.Env)
	require.Equal(t, []string{"/bin/vecron", executorCommandName, "http", "--replica", "2"}, cmd.Args)
}
