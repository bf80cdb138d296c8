//go:build unix

package trace

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium, or skips the test (fails
// it where CI demands every environment-dependent test run).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not installed (apt-get install chromium); the HTML report is not checked in a browser"
	if os.Getenv("SYNACK_REQUIRE_NETNS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// runChromium loads url in a fresh headless Chromium with its own
// profile and no network activity of its own, and returns its stdout and
// stderr. Chromium runs in a process group of its own, so that if it
// hangs the deadline kills it and its helper processes, and nothing else.
func runChromium(t *testing.T, bin, url string, extra ...string) (stdout, stderr []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	args = append(append(args, extra...), url)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.Bytes(), errb.Bytes()
}

// selfTest is appended to the report for the browser test only: it
// hovers and clicks every linked element, so an exception in the
// report's script shows in the console, and marks the page when done.
const selfTest = `<script>
(function () {
  var els = document.querySelectorAll("[data-ev]");
  for (var i = 0; i < els.length; i++) {
    els[i].dispatchEvent(new MouseEvent("mouseover", {bubbles: true, clientX: 20, clientY: 20}));
    document.dispatchEvent(new MouseEvent("mousemove", {bubbles: true, clientX: 300, clientY: 1900}));
    els[i].dispatchEvent(new MouseEvent("click", {bubbles: true}));
  }
  document.body.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
  document.body.setAttribute("data-selftest", "ok " + els.length);
})();
</script>
`

var consoleLine = regexp.MustCompile(`(?m)^.*(CONSOLE|Uncaught).*$`)

// TestHTMLInBrowser opens reports in headless Chromium from file:// URLs:
// the ladder, the state diagram and the table must be in the DOM, the
// report's script must have run (it moves each ladder title into a
// tooltip attribute), hovering and clicking everything must raise no
// error, and nothing may be written to the console. A screenshot is
// taken too (kept in $SYNACK_SCREENSHOTS if set, for a person to judge).
func TestHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromium(t)
	dir := t.TempDir()
	for _, c := range []struct {
		run  int
		lang string
	}{{0, "en"}, {1, "zh"}, {4, "en"}} {
		tr := testRuns[c.run]
		ev := record(tr)
		var b bytes.Buffer
		if err := HTML(&b, ev, options(tr, c.lang)); err != nil {
			t.Fatal(err)
		}
		page := strings.Replace(b.String(), "</body>", selfTest+"</body>", 1)
		path := filepath.Join(dir, tr.name+"."+c.lang+".html")
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		url := "file://" + path
		dom, logs := runChromium(t, bin, url, "--enable-logging=stderr", "--v=0", "--dump-dom")
		for _, m := range consoleLine.FindAll(logs, -1) {
			t.Errorf("%s: console: %s", tr.name, m)
		}
		n := len(newLadder(ev, Options{}).ev)
		for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg" width=`, `id="ladder"`, `id="fig5"`, `<table id="events">`,
			`data-selftest="ok `, `data-tip="`} {
			if !bytes.Contains(dom, []byte(want)) {
				t.Errorf("%s: the DOM lacks %s", tr.name, want)
			}
		}
		if got := bytes.Count(dom, []byte("<tr data-ev=")); got != n {
			t.Errorf("%s: the DOM's table has %d rows, want %d", tr.name, got, n)
		}
		if bytes.Contains(dom, []byte(`class="lad-hit" data-ev="0"><title>`)) {
			t.Errorf("%s: the script did not turn the ladder's titles into tooltips", tr.name)
		}

		keep := os.Getenv("SYNACK_SCREENSHOTS")
		if c.run != 0 && keep == "" {
			continue // one screenshot proves it renders; more are for people
		}
		plain := filepath.Join(dir, tr.name+"."+c.lang+".plain.html")
		if err := os.WriteFile(plain, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		shot := filepath.Join(dir, tr.name+"."+c.lang+".png")
		runChromium(t, bin, "file://"+plain, "--hide-scrollbars", "--screenshot="+shot, "--window-size=1400,2000")
		png, err := os.ReadFile(shot)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 20000 {
			t.Errorf("%s: no screenshot (%v, %d bytes)", tr.name, err, len(png))
		}
		if keep != "" && err == nil {
			if err := os.WriteFile(filepath.Join(keep, filepath.Base(shot)), png, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
}
