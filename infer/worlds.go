package infer

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// A capture does not always show whether a segment reached an end: the
// end's answer to it may have been lost beyond the capture point, or a
// later segment did the same work. Each such segment splits the end's
// history in two — it arrived, it did not — and both are replayed. A
// history in which the end then sends what it could not have sent in its
// state (a segment from a TCB it deleted, its FIN again after the FIN was
// acknowledged) is dropped. The states shown are those every remaining
// history goes through, in order; where the histories part, the change
// drawn spans the gap and names the states between that some histories
// pass through (Change.Via).

// maxForks bounds the histories of one end: past it, a segment whose
// arrival is not shown is taken as not arrived and said so.
const maxForks = 6

func (r *replica) clone() *replica {
	c := *r
	h := *r.h
	h.Changes = slices.Clone(h.Changes)
	h.Unknown = slices.Clone(h.Unknown)
	c.h = &h
	return &c
}

func (r *replica) note(s string) {
	if !slices.Contains(r.h.Unknown, s) {
		r.h.Unknown = append(r.h.Unknown, s)
	}
}

// play replays events from i on and returns the histories they allow.
func (r *replica) play(evs []event, i int) []*replica {
	for ; i <= len(evs); i++ {
		// Arrivals put off to a later time (see event.late) first.
		for len(r.deferred) > 0 && (i == len(evs) || r.deferred[0].t <= evs[i].t) {
			d := r.deferred[0]
			r.deferred = r.deferred[1:]
			if alt := r.receive(&d); alt != nil {
				return append(r.play(evs, i), alt.play(evs, i)...)
			}
		}
		if r.earlyBy != 0 && (i == len(evs) || evs[i].t > r.earlyUntil) {
			if r.st == r.earlyIn {
				r.pruned = true
				if r.prunedBy == 0 {
					r.prunedBy = r.earlyBy
				}
			}
			r.earlyBy = 0
		}
		if i == len(evs) {
			break
		}
		e := &evs[i]
		if !e.send && !e.lost && !e.unsure && e.late > e.t && r.forks < maxForks && r.st != tcp.StateEstablished {
			// The other order: it came just before the ACK covering it
			// left, after the segments captured behind it.
			t := r.clone()
			d := *e
			d.t, d.late = e.late, 0
			t.deferred = insertEvent(slices.Clone(t.deferred), d)
			n := fmt.Sprintf("frame %d: whether it reached this end before or after the peer's segments captured behind it is not shown", e.seg.Frame)
			t.note(n)
			r.note(n)
			t.forks++
			r.forks++
			now := *e
			now.late = 0
			if alt := r.receive(&now); alt != nil {
				out := append(r.play(evs, i+1), alt.play(evs, i+1)...)
				return append(out, t.play(evs, i+1)...)
			}
			return append(r.play(evs, i+1), t.play(evs, i+1)...)
		}
		switch {
		case e.send:
			if e.seg.foreign {
				continue // not this end's segment (see foreign)
			}
			alt := r.receive(e)
			if alt != nil {
				return append(r.play(evs, i+1), alt.play(evs, i+1)...)
			}
		case e.lost:
		case e.unsure:
			arrived := *e
			arrived.unsure = false
			t := r.clone()
			alt := t.receive(&arrived)
			if alt == nil && t.st == r.st && len(t.h.Changes) == len(r.h.Changes) {
				*r = *t // the same either way
				continue
			}
			if r.forks >= maxForks {
				r.note(fmt.Sprintf("frame %d: whether it arrived, taking this end from %s to %s, is not shown; taken as not arrived", e.seg.Frame, r.st, t.st))
				continue
			}
			n := fmt.Sprintf("frame %d: whether it reached this end (taking it from %s to %s) is not shown", e.seg.Frame, r.st, t.st)
			var out []*replica
			for _, w := range []*replica{t, alt, r} {
				if w != nil {
					w.note(n)
					w.forks++
					out = append(out, w.play(evs, i+1)...)
				}
			}
			return out
		default:
			if alt := r.receive(e); alt != nil {
				return append(r.play(evs, i+1), alt.play(evs, i+1)...)
			}
		}
	}
	return []*replica{r}
}

// insertEvent adds e to evs, kept in time order.
func insertEvent(evs []event, e event) []event {
	i := len(evs)
	for i > 0 && evs[i-1].t > e.t {
		i--
	}
	return slices.Insert(evs, i, e)
}

// receive applies the arrival of e. When it consumes the peer's FIN in
// ESTABLISHED while the end's application may have closed already, it
// returns the other history too: its application had closed before this
// FIN came, so it was in FIN-WAIT-1 (RFC 9293 §3.10.4: CLOSE enters
// FIN-WAIT-1 even with the FIN queued) and the FIN took it to CLOSING.
func (r *replica) receive(e *event) *replica {
	var pre *replica
	// (A passive open not seen to listen may have been opening too, its
	// SYN lost before the capture point: see infer.)
	maybeActive := !r.passive || r.side == 1 && !r.cn.listener && !r.cn.Near[1]
	if r.st == tcp.StateSynReceived && maybeActive && r.forks < maxForks && r.queuedClose(e) {
		pre = r.clone()
		r.apply(e)
		if r.st != tcp.StateEstablished {
			return nil
		}
		// Its application may have closed in SYN-RECEIVED with data
		// queued: the FIN waited for the handshake, and it went to
		// FIN-WAIT-1 without ESTABLISHED (RFC 9293 §3.10.4).
		alt := pre
		alt.unseen(e, tcp.StateFinWait1, tcp.CauseCloseFIN.String()+" (unseen: its FIN queued behind data until the handshake ended)")
		alt.h.Changes[len(alt.h.Changes)-1].Unseen = false
		alt.apply(e)
		n := fmt.Sprintf("frame %d: its FIN came with data queued after the handshake; if its application had closed before frame %d came, it went from SYN-RECEIVED to FIN-WAIT-1, never ESTABLISHED", e.seg.Frame, e.seg.Frame)
		r.note(n)
		alt.note(n)
		r.forks++
		alt.forks++
		return alt
	}
	if (r.st == tcp.StateEstablished && (r.peerFin || e.seg.has(wire.FlagFIN)) || r.st == tcp.StateFinWait1 && e.seg.has(wire.FlagFIN)) && !r.finConsumed && r.forks < maxForks {
		pre = r.clone()
	}
	r.apply(e)
	if r.orderFork && pre != nil {
		r.orderFork = false
		alt := pre
		alt.flipOrder = true
		alt.apply(e)
		alt.flipOrder, alt.orderFork = false, false
		n := fmt.Sprintf("frame %d: whether the data before its FIN had all arrived when it came (taking this end to TIME-WAIT at once, or by FIN-WAIT-2) is not shown", e.seg.Frame)
		r.note(n)
		alt.note(n)
		r.forks++
		alt.forks++
		return alt
	}
	r.orderFork = false
	if !r.closingFork || pre == nil {
		r.closingFork = false
		return nil
	}
	r.closingFork = false
	n := fmt.Sprintf("frame %d: a FIN arrived before this end's own FIN was captured; if its application had closed already (its FIN queued behind data, or lost before the capture point), it went to CLOSING, not CLOSE-WAIT", e.seg.Frame)
	alt := pre
	alt.unseen(e, tcp.StateFinWait1, tcp.CauseCloseFIN.String()+" (unseen: its FIN not yet captured)")
	alt.h.Changes[len(alt.h.Changes)-1].Unseen = false
	alt.apply(e)
	alt.closingFork = false
	r.note(n)
	alt.note(n)
	r.forks++
	alt.forks++
	return alt
}

// apply replays one event, sent or received.
func (r *replica) apply(e *event) {
	if e.send {
		before, nxt := r.st, r.sndNxt
		r.issPrev, r.issBefore = r.iss, r.issKnown
		r.sent(e)
		if r.impossible(e, before, nxt) {
			r.pruned = true
			if r.prunedBy == 0 {
				r.prunedBy = e.seg.Frame
			}
		}
		return
	}
	r.received(e)
	r.lastIn = e.seg
}

// impossible reports whether this history contradicts the end's own
// segment, sent in state before with SND.NXT nxt. Away from the capture
// point, a segment may have been sent earlier than it was captured (the
// network reordered it): a bare ACK below SND.NXT, or one captured within
// the reordering slack of the change, is no evidence.
func (r *replica) impossible(e *event, before tcp.State, nxt uint32) bool {
	s := e.seg
	if s.has(wire.FlagRST) || s.copyOf {
		// (A copy of a segment it sent before can be an old duplicate
		// the network held: what TIME-WAIT waits out, §3.4.)
		return false
	}
	d := r.cn.Delay[r.side]
	slack := 4*d + 5*time.Millisecond
	early := false // SYN-SENT or SYN-RECEIVED sends what it could not
	switch before {
	case tcp.StateSynSent:
		// It sends only SYNs until the handshake (RFC 9293 §3.10.7.3),
		// each with its one ISS (§3.4.1), a SYN+ACK of a simultaneous
		// open too.
		early = !s.has(wire.FlagSYN) || r.issBefore && s.Seq != r.issPrev
	case tcp.StateSynReceived:
		// Data waits for ESTABLISHED (§3.10.2).
		early = s.Len > 0 && !s.has(wire.FlagSYN)
	}
	if early {
		if r.cn.Near[r.side] {
			return true
		}
		// Away from the capture point the arrival that moved it on may
		// be placed a little late: the history is dropped only if it
		// has not moved on within the slack (see play).
		if r.earlyBy == 0 {
			r.earlyBy, r.earlyUntil, r.earlyIn = e.seg.Frame, e.t+slack, before
		}
		return false
	}
	if !r.cn.Near[r.side] {
		if s.SeqLen() == 0 && after(nxt, s.Seq) || e.t < r.changedT+slack {
			return false
		}
	}
	switch before {
	case tcp.StateClosed:
		// A TCB this history deleted sends nothing but RSTs; a SYN
		// opens anew.
		return r.ended && !(s.has(wire.FlagSYN) && !s.has(wire.FlagACK))
	case tcp.StateListen:
		// Back in LISTEN after a RST: a SYN+ACK with the old ISS is a
		// retransmission by the TCB this history deleted.
		return r.ended && (!s.has(wire.FlagSYN) || r.issKnown && s.Seq == r.iss && r.ended)
	case tcp.StateFinWait2, tcp.StateTimeWait:
		// Its FIN was acknowledged: it does not send it again.
		return s.has(wire.FlagFIN) && r.finSent && s.Seq+s.SeqLen()-1 == r.finSeq
	}
	return false
}

// mayHaveClosed: when the peer's FIN (frame of e) is consumed in
// ESTABLISHED, its application may already have closed. Beside the
// capture point that shows as its data still in flight or held by a zero
// window (the FIN queued behind it); away from it, its FIN may also have
// been sent and lost before the capture point, unless its first segment
// acknowledging the peer's FIN is a bare ACK that has not passed its own
// FIN.
func (r *replica) mayHaveClosed(e *event) bool {
	if r.unaKnown && after(r.sndNxt, r.sndUna) || r.peerWnd == 0 {
		return true
	}
	if r.cn.Near[r.side] {
		// New data sent after the peer's FIN, up to its own FIN, may
		// have been queued before a CLOSE that came first (even with
		// the window open: a sender may pace, or wait on Nagle).
		for _, s := range r.cn.Segs {
			if s.from != r.side || s.Frame <= e.seg.Frame || s.foreign || s.has(wire.FlagRST) {
				continue
			}
			if s.Len > 0 && after(s.Seq+uint32(s.Len), r.sndNxt) {
				return true
			}
			if s.has(wire.FlagFIN) {
				break
			}
		}
		return false
	}
	// A bare ACK of the peer's FIN at the end's own FIN's sequence
	// number shows the FIN was not yet sent when the peer's came, with
	// nothing queued before it (whatever order the network put the
	// segments in); below it, data may have been queued behind a CLOSE.
	fin := r.finSeqLater()
	for _, s := range r.cn.Segs {
		if s.from == r.side && !s.foreign && s.SeqLen() == 0 && s.has(wire.FlagACK) && !s.has(wire.FlagRST) &&
			after(s.Ack, r.peerFinSeq) && s.Seq == fin {
			return false
		}
	}
	return true
}

// merge makes the end's shown history from the histories play allowed:
// the states all of them pass through, in order.
func (r *replica) merge(worlds []*replica) {
	if debugWorlds {
		for _, w := range worlds {
			var st []string
			for _, c := range w.h.Changes {
				st = append(st, fmt.Sprintf("f%d:%s", c.Frame, c.To))
			}
			println("world", r.h.Addr.String(), w.pruned, w.prunedBy, strings.Join(st, " "))
		}
	}
	live := worlds[:0:0]
	for _, w := range worlds {
		if !w.pruned {
			live = append(live, w)
		}
	}
	if len(live) == 0 {
		// The capture fits no history: some of the segments in this
		// end's name are not its own (forged, or a middlebox's). Show
		// the first history, unverified.
		live = worlds[:1]
		r.noHistory = true
	}
	p := live[0]
	states := func(w *replica) []string {
		out := []string{w.h.Initial}
		for _, c := range w.h.Changes {
			out = append(out, c.To)
		}
		return out
	}
	ps := states(p)
	keep := make([]bool, len(ps))
	for i := range keep {
		keep[i] = true
	}
	for _, w := range live[1:] {
		m := lcsMatch(ps, states(w))
		for i := range keep {
			keep[i] = keep[i] && m[i]
		}
	}
	h := *p.h
	h.Changes = nil
	last := 0
	for j := 1; j < len(ps); j++ {
		if !keep[j] {
			continue
		}
		c := p.h.Changes[j-1]
		if last != j-1 {
			c.From = ps[last]
			var via []string
			for _, w := range live {
				via = appendVia(via, w, ps[last], ps[j])
			}
			c.Via = via
			if len(via) > 0 {
				c.Cause += " (by way of " + strings.Join(via, " or ") + ", or not: the capture does not show which)"
			}
		}
		h.Changes = append(h.Changes, c)
		last = j
	}
	noHistory := r.noHistory
	*r = *p
	r.h = &h
	if noHistory {
		for i := range h.Changes {
			h.Changes[i].Unverified = true
		}
		r.note(fmt.Sprintf("its segments fit no one history of a TCP end (frame %d could not have been sent in the state it would be in): some are not its own — forged, or a middlebox's — so its states are shown unverified", p.prunedBy))
	}
	finals := []string{}
	for _, w := range live {
		if !slices.Contains(finals, w.st.String()) {
			finals = append(finals, w.st.String())
		}
	}
	if len(finals) > 1 {
		r.finalsDiffer = finals
	}
}

// appendVia adds the states history w passes through between from and
// to (its first from, then the next to).
func appendVia(via []string, w *replica, from, to string) []string {
	in := false
	if w.h.Initial == from {
		in = true
	}
	for _, c := range w.h.Changes {
		if in {
			if c.To == to {
				return via
			}
			if !slices.Contains(via, c.To) {
				via = append(via, c.To)
			}
			continue
		}
		if c.To == from {
			in = true
		}
	}
	return via
}

// lcsMatch marks the elements of a in one longest common subsequence of
// a and b.
func lcsMatch(a, b []string) []bool {
	n, m := len(a), len(b)
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	out := make([]bool, n)
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out[i] = true
			i++
			j++
		case l[i+1][j] >= l[i][j+1]:
			i++
		default:
			j++
		}
	}
	return out
}

// debugWorlds prints each end's histories (tests).
var debugWorlds = false

// finSeqLater is the sequence number of the end's FIN in this
// incarnation (its first captured copy), or its SND.NXT if it sends none.
func (r *replica) finSeqLater() uint32 {
	for _, f := range r.cn.Segs {
		if f.from == r.side && !f.foreign && f.has(wire.FlagFIN) && !f.has(wire.FlagRST) {
			return f.Seq + f.SeqLen() - 1
		}
	}
	return r.sndNxt
}

// queuedClose: this end's first FIN of the incarnation carries data, or
// follows data it sent after e: a CLOSE may have been queued behind it.
// (Asked in a simultaneous open only: a passive open has no application
// to close it before ESTABLISHED.)
func (r *replica) queuedClose(e *event) bool {
	for s := range r.ownAfter(e.seg) {
		if s.has(wire.FlagRST) {
			continue
		}
		if s.has(wire.FlagFIN) {
			return s.Len > 0
		}
		if s.Len > 0 {
			return true
		}
	}
	return false
}
