package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
)

// recovering returns a router behind recoverer whose route /jobs/{id} runs h, and its log.
func recovering(h http.HandlerFunc) (http.Handler, *testenv.LogBuffer) {
	logs := &testenv.LogBuffer{}
	r := chi.NewRouter()
	r.Use(recoverer(slog.New(slog.NewJSONHandler(logs, nil))))
	r.Route("/api/v1", func(r chi.Router) { r.Get("/jobs/{id}", h) })
	return r, logs
}

func serve(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/jobs/0193b7c4", nil))
	return rec
}

func TestRecoverer(t *testing.T) {
	t.Parallel()
	t.Run("PanicAnswers500", func(t *testing.T) {
		t.Parallel()
		h, logs := recovering(func(http.ResponseWriter, *http.Request) { panic("nil job spec") })
		rec := serve(h)
		require.Equal(t, http.StatusInternalServerError, rec.Code)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		var p problem
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		require.Equal(t, http.StatusInternalServerError, p.Status)
		require.NotContains(t, rec.Body.String(), "nil job spec", "the panic stays in the log")

		var line map[string]any
		require.NoError(t, json.Unmarshal(bytes.TrimSpace([]byte(logs.String())), &line), "one log line")
		require.Equal(t, "ERROR", line["level"])
		require.Equal(t, "GET", line["method"])
		require.Equal(t, "/api/v1/jobs/{id}", line["route"])
		require.Equal(t, "a string (its value is withheld: it may hold a secret)", line["panic"],
			"the API knows no secrets to mask: a panic's value is named by its type")
		require.Contains(t, line["stack"], "TestRecoverer")
	})
	t.Run("PanicAfterTheResponseStartedAborts", func(t *testing.T) {
		t.Parallel()
		h, logs := recovering(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"items":[`))
			panic("half way")
		})
		rec := httptest.NewRecorder()
		require.PanicsWithValue(t, http.ErrAbortHandler, func() {
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/jobs/0193b7c4", nil))
		}, "net/http cuts the connection: the client sees no complete response")
		require.Equal(t, `{"items":[`, rec.Body.String(), "no problem document appended")
		require.Contains(t, logs.String(), `"panic":"a string`)
		require.Contains(t, logs.String(), `"response_started":true`)
	})
	t.Run("ErrAbortHandlerPassesThrough", func(t *testing.T) {
		t.Parallel()
		h, logs := recovering(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
		require.PanicsWithValue(t, http.ErrAbortHandler, func() { serve(h) })
		require.Empty(t, logs.String(), "an abort is not an error")
	})
	t.Run("NoPanicPassesThrough", func(t *testing.T) {
		t.Parallel()
		h, logs := recovering(func(w http.ResponseWriter, _ *http.Request) {
			require.NoError(t, http.NewResponseController(w).Flush())
			_, _ = w.Write([]byte("ok"))
		})
		rec := serve(h)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "ok", rec.Body.String())
		require.True(t, rec.Flushed, "flushes reach the connection's writer")
		require.Empty(t, logs.String())
	})
}
