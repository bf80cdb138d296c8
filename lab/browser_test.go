package lab

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromium finds a headless-capable Chromium, or skips the test (fails
// it where CI demands every environment-dependent test run), as package
// trace's browser test does.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not installed (apt-get install chromium); the lab is not driven in a browser"
	if os.Getenv("SYNACK_REQUIRE_NETNS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium with a profile of its own, in a
// process group of its own that the test kills when it ends, and returns
// a tab and what the pages write to the console as errors or warnings,
// and their uncaught exceptions.
func browser(t *testing.T) (context.Context, func() []string) {
	bin := chromium(t)
	var cmd *exec.Cmd
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1366, 900),
		chromedp.ModifyCmdFunc(func(c *exec.Cmd) {
			c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			cmd = c
		}),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	var mu sync.Mutex
	var msgs []string
	done := make(chan struct{})
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
		if cmd != nil && cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the browser's helpers too
		}
		<-done
	})
	if err := chromedp.Do(ctx); err != nil {
		close(done)
		t.Fatalf("starting %s: %v", bin, err)
	}
	console := chromedp.Console(ctx)
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleException, chromedp.ConsoleWarning:
				mu.Lock()
				msgs = append(msgs, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

func do(ctx context.Context, t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](ctx context.Context, t *testing.T, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%.60s: %v", js, err)
	}
	return v
}

// shots is where the screenshots go: a temporary directory, and also
// SYNACK_LAB_SHOTS if set (to look at them, or to update the README's).
func saveShot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	for _, d := range []string{dir, os.Getenv("SYNACK_LAB_SHOTS")} {
		if d == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// waitRun waits until the page shows a run other than the one drawn
// before (the timing line is rewritten at each run).
func waitRun(ctx context.Context, t *testing.T, before string) string {
	t.Helper()
	for i := 0; i < 200; i++ {
		timing := strings.TrimSpace(text(ctx, t, "#timing"))
		ladder := eval[string](ctx, t, `document.getElementById("ladder-box").innerHTML`)
		if (strings.HasSuffix(timing, "ms.") || strings.HasSuffix(timing, "毫秒。")) && ladder != before && strings.Contains(ladder, "<svg") {
			return ladder
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no new run drawn (error box: %q)", text(ctx, t, "#error"))
	return ""
}

// count evaluates a JavaScript expression giving a number.
func count(ctx context.Context, t *testing.T, js string) int {
	t.Helper()
	return eval[int](ctx, t, js)
}

func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	return eval[string](ctx, t, `document.querySelector(`+quote(sel)+`).textContent`)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// The lab driven as a learner would: open close-four-way, click its final
// ACK, choose "lose", and see B's FIN retransmitted and A's TIME-WAIT
// restarted (RFC 9293 §3.10.7.4); step back and forth; pin the run and
// compare; predict; switch to Chinese; reload from the shared URL and get
// the same run; no console error anywhere; at 390 px wide nothing
// overflows.
func TestLabInBrowser(t *testing.T) {
	ctx, consoleMsgs := browser(t)
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	shots := t.TempDir()

	do(ctx, t, chromedp.Navigate(srv.URL+"/?case=close-four-way"))
	waitRun(ctx, t, "")
	if got := text(ctx, t, "#title"); got != "close-four-way" {
		t.Fatalf("title %q", got)
	}
	finsB := `Array.from(document.querySelectorAll("#events tbody tr.k-send")).filter(r => r.cells[2].textContent == "B" && r.cells[4].textContent.includes("FIN,ACK")).length`
	twSet := `Array.from(document.querySelectorAll("#events tbody tr.k-timer")).filter(r => r.cells[2].textContent == "A" && /time-wait \d+s|2MSL 计时器 \d+/.test(r.cells[4].textContent)).length`
	if f, tw := count(ctx, t, finsB), count(ctx, t, twSet); f != 1 || tw != 1 {
		t.Fatalf("before the fault: B's FIN sent %d times, A's time-wait set %d times; want 1 and 1", f, tw)
	}

	// The final ACK: the last segment A sends.
	ev := eval[string](ctx, t, `(function(){
		var gs = document.querySelectorAll("#ladder g[data-ev][data-tip]"), last = "";
		for (var i = 0; i < gs.length; i++) if (/A → B  ACK /.test(gs[i].getAttribute("data-tip"))) last = gs[i].getAttribute("data-ev");
		return last; })()`)
	if ev == "" {
		t.Fatal("no final ACK in the ladder")
	}
	before := waitRun(ctx, t, "")
	do(ctx, t,
		chromedp.Click(chromedp.CSS(`#ladder g[data-ev="`+ev+`"] text`)),
		chromedp.WaitVisible(chromedp.CSS(`#menu button[data-act="lose"]`)),
		chromedp.Click(chromedp.CSS(`#menu button[data-act="lose"]`)))
	lost := waitRun(ctx, t, before)
	m := regexp.MustCompile(`lose packet (\d+)`).FindStringSubmatch(text(ctx, t, "#fault-list"))
	if m == nil {
		t.Fatalf("the fault list shows %q", text(ctx, t, "#fault-list"))
	}
	ackPacket := m[1]
	if f, tw := count(ctx, t, finsB), count(ctx, t, twSet); f != 2 || tw != 2 {
		t.Errorf("after losing the final ACK: B's FIN sent %d times, A's time-wait set %d times; want 2 and 2 (retransmitted, restarted)", f, tw)
	}
	if !strings.Contains(lost, "lost: lab: lose packet") {
		t.Error("the ladder does not show the ACK lost")
	}
	url1 := eval[string](ctx, t, `location.href`)
	if !strings.Contains(url1, "fault=lose") {
		t.Errorf("the URL %q does not hold the fault", url1)
	}

	// Step back and forth, by keyboard and by button: the clock, each
	// host's state and Figure 5's lit state follow.
	n := count(ctx, t, `document.querySelectorAll("#events tbody tr").length`)
	step := func(want int) {
		t.Helper()
		if c := text(ctx, t, "#clock"); !strings.Contains(c, fmt.Sprintf("step %d of %d", want, n)) {
			t.Errorf("clock %q, want step %d of %d", c, want, n)
		}
	}
	step(n)
	do(ctx, t, chromedp.KeyEvent(kb.ArrowLeft))
	step(n - 1)
	if s := text(ctx, t, "#states"); !strings.Contains(s, "A TIME-WAIT") {
		t.Errorf("one step before the end, states %q; want A in TIME-WAIT", s)
	}
	if c := count(ctx, t, `document.querySelectorAll("#fig5 .fig5-node[data-state='TIME-WAIT'] .lab-ring").length`); c != 1 {
		t.Errorf("Figure 5's TIME-WAIT is lit %d times", c)
	}
	do(ctx, t, chromedp.KeyEvent(kb.ArrowLeft), chromedp.KeyEvent(kb.ArrowLeft), chromedp.Click(chromedp.ID("fwd")))
	step(n - 2)
	// Before it fires, A's restarted 2MSL timer is shown counting down.
	if tm := text(ctx, t, "#timers"); !strings.Contains(tm, "time-wait") || !strings.Contains(tm, "s left of 60") {
		t.Errorf("no running time-wait timer shown: %q", tm)
	}
	if c := count(ctx, t, `document.querySelectorAll("#ladder .future").length`); c == 0 {
		t.Error("the events after the current step are not marked")
	}
	do(ctx, t, chromedp.KeyEvent(kb.End))
	step(n)
	if s := text(ctx, t, "#states"); !strings.Contains(s, "A CLOSED") {
		t.Errorf("at the end, states %q", s)
	}

	// Compare: pin this run, undo the fault; the pinned one stays beside.
	do(ctx, t, chromedp.Click(chromedp.ID("pin")))
	for i := 0; i < 100 && count(ctx, t, `document.querySelectorAll("#vs-ladder-box svg").length`) == 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	cur := waitRun(ctx, t, "")
	do(ctx, t, chromedp.Click(chromedp.CSS("#fault-list button")))
	waitRun(ctx, t, cur)
	if f := count(ctx, t, finsB); f != 1 {
		t.Errorf("undo: B's FIN sent %d times", f)
	}
	if !strings.Contains(text(ctx, t, "#vs-faults"), "lose packet") || count(ctx, t, `document.querySelectorAll("#vs-ladder-box svg").length`) != 1 {
		t.Error("the pinned run with the fault is not shown beside")
	}
	// Two runs drawn on one page, and the page's own boxes: every id once.
	if d := eval[[]string](ctx, t, `(function(){ var seen = {}, dup = [];
		document.querySelectorAll("[id]").forEach(function (e) { if (seen[e.id]) dup.push(e.id); seen[e.id] = true; });
		return dup.slice(0, 5); })()`); len(d) > 0 {
		t.Errorf("ids used twice: %q", d)
	}
	png := screenshot(ctx, t, 1366)
	saveShot(t, shots, "lab-compare.png", png)

	// Predict: hide what comes next, answer, see the rule.
	do(ctx, t, chromedp.Click(chromedp.ID("unpin")))
	waitRun(ctx, t, "")
	do(ctx, t, chromedp.Click(chromedp.ID("predict")))
	if c := text(ctx, t, "#clock"); !strings.Contains(c, "start") {
		t.Errorf("predict mode starts at %q", c)
	}
	for i := 0; i < 12 && count(ctx, t, `document.getElementById("quiz").hidden ? 0 : 1`) == 0; i++ {
		do(ctx, t, chromedp.Click(chromedp.ID("fwd")))
	}
	if count(ctx, t, `document.querySelectorAll("#quiz button").length`) < 2 {
		t.Fatal("predict mode asked nothing")
	}
	if count(ctx, t, `document.querySelectorAll("#ladder g.future").length`) == 0 {
		t.Error("what comes next is not hidden")
	}
	// Nor do the hosts' state bands or the times below now give it away:
	// the last instant's time is under the curtain.
	lastTime := `(function(){ var ts = document.querySelectorAll("#ladder .lad-axis"), e = ts[ts.length - 2]; // the last is the header, t (s)
		e.scrollIntoView({block: "center"}); var r = e.getBoundingClientRect();
		var at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2); return at ? at.id || at.tagName : ""; })()`
	if at := eval[string](ctx, t, lastTime); at != "curtain" {
		t.Errorf("in predict mode the run's last time shows (%s on top)", at)
	}
	saveShot(t, shots, "lab-predict.png", screenshot(ctx, t, 1366))
	do(ctx, t, chromedp.Click(chromedp.CSS("#quiz button")))
	if q := text(ctx, t, "#quiz"); !strings.Contains(q, "Right") && !strings.Contains(q, "Not quite") || !strings.Contains(q, "§") {
		t.Errorf("the answer shows %q; want right or wrong and the rule", q)
	}
	do(ctx, t, chromedp.Click(chromedp.ID("predict")))
	if at := eval[string](ctx, t, lastTime); at == "curtain" {
		t.Error("out of predict mode the curtain stays")
	}

	// Chinese.
	before = waitRun(ctx, t, "")
	do(ctx, t, chromedp.Click(chromedp.ID("lang-zh")))
	zh := waitRun(ctx, t, before)
	if s := text(ctx, t, "#summary"); !strings.Contains(s, "四次挥手") {
		t.Errorf("in Chinese the summary is %q", s)
	}
	if !strings.Contains(zh, "时间") || !strings.Contains(text(ctx, t, "#faults-h"), "故障") {
		t.Error("the ladder or the page is not in Chinese")
	}
	// Lose the final ACK again, in Chinese and by keyboard: on the
	// arrow, Enter opens the menu with "lose" focused (the Enter that
	// opened it does not also press it); Enter again loses the ACK, and
	// the focus comes back to the same arrow in the new drawing.
	do(ctx, t, chromedp.Evaluate[chromedp.Void](`document.querySelector('#ladder g[data-ev="`+ev+`"]').focus()`),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#menu button[data-act="lose"]`)))
	if f := eval[string](ctx, t, `document.activeElement.getAttribute("data-act") || ""`); f != "lose" {
		t.Errorf("the fault menu opened by Enter focuses %q, not lose", f)
	}
	do(ctx, t, chromedp.Sleep(100*time.Millisecond))
	if n := count(ctx, t, `document.querySelectorAll("#fault-list button").length`); n != 0 {
		t.Error("the Enter that opened the menu also chose a fault")
	}
	do(ctx, t, chromedp.KeyEvent(kb.Enter))
	shown := waitRun(ctx, t, zh)
	for i := 0; i < 50 && eval[string](ctx, t, `document.activeElement.getAttribute("data-ev") || ""`) != ev; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if f := eval[string](ctx, t, `document.activeElement.getAttribute("data-ev") || document.activeElement.tagName`); f != ev {
		t.Errorf("after the fault, the focus is on %q, not on event %s", f, ev)
	}
	// The page's words, the settings, the fault and the trace's name for
	// it are Chinese too.
	if l := text(ctx, t, `#settings [data-set="msl"] span`); !strings.Contains(l, "报文段最大生存时间") {
		t.Errorf("in Chinese the MSL setting is labelled %q", l)
	}
	if f := text(ctx, t, "#fault-list"); !strings.Contains(f, "丢失第 "+ackPacket+" 个分组") || !strings.Contains(f, "撤销") {
		t.Errorf("in Chinese the fault list shows %q", f)
	}
	if !strings.Contains(shown, "丢失：实验：丢失第 "+ackPacket+" 个分组") {
		t.Error("in Chinese the ladder does not name the fault in Chinese")
	}
	saveShot(t, shots, "lab-zh.png", screenshot(ctx, t, 1366))
	rows := text(ctx, t, "#events tbody")
	share := eval[string](ctx, t, `document.getElementById("share").href`)
	if !strings.Contains(share, "lang=zh") || !strings.Contains(share, "fault=lose") {
		t.Errorf("the shared URL %q", share)
	}
	do(ctx, t, chromedp.Navigate(share))
	again := waitRun(ctx, t, "")
	if again != shown || text(ctx, t, "#events tbody") != rows {
		t.Error("the shared URL draws another run")
	}
	if f := count(ctx, t, finsB); f != 2 {
		t.Errorf("from the shared URL, B's FIN sent %d times", f)
	}

	if msgs := consoleMsgs(); len(msgs) > 0 {
		t.Errorf("console errors: %q", msgs)
	}
	seen := len(consoleMsgs())

	// A malformed experiment in the URL: a message, no crash.
	do(ctx, t, chromedp.Navigate(srv.URL+"/?case=close-four-way&msl=soon"))
	for i := 0; i < 100 && text(ctx, t, "#error") == ""; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if e := text(ctx, t, "#error"); !strings.Contains(e, "not a duration") {
		t.Errorf("a bad setting shows %q", e)
	}
	// An impossible setting typed in the form, far down the page: the
	// message is in view, and says what to change.
	do(ctx, t, chromedp.Navigate(srv.URL+"/?case=close-four-way"))
	waitRun(ctx, t, "")
	do(ctx, t, chromedp.Click(chromedp.CSS("#settings-box summary")),
		chromedp.SendKeys(chromedp.CSS(`#settings input[name="rto-min"]`), "5s"+kb.Enter))
	for i := 0; i < 100 && text(ctx, t, "#error") == ""; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if e := text(ctx, t, "#error"); !strings.Contains(e, "rto-min (5s) is above rto-initial (1s)") {
		t.Errorf("rto-min above rto-initial shows %q", e)
	}
	if !eval[bool](ctx, t, `(function(){ var r = document.getElementById("error").getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight && r.height > 0; })()`) {
		t.Error("the message about the setting is out of view")
	}

	// Phone width, as a phone opens the page: nothing wider than the
	// screen; the diagrams at their own size, scrolling in their boxes.
	do(ctx, t, chromedp.EmulateViewport(390, 900), chromedp.Navigate(srv.URL+"/?case=close-four-way&fault=lose:7"))
	waitRun(ctx, t, "")
	png = screenshot(ctx, t, 390)
	if w := count(ctx, t, `Math.round(document.querySelector("#ladder-box svg").getBoundingClientRect().width)`); w < 1000 {
		t.Errorf("at 390 px the ladder is drawn %d px wide, too small to read", w)
	}
	if w := count(ctx, t, `Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)`); w > 390 {
		t.Errorf("at 390 px the page is %d px wide", w)
	}
	wide := eval[[]string](ctx, t, `Array.from(document.querySelectorAll("body *")).filter(e => {
		var r = e.getBoundingClientRect(); if (!r.width) return false;
		for (var p = e.parentElement; p; p = p.parentElement) if (getComputedStyle(p).overflowX == "auto") return false;
		return r.right > window.innerWidth + 0.5 || r.left < -0.5; }).map(e => e.tagName + "#" + e.id + "." + e.className).slice(0, 5)`)
	if len(wide) > 0 {
		t.Errorf("at 390 px these stick out: %v", wide)
	}
	saveShot(t, shots, "lab-390.png", png)
	saveShot(t, shots, "lab-desktop.png", screenshot(ctx, t, 1366))
	// The browser reports the 400 of the bad setting; nothing else.
	for _, m := range consoleMsgs()[seen:] {
		if !strings.Contains(m, "status of 400") {
			t.Errorf("console error: %q", m)
		}
	}
}

// screenshot sets the window's width and takes the whole page.
func screenshot(ctx context.Context, t *testing.T, width int) []byte {
	t.Helper()
	do(ctx, t, chromedp.EmulateViewport(int64(width), 900), chromedp.Sleep(300*time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	return png
}
