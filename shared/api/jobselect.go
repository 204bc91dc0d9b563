package api

import (
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
)

// maxListIDs bounds the ids one job list names (id=…&id=…): a page of a listing across jobs
// (the history, the dead letters) names at most 100 jobs, and the query string stays short.
const maxListIDs = 100

// jobSelection reads the filters of a job list that name jobs rather than describe them: id
// (repeated, UUIDs) and name (exact).
func jobSelection(q url.Values, p *domain.ListJobsParams, v *domain.ValidationError) {
	ids := q["id"]
	if len(ids) > maxListIDs {
		v.Add("id", "names "+strconv.Itoa(len(ids))+" jobs; at most "+strconv.Itoa(maxListIDs)+" may be listed at once")
	} else {
		for _, id := range ids {
			// The hyphenated form only, as the API writes ids: uuid.Validate and PostgreSQL would
			// also take braces, a urn: prefix or no hyphens.
			if len(id) != 36 || uuid.Validate(id) != nil {
				v.Add("id", quoted(printable(id, 40))+" is not a job id (a UUID such as 0193b7c4-5d2e-7a41-9c3b-2f1e8d4a6b70)")
				break
			}
		}
	}
	p.IDs = ids
	p.Name = q.Get("name")
	if len(p.Name) > maxSearch || !utf8.ValidString(p.Name) {
		v.Add("name", "must be text of at most 200 bytes")
	}
}
