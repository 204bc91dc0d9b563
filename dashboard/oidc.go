package dashboard

import (
	"cmp"
	"errors"
	"net/http"

	"github.com/vecron/vecron/shared/auth/oidclogin"
)

// providerFlow is the dashboard's OIDCFlow: the Authorization Code flow with PKCE of
// shared/auth/oidclogin, at /auth/oidc/start and oidclogin.CallbackPath.
type providerFlow struct {
	login *oidclogin.Login
	ui    *UI
}

func (f *providerFlow) Label() string { return f.login.DisplayName() }

func (f *providerFlow) ServeOIDC(w http.ResponseWriter, r *http.Request, start SessionStarter) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/auth/oidc/start":
		// "return" is the name the sign-in's documentation uses; the login page sends "next".
		q := r.URL.Query()
		if err := f.login.Start(w, r, SafeNext(cmp.Or(q.Get("next"), q.Get("return")))); err != nil {
			f.ui.internal(w, r, nil, err)
		}
	case r.Method == http.MethodGet && r.URL.Path == oidclogin.CallbackPath:
		g, returnTo, err := f.login.FinishGrant(w, r)
		var failed *oidclogin.Error
		switch {
		case errors.As(err, &failed):
			// Error() is for the log, Message() for the person; neither holds a secret.
			f.ui.log.Warn("oidc sign-in", "error", err)
			f.ui.loginFailed(w, r, http.StatusBadRequest, failed.Message())
			return
		case err != nil:
			f.ui.internal(w, r, nil, err)
			return
		}
		if err := start.StartOIDCSession(w, r, g); err != nil {
			f.ui.internal(w, r, nil, err)
			return
		}
		http.Redirect(w, r, SafeNext(returnTo), http.StatusSeeOther)
	default:
		f.ui.notFound(w, r)
	}
}
