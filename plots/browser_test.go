package plots

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser finds a headless-capable Chromium, or says why there is none.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (chromium, chromium-browser, google-chrome): the report is not checked in a browser; .ci/run installs Debian's chromium")
	return ""
}

// probe runs in a copy of the page once it has loaded, and writes what the
// browser made of it into the DOM for --dump-dom to return.
const probe = `<script>
addEventListener('load', () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  const empty = [...document.querySelectorAll('figure')].filter(f => {
    const s = f.querySelector('svg');
    if (!s) return true;
    const r = s.getBoundingClientRect();
    return r.width < 50 || r.height < 50 || s.querySelectorAll('path, text').length < 5;
  }).map(f => f.id || '(no id)');
  const out = document.createElement('pre');
  out.id = 'kbench-probe';
  out.textContent = JSON.stringify({figures: document.querySelectorAll('figure').length, broken, empty});
  document.body.appendChild(out);
});
</script>`

type pageCheck struct {
	Figures int      `json:"figures"`
	Broken  []string `json:"broken"`
	Empty   []string `json:"empty"`
	Console []string `json:"-"`
}

func (c *pageCheck) problems() []string {
	var out []string
	for _, m := range c.Console {
		out = append(out, "console: "+m)
	}
	for _, b := range c.Broken {
		out = append(out, "image not loaded: "+b)
	}
	for _, e := range c.Empty {
		out = append(out, "empty figure: "+e)
	}
	return out
}

var consoleLine = regexp.MustCompile(`:CONSOLE(?:\(\d+\))?[^\]]*\] (.*)`)

// checkPage loads page (with the probe appended, from a copy beside it so
// relative paths resolve) in headless Chromium and returns what went wrong.
// Any console message counts: the report runs no script of its own, so a
// message can only be an error (a resource refused, a parse failure).
func checkPage(t *testing.T, chrome, page string) *pageCheck {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	if i := strings.LastIndex(body, "</body>"); i >= 0 {
		body = body[:i] + probe + body[i:]
	} else {
		body += probe
	}
	probed := filepath.Join(filepath.Dir(page), ".probe-"+filepath.Base(page))
	if err := os.WriteFile(probed, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(probed)
	stdout, stderr := runChrome(t, chrome, "--dump-dom", "--virtual-time-budget=5000", "file://"+probed)
	m := regexp.MustCompile(`(?s)<pre id="kbench-probe">(.*?)</pre>`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("the probe did not run in %s (stderr:\n%s)", page, stderr)
	}
	var c pageCheck
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &c); err != nil {
		t.Fatalf("probe output %q: %v", m[1], err)
	}
	for _, l := range strings.Split(stderr, "\n") {
		if mm := consoleLine.FindStringSubmatch(l); mm != nil {
			c.Console = append(c.Console, mm[1])
		}
	}
	return &c
}

func runChrome(t *testing.T, chrome string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--no-first-run", "--hide-scrollbars"}
	cmd := exec.CommandContext(ctx, chrome, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", chrome, args, err, errb.String())
	}
	return out.String(), errb.String()
}

// The checker itself must see what it looks for: a script error, an image
// that does not load and a figure with nothing in it.
func TestBrowserCheckFailsBrokenPage(t *testing.T) {
	chrome := browser(t)
	page := filepath.Join(t.TempDir(), "bad.html")
	bad := `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<figure id="fig-empty"><svg width="300" height="200"></svg></figure>
<img src="missing.png" alt="x"><script>nosuch();</script></body></html>`
	if err := os.WriteFile(page, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	c := checkPage(t, chrome, page)
	got := strings.Join(c.problems(), "\n")
	for _, want := range []string{"console: ", "image not loaded: missing.png", "empty figure: fig-empty"} {
		if !strings.Contains(got, want) {
			t.Errorf("the check missed %q; it found:\n%s", want, got)
		}
	}
}

// TestReportInBrowser opens a comparison report in headless Chromium: no
// console error, every figure drawn, nothing missing; it saves a
// screenshot ($KBENCH_SCREENSHOT, else kbench-report.png in the temporary
// directory) for a person to look at.
func TestReportInBrowser(t *testing.T) {
	chrome := browser(t)
	head := sample(t, 1.3)
	head.Env.Kernel = "6.12.0"
	dir, figs, _ := reportFor(t, []*Input{input("a", sample(t, 1)), input("b", head)})
	page := filepath.Join(dir, "report.html")
	// KBENCH_REPORT checks a report of real runs instead.
	if p := os.Getenv("KBENCH_REPORT"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		page, figs = p, make([]*Fig, strings.Count(string(b), "<figure "))
	}
	c := checkPage(t, chrome, page)
	if c.Figures != len(figs) {
		t.Errorf("the browser saw %d figures, the report has %d", c.Figures, len(figs))
	}
	for _, p := range c.problems() {
		t.Error(p)
	}
	shot := os.Getenv("KBENCH_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(os.TempDir(), "kbench-report.png")
	}
	runChrome(t, chrome, "--window-size=1280,2000", "--screenshot="+shot, "file://"+page)
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v (%d bytes)", shot, err, sizeOf(st))
	}
	t.Logf("screenshot: %s (%d kB)", shot, st.Size()/1024)
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}
