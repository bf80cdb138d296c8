package stack

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"net/netip"

	"github.com/synack/synack/wire"
)

// A Group is one host's stack split into shards, so that more than one
// core can run it: each shard is a Stack of its own (single-threaded, with
// its own connections, timers, SYN and TIME-WAIT tables), and every
// connection lives in the shard its 4-tuple hashes to, its home. Packets
// are steered to their home whatever queue they arrived on (Steer): a
// multi-queue device spreads a flow's packets over queues, so a SYN and
// its ACK may come up on different ones, and both must meet the same
// half-open entry (or SYN cookie secret).
//
// The shards share the host's keys (ISNs, cookies, ports and timestamp
// offsets are one host's), and what is per host and not per flow is
// repeated in each: the links and addresses (AddLink on every shard), and
// every listener (Listen on every shard, each part with the whole
// backlog, as SO_REUSEPORT sockets have theirs). Dial picks its ephemeral
// port among those whose tuple is at home in the shard dialling. A path
// MTU learnt from ICMP is kept by the shard of the connection it quoted.
//
// A Group of one shard is a plain Stack: Steer always says 0.
type Group struct {
	shards []*Stack
	seed   maphash.Seed
}

// NewGroup returns n shards (n ≥ 1) with the settings cfg.
func NewGroup(cfg Config, n int) *Group {
	if n < 1 {
		n = 1
	}
	g := &Group{shards: make([]*Stack, n), seed: maphash.MakeSeed()}
	for i := range g.shards {
		s := New(cfg)
		if i > 0 {
			s.keys = g.shards[0].keys
		}
		if n > 1 {
			s.group, s.shard = g, i
		}
		g.shards[i] = s
	}
	return g
}

// Len returns the number of shards.
func (g *Group) Len() int { return len(g.shards) }

// Shard returns shard i.
func (g *Group) Shard(i int) *Stack { return g.shards[i] }

// Home returns the shard of the connection id.
func (g *Group) Home(id ID) int {
	if len(g.shards) == 1 {
		return 0
	}
	t := makeTuple(id.Local, id.Remote)
	return g.home(&t)
}

func (g *Group) home(t *tuple) int {
	return int(maphash.Comparable(g.seed, *t) % uint64(len(g.shards)))
}

// Steer returns the shard an arriving packet belongs to: the home of its
// connection, or for an ICMP error the home of the connection it quotes.
// What names no connection by itself goes to shard 0: IP fragments (which
// shard 0 reassembles and hands on, see SetHandoff), other protocols,
// malformed packets (shard 0 counts them).
func (g *Group) Steer(pkt []byte) int {
	if len(g.shards) == 1 {
		return 0
	}
	var t tuple
	if !peekTuple(pkt, &t) && !slowTuple(pkt, &t) {
		return 0
	}
	return g.home(&t)
}

// peekTuple reads the tuple of a plain TCP packet, an IPv4 one unfragmented
// or an IPv6 one without extension headers, as the stack will see it
// (local is the destination); it reports false for anything else.
func peekTuple(b []byte, t *tuple) bool {
	switch {
	case len(b) >= wire.IPv4MinHeaderLen && b[0]>>4 == 4:
		hl := int(b[0]&0xf) * 4
		frag := binary.BigEndian.Uint16(b[6:]) & 0x3fff // MF and offset
		if b[9] != wire.ProtoTCP || frag != 0 || hl < wire.IPv4MinHeaderLen || len(b) < hl+4 {
			return false
		}
		t.raddr = netip.AddrFrom4([4]byte(b[12:16])).As16()
		t.laddr = netip.AddrFrom4([4]byte(b[16:20])).As16()
		t.rport, t.lport = binary.BigEndian.Uint16(b[hl:]), binary.BigEndian.Uint16(b[hl+2:])
		return true
	case len(b) >= wire.IPv6HeaderLen+4 && b[0]>>4 == 6:
		if b[6] != wire.ProtoTCP {
			return false
		}
		t.raddr, t.laddr = [16]byte(b[8:24]), [16]byte(b[24:40])
		h := b[wire.IPv6HeaderLen:]
		t.rport, t.lport = binary.BigEndian.Uint16(h), binary.BigEndian.Uint16(h[2:])
		return true
	}
	return false
}

// slowTuple finds the tuple by a whole parse: IPv6 extension headers, and
// ICMP errors, whose quoted packet we sent (its source is ours).
func slowTuple(b []byte, t *tuple) bool {
	p, err := wire.ParsePacketTrusted(b)
	if err == nil {
		*t = tuple{laddr: p.Dst.As16(), raddr: p.Src.As16(), lport: p.Segment.DstPort, rport: p.Segment.SrcPort}
		return true
	}
	if !errors.Is(err, wire.ErrNotTCP) ||
		!(p.Version == 4 && p.Protocol == wire.ProtoICMP || p.Version == 6 && p.Protocol == wire.ProtoICMPv6) {
		return false
	}
	m, err := wire.ParseICMP(p.Payload, p.Src, p.Dst)
	if err != nil || !m.IsError(p.Version == 6) {
		return false
	}
	q, err := wire.ParseQuoted(m.Body)
	if err != nil {
		return false
	}
	*t = tuple{laddr: q.Src.As16(), raddr: q.Dst.As16(), lport: q.SrcPort, rport: q.DstPort}
	return true
}

// SetHandoff sets where a shard sends a packet that turns out to belong
// to another shard: a datagram reassembled from fragments (which all go
// to shard 0). f is called on the shard's goroutine, with pkt valid only
// during the call; it must not call back into this shard.
func (s *Stack) SetHandoff(f func(shard int, pkt []byte)) { s.handoff = f }

// Shard returns the stack's index in its Group, 0 when it is in none.
func (s *Stack) Shard() int { return s.shard }

// errNotHome is Dial's error for a tuple of another shard: the caller
// dials in the shard Group.Home names.
var errNotHome = errors.New("stack: the connection belongs to another shard")

// atHome says whether t's connection lives in this shard.
func (s *Stack) atHome(t *tuple) bool { return s.group == nil || s.group.home(t) == s.shard }

// SourceFor returns the local address a connection to dst is made from:
// one whose prefix holds dst, else the first of the same family.
func (s *Stack) SourceFor(dst netip.Addr) (netip.Addr, bool) { return s.sourceFor(dst) }

// PortBound says whether a local address and port is taken by a
// connection or a listener, so that Dial from it fails with EADDRINUSE:
// a Group asks every shard before dialling from a given port.
func (s *Stack) PortBound(local netip.AddrPort) bool {
	k := listenKey{addr: local.Addr().As16(), port: local.Port()}
	return s.bound[k] > 0 || s.listenerOn(k.addr, k.port)
}
