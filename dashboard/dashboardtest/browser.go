package dashboardtest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vecron/vecron/shared/testenv"
)

// BrowserWait bounds every wait of a browser test for the page to change: generous, since a
// shared machine may be slow; a test that passes never waits for it.
const BrowserWait = 60 * time.Second

// watchScript runs before any script of every page: it records the page's Content-Security-
// Policy violations and JavaScript dialogs, which a test then requires to be none.
const watchScript = `window.__vecron = {csp: [], dialogs: []};
document.addEventListener("securitypolicyviolation", function (e) {
  window.__vecron.csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
for (const f of ["alert", "confirm", "prompt"]) {
  const orig = window[f];
  window[f] = function (m) { window.__vecron.dialogs.push(f + ": " + m); return orig.call(window, m); };
}`

// Browser is one tab of a headless Chromium with a profile of its own.
type Browser struct {
	t   *testing.T
	ctx context.Context
}

// NewBrowser starts Chromium (Debian's chromium) with a window of width × height and returns a
// tab of it; both end with t. Without a chromium binary the test is skipped, with the command
// that installs it, unless CI=true, where it fails.
func NewBrowser(t *testing.T, width, height int) *Browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is missing: apt-get install -y chromium (scripts/test-services.sh installs it)")
		}
		t.Skip("chromium is missing: apt-get install -y chromium (scripts/test-services.sh installs it)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// Start the browser now, so that a failure to launch is reported here.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchScript}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("set the viewport: %v", err)
	}
	return &Browser{t: t, ctx: ctx}
}

// Do runs actions in the tab, failing the test on an error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testenv.Timeout(BrowserWait))
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// Eval evaluates the JavaScript expression in the page and returns its value decoded as T.
// Evaluation from the test is not subject to the page's CSP; the page's own scripts are.
func Eval[T any](b *Browser, expression string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testenv.Timeout(BrowserWait))
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", expression, err)
	}
	return v
}

// WaitFor waits, within BrowserWait, until the JavaScript expression is true in the page.
// (chromedp's Poll builds its predicate with new Function, which the dashboard's CSP forbids.)
func (b *Browser) WaitFor(what, expression string) {
	b.t.Helper()
	testenv.EventuallyWithin(b.t, BrowserWait, what, func() bool {
		ctx, cancel := context.WithTimeout(b.ctx, testenv.Timeout(BrowserWait))
		defer cancel()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+expression+")"))
		return err == nil && ok
	})
}

// WaitForText waits until the element of the CSS selector holds text.
func (b *Browser) WaitForText(selector, text string) {
	b.t.Helper()
	sel, _ := json.Marshal(selector)
	want, _ := json.Marshal(text)
	b.WaitFor(selector+" to show "+text,
		`Array.from(document.querySelectorAll(`+string(sel)+`)).some(e => e.textContent.includes(`+string(want)+`))`)
}

// WaitSettled waits until HTMX has finished swapping in the element of the CSS selector and
// wired its content (it then drops the htmx-added and htmx-settling classes).
func (b *Browser) WaitSettled(selector string) {
	b.t.Helper()
	sel, _ := json.Marshal(selector)
	b.WaitFor(selector+" to settle", `(e => e !== null && !e.classList.contains("htmx-added") && !e.classList.contains("htmx-settling"))(document.querySelector(`+string(sel)+`))`)
}

// Clean requires that the page met no CSP violation and opened no JavaScript dialog.
func (b *Browser) Clean() {
	b.t.Helper()
	var seen struct {
		CSP     []string `json:"csp"`
		Dialogs []string `json:"dialogs"`
	}
	raw := Eval[string](b, `JSON.stringify(window.__vecron || {csp: ["the watch script did not run"], dialogs: []})`)
	if err := json.Unmarshal([]byte(raw), &seen); err != nil {
		b.t.Fatal(err)
	}
	if len(seen.CSP) > 0 || len(seen.Dialogs) > 0 {
		b.t.Fatalf("page was not clean: CSP violations %q, dialogs %q", seen.CSP, seen.Dialogs)
	}
}

// SignIn signs in with the login form at base as username with password.
func (b *Browser) SignIn(base, username, password string) {
	b.t.Helper()
	b.Do(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
	b.WaitFor("the jobs page after signing in", `location.pathname === "/jobs" && document.querySelector("h1") !== null`)
}

// Run runs one action returning a value, failing the test on an error.
func Run[T any](b *Browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, testenv.Timeout(BrowserWait))
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}
