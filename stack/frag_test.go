package stack_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/synack/synack/internal/ip"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/wire"
)

// A peer whose segments arrive in IP fragments, in any order, connects and
// sends data; the stack rebuilds each datagram and TCP sees whole segments.
func TestFragmentedSegmentsDelivered(t *testing.T) {
	for _, me := range []netip.Addr{addrB, netip.MustParseAddr("2001:db8::2")} {
		peerAddr := addrA
		if me.Is6() {
			peerAddr = addr6A
		}
		l := newLone(stack.Config{}, me)
		ln, err := l.s.Listen(l.now, netip.AddrPortFrom(me, 80), 0)
		if err != nil {
			t.Fatal(err)
		}
		srv, peer := netip.AddrPortFrom(me, 80), netip.AddrPortFrom(peerAddr, 40000)
		rng := rand.New(rand.NewPCG(1, 2))
		send := func(pkt []byte, size int, id uint32) {
			frags := ip.Fragment(pkt, size, id)
			rng.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })
			for _, f := range frags {
				l.deliver(f)
			}
		}
		send(packet(peer, srv, wire.FlagSYN, 1000, 0, synOpts(), nil), 16, 1)
		out := l.cap.segs()
		if len(out) != 1 || out[0].Flags != wire.FlagSYN|wire.FlagACK {
			t.Fatalf("%v: a SYN in three fragments got %v, want SYN+ACK", me, out)
		}
		iss := out[0].Seq
		l.deliver(packet(peer, srv, wire.FlagACK, 1001, iss+1, wire.Options{}, nil))
		c := ln.Accept()
		if c == nil {
			t.Fatalf("%v: no connection to accept", me)
		}
		data := bytes.Repeat([]byte("fragmented "), 300)
		send(packet(peer, srv, wire.FlagACK|wire.FlagPSH, 1001, iss+1, wire.Options{}, data), 1000, 2)
		buf := make([]byte, 8192)
		n, _ := c.Read(l.now, buf)
		if !bytes.Equal(buf[:n], data) {
			t.Fatalf("%v: read %d bytes, want the %d sent in fragments", me, n, len(data))
		}
		cnt := l.s.Counters()
		if cnt.ReasmOKs != 2 || cnt.ReasmReqds != 3+4 || cnt.ReasmFails != 0 {
			t.Fatalf("%v: reassembly counters %d OK of %d fragments, %d failed; want 2 of 7, 0",
				me, cnt.ReasmOKs, cnt.ReasmReqds, cnt.ReasmFails)
		}
	}
}

// RFC 791, RFC 8200 §4.5: a datagram not whole within the timeout is
// dropped; if its first fragment came, the sender hears ICMP Time
// Exceeded (fragment reassembly) quoting it.
func TestFragmentTimeout(t *testing.T) {
	for _, me := range []netip.Addr{addrB, netip.MustParseAddr("2001:db8::2")} {
		peerAddr := addrA
		if me.Is6() {
			peerAddr = addr6A
		}
		l := newLone(stack.Config{ReasmTimeout: 30 * time.Second}, me)
		srv, peer := netip.AddrPortFrom(me, 80), netip.AddrPortFrom(peerAddr, 40000)
		frags := ip.Fragment(packet(peer, srv, wire.FlagACK, 1, 1, wire.Options{}, make([]byte, 100)), 64, 9)
		l.deliver(frags[0])
		orphan := ip.Fragment(packet(peer, srv, wire.FlagACK, 1, 1, wire.Options{}, make([]byte, 100)), 64, 10)
		l.deliver(orphan[1]) // a last fragment whose first never comes
		if at, ok := l.s.NextDeadline(); !ok || !at.Equal(l.now.Add(30*time.Second)) {
			t.Fatalf("%v: next deadline %v %v, want in 30 s", me, at, ok)
		}
		l.advance(30*time.Second - time.Nanosecond)
		if len(l.cap.pkts) != 0 {
			t.Fatalf("%v: sent %d packets before the timeout", me, len(l.cap.pkts))
		}
		l.advance(time.Nanosecond)
		if len(l.cap.pkts) != 1 {
			t.Fatalf("%v: sent %d packets at the timeout, want one ICMP", me, len(l.cap.pkts))
		}
		m := sentICMP(t, l.cap.pkts[0], me, peerAddr)
		wantType := uint8(wire.ICMPv4TimeExceeded)
		if me.Is6() {
			wantType = wire.ICMPv6TimeExceeded
		}
		if m.Type != wantType || m.Code != 1 || !bytes.HasPrefix(frags[0], m.Body[:20]) {
			t.Fatalf("%v: ICMP %+v; want time exceeded, reassembly, quoting the first fragment", me, m)
		}
		cnt := l.s.Counters()
		if cnt.ReasmTimeouts != 2 || cnt.ICMPOutMsgs != 1 {
			t.Fatalf("%v: ReasmTimeouts %d, ICMPOutMsgs %d; want 2, 1", me, cnt.ReasmTimeouts, cnt.ICMPOutMsgs)
		}
		if _, ok := l.s.NextDeadline(); ok {
			t.Fatalf("%v: a deadline left after the timeout", me)
		}
	}
}

// Overlapping fragments discard the datagram (RFC 5722); a flood of
// datagrams that never complete cannot hold more than ReasmMaxBytes, and
// a whole datagram still gets through it.
func TestFragmentAbuse(t *testing.T) {
	l := newLone(stack.Config{ReasmMaxBytes: 16 << 10}, addrB)
	if _, err := l.s.Listen(l.now, netip.AddrPortFrom(addrB, 80), 0); err != nil {
		t.Fatal(err)
	}
	srv, peer := netip.AddrPortFrom(addrB, 80), netip.AddrPortFrom(addrA, 40000)
	frags := ip.Fragment(packet(peer, srv, wire.FlagSYN, 1000, 0, synOpts(), nil), 16, 1)
	over := append([]byte(nil), frags[1]...)
	over[7]-- // offset 8 bytes earlier: overlaps the first fragment
	over[10], over[11] = 0, 0
	v := wire.IPv4(over)
	sum := ^wire.Checksum(over[:20], 0)
	over[10], over[11] = byte(sum>>8), byte(sum)
	if v.FragOffset() != 8 {
		t.Fatalf("test fragment offset %d", v.FragOffset())
	}
	l.deliver(frags[0])
	l.deliver(over)
	for _, f := range frags[1:] {
		l.deliver(f)
	}
	if out := l.cap.segs(); len(out) != 0 {
		t.Fatalf("an overlapping datagram was delivered: %v", out)
	}
	cnt := l.s.Counters()
	if cnt.ReasmFails == 0 || cnt.Drops[stack.DropFragment] == 0 {
		t.Fatalf("overlap: ReasmFails %d, fragment drops %d", cnt.ReasmFails, cnt.Drops[stack.DropFragment])
	}

	for i := range 1000 {
		f := ip.Fragment(packet(peer, srv, wire.FlagACK, 1, 1, wire.Options{}, make([]byte, 1000)), 512, uint32(100+i))
		l.deliver(f[0])
	}
	if got := l.s.Counters().ReasmFails; got < 900 {
		t.Fatalf("after 1000 incomplete datagrams in a 16 KiB bound, %d given up, want most", got)
	}
	for _, f := range ip.Fragment(packet(peer, srv, wire.FlagSYN, 5000, 0, synOpts(), nil), 16, 7) {
		l.deliver(f)
	}
	if out := l.cap.segs(); len(out) != 1 || out[0].Flags != wire.FlagSYN|wire.FlagACK {
		t.Fatalf("a whole datagram after the flood got %v, want SYN+ACK", out)
	}
}
