package oidclogin_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth/oidclogin"
)

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"/", "/jobs", "/jobs?namespace=team-a&status=failed", "/jobs/01J0/executions#latest",
		"/a/b.c/d", "/.well", "/jobs?next=//evil.example", "/jobs?filter=a%2Fb",
	} {
		require.True(t, oidclogin.LocalPath(s), "%q is local", s)
	}
	for _, s := range []string{
		"", "jobs", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
		"https://evil.example", "http:evil.example", "javascript:alert(1)", "/\t/evil.example",
		"/\n/evil.example", "/\r\n/evil.example", "/ /evil.example", "/jobs\\..\\..", "/\x00",
		"/\x7f", "/jöbs", "/\u3000/evil.example", "/../evil.example", "/..//evil.example",
		"/%2e%2e//evil.example", "/jobs/./x", "/" + strings.Repeat("a", 1024),
		"/%2F%2Fevil.example", "/%5c/evil.example", "/a%", "/a%zz",
	} {
		require.False(t, oidclogin.LocalPath(s), "%q is refused", s)
	}
}

// FuzzLocalPath: whatever LocalPath accepts, resolved as a browser resolves a Location header
// against the site, stays on the site with a path that no later hop could take for a host.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/", "/jobs?x=1#y", "//evil", "/\\evil", "/%2e%2e//x", "https://e", "/\t/e", "/a/../b"} {
		f.Add(s)
	}
	base, err := url.Parse("https://vecron.example.com/dashboard/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !oidclogin.LocalPath(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", s, err)
		}
		if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("accepted %q, which names a scheme, host or user", s)
		}
		r := base.ResolveReference(u)
		if r.Scheme != base.Scheme || r.Host != base.Host {
			t.Fatalf("accepted %q, which resolves to %s", s, r)
		}
		if strings.HasPrefix(r.Path, "//") || strings.HasPrefix(r.EscapedPath(), "//") {
			t.Fatalf("accepted %q, whose path resolves to %q", s, r.Path)
		}
		if strings.ContainsAny(s, "\\\t\r\n ") {
			t.Fatalf("accepted %q, which holds a character browsers rewrite", s)
		}
	})
}
