package stack_test

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"syscall"
	"testing"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

var (
	router4 = netip.MustParseAddr("192.0.2.254")
	router6 = netip.MustParseAddr("2001:db8::fe")
	far4    = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.7"), 80)
	far6    = netip.AddrPortFrom(netip.MustParseAddr("2001:db8:1::7"), 80)
	addr6A  = netip.MustParseAddr("2001:db8::1")
)

// icmpAbout builds the ICMP error a router on the path would send about
// pkt: an IPv4 router quotes the header and 8 bytes (RFC 792's minimum),
// an IPv6 one as much as fits in 1280 bytes (RFC 4443 §2.4).
func icmpAbout(pkt []byte, typ, code uint8, rest uint32) []byte {
	router, to, quote := router4, wire.IPv4(pkt).Src(), pkt[:min(len(pkt), 28)]
	if pkt[0]>>4 == 6 {
		router, to, quote = router6, wire.IPv6(pkt).Src(), pkt[:min(len(pkt), 1280-48)]
	}
	return wire.AppendICMPPacket(nil, router, to, &wire.ICMP{Type: typ, Code: code, Rest: rest, Body: quote})
}

// sentICMP parses pkt, which the stack sent, as an ICMP message from
// src to dst.
func sentICMP(t *testing.T, pkt []byte, src, dst netip.Addr) wire.ICMP {
	t.Helper()
	p, err := wire.ParsePacket(pkt)
	if !errors.Is(err, wire.ErrNotTCP) || p.Src != src || p.Dst != dst {
		t.Fatalf("sent %+v, %v; want ICMP from %v to %v", p, err, src, dst)
	}
	m, err := wire.ParseICMP(p.Payload, p.Src, p.Dst)
	if err != nil {
		t.Fatalf("sent ICMP that does not parse: %v", err)
	}
	return m
}

// dialOut starts a Dial from l to far and returns the connection and the
// raw SYN it sent.
func dialOut(t *testing.T, l *lone, far netip.AddrPort) (*stack.Conn, []byte) {
	t.Helper()
	c, err := l.s.Dial(l.now, netip.AddrPort{}, far)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.cap.pkts) != 1 {
		t.Fatalf("Dial sent %d packets, want a SYN", len(l.cap.pkts))
	}
	syn := l.cap.pkts[0]
	l.cap.pkts = nil
	return c, syn
}

// RFC 1122 §4.2.3.9 and Linux: an unreachable quoting our SYN fails the
// Dial at once with the errno Linux gives it, instead of after the SYN
// retries.
func TestICMPUnreachableFailsDial(t *testing.T) {
	for _, tc := range []struct {
		name       string
		v6         bool
		typ, code  uint8
		want       error
		wantDialed bool
	}{
		{"v4 net unreachable", false, 3, 0, syscall.ENETUNREACH, true},
		{"v4 host unreachable", false, 3, 1, syscall.EHOSTUNREACH, true},
		{"v4 port unreachable", false, 3, 3, syscall.ECONNREFUSED, true},
		{"v4 communication administratively prohibited", false, 3, 13, syscall.EHOSTUNREACH, true},
		{"v4 time exceeded", false, 11, 0, syscall.EHOSTUNREACH, true},
		{"v4 parameter problem", false, 12, 0, syscall.EPROTO, true},
		{"v6 no route", true, 1, 0, syscall.ENETUNREACH, true},
		{"v6 administratively prohibited", true, 1, 1, syscall.EACCES, true},
		{"v6 address unreachable", true, 1, 3, syscall.EHOSTUNREACH, true},
		{"v6 port unreachable", true, 1, 4, syscall.ECONNREFUSED, true},
		{"v6 reject route", true, 1, 6, syscall.EACCES, true},
		{"v6 unknown unreachable code", true, 1, 9, syscall.EPROTO, true},
		{"v6 hop limit exceeded", true, 3, 0, syscall.EHOSTUNREACH, true},
		{"v4 source quench is ignored (RFC 6633)", false, 4, 0, nil, false},
		{"v4 redirect is ignored", false, 5, 1, nil, false},
		{"v4 unknown unreachable code is ignored", false, 3, 16, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, far := newLone(stack.Config{}, addrA), far4
			if tc.v6 {
				l, far = newLone(stack.Config{}, addr6A), far6
			}
			c, syn := dialOut(t, l, far)
			l.deliver(icmpAbout(syn, tc.typ, tc.code, 0))
			cnt := l.s.Counters()
			if cnt.ICMPInMsgs != 1 {
				t.Fatalf("ICMPInMsgs %d, want 1", cnt.ICMPInMsgs)
			}
			if len(l.cap.pkts) != 0 {
				t.Fatalf("an ICMP error was answered: %d packets", len(l.cap.pkts))
			}
			if !tc.wantDialed {
				if c.State() != tcp.StateSynSent || cnt.Drops[stack.DropICMP] != 1 {
					t.Fatalf("state %v, icmp-ignored %d: want SYN-SENT and one ignored message", c.State(), cnt.Drops[stack.DropICMP])
				}
				return
			}
			if c.State() != tcp.StateClosed || !errors.Is(c.Err(), tc.want) {
				t.Fatalf("state %v err %v, want CLOSED with %v", c.State(), c.Err(), tc.want)
			}
			if cnt.AttemptFails != 1 {
				t.Fatalf("AttemptFails %d, want 1", cnt.AttemptFails)
			}
		})
	}
}

// RFC 5927 §4: an ICMP error is believed only if it quotes a connection
// we have and a sequence number in flight, and was sent back to the
// address that sent the quoted packet. Anything else is counted and
// changes nothing.
func TestICMPValidation(t *testing.T) {
	l := newLone(stack.Config{}, addrA)
	c, syn := dialOut(t, l, far4)
	p, _ := wire.ParsePacket(syn)
	s := p.Segment

	reSYN := func(mod func(src, dst *netip.AddrPort, sq *seq.Num)) []byte {
		src, dst, sq := netip.AddrPortFrom(p.Src, s.SrcPort), netip.AddrPortFrom(p.Dst, s.DstPort), s.Seq
		mod(&src, &dst, &sq)
		return packet(src, dst, wire.FlagSYN, sq, 0, s.Opts, nil)
	}
	wrongSeq := icmpAbout(reSYN(func(_, _ *netip.AddrPort, sq *seq.Num) { *sq += 100 }), 3, 3, 0)
	wrongPort := icmpAbout(reSYN(func(_, dst *netip.AddrPort, _ *seq.Num) { *dst = netip.AddrPortFrom(dst.Addr(), 81) }), 3, 3, 0)
	// Sent to us, but about a packet from another host.
	notOurs := wire.AppendICMPPacket(nil, router4, addrA, &wire.ICMP{Type: 3, Code: 3, Body: reSYN(func(src, _ *netip.AddrPort, _ *seq.Num) {
		*src = netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), src.Port())
	})})
	badSum := icmpAbout(syn, 3, 3, 0)
	badSum[len(badSum)-1] ^= 0x55
	udp := append([]byte(nil), syn...)
	udp[9] = 17 // the quoted packet claims to be UDP
	quotedUDP := icmpAbout(udp, 3, 3, 0)
	short := wire.AppendICMPPacket(nil, router4, addrA, &wire.ICMP{Type: 3, Code: 3, Body: syn[:24]})

	for _, pkt := range [][]byte{wrongSeq, wrongPort, notOurs, badSum, quotedUDP, short} {
		l.deliver(pkt)
	}
	if c.State() != tcp.StateSynSent {
		t.Fatalf("state %v after forged ICMP errors, want SYN-SENT", c.State())
	}
	cnt := l.s.Counters()
	if cnt.ICMPOutOfWindow != 1 || cnt.ICMPInErrors != 1 || cnt.Drops[stack.DropMalformed] != 1 || cnt.Drops[stack.DropICMP] != 4 {
		t.Fatalf("out-of-window %d, in-errors %d, malformed %d, icmp-ignored %d; want 1, 1, 1, 4",
			cnt.ICMPOutOfWindow, cnt.ICMPInErrors, cnt.Drops[stack.DropMalformed], cnt.Drops[stack.DropICMP])
	}
	l.deliver(icmpAbout(syn, 3, 3, 0))
	if !errors.Is(c.Err(), syscall.ECONNREFUSED) {
		t.Fatalf("the genuine error after the forged ones: %v", c.Err())
	}
}

// established completes a handshake from l to far by hand, with a peer
// that offers MSS 1460 and nothing else, and returns the connection.
func established(t *testing.T, l *lone, far netip.AddrPort) (*stack.Conn, wire.Segment) {
	t.Helper()
	c, syn := dialOut(t, l, far)
	p, _ := wire.ParsePacket(syn)
	me := netip.AddrPortFrom(p.Src, p.Segment.SrcPort)
	l.deliver(packet(far, me, wire.FlagSYN|wire.FlagACK, 5000, p.Segment.Seq+1, wire.Options{HasMSS: true, MSS: 1460}, nil))
	if c.State() != tcp.StateEstablished {
		t.Fatalf("state %v, want ESTABLISHED", c.State())
	}
	l.cap.pkts = nil
	return c, p.Segment
}

// A synchronized connection treats an unreachable as soft: it carries on.
func TestICMPSoftInEstablished(t *testing.T) {
	l := newLone(stack.Config{}, addrA)
	c, _ := established(t, l, far4)
	if _, err := c.Write(l.now, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	data := l.cap.pkts[0]
	l.cap.pkts = nil
	l.deliver(icmpAbout(data, 3, 3, 0))
	if c.State() != tcp.StateEstablished || c.Err() != nil {
		t.Fatalf("state %v err %v after a port unreachable in ESTABLISHED, want no change", c.State(), c.Err())
	}
}

// dataSizes returns the payload lengths of the TCP segments captured.
func dataSizes(l *lone) []int {
	var out []int
	for _, s := range l.cap.segs() {
		out = append(out, len(s.Payload))
	}
	return out
}

// RFC 1191, RFC 8201: a Fragmentation Needed or Packet Too Big lowers the
// MSS to what the path carries, what was in flight goes again at once, and
// new connections to that destination start with the smaller MSS. A report
// below the floor (Linux's 552 for IPv4, IPv6's 1280) is raised to it; a
// Fragmentation Needed without an MTU takes RFC 1191's next plateau.
func TestPathMTU(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v6      bool
		typ     uint8
		code    uint8
		mtu     uint32
		wantMSS int
	}{
		{"v4 fragmentation needed, MTU 1280", false, 3, 4, 1280, 1240},
		{"v4 below Linux's floor", false, 3, 4, 300, 512},
		{"v4 old router: plateau below 1500 is 1492", false, 3, 4, 0, 1452},
		{"v6 packet too big, MTU 1400", true, 2, 0, 1400, 1340},
		{"v6 below the IPv6 minimum", true, 2, 0, 1000, 1220},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, far := newLone(stack.Config{}, addrA), far4
			full := 1460
			if tc.v6 {
				l, far, full = newLone(stack.Config{}, addr6A), far6, 1440
			}
			c, _ := established(t, l, far)
			if _, err := c.Write(l.now, bytes.Repeat([]byte("x"), 2*full)); err != nil {
				t.Fatal(err)
			}
			first := l.cap.pkts[0]
			if got := dataSizes(l); len(got) != 2 || got[0] != full || got[1] != full {
				t.Fatalf("sent %v, want two segments of %d", got, full)
			}
			l.deliver(icmpAbout(first, tc.typ, tc.code, tc.mtu))
			var want []int
			for n := 2 * full; n > 0; n -= tc.wantMSS {
				want = append(want, min(n, tc.wantMSS))
			}
			if got := dataSizes(l); !slices.Equal(got, want) {
				t.Fatalf("resent %v, want %v", got, want)
			}
			if n := l.s.Counters().PathMTUChanges; n != 1 {
				t.Fatalf("PathMTUChanges %d, want 1", n)
			}
			// A new connection to the same destination starts small.
			_, syn := dialOut(t, l, netip.AddrPortFrom(far.Addr(), 443))
			p, _ := wire.ParsePacket(syn)
			if int(p.Segment.Opts.MSS) != tc.wantMSS {
				t.Fatalf("new SYN advertises MSS %d, want %d", p.Segment.Opts.MSS, tc.wantMSS)
			}
		})
	}
}

// RFC 9293 §3.7.1: the MSS a SYN advertises is what the link's MTU leaves
// for TCP in that family, never above the configured MSS (the clamp).
func TestRouteMSS(t *testing.T) {
	for _, tc := range []struct {
		addr netip.Addr
		far  netip.AddrPort
		cfg  uint16
		want uint16
	}{
		{addrA, far4, 0, 1460},
		{addr6A, far6, 0, 1440},
		{addrA, far4, 1200, 1200},
		{addr6A, far6, 1200, 1200},
	} {
		l := newLone(stack.Config{TCP: tcp.Config{MSS: tc.cfg}}, tc.addr)
		_, syn := dialOut(t, l, tc.far)
		p, _ := wire.ParsePacket(syn)
		if p.Segment.Opts.MSS != tc.want {
			t.Errorf("%v with MSS setting %d: SYN advertises %d, want %d", tc.addr, tc.cfg, p.Segment.Opts.MSS, tc.want)
		}
	}
}

// Linux tcp_req_err: a hard error quoting the SYN+ACK of a half-open
// connection drops it; a soft one leaves it to its retries.
func TestICMPHalfOpen(t *testing.T) {
	l := newLone(stack.Config{}, addrB)
	if _, err := l.s.Listen(l.now, netip.AddrPortFrom(addrB, 80), 0); err != nil {
		t.Fatal(err)
	}
	peer := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.5"), 40000)
	l.deliver(packet(peer, netip.AddrPortFrom(addrB, 80), wire.FlagSYN, 1000, 0, synOpts(), nil))
	synack := l.cap.pkts[0]
	l.cap.pkts = nil
	l.deliver(icmpAbout(synack, 3, 1, 0)) // host unreachable: soft
	if _, half, _ := l.s.Len(); half != 1 {
		t.Fatalf("%d half-open after a soft error, want 1", half)
	}
	l.deliver(icmpAbout(synack, 3, 3, 0)) // port unreachable: hard
	if _, half, _ := l.s.Len(); half != 0 {
		t.Fatalf("%d half-open after a hard error, want 0", half)
	}
	if len(l.cap.pkts) != 0 {
		t.Fatalf("sent %d packets in answer to ICMP", len(l.cap.pkts))
	}
}

// RFC 792, RFC 4443 §4.2: an echo request is answered with the same
// identifier, sequence number and data; an echo reply to us is counted.
func TestEcho(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		me, peer, typ, reply := addrA, router4, uint8(wire.ICMPv4Echo), uint8(wire.ICMPv4EchoReply)
		if v6 {
			me, peer, typ, reply = addr6A, router6, wire.ICMPv6EchoRequest, wire.ICMPv6EchoReply
		}
		l := newLone(stack.Config{}, me)
		l.deliver(wire.AppendICMPPacket(nil, peer, me, &wire.ICMP{Type: typ, Rest: 0x12340007, Body: []byte("ping data")}))
		if len(l.cap.pkts) != 1 {
			t.Fatalf("v6=%v: %d packets in answer to an echo request, want 1", v6, len(l.cap.pkts))
		}
		m := sentICMP(t, l.cap.pkts[0], me, peer)
		if m.Type != reply || m.Rest != 0x12340007 || string(m.Body) != "ping data" {
			t.Fatalf("v6=%v: reply %+v", v6, m)
		}
		l.cap.pkts = nil
		l.deliver(wire.AppendICMPPacket(nil, peer, me, &wire.ICMP{Type: reply, Rest: 1}))
		if c := l.s.Counters(); len(l.cap.pkts) != 0 || c.ICMPInMsgs != 2 || c.ICMPOutMsgs != 1 || c.Drops[stack.DropICMP] != 1 {
			t.Fatalf("v6=%v: after an echo reply: sent %d, counters %+v", v6, len(l.cap.pkts), c)
		}
	}
}
