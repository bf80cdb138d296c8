//go:build unix

package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	chromiumtest "github.com/synack/synack/internal/chromium"
)

func chromium(t *testing.T) string { return chromiumtest.Find(t) }

func runChromium(t *testing.T, bin, url string, extra ...string) (stdout, stderr []byte) {
	return chromiumtest.Run(t, bin, url, extra...)
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

var consoleLine = chromiumtest.Console

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
