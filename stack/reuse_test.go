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
	"github.com/synack/synack/wire"
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
	ln, _ := b.Stack.Listen(n.Now(), srv, 0)
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
		ln, _ := b.Stack.Listen(n.Now(), srv, 0)
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
	ln, _ := b.Stack.Listen(n.Now(), srv, 0)
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

// A Dial that reuses a TIME-WAIT 4-tuple keeps its TS.Recent, as Linux
// tcp_twsk_unique does, so PAWS refuses the old incarnation's SYN in
// SYN-SENT instead of starting a simultaneous open with it; a SYN with a
// newer TSval still may. Before, the new connection forgot TS.Recent and
// answered the old SYN with SYN+ACK.
func TestTimeWaitReuseKeepsTSRecent(t *testing.T) {
	peer := netip.AddrPortFrom(addrB, 80)
	for _, tc := range []struct {
		tsval  uint32
		answer bool
	}{{1005, false}, {2000, true}} {
		l := newLone(stack.Config{TWReuse: stack.TWReuseOn}, addrA)
		local := netip.AddrPortFrom(addrA, 45000)
		ts := func(val, ecr uint32) wire.Options { return wire.Options{HasTimestamp: true, TSVal: val, TSEcr: ecr} }
		c, err := l.s.Dial(l.now, local, peer)
		if err != nil {
			t.Fatal(err)
		}
		syn := l.cap.segs()[0]
		opts := synOpts()
		opts.TSVal, opts.TSEcr = 1000, syn.Opts.TSVal
		l.deliver(packet(peer, local, wire.FlagSYN|wire.FlagACK, 7000, syn.Seq+1, opts, nil))
		l.cap.segs() // the ACK
		c.Close(l.now)
		fin := l.cap.segs()[0]
		l.advance(10 * time.Millisecond)
		l.deliver(packet(peer, local, wire.FlagFIN|wire.FlagACK, 7001, fin.Seq+1, ts(1010, fin.Opts.TSVal), nil))
		if _, _, tw := l.s.Len(); tw != 1 {
			t.Fatalf("%d TIME-WAIT records, want 1 (sent %v)", tw, l.cap.segs())
		}
		l.advance(5 * time.Second)
		l.cap.segs()
		c2, err := l.s.Dial(l.now, local, peer)
		if err != nil {
			t.Fatalf("reusing the TIME-WAIT: %v", err)
		}
		l.cap.segs()
		old := synOpts()
		old.TSVal = tc.tsval
		l.deliver(packet(peer, local, wire.FlagSYN, 9000, 0, old, nil))
		got := l.cap.segs()
		if answered := len(got) == 1 && got[0].Flags == wire.FlagSYN|wire.FlagACK; answered != tc.answer || (!tc.answer && len(got) != 0) {
			t.Errorf("a SYN with TSval %d (TS.Recent 1010) to the reusing connection was answered with %v; want an answer: %v", tc.tsval, got, tc.answer)
		}
		if want := map[bool]tcp.State{false: tcp.StateSynSent, true: tcp.StateSynReceived}[tc.answer]; c2.State() != want {
			t.Errorf("TSval %d: the reusing connection is %v, want %v", tc.tsval, c2.State(), want)
		}
	}
}
