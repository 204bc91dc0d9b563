// Package dashboard is vecron's browser console: server-rendered HTML (templ components,
// compiled into the binary) made interactive with HTMX, its translations and static assets
// embedded in the binary.
//
// The dashboard is a client of the REST API, in-process: a page reads, and a button writes,
// by calling the API's own http.Handler with a request built here and the identity of the
// signed-in session on its context (api.WithIdentity). The API's validation, permission checks,
// audit log and field errors thus apply to the dashboard exactly as to any other client, and
// the dashboard holds no permission logic of its own beyond hiding buttons. Its own state is the
// session (see Sessions), kept server-side in PostgreSQL. docs/dashboard.md records the design.
package dashboard

import (
	"cmp"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/identity"
)

//go:embed i18n static
var files embed.FS

// Defaults.
const (
	// IdleTimeoutDefault ends a session unused this long.
	IdleTimeoutDefault = time.Hour
	// MaxAgeDefault ends a session this long after sign-in, however active.
	MaxAgeDefault = 12 * time.Hour
	// LiveRecheckDefault is how often a live connection looks its session up again.
	LiveRecheckDefault = 15 * time.Second
	// LiveIntervalDefault spaces the updates of a live connection.
	LiveIntervalDefault = time.Second
	// OIDCIdentityMinDefault is the least time a sign-in through the identity provider is
	// trusted before the provider is asked again.
	OIDCIdentityMinDefault = 5 * time.Minute
)

// Config configures the dashboard (settings under dashboard).
type Config struct {
	IdleTimeout time.Duration `koanf:"idle_timeout" usage:"a dashboard session ends after this long without a request"`
	MaxAge      time.Duration `koanf:"max_age" usage:"a dashboard session ends this long after sign-in, however active"`
	// SecureCookie says browsers reach the dashboard over HTTPS when no public URL says so:
	// behind a proxy that terminates TLS, the request the dashboard sees is plain. public_url
	// (PublicURL) is the better way to say it.
	SecureCookie bool `koanf:"secure_cookie" usage:"browsers reach the dashboard over https (behind a proxy that terminates TLS) though public_url is not set: the session cookie is Secure and __Host- prefixed"`
	// OIDCIdentityMin is the least time a sign-in through the identity provider is trusted
	// before its refresh token reads the user's groups again (or, without one, the session
	// ends), when the ID token expires sooner: a provider issuing one-minute ID tokens must not
	// make every page a round trip to it.
	OIDCIdentityMin time.Duration `koanf:"oidc_identity_min" usage:"least time a sign-in through the identity provider is trusted before the provider is asked again (its refresh token), when its ID token expires sooner"`
	// PublicURL is the URL browsers reach the dashboard at: the api's public_url. An https one
	// makes the session cookie Secure with the __Host- prefix, and every page sends HSTS.
	PublicURL string `koanf:"-"`
	// Development is set by `vecron dev`, where plain HTTP on this machine is expected: no
	// warning is logged for it.
	Development bool `koanf:"-"`
	// LiveRecheck bounds how long a live connection outlives its session (a sign-out elsewhere,
	// a disabled user); the API's own recheck of the stream (stream.recheck) is slower.
	LiveRecheck time.Duration `koanf:"live_recheck" usage:"how often a page's live connection checks its dashboard session again"`
	// LiveInterval is the least time between two updates of one live connection: a job firing
	// every 100 ms re-renders its row once per interval, not ten times.
	LiveInterval time.Duration `koanf:"live_interval" usage:"least time between two live updates of one browser tab; a burst of events becomes one update"`
	// ServerTiming adds a Server-Timing header to the signed-in pages. Off by default: it tells
	// a signed-in user little their own clock does not, but without the network's noise, and
	// the time of a search can hint at how many rows the database looked at, readable or not.
	ServerTiming bool `koanf:"server_timing" usage:"add a Server-Timing header (time to answer, and in the API) to the dashboard's signed-in pages"`
	// TraceURL links an execution's trace id to where the traces are read (docs/observability.md
	// §3): an http(s) URL in which {trace_id} is replaced, such as a Grafana Explore URL. Empty:
	// the execution page shows the id as text.
	TraceURL string `koanf:"trace_url" usage:"link an execution's trace id to this http(s) URL, {trace_id} replaced by the id (e.g. a Grafana Explore URL); empty shows the id as text"`
}

// traceIDPlaceholder is what TraceURL's template has replaced by the trace id.
const traceIDPlaceholder = "{trace_id}"

func (c Config) validate() error {
	if c.IdleTimeout < 0 || c.MaxAge < 0 || c.LiveRecheck < 0 || c.LiveInterval < 0 || c.OIDCIdentityMin < 0 {
		return errors.New("dashboard.idle_timeout, dashboard.max_age, dashboard.live_recheck, dashboard.live_interval, dashboard.oidc_identity_min: must not be negative")
	}
	if c.TraceURL != "" {
		u, err := url.Parse(strings.ReplaceAll(c.TraceURL, traceIDPlaceholder, "0"))
		switch {
		case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "":
			return errors.New("dashboard.trace_url: must be an http or https URL with a host")
		case !strings.Contains(c.TraceURL, traceIDPlaceholder):
			return errors.New("dashboard.trace_url: must hold " + traceIDPlaceholder + ", which the execution page replaces by the trace id")
		}
	}
	return nil
}

// Deps are what the dashboard serves with.
type Deps struct {
	// API is the REST API's handler, which every page reads and every button writes through.
	API http.Handler
	// Identity checks passwords and makes a session's identity again on every request.
	Identity *identity.Service
	// Sessions stores the sessions.
	Sessions SessionStore
	// OIDC is the sign-in through the identity provider; nil takes Identity's (OIDCLogin),
	// when it has one.
	OIDC OIDCFlow
	// OIDCRefresh asks the identity provider again about a session's user when what it said
	// expires; nil takes Identity's OIDCLogin, when it has one. Without either, an identity
	// provider's session ends when its identity expires.
	OIDCRefresh OIDCRefresher
	// Now is the clock.
	Now func() time.Time
	Log *slog.Logger
}

// UI is the dashboard's HTTP handler. It serves every path that is not the API's.
type UI struct {
	api      http.Handler
	ident    *identity.Service
	sessions *Sessions
	oidc     OIDCFlow
	now      func() time.Time
	log      *slog.Logger
	cat      catalogs
	assets   *assets
	zones    zones
	handler  http.Handler
	// timing adds the Server-Timing header to the signed-in pages (Config.ServerTiming).
	timing bool
	// traceURL is Config.TraceURL.
	traceURL string
}

// New returns the dashboard over d. It fails when cfg is not usable or an embedded file does
// not parse.
func New(d Deps, cfg Config) (*UI, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if d.API == nil || d.Identity == nil || d.Sessions == nil || d.Now == nil || d.Log == nil {
		return nil, errors.New("dashboard: API, Identity, Sessions, Now and Log are required")
	}
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, IdleTimeoutDefault)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, MaxAgeDefault)
	cfg.LiveRecheck = cmp.Or(cfg.LiveRecheck, LiveRecheckDefault)
	cfg.LiveInterval = cmp.Or(cfg.LiveInterval, LiveIntervalDefault)
	cfg.OIDCIdentityMin = cmp.Or(cfg.OIDCIdentityMin, OIDCIdentityMinDefault)
	transport, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	transport.warn(d.Log)
	cat, err := loadCatalogs(files)
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	a, err := loadAssets(static)
	if err != nil {
		return nil, err
	}
	ui := &UI{api: d.API, ident: d.Identity, oidc: d.OIDC, now: d.Now, log: d.Log, cat: cat, assets: a, timing: cfg.ServerTiming, traceURL: cfg.TraceURL,
		sessions: &Sessions{store: d.Sessions, ident: d.Identity, cfg: cfg, now: d.Now, transport: transport, refresher: d.OIDCRefresh,
			log: d.Log}}
	if login := d.Identity.OIDCLogin(); login != nil {
		if ui.oidc == nil {
			ui.oidc = &providerFlow{login: login, ui: ui}
		}
		if ui.sessions.refresher == nil {
			ui.sessions.refresher = login
		}
	}
	ui.handler = securityHeaders(transport.secure, ui.crossOrigin(ui.routes()))
	return ui, nil
}

func (ui *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) { ui.handler.ServeHTTP(w, r) }

// routes returns the dashboard's router. Pages behind sign-in go through signedIn, which
// also checks the CSRF token of every unsafe request.
func (ui *UI) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/jobs", http.StatusSeeOther) })
	mux.HandleFunc("GET /login", ui.loginPage)
	mux.HandleFunc("POST /login", ui.login)
	mux.Handle("POST /logout", ui.signedIn(ui.logout))
	mux.HandleFunc("GET /lang", ui.setLang)
	mux.HandleFunc("GET /assets/{file...}", ui.assets.serve)
	mux.HandleFunc("/auth/oidc/", ui.oidcRoute)
	// The live updates of the jobs list and the job page (live.go).
	mux.HandleFunc("GET /live", ui.liveUpdates)

	mux.Handle("GET /jobs", ui.signedIn(ui.jobsPage))
	mux.Handle("GET /jobs/{id}", ui.signedIn(ui.jobPage))
	mux.Handle("POST /jobs/{id}/enable", ui.signedIn(ui.setEnabled(true)))
	mux.Handle("POST /jobs/{id}/disable", ui.signedIn(ui.setEnabled(false)))
	mux.Handle("POST /jobs/{id}/run", ui.signedIn(ui.runNow))
	mux.Handle("GET /jobs/{id}/webhook", ui.signedIn(ui.webhookPage))
	mux.Handle("POST /jobs/{id}/webhook", ui.signedIn(ui.enableWebhook))
	mux.Handle("POST /jobs/{id}/webhook/disable", ui.signedIn(ui.disableWebhook))
	// The job builder, import and export (builder.go, importexport.go).
	mux.Handle("GET /jobs/new", ui.signedIn(ui.newJobPage))
	mux.Handle("POST /jobs/new", ui.signedIn(ui.newJobPost))
	mux.Handle("GET /jobs/{id}/edit", ui.signedIn(ui.editJobPage))
	mux.Handle("POST /jobs/{id}/edit", ui.signedIn(ui.editJobPost))
	mux.Handle("POST /jobs/builder/live", ui.signedIn(ui.builderLive))
	mux.Handle("GET /jobs/import", ui.signedIn(ui.importPage))
	mux.Handle("POST /jobs/import", ui.signedIn(ui.importPost))
	mux.Handle("GET /jobs/export", ui.signedIn(ui.export))
	// The operators' pages.
	mux.HandleFunc("GET /history", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/executions", http.StatusFound)
	})
	mux.Handle("GET /executions", ui.signedIn(ui.historyPage))
	mux.Handle("GET /executions/{id}", ui.signedIn(ui.executionPage))
	mux.Handle("GET /executions/{id}/cancel", ui.signedIn(ui.cancelConfirm))
	mux.Handle("POST /executions/{id}/cancel", ui.signedIn(ui.cancel))
	mux.Handle("GET /dead-letters", ui.signedIn(ui.deadLettersPage))
	mux.Handle("GET /dead-letters/{id}/replay", ui.signedIn(ui.deadLetterConfirm(true)))
	mux.Handle("POST /dead-letters/{id}/replay", ui.signedIn(ui.replay))
	mux.Handle("GET /dead-letters/{id}/discard", ui.signedIn(ui.deadLetterConfirm(false)))
	mux.Handle("POST /dead-letters/{id}/discard", ui.signedIn(ui.discard))
	for _, base := range []string{"/variables", "/jobs/{id}/variables"} {
		mux.Handle("GET "+base, ui.signedIn(ui.variablesPage))
		mux.Handle("POST "+base, ui.signedIn(ui.createVariable))
		mux.Handle("GET "+base+"/{name}/edit", ui.signedIn(ui.editVariablePage))
		mux.Handle("POST "+base+"/{name}", ui.signedIn(ui.updateVariable))
		mux.Handle("GET "+base+"/{name}/delete", ui.signedIn(ui.deleteVariableConfirm))
		mux.Handle("POST "+base+"/{name}/delete", ui.signedIn(ui.deleteVariable))
	}
	mux.Handle("GET /audit", ui.signedIn(ui.auditPage))
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/admin/users", http.StatusFound) })
	mux.Handle("GET /admin/users", ui.signedIn(ui.usersPage))
	mux.Handle("POST /admin/users", ui.signedIn(ui.createUser))
	mux.Handle("GET /admin/users/{id}", ui.signedIn(ui.userPage))
	mux.Handle("GET /admin/users/{id}/disable", ui.signedIn(ui.setDisabledConfirm))
	mux.Handle("POST /admin/users/{id}/disable", ui.signedIn(ui.setDisabled(true)))
	mux.Handle("POST /admin/users/{id}/enable", ui.signedIn(ui.setDisabled(false)))
	mux.Handle("POST /admin/users/{id}/bindings", ui.signedIn(ui.bind))
	mux.Handle("GET /admin/users/{id}/bindings/{bid}/delete", ui.signedIn(ui.unbindConfirm))
	mux.Handle("POST /admin/users/{id}/bindings/{bid}/delete", ui.signedIn(ui.unbind))
	// Dashboard sessions (sessions.go): a user's, the identity provider's users', one's own.
	mux.Handle("GET /admin/users/{id}/sessions/end", ui.signedIn(ui.userSessionsEndConfirm))
	mux.Handle("POST /admin/users/{id}/sessions/end", ui.signedIn(ui.userSessionsEnd))
	mux.Handle("GET /admin/users/{id}/sessions/{sid}/end", ui.signedIn(ui.userSessionEndConfirm))
	mux.Handle("POST /admin/users/{id}/sessions/{sid}/end", ui.signedIn(ui.userSessionEnd))
	mux.Handle("GET /admin/sessions", ui.signedIn(ui.providerSessionsPage))
	mux.Handle("GET /admin/sessions/end", ui.signedIn(ui.subjectSessionsEndConfirm))
	mux.Handle("POST /admin/sessions/end", ui.signedIn(ui.subjectSessionsEnd))
	mux.Handle("GET /admin/sessions/{sid}/end", ui.signedIn(ui.providerSessionEndConfirm))
	mux.Handle("POST /admin/sessions/{sid}/end", ui.signedIn(ui.providerSessionEnd))
	mux.Handle("GET /account/sessions", ui.signedIn(ui.accountSessionsPage))
	mux.Handle("GET /account/sessions/{sid}/end", ui.signedIn(ui.accountSessionEndConfirm))
	mux.Handle("POST /account/sessions/{sid}/end", ui.signedIn(ui.accountSessionEnd))
	mux.Handle("GET /account/tokens", ui.signedIn(ui.tokensPage))
	mux.Handle("POST /account/tokens", ui.signedIn(ui.createToken))
	mux.Handle("GET /account/tokens/{id}/revoke", ui.signedIn(ui.revokeConfirm))
	mux.Handle("POST /account/tokens/{id}/revoke", ui.signedIn(ui.revokeToken))
	mux.HandleFunc("/", ui.notFound)
	return mux
}

// crossOrigin refuses unsafe requests that a browser says come from another origin
// (Sec-Fetch-Site, Origin): the first line against CSRF, before any session exists (the login
// form). The per-session token is the second.
func (ui *UI) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ui.errorPage(w, r, nil, http.StatusForbidden, "error.cross_origin")
	}))
	return cop.Handler(next)
}
