//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	chromiumtest "github.com/synack/synack/internal/chromium"
)

// synack draw's HTML opens in headless Chromium with no console message
// and no uncaught exception, its script runs, and hovering and clicking
// everything raises no error: one connection's report, and the page of
// several, whose reports are in frames (their scripts run there).
func TestDrawHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromiumtest.Find(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name, at, lang string
		frames         int
	}{{"lost-fin", "B", "en", 0}, {"process-exit", "A", "zh", 2}} {
		file := capture(t, c.name, c.at)
		page, _, err := runCLI("draw", file, "--format", "html", "--lang", c.lang)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(page, "<iframe "); n != c.frames {
			t.Fatalf("%s: %d frames, want %d", c.name, n, c.frames)
		}
		path := filepath.Join(dir, c.name+".html")
		if err := os.WriteFile(path, []byte(strings.Replace(page, "</body>", chromiumtest.SelfTest+"</body>", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		dom, logs := chromiumtest.Run(t, bin, "file://"+path, "--enable-logging=stderr", "--v=0",
			"--virtual-time-budget=10000", "--dump-dom")
		for _, m := range chromiumtest.Console.FindAll(logs, -1) {
			t.Errorf("%s: console: %s", c.name, m)
		}
		docs := 1 + c.frames
		want := `data-selftest="ok `
		i := bytes.Index(dom, []byte(want))
		if i < 0 {
			t.Fatalf("%s: the self-test did not run:\n%.400s", c.name, dom)
		}
		var n, d int
		if _, err := fmt.Sscanf(string(dom[i+len(want):]), "%d in %d", &n, &d); err != nil || d != docs || n == 0 {
			t.Errorf("%s: self-test met %d linked elements in %d documents, want some in %d", c.name, n, d, docs)
		}
		if c.frames == 0 && !bytes.Contains(dom, []byte(`data-tip="`)) {
			t.Errorf("%s: the report's script did not run (no tooltips)", c.name)
		}
	}
}
