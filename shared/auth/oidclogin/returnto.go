package oidclogin

import (
	"net/url"
	"strings"
)

// returnToMax bounds a return path; it rides in the state cookie, which browsers cap at 4 KB.
const returnToMax = 1024

// LocalPath reports whether s is safe to redirect to after signing in: a path on this site
// that every browser resolves to this site, and nothing else. It must start with one "/", and
// holds only printable ASCII without backslashes, so that "//evil.example", "/\evil.example",
// "https://evil.example", "/\t/evil.example" (browsers drop tabs and newlines) and
// "javascript:…" are all refused. So are the paths that are one decoding or one resolution
// away from "//host": an encoded slash or backslash in the path ("/%2F%2Fevil"), a dot
// segment ("/..//evil" resolves to the path "//evil"), a malformed escape. The query may hold
// anything encoded.
func LocalPath(s string) bool {
	if len(s) == 0 || len(s) > returnToMax || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for i := range len(s) {
		// Space, controls, DEL and anything not ASCII are refused: browsers strip some of them
		// and map others, and a path that needs them arrives percent-encoded anyway.
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	// A malformed escape ("/a%") means something else to each parser that meets it.
	if u, err := url.Parse(s); err != nil || u.Scheme != "" || u.Host != "" {
		return false
	}
	path, _, _ := strings.Cut(s, "?")
	path, _, _ = strings.Cut(path, "#")
	// An encoded slash or backslash in the path is one decoding away from "//host".
	if lower := strings.ToLower(path); strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return false
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg = strings.ReplaceAll(strings.ToLower(seg), "%2e", "."); seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// returnPath returns s when it is a LocalPath and "/" otherwise: a bad return path costs the
// user the page they wanted, not the sign-in.
func returnPath(s string) string {
	if !LocalPath(s) {
		return "/"
	}
	return s
}
