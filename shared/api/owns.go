package api

import "strings"

// Owns reports whether path is one of the API's (/api/…, /healthz, /readyz): the first segment
// of some route of the route table. The api function sends every other path to the dashboard.
func (s *Server) Owns(path string) bool {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	_, ok := s.segments[seg]
	return ok
}

// firstSegments returns the first path segment of every route.
func firstSegments(rs []route) map[string]struct{} {
	out := map[string]struct{}{}
	for _, rt := range rs {
		seg, _, _ := strings.Cut(strings.TrimPrefix(rt.pattern, "/"), "/")
		out[seg] = struct{}{}
	}
	return out
}
