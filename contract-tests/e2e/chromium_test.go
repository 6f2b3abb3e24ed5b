package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser suite (TestBrowser) drives Debian's Chromium, headless, through the pages
// a recipient and a verifier use. Each page it reaches is saved as a
// screenshot under the artifacts folder and checked with axe-core: no
// serious or critical accessibility violation. A page that logs an error
// to the console (a script error, or content its Content-Security-Policy
// refused) fails the test.
//
// Settings (environment):
//   - CREDENCE_TEST_CHROMIUM: the browser binary (default: chromium,
//     chromium-browser or google-chrome on the PATH);
//   - CREDENCE_TEST_AXE: axe.min.js of the axe-core npm package;
//   - CREDENCE_TEST_ARTIFACTS: where screenshots go (default:
//     $TMPDIR/credence-artifacts);
//   - CREDENCE_TEST_REQUIRE_BROWSER=1 (.ci/run sets it): a missing
//     browser or axe-core fails the suite instead of skipping it.

// browser is one Chromium tab and what the test saw in it.
type browser struct {
	t    *testing.T
	ctx  context.Context
	axe  string
	dir  string
	n    int
	mu   sync.Mutex
	errs []consoleError // console errors since the last page was checked
}

// newBrowser starts Chromium for t, or skips t when there is none (and
// CREDENCE_TEST_REQUIRE_BROWSER is not set).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	require := os.Getenv("CREDENCE_TEST_REQUIRE_BROWSER") == "1"
	missing := func(what string) {
		if require {
			t.Fatalf("CREDENCE_TEST_REQUIRE_BROWSER=1 but %s", what)
		}
		t.Skipf("skipped: %s (set CREDENCE_TEST_CHROMIUM / CREDENCE_TEST_AXE, or run .ci/run)", what)
	}
	bin := os.Getenv("CREDENCE_TEST_CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if bin != "" {
			break
		}
		bin, _ = exec.LookPath(name)
	}
	if bin == "" {
		missing("no Chromium found")
	}
	axePath := os.Getenv("CREDENCE_TEST_AXE")
	if axePath == "" {
		missing("CREDENCE_TEST_AXE (the path of axe-core's axe.min.js) is not set")
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		missing(fmt.Sprintf("axe-core cannot be read: %v", err))
	}
	dir := os.Getenv("CREDENCE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "credence-artifacts")
	}
	dir = filepath.Join(dir, "browser", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 900),
		chromedp.WSURLReadTimeout(90*time.Second)) // chromedp's 20 s was once too short beside the rest of CI
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, axe: string(axe), dir: dir}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.noteError("exception: "+ev.ExceptionDetails.Error(), "")
		case *log.EventEntryAdded:
			// Images the test's badges point at on made-up hosts cannot
			// load here; everything the server serves must.
			if ev.Entry.Level == log.LevelError && (ev.Entry.Source != log.SourceNetwork || strings.HasPrefix(ev.Entry.URL, "http://127.0.0.1")) {
				b.noteError(fmt.Sprintf("%s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL), ev.Entry.URL)
			}
		}
	})
	if err := chromedp.Run(ctx, log.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("start Chromium (%s): %v", bin, err)
	}
	t.Logf("screenshots of %s go to %s", t.Name(), dir)
	return b
}

// consoleError is an error the page logged; url is the resource it is
// about, when it is one.
type consoleError struct{ text, url string }

func (b *browser) noteError(text, url string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, consoleError{text, url})
}

// run runs actions in the tab, failing the test on an error.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// open loads url and waits for its body.
func (b *browser) open(url string) {
	b.t.Helper()
	b.run("open "+url, chromedp.Navigate(url), chromedp.WaitReady("body", chromedp.ByQuery))
}

// submit fills the fields of a form (selector → value), clicks button and
// waits until the next page has loaded: the old document is marked
// first, so a page that has not changed yet is not taken for the next.
func (b *browser) submit(fields map[string]string, button string) {
	b.t.Helper()
	var actions []chromedp.Action
	for sel, v := range fields {
		actions = append(actions, chromedp.SetValue(sel, v, chromedp.ByQuery))
	}
	actions = append(actions, chromedp.Evaluate(`window.__credenceBefore = true`, nil),
		chromedp.Click(button, chromedp.ByQuery))
	b.run("submit "+button, actions...)
	// Evaluating in a page that is being replaced fails: try again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var loaded bool
		err := chromedp.Run(b.ctx, chromedp.Evaluate(`!window.__credenceBefore && document.readyState === 'complete'`, &loaded))
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: after %s no new page loaded (last error: %v)", button, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the visible text of the page.
func (b *browser) text() string {
	b.t.Helper()
	var s string
	b.run("read the page", chromedp.Text("body", &s, chromedp.ByQuery))
	return s
}

// url is the address the tab shows.
func (b *browser) url() string {
	b.t.Helper()
	var s string
	b.run("read the address", chromedp.Location(&s))
	return s
}

// see fails the test unless the page's text holds every phrase.
func (b *browser) see(phrases ...string) {
	b.t.Helper()
	text := b.text()
	for _, p := range phrases {
		if !strings.Contains(text, p) {
			b.t.Fatalf("the page at %s does not show %q; it shows:\n%s", b.url(), p, text)
		}
	}
}

// has fails the test unless the page has an element matching selector.
func (b *browser) has(selector string) {
	b.t.Helper()
	var n int
	b.run("count "+selector, chromedp.Evaluate(fmt.Sprintf(`document.querySelectorAll(%q).length`, selector), &n))
	if n == 0 {
		b.t.Fatalf("the page at %s has no %s", b.url(), selector)
	}
}

// page checks the page a person now sees: a screenshot under the
// artifacts folder (name), no console error, no serious or critical
// axe-core violation.
func (b *browser) page(name string) {
	b.t.Helper()
	b.n++
	var png []byte
	b.run("screenshot", chromedp.FullScreenshot(&png, 100))
	file := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.mu.Lock()
	logged := b.errs
	b.errs = nil
	b.mu.Unlock()
	// The status of the page itself (a private credential's 403) is the
	// answer the test expects; a resource of the page that fails is not.
	here := b.url()
	var errs []string
	for _, e := range logged {
		if e.url != here {
			errs = append(errs, e.text)
		}
	}
	if len(errs) > 0 {
		b.t.Errorf("page %s (%s) logged errors:\n%s", name, here, strings.Join(errs, "\n"))
	}
	b.checkAccessibility(name)
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkAccessibility runs axe-core in the page (WCAG 2.x A and AA rules
// and best practices) and fails on serious and critical violations.
func (b *browser) checkAccessibility(name string) {
	b.t.Helper()
	var raw string
	script := b.axe + `;
(async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return JSON.stringify(r.violations);
})()`
	b.run("axe-core", chromedp.Evaluate(script, &raw, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.t.Fatalf("axe-core result: %v", err)
	}
	var found []string
	for _, v := range vs {
		found = append(found, v.Impact+" "+v.ID)
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("page %s: axe-core %s violation %s: %s, at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
	// The run's record (go test -v): what axe-core found on each page.
	b.t.Logf("axe-core on %s: %d violations %v", name, len(vs), found)
}

// narrow shows the page as a 360 px wide phone would and fails if
// anything makes it scroll sideways.
func (b *browser) narrow(name string) {
	b.t.Helper()
	b.run("360 px viewport", emulation.SetDeviceMetricsOverride(360, 740, 2, true), chromedp.Reload(),
		chromedp.WaitReady("body", chromedp.ByQuery))
	var over []string
	b.run("measure", chromedp.Evaluate(`(() => {
  const out = [];
  // A phone's layout viewport grows to fit content that is too wide:
  // measure against the screen, not the viewport.
  if (document.documentElement.scrollWidth > 360) out.push('page ' + document.documentElement.scrollWidth + 'px');
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > 361) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).replace(/ /g, '.') : '') + ' ends at ' + Math.round(r.right) + 'px');
  }
  return out.slice(0, 10);
})()`, &over))
	b.page(name + "-360px")
	b.run("desktop viewport", emulation.ClearDeviceMetricsOverride(), chromedp.Reload(), chromedp.WaitReady("body", chromedp.ByQuery))
	if len(over) > 0 {
		b.t.Errorf("page %s overflows a 360 px screen: %s", name, strings.Join(over, "; "))
	}
}
