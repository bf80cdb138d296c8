package infer

import (
	"slices"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// event is one segment in one end's replayed timeline.
type event struct {
	t    time.Duration // on the end's clock
	seg  *Seg
	send bool // the end sent it; else it is the peer's segment arriving
	lost bool // the peer's segment never arrived (lost beyond the capture point)
	// unsure: the peer's segment was never acknowledged and no later copy
	// came, so whether it arrived is not shown (the capture ends first,
	// or this end's answers were lost before the capture point).
	unsure bool
	// late: the segment carries a FIN and may have arrived as late as
	// just before the ACK covering it left, after the peer's later
	// segments (the network reorders): play forks that order too.
	late time.Duration
	// crossed: a SYN that can only have come after this end's own SYN
	// left (a simultaneous open), if it came.
	crossed bool
	after   int // sorts as if it were this frame's, after its send
	host    int
}

// order is the event's place among those of the same time.
func (e *event) order() int {
	if e.after > 0 {
		return e.after
	}
	return e.seg.Frame
}

func after(a, b uint32) bool   { return seq.Num(a).GreaterThan(seq.Num(b)) }
func atLeast(a, b uint32) bool { return seq.Num(a).GreaterThanEq(seq.Num(b)) }

// estimateDelays takes each end's one-way delay from the capture point
// out of the handshake: the SYN+ACK answers the last SYN copy before it,
// one round trip to the server later; the client's ACK answers the
// SYN+ACK one round trip to the client later. An end that answered at
// once is beside the capture point.
func (cn *Conn) estimateDelays() {
	isSyn := func(s *Seg) bool { return s.from == 0 && s.has(wire.FlagSYN) && !s.has(wire.FlagACK) }
	isSynAck := func(s *Seg) bool {
		return s.from == 1 && s.has(wire.FlagSYN|wire.FlagACK) && s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK
	}
	var syn, firstSA, lastSA, ack *Seg
	for _, s := range cn.Segs {
		switch {
		case firstSA == nil && isSyn(s):
			syn = s
		case syn != nil && ack == nil && isSynAck(s):
			if firstSA == nil {
				firstSA = s
			}
			lastSA = s
		case firstSA != nil && ack == nil && s.from == 0 && s.has(wire.FlagACK) && !s.has(wire.FlagSYN|wire.FlagRST):
			ack = s
		}
	}
	if firstSA == nil {
		return
	}
	cn.Delay[1] = max(0, (firstSA.T-syn.T)/2)
	cn.Near[1] = cn.Delay[1] < nearDelay
	cn.delayKnown[1] = true
	if ack != nil {
		cn.Delay[0] = max(0, (ack.T-lastSA.T)/2)
		cn.Near[0] = cn.Delay[0] < nearDelay
		cn.delayKnown[0] = true
	}
}

// nearDelay: an end that answers within this of the capture point is
// taken to be beside it (tcpdump on that host, or one hop away), so what
// reached the capture point reached it.
const nearDelay = 500 * time.Microsecond

// timelines builds each end's replay: its own segments when they left
// it, the peer's when they reached it, and which of the peer's were lost
// after the capture point (see the package documentation).
func (cn *Conn) timelines() [2][]event {
	var out [2][]event
	for h := range 2 {
		d := cn.Delay[h]
		if cn.Near[h] {
			d = 0 // beside the capture point: the capture's order is its own
		}
		var sends []*Seg
		for _, s := range cn.Segs {
			if s.from == h {
				if !s.foreign {
					sends = append(sends, s) // its own, the evidence below
				}
				out[h] = append(out[h], event{t: s.T - d, seg: s, send: true, host: h})
			}
		}
		slack := max(time.Millisecond, d/2)
		for i, s := range cn.Segs {
			if s.from == h {
				continue
			}
			e := event{t: s.T + d, seg: s, host: h}
			switch {
			case cn.Near[h]:
				// Beside the capture point: what was captured arrived.
			case s.SeqLen() > 0:
				cn.placeSeq(&e, sends, i, slack)
			case s.has(wire.FlagACK) && !s.has(wire.FlagRST):
				cn.ackLost(&e, sends, slack)
			case s.has(wire.FlagRST):
				// An end that answers nothing may be down; one that goes
				// on sending after the RST should have reached it either
				// did not get it or did not accept it (play keeps the
				// histories its later segments allow).
				// And one the capture ends too soon after for a
				// retransmission to show it lost is not shown either.
				e.unsure = cn.unanswered(h, s) || cn.sendsAfter(h, s, d+slack) || cn.end-s.T < cn.rtoBound(h)
			}
			if !cn.Near[h] && !cn.delayKnown[h] && s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN {
				// The delay to this end is not known. A SYN it got
				// before its own SYN left would have been refused (no
				// listener answers here), and no RST came: it came
				// after, if at all.
				for _, o := range sends {
					if o.Flags&(wire.FlagSYN|wire.FlagACK) != wire.FlagSYN || cn.answersSyn(h) {
						continue
					}
					e.unsure, e.crossed, e.lost = true, true, false
					if o.T-d >= e.t {
						e.t, e.after = o.T-d, o.Frame // just after it
					}
					break
				}
			}
			out[h] = append(out[h], e)
		}
		slices.SortStableFunc(out[h], func(a, b event) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			case a.order() < b.order():
				return -1
			case a.order() > b.order():
				return 1
			case a.send && !b.send:
				return -1
			case b.send && !a.send:
				return 1
			}
			return 0
		})
	}
	return out
}

// placeSeq decides when the peer's segment s (the i-th of the connection)
// reached this end, from this end's ACKs: the first ACK covering it left
// after it arrived; an ACK that left after it should have arrived, from
// an end that had all before it, but does not cover it, says it had not:
// it was lost, if a later copy exists, or it came late.
func (cn *Conn) placeSeq(e *event, sends []*Seg, i int, slack time.Duration) {
	s := e.seg
	end := s.Seq + s.SeqLen()
	d := cn.Delay[e.host]
	later := false // a later copy of the same bytes was captured
	for _, o := range cn.Segs[i+1:] {
		if o.from == s.from && o.SeqLen() > 0 && !after(o.Seq, s.Seq) && atLeast(o.Seq+o.SeqLen(), end) {
			later = true
			break
		}
	}
	for _, a := range sends {
		if a.T < s.T && a.has(wire.FlagACK) && !a.has(wire.FlagRST) && atLeast(a.Ack, end) {
			// A copy of what this end had acknowledged already: whether
			// it arrived matters only for its ACK field.
			cn.ackLost(e, sends, slack)
			return
		}
	}
	earlier := false // an earlier copy of the same bytes was captured
	for _, o := range cn.Segs[:i] {
		if o.from == s.from && o.SeqLen() > 0 && !after(o.Seq, s.Seq) && atLeast(o.Seq+o.SeqLen(), end) {
			earlier = true
			break
		}
	}
	notYet := false // this end showed, after the segment should have arrived, that it had not
	var next *Seg   // the first later copy
	for _, o := range cn.Segs[i+1:] {
		if o.from == s.from && o.SeqLen() > 0 && !after(o.Seq, s.Seq) && atLeast(o.Seq+o.SeqLen(), end) {
			next = o
			break
		}
	}
	for _, a := range sends {
		if a.T < s.T {
			continue
		}
		at := a.T - d
		if a.has(wire.FlagACK) && !a.has(wire.FlagRST) && atLeast(a.Ack, end) {
			if at < e.t-slack && earlier && !s.has(wire.FlagFIN|wire.FlagSYN) {
				// The ACK left before this copy of data could have come (a
				// FIN or SYN is left to the ACK: the delay estimate may be
				// long, and its earlier copies lost): it
				// answers the earlier copy, and this one's arrival
				// matters only for its ACK field (it may come after
				// segments sent before it, e.g. a FIN with the same
				// ACK, RFC 9293 §3.10.7.4 Note 2).
				cn.ackLost(e, sends, slack)
				return
			}
			e.t = min(e.t, at) // it arrived before the ACK left
			if next != nil && next.T < a.T {
				// The later copy, captured before the ACK, may be what
				// the ACK answers (delays vary: the handshake's is no
				// bound): whether this one arrived is not shown.
				e.unsure = true
			}
			if s.has(wire.FlagFIN) && !e.unsure {
				for _, q := range cn.Segs[i+1:] {
					if q == a || q.T >= a.T {
						break
					}
					if q.from == s.from && !q.foreign && q.has(wire.FlagACK) && !q.has(wire.FlagRST) {
						// After them all, whatever the delays' estimate
						// says (the ACK answers the FIN, not the order).
						e.late = max(e.late, at-time.Nanosecond, q.T+d+time.Nanosecond)
					}
				}
			}
			return
		}
		if at <= e.t+slack {
			continue
		}
		switch {
		case a.has(wire.FlagACK) && !a.has(wire.FlagRST) && atLeast(a.Ack, s.Seq):
			// It had everything before the segment, not the segment.
		case a.has(wire.FlagSYN) && !a.has(wire.FlagACK) && s.has(wire.FlagSYN) && s.has(wire.FlagACK):
			// Still sending SYNs: the SYN+ACK had not come.
		default:
			continue
		}
		if later {
			e.lost = true
			return
		}
		notYet = true
		e.t = at + 1 // not yet: it may have come after this
	}
	// Never acknowledged. A later copy is what arrived, if any did; with
	// none, whether it arrived is not shown.
	switch {
	case later:
		e.lost = true
	case notYet || !s.has(wire.FlagRST):
		e.unsure = true
	}
}

// ackLost decides whether the peer's ACK reached this end. It was lost
// beyond the capture point if this end, after the ACK should have reached
// it, sent again something the ACK acknowledged. It is unsure if this end
// was retransmitting what it acknowledges and the capture ends before the
// next retransmission was due: silence then shows nothing.
func (cn *Conn) ackLost(e *event, sends []*Seg, slack time.Duration) {
	s := e.seg
	d := cn.Delay[e.host]
	var last, prev time.Duration = -1, -1 // the two latest copies of the last segment it acknowledges
	var lastSeq uint32
	for _, a := range sends {
		if a.SeqLen() == 0 || !atLeast(s.Ack, a.Seq+a.SeqLen()) {
			if a.T-d > e.t+slack && a.SeqLen() > 0 {
				return // its next segment was new: the ACK had done its work
			}
			continue
		}
		if a.T-d <= e.t+slack {
			if a.T <= s.T {
				if last >= 0 && a.Seq == lastSeq {
					prev = last
				} else {
					prev = -1
				}
				last, lastSeq = a.T, a.Seq
			}
			continue
		}
		// Retransmitted what was acknowledged; a keepalive (one byte
		// below the ACK) is no evidence.
		if a.SeqLen() == 1 && a.Seq+1 == s.Ack && !a.has(wire.FlagSYN|wire.FlagFIN) {
			continue
		}
		e.lost = true
		return
	}
	// Copies closer than the least RTO (RFC 6298 §2.4's 1 s; Linux's
	// 200 ms) are not a timer's: a SYN+ACK repeating a SYN in a
	// simultaneous open.
	if prev >= 0 && last-prev >= 200*time.Millisecond && cn.end-s.T < 2*(last-prev) {
		e.unsure = true
		return
	}
	// A bare ACK draws no answer. If the peer's next segment carries the
	// same acknowledgment before this end's retransmission timer could
	// have shown the loss, whether this one arrived is not shown: the
	// next did its work either way (a FIN with the ACK of ours takes
	// FIN-WAIT-1 straight to TIME-WAIT, §3.10.7.4 Note 2).
	if s.SeqLen() == 0 {
		bound := cn.rtoBound(e.host)
		for _, o := range cn.Segs {
			if o.from != s.from || o.Frame <= s.Frame || o.foreign || !o.has(wire.FlagACK) {
				continue
			}
			if atLeast(o.Ack, s.Ack) && o.T-s.T < bound {
				e.unsure = true
			}
			break
		}
	}
}

// rtoBound is a time within which end h, had it missed an ACK, would have
// retransmitted: three seconds (RFC 6298 §2's initial RTO is one, Linux's
// least 200 ms), or twice the longest gap between copies of a segment it
// retransmitted, for its timer may have backed off (§5.5).
func (cn *Conn) rtoBound(h int) time.Duration {
	bound := 3 * time.Second
	last := map[uint32]time.Duration{}
	for _, s := range cn.Segs {
		if s.from != h || s.SeqLen() == 0 || s.foreign {
			continue
		}
		if t, ok := last[s.Seq]; ok {
			bound = max(bound, 2*(s.T-t))
		}
		last[s.Seq] = s.T
	}
	return bound
}

// sendsAfter: end h sends a segment other than an RST, in this
// incarnation, later than by after the segment s was captured.
func (cn *Conn) sendsAfter(h int, s *Seg, by time.Duration) bool {
	for _, o := range cn.Segs {
		if o.from == h && !o.foreign && !o.has(wire.FlagRST) && o.T > s.T+by {
			return true
		}
	}
	return false
}

// unanswered reports whether, when rst left, its sender was waiting on an
// answer that never came from end h: a probe or a retransmission sent
// after h's last segment. An end that answers nothing may be down, so
// whether the RST reached it is not shown.
func (cn *Conn) unanswered(h int, rst *Seg) bool {
	var lastH time.Duration = -1
	for _, s := range cn.Segs {
		if s == rst {
			break
		}
		if s.from == h {
			lastH = s.T
		}
	}
	for _, s := range cn.Segs {
		if s == rst {
			break
		}
		if s.from != h && s.T > lastH && (s.Has(MarkKeepalive) || s.Has(MarkRetransmission) || s.Has(MarkWindowProbe) || s.Has(MarkSynRetry)) {
			return true
		}
	}
	return false
}

// answersSyn: end h sends a SYN+ACK or an RST with ACK in this
// incarnation (a listener's or a closed port's answer to a SYN).
func (cn *Conn) answersSyn(h int) bool {
	for _, s := range cn.Segs {
		if s.from == h && !s.foreign && s.has(wire.FlagACK) && s.has(wire.FlagSYN|wire.FlagRST) {
			return true
		}
	}
	return false
}
