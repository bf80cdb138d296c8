// Package tsharktest runs tshark for tests that check pcap files the way a
// person would: by opening them in Wireshark's dissectors.
package tsharktest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Run runs tshark with a fresh HOME and temp dir, so that it reads and
// writes no configuration of the machine's. Without tshark the test is
// skipped, unless SYNACK_REQUIRE_NETNS=1 (as in CI), which makes it fail.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("SYNACK_REQUIRE_NETNS") == "1" {
			t.Fatal("tshark not installed and SYNACK_REQUIRE_NETNS=1")
		}
		t.Skip("tshark not installed (apt-get install tshark); CI sets SYNACK_REQUIRE_NETNS=1 to require it")
	}
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"TMPDIR="+home, "WIRESHARK_CONFIG_DIR="+filepath.Join(home, "ws"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// Decode returns, per packet of the capture, the given fields by name,
// with checksum checking on and absolute sequence numbers.
func Decode(t testing.TB, path string, fields ...string) []map[string]string {
	t.Helper()
	args := []string{"-r", path, "-n",
		"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.analyze_sequence_numbers:TRUE",
		"-T", "fields", "-E", "separator=|", "-E", "occurrence=a"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := Run(t, args...)
	var pkts []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		v := strings.Split(line, "|")
		if len(v) != len(fields) {
			t.Fatalf("%d fields in %q", len(v), line)
		}
		m := map[string]string{"line": line}
		for i, f := range fields {
			m[f] = v[i]
		}
		pkts = append(pkts, m)
	}
	return pkts
}
