package api

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
)

// requestIDHeader names a request across the client, the response and the log.
const requestIDHeader = "X-Request-Id"

// requestID gives every request an id: the caller's X-Request-Id when it is well formed (so a
// gateway's id follows the request), a new one otherwise. The id is set on the request, for the
// handlers and their log lines, and on the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !domain.WellFormedID(id) {
			id = uuid.Must(uuid.NewV7()).String()
			r.Header.Set(requestIDHeader, id)
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}
