package screenshots_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// The screenshots are a test so that they run the harness the browser tests run — the real api
// function on a schema of its own, Debian's chromium — but one that skips unless told where to
// write: `go test ./...` never writes into the repository. A flag rather than a build tag keeps
// the file compiled and vetted with everything else, so it cannot rot unseen.
var dir = flag.String("screenshots", "", "absolute path of the directory to write the dashboard's screenshots in (make screenshots)")

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// sizes are a desk and a phone, at a device scale of 1 to keep the files small.
var sizes = []struct{ width, height int }{{1280, 800}, {390, 844}}

func TestScreenshots(t *testing.T) {
	t.Parallel()
	if *dir == "" {
		t.Skip("writes the dashboard's screenshots only when given -screenshots DIR (make screenshots)")
	}
	require.True(t, filepath.IsAbs(*dir), "-screenshots takes an absolute path: a test runs in its package's directory")
	require.NoError(t, os.MkdirAll(*dir, 0o755))

	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := testfactory.User(t, srv.Store, testfactory.UserOpts{Username: "admin", Role: rbac.RoleAdmin})
	demo := seed(t, srv, srv.Token(t, admin))

	pages := []struct {
		name, path string
		// ready is a JavaScript expression, true once what the screenshot is for has arrived.
		ready string
		// then runs once the page is ready, before the screenshot.
		then func(b *dashboardtest.Browser)
	}{
		{name: "jobs", path: "/jobs", ready: `document.querySelectorAll("tr[id^='job-']").length >= 7`},
		{name: "job", path: "/jobs/" + demo.job, ready: `document.querySelector("h1.job-title") !== null`},
		{name: "builder", path: "/jobs/new?namespace=payments", ready: `document.querySelector("#builder-form") !== null`, then: func(b *dashboardtest.Browser) {
			b.Do(
				chromedp.SendKeys(chromedp.CSS("#f-name"), "sbv-exchange-rates"),
				chromedp.SendKeys(chromedp.CSS("#f-description"), "Cập nhật tỷ giá trung tâm lúc 08:30 các ngày làm việc"),
				chromedp.SendKeys(chromedp.CSS("#f-http_url"), "https://treasury.example.vn/api/v1/fx/sbv/sync"),
				chromedp.SendKeys(chromedp.CSS("#f-cron"), "0 30 8 * * MON-FRI"),
			)
			b.WaitFor("the next 10 fires", `document.querySelectorAll("#live-fires tbody tr").length === 10`)
			b.WaitForText("#builder-json", `"cron": "0 30 8 * * MON-FRI"`)
			// The typing leaves the focus ring in the last field. On a phone the preview comes
			// after the form, and the preview is what the screenshot is for.
			b.Do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur();
				innerWidth < 600 ? document.querySelector("#builder-live").scrollIntoView() : scrollTo(0, 0)`))
		}},
		{name: "execution", path: "/executions/" + demo.execution, ready: `document.querySelectorAll("tr.attempt").length === 3`},
	}
	for _, size := range sizes {
		b := dashboardtest.NewBrowser(t, size.width, size.height)
		b.Do(chromedp.EmulateViewport(int64(size.width), int64(size.height), chromedp.EmulateScale(1)))
		b.SignIn(srv.URL, admin.Username, testfactory.Password)
		for _, p := range pages {
			b.Do(chromedp.Navigate(srv.URL + p.path))
			b.WaitFor(p.path+" to load", `document.readyState === "complete" && `+p.ready)
			if p.then != nil {
				p.then(b)
			}
			b.Clean()
			png := dashboardtest.Run(b, chromedp.CaptureScreenshot())
			name := filepath.Join(*dir, fmt.Sprintf("dashboard-%s-%d.png", p.name, size.width))
			require.NoError(t, os.WriteFile(name, png, 0o644))
			t.Logf("wrote %s (%d KB)", name, len(png)/1024)
		}
	}
}
