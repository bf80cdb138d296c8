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
	host int
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
	if ack != nil {
		cn.Delay[0] = max(0, (ack.T-lastSA.T)/2)
	}
}

// timelines builds each end's replay: its own segments when they left
// it, the peer's when they reached it, and which of the peer's were lost
// after the capture point (see the package documentation).
func (cn *Conn) timelines() [2][]event {
	var out [2][]event
	for h := range 2 {
		d := cn.Delay[h]
		var sends []*Seg
		for _, s := range cn.Segs {
			if s.from == h {
				sends = append(sends, s)
				out[h] = append(out[h], event{t: s.T - d, seg: s, send: true, host: h})
			}
		}
		slack := max(time.Millisecond, d/2)
		for i, s := range cn.Segs {
			if s.from == h {
				continue
			}
			e := event{t: s.T + d, seg: s, host: h}
			if s.SeqLen() > 0 {
				cn.placeSeq(&e, sends, i, slack)
			} else if s.has(wire.FlagACK) && !s.has(wire.FlagRST) {
				e.lost = cn.ackLost(&e, sends, slack)
			}
			out[h] = append(out[h], e)
		}
		slices.SortStableFunc(out[h], func(a, b event) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			case a.seg.Frame < b.seg.Frame:
				return -1
			case a.seg.Frame > b.seg.Frame:
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
		if a.T < s.T || !a.has(wire.FlagACK) {
			continue
		}
		at := a.T - d
		if atLeast(a.Ack, end) {
			e.t = min(e.t, at) // it arrived before the ACK left
			return
		}
		if at > e.t+slack && atLeast(a.Ack, s.Seq) {
			if later {
				e.lost = true
				return
			}
			e.t = at + 1 // not yet: it came after this ACK
		}
	}
	// Never acknowledged. A later copy is what arrived, if any did; with
	// none, the capture ends before this end answered (or its answer was
	// lost before the capture point), and it is taken to have arrived.
	if later {
		e.lost = true
	}
}

// ackLost reports whether the peer's ACK was lost beyond the capture
// point: this end, after the ACK should have reached it, sent again
// something the ACK acknowledged.
func (cn *Conn) ackLost(e *event, sends []*Seg, slack time.Duration) bool {
	s := e.seg
	d := cn.Delay[e.host]
	for _, a := range sends {
		if a.T-d <= e.t+slack || a.SeqLen() == 0 {
			continue
		}
		if atLeast(s.Ack, a.Seq+a.SeqLen()) && s.has(wire.FlagACK) {
			// Retransmitted what was acknowledged; a keepalive (one
			// byte below the ACK) is no evidence.
			if a.SeqLen() == 1 && a.Seq+1 == s.Ack && !a.has(wire.FlagSYN|wire.FlagFIN) {
				continue
			}
			return true
		}
		break // its next segment was new: the ACK had done its work
	}
	return false
}
