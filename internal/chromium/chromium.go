//go:build unix

// Package chromium runs headless Chromium for tests that open synack's
// HTML reports the way a person would: in a browser, with its console
// watched.
package chromium

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// Find finds a headless-capable Chromium, or skips the test (fails it
// where CI demands every environment-dependent test run:
// SYNACK_REQUIRE_NETNS=1).
func Find(t testing.TB) string {
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

// Run loads url in a fresh headless Chromium with its own profile and no
// network activity of its own, and returns its stdout and stderr.
// Chromium runs in a process group of its own, so that if it hangs the
// deadline kills it and its helper processes, and nothing else.
func Run(t testing.TB, bin, url string, extra ...string) (stdout, stderr []byte) {
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

// Console matches what Chromium's log shows of a page's console and of
// its uncaught exceptions.
var Console = regexp.MustCompile(`(?m)^.*(CONSOLE|Uncaught).*$`)

// SelfTest is appended to a report for the browser test only: it hovers
// and clicks every linked element of the page and of the pages in its
// frames, so an exception in a report's script shows in the console, and
// marks the page when done (data-selftest="ok N", N the elements met).
const SelfTest = `<script>
window.addEventListener("load", function () {
  var docs = [document], n = 0;
  var fs = document.querySelectorAll("iframe");
  for (var f = 0; f < fs.length; f++) if (fs[f].contentDocument) docs.push(fs[f].contentDocument);
  for (var d = 0; d < docs.length; d++) {
    var doc = docs[d], els = doc.querySelectorAll("[data-ev]");
    for (var i = 0; i < els.length; i++) {
      els[i].dispatchEvent(new MouseEvent("mouseover", {bubbles: true, clientX: 20, clientY: 20}));
      doc.dispatchEvent(new MouseEvent("mousemove", {bubbles: true, clientX: 300, clientY: 1900}));
      els[i].dispatchEvent(new MouseEvent("click", {bubbles: true}));
      n++;
    }
    doc.body.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
  }
  document.body.setAttribute("data-selftest", "ok " + n + " in " + docs.length);
});
</script>
`
