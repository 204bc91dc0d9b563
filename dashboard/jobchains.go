package dashboard

import (
	"net/http"
	"net/url"

	"github.com/vecron/vecron/shared/domain"
)

// chainListView is one of a job's chains on its page: the jobs it starts after an end of one
// kind (on_success, on_failure, on_completion).
type chainListView struct {
	// Key is the list's field, which names its label (chain.<key>).
	Key     string
	Targets []chainTargetView
}

// chainTargetView is a job a chain starts: its ref, and the address of its page when the
// caller may read it ("" otherwise: a job one may not read is not named as existing, nor not).
type chainTargetView struct {
	Ref, Href string
}

// jobChains returns the chains of j for its page, in the order the API names them, or nil
// when j chains to nothing. Each target is looked up through the API as the caller, so a
// target they may not read, or one since renamed or deleted, is shown as the ref alone.
func (ui *UI) jobChains(r *http.Request, sess *session, j *domain.Job) []chainListView {
	if j.Chains.Empty() {
		return nil
	}
	hrefs := map[string]string{}
	for _, ref := range j.Chains.All() {
		hrefs[ref] = ui.jobHref(r, sess, ref)
	}
	var out []chainListView
	for _, l := range []struct {
		key  string
		refs []string
	}{{"on_success", j.OnSuccess}, {"on_failure", j.OnFailure}, {"on_completion", j.OnCompletion}} {
		if len(l.refs) == 0 {
			continue
		}
		cl := chainListView{Key: l.key}
		for _, ref := range l.refs {
			cl.Targets = append(cl.Targets, chainTargetView{Ref: ref, Href: hrefs[ref]})
		}
		out = append(out, cl)
	}
	return out
}

// jobHref returns the page of the job ref ("namespace/name") names, or "" when the caller
// cannot read it or it does not exist. At most jobs.MaxChainTargets are looked up per page.
func (ui *UI) jobHref(r *http.Request, sess *session, ref string) string {
	ns, name := domain.SplitRef(ref, "")
	q := url.Values{"namespace": {ns}, "name": {name}, "limit": {"1"}}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs?"+q.Encode(), nil)
	if err != nil || !res.ok() {
		return ""
	}
	var list struct {
		Items []struct {
			ID        string `json:"id"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"items"`
	}
	if res.decode(&list) != nil {
		return ""
	}
	for _, it := range list.Items {
		if it.Namespace == ns && it.Name == name {
			return "/jobs/" + url.PathEscape(it.ID)
		}
	}
	return ""
}

// upstreamView is the jobs whose chains start a job, for its page's "Started by": each with
// the lists that name it, and how many more the reader may not see.
type upstreamView struct {
	Jobs []upstreamJobView
	// Hidden counts upstream jobs in namespaces the reader may not read: told, never named.
	Hidden    int
	Truncated bool
}

// upstreamJobView is one upstream job: its ref, its page, and the chain lists (on_success, …).
type upstreamJobView struct {
	Ref, Href  string
	Conditions []string
}

// jobUpstream returns what GET /api/v1/jobs/{id}/upstream says of j for the caller, or nil when
// nothing chains to j (or the API did not answer: the section is an aid, not the page).
func (ui *UI) jobUpstream(r *http.Request, sess *session, j *domain.Job) *upstreamView {
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(j.ID)+"/upstream", nil)
	if err != nil || !res.ok() {
		return nil
	}
	var out struct {
		Items     []domain.UpstreamJob `json:"items"`
		Hidden    int                  `json:"hidden"`
		Truncated bool                 `json:"truncated"`
	}
	if res.decode(&out) != nil || len(out.Items)+out.Hidden == 0 {
		return nil
	}
	v := &upstreamView{Hidden: out.Hidden, Truncated: out.Truncated}
	for _, u := range out.Items {
		v.Jobs = append(v.Jobs, upstreamJobView{Ref: domain.Ref(u.Namespace, u.Name), Href: "/jobs/" + url.PathEscape(u.ID), Conditions: u.Conditions})
	}
	return v
}
