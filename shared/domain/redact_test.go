package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

func TestRedactedHidesCredentialsTypedIn(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]string{
		"postgres://app:Hunter2@db:5432/x?sslmode=disable": "postgres://app:%2A%2A%2A%2A%2A%2A@db:5432/x?sslmode=disable",
		"host=db user=app password=Hunter2 dbname=x":       "host=db user=app password=****** dbname=x",
		"host=db password='Hun ter2' dbname=x":             "host=db password=****** dbname=x",
		"app:Hunter2@tcp(db:3306)/x":                       "app:******@tcp(db:3306)/x",
		"oracle://app:Hunter2@db:1521/svc":                 "oracle://app:%2A%2A%2A%2A%2A%2A@db:1521/svc",
		"{{ var.REPORTS_DSN }}":                            "{{ var.REPORTS_DSN }}",
		"host=db password={{ var.PW }}":                    "host=db password={{ var.PW }}",
	} {
		j := &domain.Job{SQL: &domain.SQLSpec{DSN: dsn, Password: "Hunter2"}}
		r := j.Redacted()
		require.Equal(t, want, r.SQL.DSN, dsn)
		require.NotContains(t, r.SQL.DSN, "Hunter2")
		require.Equal(t, domain.Redacted, r.SQL.Password)
		require.Equal(t, dsn, j.SQL.DSN, "the job itself is untouched")
	}

	j := &domain.Job{HTTP: &domain.HTTPSpec{URL: "https://u:pw123456@api.example/x?api_key=k-123&page=2",
		Headers: map[string]string{"Authorization": "Bearer sk_live_SECRET", "X-Api-Key": "abc", "X-Team": "finance",
			"X-Auth-Token": "Bearer {{ var.TOKEN }}"}}}
	r := j.Redacted()
	for _, secret := range []string{"sk_live_SECRET", "pw123456", "k-123", `"abc"`} {
		require.NotContains(t, r.HTTP.URL+strings.Join(values(r.HTTP.Headers), `"`)+`"`, secret)
	}
	require.Equal(t, "finance", r.HTTP.Headers["X-Team"])
	require.Equal(t, "Bearer {{ var.TOKEN }}", r.HTTP.Headers["X-Auth-Token"], "a reference shows no secret")
	require.Contains(t, r.HTTP.URL, "page=2")
	require.Equal(t, "Bearer sk_live_SECRET", j.HTTP.Headers["Authorization"], "the job itself is untouched")
	require.Nil(t, (*domain.Job)(nil).Redacted())
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, `"`+v)
	}
	return out
}

func FuzzRedactedDSN(f *testing.F) {
	for _, s := range []string{"postgres://a:b@c/d", "password=x", "a:b@tcp(c)/d", "%zz://a:b@", "{{ var.X }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		r := (&domain.Job{SQL: &domain.SQLSpec{DSN: dsn}}).Redacted()
		if strings.Contains(dsn, "password=Secret1 ") && strings.Contains(r.SQL.DSN, "Secret1") {
			t.Fatalf("password left in %q", r.SQL.DSN)
		}
	})
}
