package netconn

import (
	"errors"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/synack/synack/stack"
)

// Package net sets SO_REUSEADDR on every listener, so on Linux a server
// may listen again on its address while connections of the old listener
// are still open or closing (bind fails only if a socket is in LISTEN on
// that port). The stack does the same.
func TestRelistenWhileConnectionsOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		_, _, ln := h.connect(t) // both ends stay open
		ln.Close()
		ln2, err := h.b.Listen("tcp", addrB)
		if err != nil {
			t.Fatalf("listening again with a connection open: %v", err)
		}
		go ln2.Accept()
		if _, err := h.a.Dial("tcp", addrB); err != nil {
			t.Fatal(err)
		}
		if _, err := h.b.Listen("tcp", addrB); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("a second listener on one address: %v, want EADDRINUSE", err)
		}
	})
}
