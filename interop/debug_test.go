package interop_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// debugKernel logs the kernel's view of the TUN and its TCP counters when
// INTEROP_DEBUG is set.
func debugKernel(t *testing.T, e *env) {
	if os.Getenv("INTEROP_DEBUG") == "" {
		return
	}
	t.Log(e.ns.IP(t, "-s", "link", "show", e.dev.Name()))
	out, _ := e.ns.Command(t.Context(), "nstat", "-az").CombinedOutput()
	t.Log(string(out))
}

// kernelSNMP is the kernel's TCP counters in the test's namespace, by
// nstat's names (TcpEstabResets…).
func (e *env) kernelSNMP() map[string]uint64 {
	out, err := e.ns.Command(e.t.Context(), "nstat", "-asz").CombinedOutput()
	if err != nil {
		e.t.Fatalf("nstat: %v: %s", err, out)
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				m[f[0]] = v
			}
		}
	}
	if _, ok := m["TcpEstabResets"]; !ok {
		e.t.Fatalf("nstat printed no TcpEstabResets: %s", out)
	}
	return m
}
