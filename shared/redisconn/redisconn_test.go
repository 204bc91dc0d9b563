package redisconn

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpenHidesTheURLInErrors(t *testing.T) {
	t.Parallel()
	_, err := Open(Config{URL: "http://user:s3cret@host"}, "lease", nil, nil)
	require.EqualError(t, err, "redis.url: not a redis:// or rediss:// URL")
	require.NotContains(t, err.Error(), "s3cret")
}

func TestOpenHonoursContextDeadlines(t *testing.T) {
	t.Parallel()
	rdb, err := Open(Config{URL: "redis://127.0.0.1:6379/0"}, "lease", nil, nil)
	require.NoError(t, err)
	defer rdb.Close()
	require.True(t, rdb.Options().ContextTimeoutEnabled)
	require.Equal(t, KeyPrefixDefault, Config{}.Prefix())
}
