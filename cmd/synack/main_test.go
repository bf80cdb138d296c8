package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synack/synack/scenario"
	"github.com/synack/synack/trace"
)

func runCLI(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), err
}

// Mistakes print a clear message and exit 2; --help exits 0.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string // in stderr
	}{
		{nil, "usage: synack"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"demo", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"demo", "--lang", "fr"}, "--lang must be en or zh"},
		{[]string{"scenario"}, "usage: synack scenario"},
		{[]string{"scenario", "run"}, "which scenario?"},
		{[]string{"scenario", "run", "close-for-way"}, "did you mean close-four-way"},
		{[]string{"scenario", "run", "lost-last-akc"}, "did you mean lost-last-ack"},
		{[]string{"scenario", "run", "handshake", "--format", "pdf"}, "--format must be"},
		{[]string{"scenario", "run", "handshake", "--loss", "2"}, "--loss must be between 0 and 1"},
		{[]string{"lab", "--port", "80"}, "flag provided but not defined"},
		{[]string{"lab", "--addr", "localhost"}, "missing port"},
		{[]string{"lab", "extra"}, `unexpected argument "extra"`},
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
	for _, args := range [][]string{{"help"}, {"demo", "--help"}, {"scenario", "run", "--help"}, {"scenario", "list", "-h"}, {"lab", "--help"}} {
		if _, _, err := runCLI(args...); err != nil && !errors.Is(err, errHelp) {
			t.Errorf("%q: %v, want success", args, err)
		}
	}
}

// scenario list names every scenario of DESIGN.md, in English and Chinese.
func TestScenarioList(t *testing.T) {
	for _, lang := range []string{"en", "zh"} {
		out, _, err := runCLI("scenario", "list", "--lang", lang)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(scenario.Names()) {
			t.Fatalf("%d lines, want %d", len(lines), len(scenario.Names()))
		}
		for i, n := range scenario.Names() {
			if !strings.HasPrefix(lines[i], n+" ") {
				t.Errorf("line %d %q does not start with %s", i, lines[i], n)
			}
		}
	}
}

// scenario run --format json writes JSON lines with the states and
// segments; -o and --pcap write files.
func TestScenarioRunFiles(t *testing.T) {
	dir := t.TempDir()
	js, pc := filepath.Join(dir, "run.jsonl"), filepath.Join(dir, "run.pcap")
	_, stderr, err := runCLI("scenario", "run", "close-four-way", "--format", "json", "-o", js, "--pcap", pc)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if !strings.Contains(stderr, "✓") {
		t.Errorf("the verdict should go to stderr: %q", stderr)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	events, err := trace.ReadJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	var fins, timeWait int
	for _, e := range events {
		if e.Event == trace.KindSend && strings.Contains(e.Flags, "FIN") {
			fins++
		}
		if e.Event == trace.KindState && e.To == "TIME-WAIT" {
			timeWait++
		}
	}
	if fins != 2 || timeWait != 1 {
		t.Fatalf("JSON shows %d FINs and %d entries into TIME-WAIT; want 2 and 1", fins, timeWait)
	}
	if st, err := os.Stat(pc); err != nil || st.Size() < 24+10*16 {
		t.Fatalf("pcap file: %v, %v", st, err)
	}
}

// The text ladder goes to stdout with the verdict.
func TestScenarioRunText(t *testing.T) {
	out, _, err := runCLI("scenario", "run", "lost-last-ack", "--lang", "zh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TIME-WAIT", "LAST-ACK", "结论", "✓"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// synack lab serves its page on the address given and prints the URL;
// it stops when its context ends.
func TestLabServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"lab", "--addr", "127.0.0.1:0"}, pw, io.Discard); pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "synack lab: ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("printed %q, want the lab's URL", line)
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "synack") {
		t.Errorf("GET %s: %d %q", url, resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("lab ended with %v", err)
	}
}
