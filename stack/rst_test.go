package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// RFC 9293 §3.10.7.1: a segment that matches nothing is answered with RST
// carrying the sequence and ACK numbers the sender can accept; a RST is
// never answered.
func TestResetForSegmentsMatchingNothing(t *testing.T) {
	l := newLone(stack.Config{}, addrB)
	closed := netip.AddrPortFrom(addrB, 81)
	cases := []struct {
		name string
		in   []byte
		want []string // flags seq ack, or nothing
	}{
		{"SYN to a closed port: RST+ACK ack=SEQ+LEN", packet(cli, closed, wire.FlagSYN, 1000, 0, synOpts(), nil), []string{"R. 0:0(0) ack 1001"}},
		{"data without ACK: ack covers the data", packet(cli, closed, wire.FlagPSH, 1000, 0, wire.Options{}, []byte("abc")), []string{"R. 0:0(0) ack 1003"}},
		{"an ACK: RST with SEQ=SEG.ACK", packet(cli, closed, wire.FlagACK, 1000, 777, wire.Options{}, nil), []string{"R 777:777(0)"}},
		{"FIN+ACK of a forgotten connection", packet(cli, closed, wire.FlagFIN|wire.FlagACK, 1000, 555, wire.Options{}, nil), []string{"R 555:555(0)"}},
		{"a RST is never answered", packet(cli, closed, wire.FlagRST|wire.FlagACK, 1000, 555, wire.Options{}, nil), nil},
	}
	for _, c := range cases {
		before := l.s.Counters().OutRsts
		l.deliver(c.in)
		got := l.cap.segs()
		if len(got) != len(c.want) {
			t.Fatalf("%s: sent %v, want %v", c.name, got, c.want)
		}
		for i, w := range c.want {
			g := got[i]
			// String() always prints "ack N" when ACK is set.
			if s := g.String(); s[:len(w)] != w {
				t.Errorf("%s: sent %q, want %q", c.name, s, w)
			}
		}
		if n := l.s.Counters().OutRsts - before; n != uint64(len(c.want)) {
			t.Errorf("%s: OutRsts grew by %d", c.name, n)
		}
	}
	if conns, half, tw := l.s.Len(); conns+half+tw != 0 {
		t.Fatal("answering stray segments must create no state")
	}
}

// A malformed packet is counted and dropped, never answered.
func TestMalformedPacketsAreCounted(t *testing.T) {
	l := newLone(stack.Config{}, addrB)
	good := packet(cli, srv, wire.FlagSYN, 1000, 0, synOpts(), nil)
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 0xff // breaks the TCP checksum
	for _, p := range [][]byte{bad, good[:10], {0x45}, nil, {0x60, 0, 0}} {
		l.deliver(p)
	}
	if out := l.cap.segs(); len(out) != 0 {
		t.Fatalf("malformed input answered: %v", out)
	}
	c := l.s.Counters()
	if c.InErrs != 5 || c.Drops[stack.DropMalformed] != 5 {
		t.Fatalf("InErrs %d, malformed drops %d; want 5 each", c.InErrs, c.Drops[stack.DropMalformed])
	}
}

// RFC 6528: ISN = M + F(4-tuple, key), M ticking every 4 µs; the key is
// random per stack (here per seed).
func TestISN(t *testing.T) {
	iss := func(seed uint64, at time.Duration, port uint16) seq.Num {
		l := newLone(stack.Config{Seed: seed}, addrA)
		l.now = l.now.Add(at)
		c, err := l.s.Dial(l.now, netip.AddrPortFrom(addrA, port), srv)
		if err != nil {
			t.Fatal(err)
		}
		return c.TCB().ISS()
	}
	a := iss(1, 0, 5000)
	if d := iss(1, time.Second, 5000) - a; d != 250_000 {
		t.Errorf("ISN advanced %d in 1 s, want 250000 (one per 4 µs)", d)
	}
	if iss(1, 0, 5001) == a {
		t.Error("another 4-tuple gave the same ISN")
	}
	if iss(2, 0, 5000) == a {
		t.Error("another stack key gave the same ISN")
	}
}

// RFC 6056: ephemeral ports come from the range, differ per destination,
// and skip 4-tuples in use or in TIME-WAIT; a specific port in use is
// EADDRINUSE as with the kernel.
func TestPorts(t *testing.T) {
	l := newLone(stack.Config{EphemeralLow: 40000, EphemeralHigh: 40009}, addrA)
	seen := map[uint16]bool{}
	for i := 0; i < 10; i++ {
		c, err := l.s.Dial(l.now, netip.AddrPort{}, srv)
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().Port()
		if p < 40000 || p > 40009 || seen[p] {
			t.Fatalf("port %d: out of range or reused", p)
		}
		seen[p] = true
	}
	if _, err := l.s.Dial(l.now, netip.AddrPort{}, srv); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("11th dial with 10 ports: %v, want EADDRNOTAVAIL", err)
	}
	// Another destination has the whole range again.
	if _, err := l.s.Dial(l.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 81)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.s.Dial(l.now, netip.AddrPortFrom(addrA, 40003), netip.AddrPortFrom(addrB, 99)); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("explicit port in use: %v, want EADDRINUSE", err)
	}
	if _, err := l.s.Listen(l.now, netip.AddrPortFrom(addrA, 7), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.s.Listen(l.now, netip.AddrPortFrom(addrA, 7), 0); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listener on one port: %v, want EADDRINUSE", err)
	}
}

// RFC 4022 counters and the ss-like snapshot follow a connection's life.
func TestCountersAndSnapshot(t *testing.T) {
	n, a, b, _ := twoHosts(t, 3, sim.LinkConfig{}, stack.Config{}, stack.Config{})
	ln, _ := b.Stack.Listen(n.Now(), srv, 0)
	c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
	n.RunFor(time.Second)
	snap := a.Stack.Snapshot()
	if len(snap) != 1 || snap[0].State != tcp.StateEstablished || snap[0].Remote != srv {
		t.Fatalf("snapshot %+v", snap)
	}
	if ca := a.Stack.Counters(); ca.ActiveOpens != 1 || ca.CurrEstab != 1 {
		t.Fatalf("A counters %+v", ca)
	}
	sc := ln.Accept()
	sc.Abort(n.Now()) // RST
	n.RunFor(time.Second)
	if !errors.Is(c.Err(), syscall.ECONNRESET) {
		t.Fatalf("client error %v, want ECONNRESET", c.Err())
	}
	ca, cb := a.Stack.Counters(), b.Stack.Counters()
	if ca.EstabResets != 1 || ca.CurrEstab != 0 || cb.OutRsts != 1 || cb.PassiveOpens != 1 {
		t.Fatalf("after the reset: A %+v B %+v", ca, cb)
	}
}
