package api

import (
	"net/http"

	"github.com/vecron/vecron/shared/domain"
)

// upstreamLimit bounds the jobs an upstream answer reads: a job every other job alerts on
// failure would otherwise make one page read the whole table.
const upstreamLimit = 500

// upstreamResponse is what GET /api/v1/jobs/{id}/upstream answers.
type upstreamResponse struct {
	Items []domain.UpstreamJob `json:"items"`
	// Hidden counts the jobs that chain to this one in namespaces the caller may not read: that
	// something upstream exists is the job's own business, what it is is not the caller's.
	Hidden int `json:"hidden"`
	// Truncated says that more jobs chain to this one than the answer reads (500).
	Truncated bool `json:"truncated,omitempty"`
}

// jobUpstream serves GET /api/v1/jobs/{id}/upstream: the jobs whose chains start this one.
func (s *Server) jobUpstream(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobRead)
	if !ok {
		return
	}
	list, err := s.store.Upstreams(r.Context(), domain.Ref(j.Namespace, j.Name), upstreamLimit+1)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := upstreamResponse{Items: make([]domain.UpstreamJob, 0, len(list))}
	if len(list) > upstreamLimit {
		list, out.Truncated = list[:upstreamLimit], true
	}
	id := identityOf(r)
	for _, u := range list {
		if id.Can(domain.PermJobRead, u.Namespace) {
			out.Items = append(out.Items, u)
		} else {
			out.Hidden++
		}
	}
	writeJSON(w, http.StatusOK, out)
}
