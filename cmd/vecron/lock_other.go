//go:build !unix

package main

// lockFile does nothing where there is no flock: two commands refreshing at once may end the
// session there, and `vecron login` starts a new one.
func lockFile(string) (func(), error) { return func() {}, nil }
