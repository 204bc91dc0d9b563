package store_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
)

func TestWarnUnverifiedTLSNamesTheModeNeverThePassword(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t, "postgres CA")
	const pw = "pw-Postgres-5ecret"
	remote := "postgres://vecron:" + pw + "@db.example.internal:5432/vecron"
	tests := map[string]struct {
		url  string
		dev  bool
		want string // the sslmode named; "" for no warning
	}{
		"DefaultIsPrefer":         {url: remote, want: "sslmode=prefer"},
		"Disable":                 {url: remote + "?sslmode=disable", want: "sslmode=disable"},
		"Allow":                   {url: remote + "?sslmode=allow", want: "sslmode=allow"},
		"Require":                 {url: remote + "?sslmode=require", want: "sslmode=require"},
		"RequireWithRootCert":     {url: remote + "?sslmode=require&sslrootcert=" + ca.File},
		"VerifyCA":                {url: remote + "?sslmode=verify-ca&sslrootcert=" + ca.File},
		"VerifyFull":              {url: remote + "?sslmode=verify-full&sslrootcert=" + ca.File},
		"KeywordForm":             {url: "host=db.example.internal user=vecron password=" + pw + " sslmode=require", want: "sslmode=require"},
		"Loopback":                {url: "postgres://vecron:" + pw + "@127.0.0.1:5432/vecron?sslmode=disable"},
		"LoopbackV6":              {url: "postgres://vecron:" + pw + "@[::1]:5432/vecron?sslmode=disable"},
		"Localhost":               {url: "postgres://vecron:" + pw + "@localhost/vecron"},
		"UnixSocket":              {url: "host=/var/run/postgresql user=vecron password=" + pw},
		"VecronDev":               {url: remote, dev: true},
		"OneRemoteHostOfTwo":      {url: "postgres://vecron:" + pw + "@localhost:5432,db.example.internal:5433/vecron?sslmode=require", want: "hosts=db.example.internal"},
		"NotAURLIsLeftToOpen":     {url: "postgres://vecron:" + pw + "@db.example.internal:notaport/vecron"},
		"InvalidModeIsLeftToOpen": {url: remote + "?sslmode=sometimes"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logs testenv.LogBuffer
			store.Config{URL: tt.url, Development: tt.dev}.WarnUnverifiedTLS(slog.New(slog.NewTextHandler(&logs, nil)))
			out := logs.String()
			require.NotContains(t, out, pw)
			if tt.want == "" {
				require.Empty(t, out)
				return
			}
			require.Equal(t, 1, strings.Count(out, "\n"), out)
			require.Contains(t, out, "level=WARN")
			require.Contains(t, out, "database.url (sslmode)")
			require.Contains(t, out, tt.want)
		})
	}
}
