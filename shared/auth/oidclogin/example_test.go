package oidclogin_test

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/vecron/vecron/shared/auth/oidclogin"
)

// The dashboard's two routes around a Login. It is not run: it needs an identity provider.
func ExampleLogin() {
	var login *oidclogin.Login // identity.Service.OIDCLogin(); nil when the sign-in is off
	log := slog.Default()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/oidc/start", func(w http.ResponseWriter, r *http.Request) {
		// Any return value that is not a local path becomes "/".
		if err := login.Start(w, r, r.URL.Query().Get("return")); err != nil {
			log.Error("oidc sign-in", "error", err)
			http.Error(w, "the sign-in could not start", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET "+oidclogin.CallbackPath, func(w http.ResponseWriter, r *http.Request) {
		id, returnTo, err := login.Finish(w, r)
		var e *oidclogin.Error
		if errors.As(err, &e) {
			// Error() is for the log, Message() for the person; neither holds a secret.
			log.Warn("oidc sign-in", "error", err)
			http.Error(w, e.Message(), http.StatusBadRequest)
			return
		}
		// Here the dashboard starts a session for id (identity.Service.FinishOIDCLogin gives
		// the rbac.Identity directly).
		_ = id
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
	})
}
