package trace

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./trace -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./trace -update and review the diff\n%s", path, firstDiff(want, got))
	}
}

func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + a + "\ngot:  " + b
		}
	}
	return ""
}

func render(t *testing.T, f func(io.Writer, []Event, Options) error, ev []Event, o Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b, ev, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zhTitles are the runs' names and descriptions as the Chinese CLI shows
// them, so the Chinese goldens have Chinese headers too.
var zhTitles = map[string][2]string{
	"close-four-way":           {"四次挥手", "A 发送数据后先关闭；B 读完数据、读到 EOF，一秒后再关闭：四个报文段，随后 A 在 TIME-WAIT 等待 2MSL。"},
	"lost-fin":                 {"FIN 丢失", "A 的 FIN 丢失；A 在 RTO 超时后以相同序号重传；B 确认、读到 EOF 并关闭；A 在 TIME-WAIT 等待 2MSL。"},
	"refused":                  {"连接被拒绝", "A 的 SYN 到达一个没有监听的端口：B 回复 RST+ACK（确认号 ack=x+1），A 的应用得到 ECONNREFUSED。"},
	"close-three-way":          {"三次挥手", "B 的应用读到 EOF 后立即关闭，于是 B 对 A 的 FIN 的确认与 B 自己的 FIN 合并为一个报文段：三个报文段。"},
	"late-segment-after-close": {"关闭后迟到的报文段", "B 的数据的一个副本在网络中滞留，A 关闭后才到达：A 回复 RST；处于 TIME-WAIT 的 B 拒收这个 RST。"},
}

func options(tr testRun, lang string) Options {
	o := Options{Title: tr.name, Description: tr.desc, Lang: lang}
	if lang == "zh" {
		o.Title, o.Description = zhTitles[tr.name][0], zhTitles[tr.name][1]
	}
	return o
}

// TestGolden draws every run as text (English, Chinese, ASCII, and one in
// colour), SVG, and HTML, and compares with the files in testdata/.
func TestGolden(t *testing.T) {
	for _, tr := range testRuns {
		t.Run(tr.name, func(t *testing.T) {
			ev := record(tr)
			en, zh := options(tr, "en"), options(tr, "zh")
			golden(t, tr.name+".en.txt", render(t, Text, ev, en))
			golden(t, tr.name+".zh.txt", render(t, Text, ev, zh))
			ascii := en
			ascii.ASCII = true
			golden(t, tr.name+".ascii.txt", render(t, Text, ev, ascii))
			golden(t, tr.name+".svg", render(t, SVG, ev, en))
			switch tr.name {
			case "close-four-way":
				color := en
				color.Color = true
				golden(t, tr.name+".color.txt", render(t, Text, ev, color))
				golden(t, tr.name+".html", render(t, HTML, ev, en))
			case "lost-fin":
				golden(t, tr.name+".zh.svg", render(t, SVG, ev, zh))
				golden(t, tr.name+".zh.html", render(t, HTML, ev, zh))
			}
		})
	}
}

// TestDeterministic: the same run drawn twice gives the same bytes (that
// a run repeated records the same events is sim's TestRecordedRuns).
func TestDeterministic(t *testing.T) {
	for _, tr := range testRuns {
		a, b := record(tr), record(tr)
		for _, f := range []func(io.Writer, []Event, Options) error{Text, SVG, HTML} {
			if !bytes.Equal(render(t, f, a, options(tr, "zh")), render(t, f, b, options(tr, "zh"))) {
				t.Errorf("%s: two runs drew differently", tr.name)
			}
		}
	}
}

// TestJSONRoundTrip: WriteJSON then ReadJSON gives back the events,
// rseq/rack nil (no known incarnation) kept apart from 0 (the ISN).
func TestJSONRoundTrip(t *testing.T) {
	zero, one := uint32(0), uint32(1)
	extra := []Event{
		{T: 5, Host: "A", Peer: "B", Event: KindSend, Packet: 9, Flags: "SYN", Seq: 77, RSeq: &zero, Win: 1, Delay: time.Millisecond, Cause: "c"},
		{T: 6, Host: "B", Peer: "A", Event: KindSend, Packet: 10, Flags: "RST,ACK", Ack: 78, RAck: &one},
		{T: 7, Host: "B", Peer: "A", Event: KindSend, Packet: 11, Flags: "RST"}, // neither known
		{T: 8, Host: "A", Event: KindTimer, Timer: "time-wait", Action: "set", In: time.Minute, Conn: "x→y"},
		{T: 9, Host: "A", Event: KindUser, Call: "read", N: 5, Err: "ECONNRESET", Cause: "why"},
		{T: 10, Host: "A", Event: KindNote, Text: "说明 \"quoted\" <tag>"},
	}
	for _, tr := range append(testRuns, testRun{name: "extra", extra: true}) {
		ev := extra
		if !tr.extra {
			ev = record(tr)
		}
		var b bytes.Buffer
		if err := WriteJSON(&b, ev); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ev, back) {
			for i := range ev {
				if i >= len(back) || !reflect.DeepEqual(ev[i], back[i]) {
					t.Fatalf("%s: event %d changed in the round trip:\n%+v\n%+v", tr.name, i, ev[i], back[i])
				}
			}
			t.Fatalf("%s: %d events became %d", tr.name, len(ev), len(back))
		}
		for i := range back {
			if (ev[i].RSeq == nil) != (back[i].RSeq == nil) || (ev[i].RAck == nil) != (back[i].RAck == nil) {
				t.Fatalf("%s: event %d: rseq/rack nil-ness changed", tr.name, i)
			}
		}
	}
	if back, _ := ReadJSON([]byte(`{"t":1,"host":"A","event":"send","seq":5,"ack":0,"len":0,"win":0,"rseq":0}`)); back[0].RSeq == nil || *back[0].RSeq != 0 || back[0].RAck != nil {
		t.Fatalf("rseq 0 / rack absent read back as %v / %v", back[0].RSeq, back[0].RAck)
	}
	if _, err := ReadJSON([]byte("{nonsense")); err == nil {
		t.Fatal("ReadJSON accepted broken input")
	}
	if err := WriteJSON(failWriter{}, extra); err == nil {
		t.Fatal("WriteJSON hid a write error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestTextWidth: no line of the text ladder is wider than Options.Width
// columns, counting a Chinese character as two, for every run, language,
// width, with and without colour and box drawing.
func TestTextWidth(t *testing.T) {
	for _, tr := range testRuns {
		ev := record(tr)
		// a long Chinese note, which must wrap, and a long rule name
		ev = append(ev, Event{T: ev[len(ev)-1].T, Host: "B", Event: KindNote,
			Text: "说明：TIME-WAIT 状态持续 2MSL（两倍最长报文段寿命），保证最后一个 ACK 丢失时对方重传的 FIN 仍能得到确认，也让本连接的旧报文段在网络中消失。"},
			Event{T: ev[len(ev)-1].T, Host: "A", Peer: "B", Event: KindDrop, Flags: "FIN,PSH,ACK", Seq: 4000000000, Ack: 4000000000, Len: 1460, Win: 0,
				Cause: "script: a very long rule name that says exactly which segment the scenario drops and why it does so"})
		for _, lang := range []string{"en", "zh"} {
			for _, width := range []int{8, 20, 30, 40, 60, 72, 80, 100, 140} {
				for _, style := range []string{"plain", "color", "ascii"} {
					o := options(tr, lang)
					o.Width, o.Color, o.ASCII = width, style == "color", style == "ascii"
					o.AllTimers = width == 80
					out := string(render(t, Text, ev, o))
					for n, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
						plain := ansi.ReplaceAllString(line, "")
						if w := textWidth(plain); w > width {
							t.Errorf("%s %s width %d %s: line %d is %d columns:\n%s", tr.name, lang, width, style, n+1, w, plain)
						}
						if style == "ascii" {
							for _, r := range plain {
								if r > 0x7e && runeWidth(r) == 1 {
									t.Errorf("%s: ASCII ladder has %q in line %d: %s", tr.name, r, n+1, plain)
									break
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestTextShows checks what the pictures must make visible (SEEDS.md),
// independently of the goldens' exact layout.
func TestTextShows(t *testing.T) {
	byName := map[string]testRun{}
	for _, tr := range testRuns {
		byName[tr.name] = tr
	}
	for _, c := range []struct {
		run  string
		lang string
		want []string
	}{
		{"close-four-way", "en", []string{"ESTABLISHED → FIN-WAIT-1", "FIN-WAIT-2 → TIME-WAIT", "CLOSE-WAIT → LAST-ACK", "LAST-ACK → CLOSED",
			"FIN,ACK seq=6 ack=1", "ACK seq=1 ack=7", "⏱ time-wait 60s", "⏱ time-wait fires", "app: read → EOF", "59.990 s later", "§3.10.8"}},
		{"lost-fin", "en", []string{"✗", "lost: script: lose A's first FIN", "⏱ retransmit fires", "RFC 6298 §5.4", "FIN,ACK seq=4 ack=1 ──"}},
		{"refused", "en", []string{"RST,ACK seq=0 ack=1", "app: ECONNREFUSED", "SYN-SENT → CLOSED", "✗ refused SYN seq=0"}},
		{"close-three-way", "en", []string{"FIN-WAIT-1 → TIME-WAIT", "(Note 2)", "FIN,ACK seq=1 ack=2"}},
		{"late-segment-after-close", "en", []string{"dup PSH,ACK", "arrives, sent at 1.000", "✗ refused RST seq=1", "unacceptable RST"}},
		{"close-four-way", "zh", []string{"时间(秒)", "应用: read → EOF", "⏱ 2MSL 计时器 60s", "⏱ 2MSL 计时器 到期", "秒后", "收到 FIN，确认它"}},
	} {
		tr := byName[c.run]
		out := string(render(t, Text, record(tr), Options{Lang: c.lang, Width: 140}))
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s (%s): ladder lacks %q:\n%s", c.run, c.lang, w, out)
			}
		}
	}
}

// TestSVGWellFormed parses every SVG and HTML report's SVGs as XML.
func TestSVGWellFormed(t *testing.T) {
	for _, tr := range testRuns {
		for _, lang := range []string{"en", "zh"} {
			svg := render(t, SVG, record(tr), options(tr, lang))
			if err := wellFormed(svg); err != nil {
				t.Errorf("%s %s: %v", tr.name, lang, err)
			}
			if !bytes.Contains(svg, []byte(`xmlns="http://www.w3.org/2000/svg"`)) {
				t.Errorf("%s: SVG lacks its namespace", tr.name)
			}
		}
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestHTMLSelfContained: the report fetches nothing — no scripts,
// styles, fonts or images from anywhere — and carries every event.
func TestHTMLSelfContained(t *testing.T) {
	for _, tr := range testRuns {
		ev := record(tr)
		out := string(render(t, HTML, ev, options(tr, "en")))
		rest := strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, "")
		rest = strings.ReplaceAll(rest, "url(#", "") // references inside the page
		for _, bad := range []string{"http://", "https://", "//cdn", "src=", "@import", "url(", "<link", "fetch(", "XMLHttpRequest", "<iframe", "<img"} {
			if strings.Contains(rest, bad) {
				t.Errorf("%s: report contains %q", tr.name, bad)
			}
		}
		l := newLadder(ev, Options{})
		if n := strings.Count(out, "<tr data-ev="); n != len(l.ev) {
			t.Errorf("%s: table has %d rows for %d events", tr.name, n, len(l.ev))
		}
		for _, want := range []string{`id="ladder"`, `id="fig5"`, `<table id="events">`, "<title>"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: report lacks %s", tr.name, want)
			}
		}
		// each of the 11 states is drawn (CLOSED twice, as in the RFC)
		for _, st := range []string{"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"} {
			if !strings.Contains(out, `data-state="`+st+`"`) {
				t.Errorf("%s: state diagram lacks %s", tr.name, st)
			}
		}
	}
}

// TestFig5 checks that every row of tcp.Transitions has a drawing, and
// that the transitions a run took are highlighted in its hosts' colours.
func TestFig5(t *testing.T) {
	var b strings.Builder
	ev := record(testRuns[0])
	fig5(&b, newLadder(ev, Options{}))
	out := b.String()
	if err := wellFormed([]byte(out)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`data-host="A"><title>A: FIN-WAIT-2 → TIME-WAIT`, `data-host="B"><title>B: CLOSE-WAIT → LAST-ACK`,
		`data-host="A"><title>A: TIME-WAIT → CLOSED`, `data-host="B"><title>B: LISTEN → SYN-RECEIVED`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("state diagram lacks %s", want)
		}
	}
	if strings.Contains(out, `data-host="A"><title>A: CLOSE-WAIT`) {
		t.Error("A never was in CLOSE-WAIT, yet it is highlighted")
	}
	for _, tr := range tcpTransitions() {
		if e, ok := fig5Edges[tr]; !ok || e.from == "" {
			t.Errorf("no drawing for %s → %s", tr[0], tr[1])
		}
	}
	// a transition outside the table is drawn, dashed, and says so
	b.Reset()
	fig5(&b, newLadder([]Event{{Host: "A", Event: KindState, From: "ESTABLISHED", To: "LISTEN"}}, Options{}))
	if !strings.Contains(b.String(), "not in tcp.Transitions") {
		t.Error("an illegal transition is not flagged")
	}
}

// TestOptions covers the column order, the timer filter and the ladder's
// handling of hosts it is told about, more than two hosts, and nothing.
func TestOptions(t *testing.T) {
	ev := record(testRuns[0])
	l := newLadder(ev, Options{})
	if !reflect.DeepEqual(l.hosts, []string{"A", "B"}) {
		t.Fatalf("hosts %v, want A left of B although B acts first", l.hosts)
	}
	if l := newLadder(ev, Options{Hosts: []string{"B", "Z"}}); !reflect.DeepEqual(l.hosts, []string{"B", "Z", "A"}) {
		t.Fatalf("hosts %v with Options.Hosts B, Z", l.hosts)
	}
	all := newLadder(ev, Options{AllTimers: true})
	if len(all.ev) <= len(l.ev) {
		t.Fatal("AllTimers shows no more events")
	}
	for _, e := range l.ev {
		if e.Event == KindTimer && (e.Action == "cancel" || e.Action == "set" && (e.Timer == "delayed-ack" || e.Timer == "retransmit")) {
			t.Fatalf("default view shows %s %s", e.Timer, e.Action)
		}
	}
	three := []Event{
		{T: 0, Host: "server", Event: KindUser, Call: "listen", Conn: "[2001:db8::2]:80"},
		{T: 0, Host: "C", Peer: "A", Event: KindSend, Packet: 1, Flags: "SYN", Seq: 1, Delay: time.Millisecond, Cause: "x"},
		{T: time.Millisecond, Host: "A", Peer: "C", Event: KindRecv, Packet: 1, Flags: "SYN", Seq: 1},
		{T: time.Millisecond, Host: "A", Peer: "server", Event: KindDrop, Packet: 2, Flags: "ACK", Cause: "partition"},
		{T: time.Millisecond, Host: "server", Event: KindHost, Text: "crash"},
		{T: 2 * time.Millisecond, Host: "C", Peer: "server", Event: KindSend, Packet: 3, Flags: "ACK"},
		{T: 3 * time.Millisecond, Host: "C", Peer: "server", Event: KindDrop, Packet: 3, Flags: "ACK", Cause: "host down"},
		{T: 4 * time.Millisecond, Host: "A", Peer: "C", Event: KindRecv, Packet: 7, Flags: "ACK", Seq: 5, Ack: 6},
		{T: 4 * time.Millisecond, Host: "A", Event: KindState, From: "CLOSED", To: "SYN-SENT"},
		{T: 4 * time.Millisecond, Host: "A", Event: KindTimer, Timer: "keepalive", Action: "set", In: 2 * time.Hour},
		{T: 5 * time.Millisecond, Host: "server", Event: KindHost, Text: "restart"},
		{T: 5 * time.Millisecond, Event: KindNote, Text: "a note for everyone"},
		{T: 6 * time.Millisecond, Host: "C", Event: KindUser, Call: "error", Err: "ETIMEDOUT", Cause: "RFC 5482: user timeout, connection timed out"},
		{T: 7 * time.Millisecond, Host: "C", Event: "mystery", Text: "?"},
	}
	for _, lang := range []string{"en", "zh"} {
		o := Options{Lang: lang, Width: 90}
		txt := string(render(t, Text, three, o))
		for _, want := range []string{"A", "C", "server", "2001:db8::2", "lost: partition", "■ crash", "ETIMEDOUT", "a note for everyone", "keepalive"} {
			if lang == "en" && !strings.Contains(txt, want) {
				t.Errorf("three-host ladder lacks %q:\n%s", want, txt)
			}
		}
		if lang == "zh" && !strings.Contains(txt, "主机崩溃") {
			t.Errorf("Chinese ladder lacks 主机崩溃:\n%s", txt)
		}
		for _, f := range []func(io.Writer, []Event, Options) error{SVG, HTML} {
			out := render(t, f, three, o)
			if f2 := render(t, f, three, o); !bytes.Equal(out, f2) {
				t.Error("not deterministic")
			}
		}
		if err := wellFormed(render(t, SVG, three, o)); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []func(io.Writer, []Event, Options) error{Text, SVG, HTML} {
		if err := f(io.Discard, nil, Options{}); err != nil {
			t.Errorf("empty trace: %v", err)
		}
		if err := f(failWriter{}, three, Options{}); err == nil {
			t.Error("a renderer hid a write error")
		}
	}
	for _, f := range []func(io.Writer, []Event, Options) error{Text, SVG, HTML} {
		if err := f(io.Discard, []Event{{Event: KindNote, Text: "only a note"}}, Options{}); err != nil {
			t.Error(err)
		}
	}
	one := []Event{{Host: "A", Event: KindState, From: "CLOSED", To: "LISTEN"}, {Host: "A", Peer: "A", Event: KindSend, Flags: "SYN", Packet: 1}}
	if out := string(render(t, Text, one, Options{})); !strings.Contains(out, "LISTEN") {
		t.Errorf("one-host ladder:\n%s", out)
	}
}

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		60 * time.Second: "60s", 200 * time.Millisecond: "200ms", 1220 * time.Millisecond: "1.22s", 2 * time.Hour: "2h",
		75 * time.Second: "75s", 15 * time.Minute: "15m", 0: "0s",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0.000", 1500 * time.Microsecond: "0.002", 63010 * time.Millisecond: "63.010", -time.Second: "-1.000"} {
		if got := fmtTime(d); got != want {
			t.Errorf("fmtTime(%v) = %q, want %q", d, got, want)
		}
	}
	if got := truncate("三次握手三次握手", 7, false); got != "三次握…" || textWidth(got) > 7 {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("abcdef", 5, true); got != "ab..." {
		t.Errorf("ASCII truncate = %q", got)
	}
	if got := wrap("the quick brown fox", 10); !reflect.DeepEqual(got, []string{"the quick", "brown fox"}) {
		t.Errorf("wrap = %q", got)
	}
	if r, w := splitCause("script: drop"); r != "" || w != "script: drop" {
		t.Errorf("splitCause of a rule name = %q, %q", r, w)
	}
	if got := shortCause("RFC 9293 §3.10.4: CLOSE, send FIN"); got != "§3.10.4 CLOSE, send FIN" {
		t.Errorf("shortCause = %q", got)
	}
}

// A segment the network lost as it left is a send and then a drop of the
// same packet at the same instant. Every view draws one arrow that stops
// short in a cross, gives both the send's cause and the fault, and does
// not show it arriving; a copy lost at a host that was down is drawn to
// the receiver's line.
func TestLostSendViewsAgree(t *testing.T) {
	ms := time.Millisecond
	events := []Event{
		{T: 0, Host: "A", Event: KindState, From: "CLOSED", To: "SYN-SENT", Cause: "RFC 9293 §3.10.1: active OPEN, send SYN"},
		{T: 0, Host: "A", Peer: "B", Event: KindSend, Packet: 1, Flags: "SYN", Cause: "RFC 9293 §3.10.1: active OPEN, send SYN"},
		{T: 0, Host: "A", Peer: "B", Event: KindDrop, Packet: 1, Flags: "SYN", Cause: "partition"},
		{T: 1000 * ms, Host: "A", Peer: "B", Event: KindSend, Packet: 2, Flags: "SYN", Cause: "RFC 6298 §5.4: retransmission timeout"},
		{T: 1000 * ms, Host: "A", Peer: "B", Event: KindDrop, Packet: 2, Flags: "SYN", Cause: "random loss"},
		{T: 3000 * ms, Host: "A", Peer: "B", Event: KindSend, Packet: 3, Flags: "SYN", Cause: "RFC 6298 §5.4: retransmission timeout", Delay: 10 * ms},
		{T: 3010 * ms, Host: "A", Peer: "B", Event: KindDrop, Packet: 3, Flags: "SYN", Cause: "host down"},
	}
	txt := string(render(t, Text, events, Options{Width: 110, ASCII: true}))
	lines := strings.Split(txt, "\n")
	count := func(sub string) (n int) {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				n++
			}
		}
		return n
	}
	// The first send's cause is the state change's, shown just above: its
	// row gives the loss. The retransmission's row gives its cause, and
	// the line under it the loss.
	if n := count("X   "); n != 2 {
		t.Errorf("%d arrows stop short in a cross, want 2:\n%s", n, txt)
	}
	for _, want := range []string{"lost: partition", "lost: random loss", "lost: host down"} {
		if count(want) != 1 {
			t.Errorf("the text ladder shows %q %d times, want once:\n%s", want, count(want), txt)
		}
	}
	if n := count("retransmission timeout"); n != 2 {
		t.Errorf("the two retransmissions' causes show %d times, want 2:\n%s", n, txt)
	}
	if count("..X") != 1 {
		t.Errorf("only the copy lost at a host that was down reaches the receiver's line:\n%s", txt)
	}

	svg := string(render(t, SVG, events, Options{}))
	if err := wellFormed([]byte(svg)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{">lost: partition<", ">lost: random loss<", ">lost: host down<", "retransmission timeout"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if n := strings.Count(svg, `class="lad-seg lad-hit"`); n != 3 {
		t.Errorf("the SVG draws %d segments, want 3 (one per send)", n)
	}
	if strings.Contains(svg, "arrives") {
		t.Error("the SVG says a lost segment arrives")
	}

	html := string(render(t, HTML, events, Options{}))
	if n := strings.Count(html, `class="k-send"`); n != 3 {
		t.Errorf("the HTML table has %d send rows, want 3", n)
	}
	if n := strings.Count(html, `class="k-drop"`); n != 3 {
		t.Errorf("the HTML table has %d drop rows, want 3", n)
	}
	if n := strings.Count(html, `→ ✗ `); n != 3 {
		t.Errorf("%d send rows say their segment was lost, want 3", n)
	}
}
