package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synack/synack/trace"
)

// capture writes a scenario's pcap, taken at host at, and returns its path.
func capture(t *testing.T, name, at string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+"-"+at+".pcap")
	if _, _, err := runCLI("scenario", "run", name, "--pcap", path, "--pcap-at", at, "--format", "json", "-o", filepath.Join(t.TempDir(), "x.json")); err != nil {
		t.Fatalf("scenario run %s: %v", name, err)
	}
	return path
}

func TestDrawUsage(t *testing.T) {
	file := capture(t, "handshake", "A")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"draw"}, "which capture?"},
		{[]string{"draw", file, "--format", "pdf"}, "--format must be text, json, svg or html"},
		{[]string{"draw", file, "--lang", "fr"}, "--lang must be en or zh"},
		{[]string{"draw", file, "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"draw", file, "extra"}, `unexpected argument "extra"`},
		{[]string{"draw", file, "--conn", "7"}, "--conn 7: the capture has connections 1 to 1"},
		{[]string{"draw", file, "--conn", ":443"}, "matches no connection"},
		{[]string{"scenario", "run", "handshake", "--pcap-at", "C"}, "--pcap-at must be A or B"},
	}
	for _, c := range cases {
		_, stderr, err := runCLI(c.args...)
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: err %v, want a usage error (exit 2)", c.args, err)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%q: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
}

// A four-way close captured at A, drawn: both ends' states are inferred,
// A's TIME-WAIT is reported as not seen to end.
func TestDrawCloseFourWay(t *testing.T) {
	file := capture(t, "close-four-way", "A")
	out, _, err := runCLI("draw", file, "--ascii")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"192.0.2.1:40000", "192.0.2.2:80",
		"SYN-SENT -> ESTABLISHED", "LISTEN -> SYN-RECEIVED", "ESTABLISHED -> FIN-WAIT-1", "ESTABLISHED -> CLOSE-WAIT",
		"FIN-WAIT-2 -> TIME-WAIT", "LAST-ACK -> CLOSED", "2MSL timer ends unseen",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ladder lacks %q:\n%s", want, out)
		}
	}
	list, _, err := runCLI("draw", file, "--list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "192.0.2.1:40000 → 192.0.2.2:80") || !strings.Contains(list, "TIME-WAIT? / CLOSED") {
		t.Errorf("--list:\n%s", list)
	}
}

// --format json writes the scenario JSON's fields; the states inferred
// for B match the ones the simulator recorded for it.
func TestDrawJSONMatchesSimulator(t *testing.T) {
	file := capture(t, "lost-fin", "A")
	out, _, err := runCLI("draw", file, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := trace.ReadJSON([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	simOut, _, err := runCLI("scenario", "run", "lost-fin", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	sim, _ := trace.ReadJSON([]byte(simOut))
	states := func(ev []trace.Event, host string) []string {
		var s []string
		for _, e := range ev {
			if e.Event == trace.KindState && e.Host == host && strings.Contains(e.Conn, "→") {
				s = append(s, e.From+">"+e.To)
			}
		}
		return s
	}
	g, w := strings.Join(states(got, "192.0.2.2:80"), " "), strings.Join(states(sim, "B"), " ")
	if g != w {
		t.Errorf("B's inferred states\n  %s\nthe simulator's\n  %s", g, w)
	}
	for _, e := range got {
		if e.IsSegment() && e.RSeq == nil {
			t.Errorf("segment without relative seq: %+v", e)
			break
		}
	}
}

func TestDrawStdinSVGHTML(t *testing.T) {
	file := capture(t, "abort-rst", "B")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	old := stdin
	defer func() { stdin = old }()
	for _, f := range []string{"svg", "html"} {
		stdin = bytes.NewReader(b)
		out, _, err := runCLI("draw", "-", "--format", f, "--lang", "zh")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(out, "<svg") || !strings.Contains(out, "ESTABLISHED") {
			t.Errorf("%s output lacks the ladder: %.200s", f, out)
		}
	}
}

// Bad input: a truncated file is drawn up to its cut with a warning; a
// file that is not a capture is an error, not a panic.
func TestDrawBadInput(t *testing.T) {
	file := capture(t, "handshake", "A")
	b, _ := os.ReadFile(file)
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	os.WriteFile(cut, b[:len(b)-7], 0o644)
	out, stderr, err := runCLI("draw", cut)
	if err != nil || !strings.Contains(stderr, "file ends inside a record") || !strings.Contains(out, "SYN-SENT") {
		t.Errorf("truncated: err %v, stderr %q, out %.100q", err, stderr, out)
	}
	junk := filepath.Join(t.TempDir(), "junk.pcap")
	os.WriteFile(junk, []byte("not a capture at all"), 0o644)
	if _, _, err := runCLI("draw", junk); err == nil || !strings.Contains(err.Error(), "not a pcap or pcapng file") {
		t.Errorf("junk: %v", err)
	}
}

// captureWithTruth writes a scenario's pcap taken at at and returns its
// path and the simulator's events.
func captureWithTruth(t *testing.T, name, at string) (string, []trace.Event) {
	t.Helper()
	dir := t.TempDir()
	path, js := filepath.Join(dir, name+".pcap"), filepath.Join(dir, name+".json")
	if _, _, err := runCLI("scenario", "run", name, "--pcap", path, "--pcap-at", at, "--format", "json", "-o", js); err != nil {
		t.Fatalf("scenario run %s: %v", name, err)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := trace.ReadJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return path, ev
}

// --list counts each side's payload bytes once, retransmissions not
// again: the simulator's sends say how many distinct bytes each host put
// on the wire (the highest relative sequence number reached, less the
// SYN's one).
func TestDrawListBytes(t *testing.T) {
	for _, name := range []string{"half-close", "fin-with-data", "lost-syn"} {
		file, ev := captureWithTruth(t, name, "A")
		want := map[string]uint32{}
		for _, e := range ev {
			if e.Event == trace.KindSend && e.Len > 0 && e.RSeq != nil {
				end := *e.RSeq + uint32(e.Len) - 1
				want[e.Host] = max(want[e.Host], end)
			}
		}
		out, _, err := runCLI("draw", file, "--list")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(out, "\n")
		f := strings.Fields(lines[1])
		// #, client, →, server, start, duration, bytes →, bytes ←, ...
		if len(f) < 8 {
			t.Fatalf("%s: list row %q", name, lines[1])
		}
		if got := fmt.Sprint(want["A"]) + " " + fmt.Sprint(want["B"]); f[6]+" "+f[7] != got {
			t.Errorf("%s: bytes → ← %s %s, the simulator sent %s\n%s", name, f[6], f[7], got, out)
		}
		if want["A"]+want["B"] == 0 {
			t.Errorf("%s: no data in the scenario: the test checks nothing", name)
		}
	}
}

// --lang zh puts infer's own words in Chinese too: the marks' rules
// (with their figures), the notes on what the capture cannot show, the
// anomaly lines. No English sentence of infer's is left.
func TestDrawChinese(t *testing.T) {
	english := []string{"retransmission timeout", "after the previous copy", "SYN retry", "duplicate ACK", "the capture's end",
		"whether it", "× retransmission", "× syn-retry", "not shown", "handshake never completed", "by way of", "frame "}
	for _, c := range []struct{ name, at string }{{"lost-syn", "A"}, {"lost-fin", "B"}, {"half-close", "A"}, {"refused", "B"}} {
		file := capture(t, c.name, c.at)
		en, _, err := runCLI("draw", file, "--ascii")
		if err != nil {
			t.Fatal(err)
		}
		zh, _, err := runCLI("draw", file, "--ascii", "--lang", "zh")
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, w := range english {
			if strings.Contains(en, w) {
				found++
			}
			if strings.Contains(zh, w) {
				t.Errorf("%s at %s, --lang zh: %q is left in English:\n%s", c.name, c.at, w, zh)
			}
		}
		if found == 0 {
			t.Errorf("%s at %s: none of infer's sentences in the English drawing: the test checks nothing", c.name, c.at)
		}
		for _, w := range []string{"抓包", "帧"} {
			if strings.Count(en, "»") > 0 && !strings.Contains(zh, w) {
				t.Errorf("%s at %s, --lang zh: no %q in\n%s", c.name, c.at, w, zh)
			}
		}
	}
}

// Without --conn, svg and html draw every connection: one SVG with a
// ladder per connection, one page with a report per connection; --max
// cuts it short and says so.
func TestDrawManyConnections(t *testing.T) {
	file := capture(t, "process-exit", "A") // two connections
	svg, _, err := runCLI("draw", file, "--format", "svg")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(svg, "<svg "); n != 3 {
		t.Errorf("svg: %d <svg> elements, want the document and 2 ladders", n)
	}
	if !strings.Contains(svg, "#1 192.0.2.1:40000") || !strings.Contains(svg, "#2 192.0.2.1:40001") {
		t.Errorf("svg lacks a connection's title")
	}
	page, _, err := runCLI("draw", file, "--format", "html")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(page, "<iframe "); n != 2 {
		t.Errorf("html: %d frames, want 2", n)
	}
	one, stderr, err := runCLI("draw", file, "--format", "html", "--max", "1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(one, "<iframe ") || !strings.Contains(one, "#1 192.0.2.1:40000") || !strings.Contains(stderr, "drawing the first 1") {
		t.Errorf("--max 1: stderr %q; page %.200s", stderr, one)
	}
	if _, _, err := runCLI("draw", file, "--max", "0"); !errors.Is(err, errUsage) {
		t.Errorf("--max 0: %v, want a usage error", err)
	}
}
