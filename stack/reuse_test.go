package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// establish dials from local to remote and runs until the handshake ends.
func establish(t *testing.T, n *sim.Network, h *sim.Host, local, remote netip.AddrPort) *stack.Conn {
	t.Helper()
	c, err := h.Stack.Dial(n.Now(), local, remote)
	if err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	if c.State() != tcp.StateEstablished {
		t.Fatalf("dial %v → %v: %v (%v)", local, remote, c.State(), c.Err())
	}
	return c
}

// A SYN with a higher sequence number reopens a 4-tuple that the server
// holds in TIME-WAIT, before 2MSL ends (RFC 9293 §3.6.1, RFC 6191).
func TestTimeWaitReopenedByNewSYN(t *testing.T) {
	n, a, b, _ := twoHosts(t, 5, sim.LinkConfig{}, stack.Config{}, stack.Config{})
	ln, _ := b.Stack.Listen(srv, 0)
	local := netip.AddrPortFrom(addrA, 45000)
	c := establish(t, n, a, local, srv)
	// The server closes first (as HTTP/1.0 servers do) and ends in TIME-WAIT.
	sc := ln.Accept()
	if sc == nil {
		t.Fatal("nothing accepted")
	}
	sc.Close(n.Now())
	n.RunFor(100 * time.Millisecond)
	c.Close(n.Now())
	n.RunFor(time.Second)
	if _, _, tw := b.Stack.Len(); tw != 1 {
		t.Fatalf("server TIME-WAIT records %d, want 1", tw)
	}
	// Ten seconds later the client reuses its port: its new ISN is 2.5M
	// beyond the old one (RFC 6528 clock), above the server's RCV.NXT.
	n.RunFor(10 * time.Second)
	establish(t, n, a, local, srv)
	if _, _, tw := b.Stack.Len(); tw != 0 {
		t.Fatal("TIME-WAIT record not replaced by the new connection")
	}
	if sc2 := ln.Accept(); sc2 == nil || sc2.State() != tcp.StateEstablished {
		t.Fatalf("server side of the reopened connection: %v", sc2)
	}
}

// Dial may reuse a 4-tuple of its own TIME-WAIT only as tcp_tw_reuse says:
// never for a remote peer by default (loopback only), and with the policy
// on, when timestamps were used and a second has passed; the new ISN then
// lies beyond the old SND.NXT + 65535.
func TestDialTimeWaitReuse(t *testing.T) {
	run := func(policy stack.TWReuse, wait time.Duration) (*stack.Conn, *sim.Host, error) {
		n, a, b, _ := twoHosts(t, 6, sim.LinkConfig{}, stack.Config{TWReuse: policy}, stack.Config{})
		ln, _ := b.Stack.Listen(srv, 0)
		acceptAndCloseOnFIN(n, ln)
		local := netip.AddrPortFrom(addrA, 45000)
		c := establish(t, n, a, local, srv)
		c.Close(n.Now())
		n.RunFor(time.Second)
		if _, _, tw := a.Stack.Len(); tw != 1 {
			t.Fatalf("client TIME-WAIT records %d, want 1", tw)
		}
		n.RunFor(wait)
		c2, err := a.Stack.Dial(n.Now(), local, srv)
		n.RunFor(time.Second)
		return c2, a, err
	}
	if _, _, err := run(stack.TWReuseLoopback, 5*time.Second); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("default policy, remote peer: %v, want EADDRINUSE", err)
	}
	if _, _, err := run(stack.TWReuseOn, 0); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("policy on, within a second of the last segment: %v, want EADDRINUSE", err)
	}
	c2, a, err := run(stack.TWReuseOn, 5*time.Second)
	if err != nil || c2.State() != tcp.StateEstablished {
		t.Fatalf("policy on after 5 s: %v, %v", err, c2)
	}
	if _, _, tw := a.Stack.Len(); tw != 0 {
		t.Fatal("the reused TIME-WAIT record is still there")
	}
}

// With every ephemeral port in TIME-WAIT, Dial with port 0 reuses one once
// tcp_tw_reuse allows it (Linux's __inet_hash_connect takes the first port
// that is free or reusable), and fails with EADDRNOTAVAIL before then.
func TestEphemeralRangeFullOfTimeWait(t *testing.T) {
	const ports = 8
	n, a, b, _ := twoHosts(t, 6, sim.LinkConfig{}, stack.Config{TWReuse: stack.TWReuseOn, EphemeralLow: 40000, EphemeralHigh: 40000 + ports - 1}, stack.Config{})
	ln, _ := b.Stack.Listen(srv, 0)
	acceptAndCloseOnFIN(n, ln)
	var cs []*stack.Conn
	for range ports {
		c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	n.RunFor(100 * time.Millisecond)
	for _, c := range cs {
		c.Close(n.Now())
	}
	n.RunFor(100 * time.Millisecond)
	if _, _, tw := a.Stack.Len(); tw != ports {
		t.Fatalf("%d TIME-WAIT records, want %d", tw, ports)
	}
	if _, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("Dial within a second of the last segments: %v, want EADDRNOTAVAIL", err)
	}
	n.RunFor(2 * time.Second)
	c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
	if err != nil {
		t.Fatalf("Dial with the range in reusable TIME-WAIT: %v", err)
	}
	n.RunFor(time.Second)
	if c.State() != tcp.StateEstablished {
		t.Fatalf("the reusing connection is %v", c.State())
	}
	if _, _, tw := a.Stack.Len(); tw != ports-1 {
		t.Fatalf("%d TIME-WAIT records after the reuse, want %d", tw, ports-1)
	}
}
