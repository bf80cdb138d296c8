package infer

import (
	"time"

	"github.com/synack/synack/wire"
)

// A capture names each segment's sender by its source address, which an
// off-path attacker or a middlebox can forge. Where the named end's own
// later segments show that it did not send one (it carries on in the old
// sequence space after a SYN, keeps talking after an RST), the segment is
// foreign: it still reaches the other end, which answers it by RFC 9293
// and RFC 5961, but it tells nothing about its named sender's state.

// synInConn reports whether a SYN without ACK from the end at side of
// cn, whose ISN is not that end's ISN in cn, belongs to cn after all: the
// end goes on with cn's sequence numbers after it (so it did not send
// it), or, if the end sends nothing more, the peer answers it with an
// ACK in cn's sequence space (RFC 9293 §3.10.7.4 and RFC 5961 §4: the
// challenge ACK to a SYN in a synchronized state) rather than a SYN+ACK
// or RST for a new connection.
func synInConn(cn *Conn, side int, syn *Seg, rest []*Seg) bool {
	synced := false
	for _, o := range cn.Segs {
		if o.from == side && o.has(wire.FlagACK) && !o.has(wire.FlagRST) {
			synced = true
			break
		}
	}
	if !synced {
		return false
	}
	k := key(syn)
	for _, o := range rest {
		if key(o) != k || o.Src != syn.Src || o.has(wire.FlagRST) {
			continue
		}
		if o.has(wire.FlagSYN) && !o.has(wire.FlagACK) {
			return false // a retry (or yet another opening)
		}
		if !o.has(wire.FlagACK) {
			continue // not the end's either (see markForeign)
		}
		// The end's next segment: one of a new connection is at or a
		// little past the SYN's ISN+1; anything else continues the old.
		return o.Seq-(syn.Seq+1) >= 1<<24
	}
	for _, o := range rest {
		if key(o) != k || o.Src == syn.Src {
			continue
		}
		if o.has(wire.FlagSYN) || o.has(wire.FlagRST) && o.has(wire.FlagACK) && o.Ack == syn.Seq+1 {
			return false
		}
		return o.has(wire.FlagACK) && !o.has(wire.FlagRST) && o.Ack != syn.Seq+1
	}
	return false
}

// markForeign finds the segments of cn that their named sender could not
// have sent:
//   - a segment that is neither SYN nor RST without ACK (RFC 9293
//     §3.10.7: once synchronized every segment carries an ACK, and before
//     that only SYNs and RSTs are sent);
//   - an ACK of sequence numbers the peer never sent, or before its ISN;
//   - an RST after which its sender goes on: it sends sequence space at
//     or beyond the RST's (an ABORT's RST carries SND.NXT, §3.10.5), or
//     acknowledges what the peer sent after the RST was captured; beside
//     the capture point, any later segment.
func (cn *Conn) markForeign() {
	var synced [2]bool
	var hi [2]uint32 // one past the highest sequence number each side sent
	var hiKnown [2]bool
	isn := [2]uint32{}
	var isnKnown [2]bool
	var synAcked [2]bool // the peer acknowledged this side's SYN
	var fin [2]uint32    // each side's FIN, once sent
	var finSent [2]bool
	var wscale [2]uint8
	var wsOffered [2]bool
	var edge [2]uint32 // the right edge of the window each side offered, at its widest
	var edgeKnown [2]bool
	for i, s := range cn.Segs {
		x, y := s.from, 1-s.from
		if s.foreign {
			continue
		}
		if s.has(wire.FlagSYN) && !isnKnown[x] {
			isn[x], isnKnown[x] = s.Seq, true
		}
		if s.has(wire.FlagSYN) && s.Opts.HasWScale {
			wscale[x], wsOffered[x] = s.Opts.WScale, true
		}
		end := s.Seq + s.SeqLen()
		switch {
		case finSent[x] && s.SeqLen() > 0 && after(end, fin[x]+1):
			// Sequence space beyond its own FIN.
			s.foreign = true
		case s.Len > 1 && !s.has(wire.FlagSYN) && edgeKnown[y] && after(end, edge[y]+1):
			// Beyond any window the peer offered (RFC 9293 §3.8.6).
			s.foreign = true
		case !s.has(wire.FlagACK | wire.FlagRST | wire.FlagSYN):
			// Only a SYN or an RST goes without ACK (RFC 9293 §3.10.7).
			s.foreign = true
		case isnKnown[x] && !isnKnown[y] && s.has(wire.FlagACK) && !s.has(wire.FlagRST|wire.FlagSYN):
			// An ACK of a peer that sent no SYN.
			s.foreign = true
		case s.has(wire.FlagACK) && !s.has(wire.FlagRST) && isnKnown[y] && hiKnown[y] &&
			(!after(s.Ack, isn[y]) || after(s.Ack, hi[y]+1<<20)):
			s.foreign = true
		case s.has(wire.FlagRST) && synAcked[x] && synAcked[y] && cn.goesOn(i):
			s.foreign = true
		}
		if s.foreign {
			continue
		}
		if s.has(wire.FlagACK) && !s.has(wire.FlagRST) {
			synced[x] = true
			if isnKnown[y] && after(s.Ack, isn[y]) {
				synAcked[y] = true
			}
			w := uint32(s.Win)
			if !s.has(wire.FlagSYN) && wsOffered[0] && wsOffered[1] {
				w <<= wscale[x]
			}
			if e := s.Ack + w; !edgeKnown[x] || after(e, edge[x]) {
				edge[x], edgeKnown[x] = e, true
			}
		}
		if s.has(wire.FlagFIN) && !s.has(wire.FlagRST) {
			if f := end - 1; !finSent[x] || after(f, fin[x]) {
				fin[x], finSent[x] = f, true
			}
		}
		if end := s.Seq + s.SeqLen(); s.SeqLen() > 0 && (!hiKnown[x] || after(end, hi[x])) {
			hi[x], hiKnown[x] = end, true
		}
	}
}

// goesOn reports whether the sender of the RST cn.Segs[i] shows itself
// alive in this incarnation after it: a synchronized TCB answers what it
// does not accept with an ACK (RFC 9293 §3.10.7.4, RFC 5961), so an RST
// from it ends it.
func (cn *Conn) goesOn(i int) bool {
	rst := cn.Segs[i]
	x := rst.from
	slack := 4*cn.Delay[x] + 5*time.Millisecond
	var peerHi uint32 // one past what the peer had sent when the RST was captured
	for _, o := range cn.Segs[:i] {
		if o.from != x && o.SeqLen() > 0 && !o.foreign {
			if e := o.Seq + o.SeqLen(); peerHi == 0 || after(e, peerHi) {
				peerHi = e
			}
		}
	}
	for _, o := range cn.Segs[i+1:] {
		if o.from != x || o.has(wire.FlagRST) || o.foreign || !o.has(wire.FlagACK|wire.FlagSYN) {
			continue
		}
		if o.has(wire.FlagSYN) && !o.has(wire.FlagACK) {
			return false // opening anew
		}
		switch {
		case cn.Near[x]:
			return true
		case o.has(wire.FlagSYN) && o.Seq+1 == rst.Seq && o.T-rst.T > slack:
			// It retransmits its SYN (an ABORT's RST carries the
			// ISN+1 of SND.NXT): still in SYN-RECEIVED or SYN-SENT,
			// RFC 9293 §3.8.1. A forged RST at the peer's RCV.NXT.
			return true
		case o.SeqLen() > 0 && after(o.Seq+o.SeqLen(), rst.Seq) && o.T-rst.T > slack:
			return true
		case peerHi != 0 && o.has(wire.FlagACK) && after(o.Ack, peerHi):
			// It acknowledges what the peer sent after the RST.
			return true
		}
	}
	return false
}
