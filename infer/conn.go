package infer

import (
	"net/netip"
	"time"

	"github.com/synack/synack/wire"
)

// Conn is one incarnation of a connection: the segments of a 4-tuple
// from a SYN with a new ISN (or the capture's start) to the next.
type Conn struct {
	ID   int               // 1-based, in order of first segment
	Ends [2]netip.AddrPort // [0] the client (sent the first SYN, or the first segment seen), [1] the server
	Segs []*Seg
	// MidStream is set when the capture began after the handshake: the
	// states before the first segment are unknown.
	MidStream bool

	// Delay is the estimated one-way delay from the capture point to
	// each end, from the handshake (zero when it is not in the capture).
	Delay [2]time.Duration
	// Near says an end answered the handshake at once: it is beside the
	// capture point, which then sees its arrivals as they happen.
	Near [2]bool

	Hosts [2]*Host

	// Anomalies are the connection's findings in a sentence each.
	Anomalies []string

	listener   bool          // Ends[1] is seen to listen (see infer)
	delayKnown [2]bool       // Delay was estimated from a handshake
	events     []event       // each end's replayed timeline
	end        time.Duration // the capture's last packet
}

// Host is what the capture shows of one end.
type Host struct {
	Addr    netip.AddrPort
	Initial string // the state before its first inferred change
	Changes []Change
	// Final is the state at the capture's end; FinalKnown is false when
	// a timer may have ended it unseen (TIME-WAIT, SYN-SENT) or nothing
	// could be inferred.
	Final      string
	FinalKnown bool
	Unknown    []string // what the capture cannot show about this end, in a sentence each
	Bytes      int64    // payload bytes sent, retransmissions not counted twice
}

// Change is one inferred state change.
type Change struct {
	T        time.Duration // on the end's own clock (capture time ∓ its delay)
	Frame    int           // the segment that shows it
	From, To string
	Cause    string
	// Unseen: the capture shows the change happened, not when or why
	// (a TCB lost to a restart shows only in the RST that follows).
	Unseen bool
	// Unverified: the change is its sender's if the segment that shows
	// it is, which the capture cannot tell (a lone SYN's source).
	Unverified bool
	// Via: the capture fits histories that pass through these states
	// between From and To, and one that goes straight (see Host.Unknown).
	Via []string
}

// States returns the states the host went through, initial first.
func (h *Host) States() []string {
	out := []string{h.Initial}
	for _, c := range h.Changes {
		out = append(out, c.To)
	}
	return out
}

type tuple struct{ a, b netip.AddrPort }

func key(s *Seg) tuple {
	if s.Src.Addr().Less(s.Dst.Addr()) || s.Src.Addr() == s.Dst.Addr() && s.Src.Port() < s.Dst.Port() {
		return tuple{s.Src, s.Dst}
	}
	return tuple{s.Dst, s.Src}
}

// group splits segments into connections. A SYN without ACK whose ISN
// differs from the one its sender used on this 4-tuple starts a new
// incarnation (RFC 9293 §3.4.1: a new connection picks a new ISN); the
// same ISN again is a retransmitted SYN.
func (c *Capture) group() {
	cur := map[tuple]*Conn{}
	all := map[tuple][]*Conn{}
	for i, s := range c.Segs {
		k := key(s)
		cn := cur[k]
		if old := earlier(all[k], s); old != nil {
			s.conn, s.from = old, old.side(s.Src)
			old.Segs = append(old.Segs, s)
			continue
		}
		if s.has(wire.FlagSYN) && !s.has(wire.FlagACK) && cn != nil {
			side := cn.side(s.Src)
			isn, ok := cn.isn(side)
			switch {
			case ok && isn == s.Seq:
			case synInConn(cn, side, s, c.Segs[i+1:]):
				s.foreign = true
			case ok || cn.sent(side):
				// (Without an ISN here, a SYN is this end's side of a
				// simultaneous open only if it had sent nothing else.)
				cn = nil
			}
		}
		if cn == nil {
			cn = &Conn{ID: len(c.Conns) + 1, Ends: [2]netip.AddrPort{s.Src, s.Dst}}
			if s.has(wire.FlagSYN) && s.has(wire.FlagACK) {
				cn.Ends = [2]netip.AddrPort{s.Dst, s.Src} // the SYN was not captured
			}
			cn.MidStream = !s.has(wire.FlagSYN) && !s.has(wire.FlagRST)
			c.Conns = append(c.Conns, cn)
			cur[k] = cn
			all[k] = append(all[k], cn)
		}
		s.conn, s.from = cn, cn.side(s.Src)
		cn.Segs = append(cn.Segs, s)
	}
}

// earlier finds the earlier incarnation a handshake-time segment
// belongs to: an ACK of exactly an earlier ISN (a SYN+ACK answering an old
// duplicate SYN, the ACK of a refused one) or an RST whose sequence
// number is one past it, when the latest incarnation's ISN differs.
func earlier(conns []*Conn, s *Seg) *Conn {
	if len(conns) < 2 || s.has(wire.FlagSYN) && !s.has(wire.FlagACK) {
		return nil
	}
	cur := conns[len(conns)-1]
	match := func(cn *Conn) bool {
		if s.has(wire.FlagACK) {
			if n, ok := cn.isn(1 - cn.side(s.Src)); ok && s.Ack == n+1 {
				return true
			}
		}
		if s.has(wire.FlagRST) && !s.has(wire.FlagACK) {
			if n, ok := cn.isn(1 - cn.side(s.Src)); ok && s.Seq == n+1 && cn.side(s.Src) == 0 {
				return false
			}
			// An RST carries the ACK field it answers as its sequence
			// number (§3.10.7.3): one past the SYN+ACK's peer ISN.
			for _, o := range cn.Segs {
				if o.from != cn.side(s.Src) && o.has(wire.FlagSYN) && o.has(wire.FlagACK) && s.Seq == o.Ack {
					return true
				}
			}
		}
		return false
	}
	if match(cur) {
		return nil
	}
	for i := len(conns) - 2; i >= 0; i-- {
		if match(conns[i]) {
			return conns[i]
		}
	}
	return nil
}

// sent reports whether side sent anything in cn (an RST that refused
// the other's SYN too).
func (cn *Conn) sent(side int) bool {
	for _, s := range cn.Segs {
		if s.from == side {
			return true
		}
	}
	return false
}

func (cn *Conn) side(a netip.AddrPort) int {
	if a == cn.Ends[0] {
		return 0
	}
	return 1
}

// isn is the ISN a side used in this incarnation: the sequence number of
// its first SYN.
func (cn *Conn) isn(side int) (uint32, bool) {
	for _, s := range cn.Segs {
		if s.from == side && s.has(wire.FlagSYN) && !s.foreign {
			return s.Seq, true
		}
	}
	return 0, false
}

// Name is the connection as a line of --list: "192.0.2.1:40000 → 192.0.2.2:80".
func (cn *Conn) Name() string { return cn.Ends[0].String() + " → " + cn.Ends[1].String() }

// Duration is the time from the first segment to the last.
func (cn *Conn) Duration() time.Duration {
	if len(cn.Segs) == 0 {
		return 0
	}
	return cn.Segs[len(cn.Segs)-1].T - cn.Segs[0].T
}
