package main

import (
	"bytes"
	"errors"
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
