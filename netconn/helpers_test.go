package netconn

import (
	"net"
	"net/netip"
	"testing"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
)

// Two hosts on one in-memory link, documentation addresses (RFC 5737).
var (
	prefixA = netip.MustParsePrefix("192.0.2.1/24")
	prefixB = netip.MustParsePrefix("192.0.2.2/24")
	addrB   = "192.0.2.2:80"
)

// hosts is two Stacks joined by a link.Pipe, each end possibly wrapped
// (in a link.Faulty).
type hosts struct {
	a, b   *Stack
	ea, eb link.Endpoint
}

// newHosts builds the pair; wrap may be nil. The stacks are closed when
// the test ends (a second Close is harmless).
func newHosts(t testing.TB, cfgA, cfgB stack.Config, wrapA, wrapB func(link.Endpoint) link.Endpoint) *hosts {
	t.Helper()
	ea, eb := link.Pipe(1500)
	return newHostsOn(t, ea, eb, cfgA, cfgB, wrapA, wrapB)
}

// newHostsOn is newHosts on the link ea–eb.
func newHostsOn(t testing.TB, ea, eb link.Endpoint, cfgA, cfgB stack.Config, wrapA, wrapB func(link.Endpoint) link.Endpoint) *hosts {
	t.Helper()
	if wrapA != nil {
		ea = wrapA(ea)
	}
	if wrapB != nil {
		eb = wrapB(eb)
	}
	h := &hosts{a: New(cfgA), b: New(cfgB), ea: ea, eb: eb}
	if err := h.a.AddLink(ea, prefixA); err != nil {
		t.Fatal(err)
	}
	if err := h.b.AddLink(eb, prefixB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.a.Close()
		h.b.Close()
	})
	return h
}

// connect listens on B, dials from A and returns A's and B's ends.
func (h *hosts) connect(t testing.TB) (ca, cb *Conn, ln net.Listener) {
	t.Helper()
	ln, err := h.b.Listen("tcp", addrB)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	c, err := h.a.Dial("tcp", addrB)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return c.(*Conn), r.c.(*Conn), ln
}

// bothLoss wraps an endpoint in faults applied to what it sends.
func faulty(f link.Faults, seed uint64) func(link.Endpoint) link.Endpoint {
	return func(e link.Endpoint) link.Endpoint { return link.NewFaulty(e, f, seed) }
}
