package interop_test

import (
	"os"
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
