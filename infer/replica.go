package infer

import (
	"iter"
	"strings"
	"time"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// replica is one end's TCB as the capture shows it, replayed through the
// end's own timeline with RFC 9293 §3.10's rules for each segment sent
// and received. It keeps only what the segments reveal.
type replica struct {
	cn   *Conn
	h    *Host
	side int

	st      tcp.State
	passive bool // reached SYN-RECEIVED from LISTEN (Note 3 of §3.10.7.4)
	answers bool // sends a SYN+ACK in this incarnation: it had a listener or was opening too

	iss, sndNxt    uint32
	issKnown       bool
	finSent        bool
	finSeq         uint32 // our FIN's sequence number
	irs, rcvNxt    uint32
	irsKnown       bool
	peerFin        bool
	peerFinSeq     uint32
	finConsumed    bool
	rcvWnd         uint32 // our last advertised window, scaled
	wscale, pscale uint8
	scaled         bool
	stale          bool
	lastIn         *Seg // the peer's last segment to arrive
	sndUna         uint32
	unaKnown       bool
	peerWnd        uint16

	// forks is how many times this history split from another at a
	// segment whose arrival the capture does not show; pruned: the end
	// sent something this history says it could not have.
	forks    int
	pruned   bool
	prunedBy int           // the frame that pruned it
	changedT time.Duration // the last change's time
	// earlyBy: a frame this end sent in earlyIn (SYN-SENT, SYN-RECEIVED)
	// that it could not have sent there; unless it has left earlyIn by
	// earlyUntil, the history is dropped.
	earlyBy    int
	earlyUntil time.Duration
	earlyIn    tcp.State
	issPrev    uint32 // ISS before the segment being applied
	issBefore  bool
	// deferred: arrivals this history puts later (see event.late).
	deferred []event
	// noHistory: merge found every history pruned.
	noHistory bool
	// ended: this history deleted the TCB (CLOSED, or LISTEN again).
	ended bool
	// finalsDiffer: the histories end in these different states.
	finalsDiffer []string
	// closingFork: the segment just applied consumed the peer's FIN in
	// ESTABLISHED while the end's own FIN may already have been due.
	closingFork bool
	// orderFork: the segment just applied was taken in one order of
	// arrival among two the capture allows; flipOrder plays the other.
	orderFork, flipOrder bool
}

// staleSyn reports whether this end answered the SYN+ACK of its own SYN
// with a RST carrying the SYN+ACK's ACK (§3.10.7.3, "If the state is
// CLOSED ... <SEQ=SEG.ACK><CTL=RST>"): it had no connection then, so the
// SYN was an old duplicate or its attempt had been abandoned, and none of
// its states is shown.
func (r *replica) staleSyn() bool {
	isn, ok := r.cn.isn(r.side)
	if !ok {
		return false
	}
	var synack *Seg
	for _, s := range r.cn.Segs {
		switch {
		case synack == nil && s.from != r.side && s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK && s.Ack == isn+1:
			synack = s
		case synack != nil && s.from == r.side && !s.foreign && !(s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN && s.Seq == isn):
			// (A copy of the SYN captured after the SYN+ACK is no
			// answer to it.)
			return s.has(wire.FlagRST) && s.Seq == synack.Ack && !r.sendsAfterSyn(s)
		}
	}
	return false
}

// sendsAfterSyn: the end sends nothing but RSTs after s in this
// incarnation (a live SYN-SENT would have sent an ACK, or retried).
func (r *replica) sendsAfterSyn(s *Seg) bool {
	for o := range r.ownAfter(s) {
		if !o.has(wire.FlagRST) && o.has(wire.FlagSYN|wire.FlagACK) {
			return true // (not counting what no TCP sends: data without ACK)
		}
	}
	return false
}

// nextOwn is this end's first own segment after s, or nil.
func (r *replica) nextOwn(s *Seg) *Seg {
	for o := range r.ownAfter(s) {
		return o
	}
	return nil
}

// ownAfter yields this end's own segments (not foreign ones in its name)
// captured after s, in capture order.
func (r *replica) ownAfter(s *Seg) iter.Seq[*Seg] {
	return func(yield func(*Seg) bool) {
		seen := false
		for _, o := range r.cn.Segs {
			if o == s {
				seen = true
				continue
			}
			if seen && o.from == r.side && !o.foreign && !yield(o) {
				return
			}
		}
	}
}

func (r *replica) change(e *event, to tcp.State, why tcp.Cause) {
	if r.st == to {
		return
	}
	if r.stale {
		return
	}
	r.h.Changes = append(r.h.Changes, Change{T: e.t, Frame: e.seg.Frame, From: r.st.String(), To: to.String(), Cause: why.String()})
	r.changedT = e.t
	r.setState(to)
}

// inWindow says whether a sequence number falls in what this end would
// accept: [RCV.NXT, RCV.NXT+RCV.WND), at least RCV.NXT itself.
func (r *replica) inWindow(n uint32) bool {
	if !r.irsKnown {
		return true
	}
	w := max(r.rcvWnd, 1)
	return atLeast(n, r.rcvNxt) && after(r.rcvNxt+w, n)
}

func (r *replica) run(evs []event, prev tcp.State, hadPrev bool) {
	h := r.h
	for _, s := range r.cn.Segs {
		if s.from == r.side && s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK {
			r.answers = true
		}
	}
	switch {
	case r.cn.MidStream:
		r.st = tcp.StateEstablished
		h.Unknown = append(h.Unknown, "the capture begins after the handshake: states before its first segment are not shown (taken as ESTABLISHED, so the states after are unverified)")
	case hadPrev && prev == tcp.StateTimeWait:
		r.st = tcp.StateTimeWait // the 4-tuple is reopened from TIME-WAIT
	case r.side == 1 && r.answers && !r.sendsSyn():
		r.st = tcp.StateListen
	default:
		r.st = tcp.StateClosed
	}
	h.Initial = r.st.String()
	if r.side == 0 && r.staleSyn() {
		r.stale = true
		h.Unknown = append(h.Unknown, "answered the SYN+ACK of its SYN with RST (RFC 9293 §3.10.7.1): it had no connection then — the SYN was an old duplicate, or its attempt was abandoned — so its states are not shown")
	}
	worlds := r.play(evs, 0)
	r.merge(worlds)
	h = r.h
	h.Final = r.st.String()
	h.FinalKnown = true
	if len(r.finalsDiffer) > 1 {
		h.FinalKnown = false
		h.Unknown = append(h.Unknown, "at the capture's end in "+strings.Join(r.finalsDiffer, " or ")+": the segments whose arrival is not shown decide which")
		return
	}
	switch r.st {
	case tcp.StateTimeWait:
		h.FinalKnown = false
		h.Unknown = append(h.Unknown, "in TIME-WAIT at the capture's end: its 2MSL timer ends unseen (no packet marks it)")
	case tcp.StateSynSent, tcp.StateSynReceived, tcp.StateFinWait1, tcp.StateClosing, tcp.StateLastAck:
		h.FinalKnown = false
		h.Unknown = append(h.Unknown, "in "+r.st.String()+" at the capture's end, waiting on a retransmission: a give-up leaves no packet")
	case tcp.StateFinWait2:
		h.FinalKnown = false
		h.Unknown = append(h.Unknown, "in FIN-WAIT-2 at the capture's end: an orphan's FIN-WAIT-2 timeout leaves no packet")
	}
}

// issKnownBefore: this end had sent a SYN of this incarnation before e.
func (r *replica) issKnownBefore(e *event) bool {
	for _, s := range r.cn.Segs {
		if s == e.seg {
			return false
		}
		if s.from == r.side && s.has(wire.FlagSYN) {
			return true
		}
	}
	return false
}

func (r *replica) sendsSyn() bool {
	for _, s := range r.cn.Segs {
		if s.from == r.side && s.has(wire.FlagSYN) && !s.has(wire.FlagACK) {
			return true
		}
	}
	return false
}

// sent applies a segment this end sent.
func (r *replica) sent(e *event) {
	s := e.seg
	oldISS, hadISS := r.iss, r.issKnown
	if s.has(wire.FlagSYN) {
		r.iss, r.issKnown = s.Seq, true
		if s.Opts.HasWScale {
			r.wscale = s.Opts.WScale
		}
	}
	if r.irsKnown && s.has(wire.FlagACK) && !s.has(wire.FlagRST) && after(s.Ack, r.rcvNxt) {
		// Its ACK says it had everything up to here, whatever the
		// capture's order said (a hole filled, a segment's arrival
		// estimated late).
		r.rcvNxt = s.Ack
		r.consumeFin(e, false)
	}
	if r.scaled || !s.has(wire.FlagSYN) {
		r.rcvWnd = uint32(s.Win) << r.wscale
	} else {
		r.rcvWnd = uint32(s.Win)
	}
	switch {
	case s.has(wire.FlagRST):
		r.sentRST(e)
	case s.has(wire.FlagSYN) && !s.has(wire.FlagACK):
		// A SYN with this incarnation's ISN is its first or a retry;
		// a reopening one has a new ISN and starts a new incarnation
		// (whose initial state is the old one's last).
		if r.st == tcp.StateClosed || r.st == tcp.StateTimeWait && !r.issKnownBefore(e) {
			r.change(e, tcp.StateSynSent, tcp.CauseActiveOpen)
		}
	case s.has(wire.FlagSYN):
		if (r.st == tcp.StateListen || r.st == tcp.StateTimeWait) && !(r.ended && hadISS && s.Seq == oldISS) {
			// (The ISS of a TCB it deleted is a copy of its old
			// SYN+ACK, duplicated or held by the network: a new SYN
			// would get a new ISS, RFC 9293 §3.4.1.)
			// The SYN it answers was not seen arrive (or is an old
			// duplicate of another incarnation's).
			r.passive = true
			r.irs, r.irsKnown, r.rcvNxt = s.Ack-1, true, s.Ack
			r.change(e, tcp.StateSynReceived, tcp.CauseSynInListen)
		}
	}
	if s.has(wire.FlagFIN) && !s.has(wire.FlagRST) {
		fin := s.Seq + s.SeqLen() - 1
		if !r.finSent || after(fin, r.finSeq) {
			r.finSent, r.finSeq = true, fin
		}
		switch r.st {
		case tcp.StateEstablished, tcp.StateSynReceived:
			r.change(e, tcp.StateFinWait1, tcp.CauseCloseFIN)
		case tcp.StateCloseWait:
			r.change(e, tcp.StateLastAck, tcp.CauseCloseFIN)
		}
	}
	if end := s.Seq + s.SeqLen(); !r.issKnown || after(end, r.sndNxt) || r.sndNxt == 0 {
		// A bare segment carries SND.NXT too: what it sent before, lost
		// before the capture point, is in flight.
		if s.SeqLen() > 0 || r.sndNxt == 0 || r.issKnown && !s.has(wire.FlagRST) {
			r.sndNxt = end
		}
	}
}

// sentRST: an RST carrying SND.NXT from a connection that has one is an
// ABORT (§3.10.5); from TIME-WAIT, the TCB is gone (its 2MSL ended) and
// the RST answers a segment for no connection (§3.10.7.1); an RST that
// answers an unacceptable ACK in SYN-SENT or SYN-RECEIVED leaves the
// state alone.
func (r *replica) sentRST(e *event) {
	s := e.seg
	switch r.st {
	case tcp.StateTimeWait:
		r.change(e, tcp.StateClosed, tcp.CauseTimeWaitExpired)
	case tcp.StateClosed, tcp.StateListen:
	case tcp.StateSynSent, tcp.StateSynReceived:
		if r.issKnown && s.Seq == r.sndNxt {
			r.change(e, tcp.StateClosed, tcp.CauseAbort)
		}
	default:
		if !s.has(wire.FlagACK) && r.answersSegment(e) {
			// <SEQ=SEG.ACK><CTL=RST>: the answer to a segment for no
			// connection (§3.10.7.1). The TCB had gone before, unseen:
			// a restart, or a timeout that sent nothing.
			r.unseen(e, tcp.StateClosed, "RFC 9293 §3.10.7.1: answers with RST as for no connection: the connection was lost before, unseen (a restart, or a timeout)")
			return
		}
		r.change(e, tcp.StateClosed, tcp.CauseAbort)
	}
}

// answersSegment: the RST's sequence number is the ACK field of the
// peer's last segment to arrive, as a reply to it carries.
func (r *replica) answersSegment(e *event) bool {
	return r.lastIn != nil && r.lastIn.has(wire.FlagACK) && e.seg.Seq == r.lastIn.Ack
}

// unseen records a change the capture implies but cannot date or cause.
func (r *replica) unseen(e *event, to tcp.State, why string) {
	if r.st == to || r.stale {
		return
	}
	r.h.Changes = append(r.h.Changes, Change{T: e.t, Frame: e.seg.Frame, From: r.st.String(), To: to.String(), Cause: why, Unseen: true})
	r.changedT = e.t
	r.setState(to)
}

func (r *replica) setState(to tcp.State) {
	if to == tcp.StateClosed || to == tcp.StateListen && r.st == tcp.StateSynReceived {
		r.ended = true
	} else if to != tcp.StateListen {
		r.ended = false
	}
	r.st = to
}

// received applies a peer's segment that reached this end.
func (r *replica) received(e *event) {
	s := e.seg
	if s.has(wire.FlagSYN) && s.Opts.HasWScale && r.wscale != 0 || s.has(wire.FlagSYN) && s.Opts.HasWScale {
		r.pscale, r.scaled = s.Opts.WScale, true
	}
	if s.has(wire.FlagRST) {
		r.gotRST(e)
		return
	}
	if r.st != tcp.StateClosed && r.st != tcp.StateListen && r.st != tcp.StateSynSent && r.answeredAsNone(s) &&
		(r.st != tcp.StateSynReceived || r.issKnown && after(s.Ack, r.iss) && !after(s.Ack, r.sndNxt)) {
		// (SYN-RECEIVED answers an unacceptable ACK so too, §3.10.7.4.)
		// Its answer is the RST for a segment of no connection
		// (§3.10.7.1, <SEQ=SEG.ACK><CTL=RST>): the TCB had gone before
		// this came, unseen.
		r.unseen(e, tcp.StateClosed, "RFC 9293 §3.10.7.1: answers with RST as for no connection: the connection was lost before, unseen (a restart, a timeout, or its listener closed)")
		return
	}
	if s.has(wire.FlagSYN) {
		synack := s.has(wire.FlagACK)
		switch {
		case !synack && (r.st == tcp.StateListen || r.st == tcp.StateTimeWait && !r.irsKnown) && r.answers:
			cause := tcp.CauseSynInListen
			if r.st == tcp.StateTimeWait {
				cause = tcp.CauseTimeWaitReopen
			}
			r.passive = true
			r.irs, r.irsKnown, r.rcvNxt = s.Seq, true, s.Seq+1
			r.change(e, tcp.StateSynReceived, cause)
		case !synack && r.st == tcp.StateSynSent && (r.answers || e.crossed):
			r.irs, r.irsKnown, r.rcvNxt = s.Seq, true, s.Seq+1
			r.change(e, tcp.StateSynReceived, tcp.CauseSimultaneousOpen)
		case synack && r.st == tcp.StateSynSent && r.issKnown && s.Ack == r.iss+1:
			r.irs, r.irsKnown, r.rcvNxt = s.Seq, true, s.Seq+1
			r.change(e, tcp.StateEstablished, tcp.CauseSynAck)
		case synack && r.st == tcp.StateSynReceived && r.issKnown && s.Ack == r.iss+1:
			r.change(e, tcp.StateEstablished, tcp.CauseSynAckInSynRcvd)
		}
		r.data(e)
		return
	}
	if !s.has(wire.FlagACK) {
		return
	}
	if !r.unaKnown || after(s.Ack, r.sndUna) {
		r.sndUna, r.unaKnown = s.Ack, true
	}
	r.peerWnd = s.Win
	if (r.st == tcp.StateFinWait1 || r.st == tcp.StateFinWait2) && s.Len > 0 && r.irsKnown &&
		after(s.Seq+uint32(s.Len), r.rcvNxt) && r.abortsOn(s) {
		// Its application had closed: new data draws an RST that does
		// not acknowledge it, and the TCB goes (as Linux,
		// LINUX_MIB_TCPABORTONDATA).
		r.change(e, tcp.StateClosed, tcp.CauseDataAfterClose)
		return
	}
	// §3.10.7.4, fifth: the ACK field.
	ackOfFin := r.finSent && atLeast(s.Ack, r.finSeq+1)
	switch r.st {
	case tcp.StateSynReceived:
		if r.issKnown && after(s.Ack, r.iss) && !after(s.Ack, r.sndNxt) {
			r.change(e, tcp.StateEstablished, tcp.CauseAckOfSyn)
		}
	case tcp.StateFinWait1:
		if ackOfFin {
			in := r.finInOrder(s)
			if s.has(wire.FlagFIN) && !r.cn.Near[r.side] && !r.inOrderSure(s) && r.forks < maxForks {
				// Away from the capture point, whether the data before
				// the FIN had all arrived is not shown: receive plays
				// the other order too.
				r.orderFork = true
				if r.flipOrder {
					in = !in
				}
			}
			if s.has(wire.FlagFIN) && in {
				r.change(e, tcp.StateTimeWait, tcp.CauseFinAckInFinWait1)
				r.data(e)
				r.finConsumed = true
				return
			}
			r.change(e, tcp.StateFinWait2, tcp.CauseFinWait1Acked)
		}
	case tcp.StateClosing:
		if ackOfFin {
			r.change(e, tcp.StateTimeWait, tcp.CauseClosingAcked)
		}
	case tcp.StateLastAck:
		if ackOfFin {
			r.change(e, tcp.StateClosed, tcp.CauseLastAckAcked)
			return
		}
	case tcp.StateSynSent, tcp.StateListen, tcp.StateClosed:
		return
	}
	r.data(e)
}

// inOrderSure: this end had acknowledged everything before s by an ACK
// captured before s was: all of it had arrived before s could.
func (r *replica) inOrderSure(s *Seg) bool {
	for _, a := range r.cn.Segs {
		if a == s || a.T > s.T {
			break
		}
		if a.from == r.side && !a.foreign && a.has(wire.FlagACK) && !a.has(wire.FlagRST) && atLeast(a.Ack, s.Seq) {
			return true
		}
	}
	return false
}

// answeredAsNone: this end's next segment after s is an RST without ACK
// carrying s's ACK field as its sequence number.
func (r *replica) answeredAsNone(s *Seg) bool {
	if !s.has(wire.FlagACK) {
		return false
	}
	o := r.nextOwn(s)
	return o != nil && o.has(wire.FlagRST) && !o.has(wire.FlagACK) && o.Seq == s.Ack
}

// abortsOn: this end's next segment after s is an RST that does not
// acknowledge s's data.
func (r *replica) abortsOn(s *Seg) bool {
	o := r.nextOwn(s)
	return o != nil && o.has(wire.FlagRST) && o.has(wire.FlagACK) && !after(o.Ack, s.Seq)
}

// finInOrder: the segment's FIN would be processed now, all before it
// having arrived.
func (r *replica) finInOrder(s *Seg) bool {
	return !r.irsKnown || !after(s.Seq, r.rcvNxt)
}

// data advances RCV.NXT over in-order text and a FIN (§3.10.7.4, seventh
// and eighth).
func (r *replica) data(e *event) {
	s := e.seg
	if !r.irsKnown {
		return
	}
	if s.has(wire.FlagFIN) {
		r.peerFin, r.peerFinSeq = true, s.Seq+s.SeqLen()-1
	}
	if !after(s.Seq, r.rcvNxt) && after(s.Seq+s.SeqLen(), r.rcvNxt) {
		r.rcvNxt = s.Seq + s.SeqLen()
	}
	r.consumeFin(e, true)
}

// consumeFin enters the state a FIN leads to once RCV.NXT has passed it.
func (r *replica) consumeFin(e *event, arrived bool) {
	if !r.peerFin || r.finConsumed || !after(r.rcvNxt, r.peerFinSeq) {
		return
	}
	r.finConsumed = true
	if r.st == tcp.StateEstablished && !r.finSent && r.mayHaveClosed(e) {
		// Its application may have closed already: its FIN queued
		// behind data still in flight (or held by a zero window), or
		// sent and lost before the capture point. Then this FIN led to
		// CLOSING, not CLOSE-WAIT; play forks the other history.
		r.closingFork = true
	}
	switch r.st {
	case tcp.StateEstablished, tcp.StateSynReceived:
		r.change(e, tcp.StateCloseWait, tcp.CauseFinInEstab)
		r.closingFork = r.closingFork && r.st == tcp.StateCloseWait
	case tcp.StateFinWait1:
		r.change(e, tcp.StateClosing, tcp.CauseFinInFinWait1)
	case tcp.StateFinWait2:
		r.change(e, tcp.StateTimeWait, tcp.CauseFinInFinWait2)
	}
	_ = arrived
}

// gotRST applies RFC 9293 §3.10.7.3–4 with RFC 5961 §3.2 to a RST.
func (r *replica) gotRST(e *event) {
	s := e.seg
	switch r.st {
	case tcp.StateListen, tcp.StateClosed:
	case tcp.StateSynSent:
		if s.has(wire.FlagACK) && r.issKnown && s.Ack == r.iss+1 {
			r.change(e, tcp.StateClosed, tcp.CauseRSTRefused)
		}
	case tcp.StateSynReceived:
		if r.inWindow(s.Seq) {
			if r.passive {
				r.change(e, tcp.StateListen, tcp.CauseRSTPassive)
			} else {
				r.change(e, tcp.StateClosed, tcp.CauseRSTActive)
			}
		}
	case tcp.StateTimeWait:
		if r.inWindow(s.Seq) {
			r.change(e, tcp.StateClosed, tcp.CauseRSTTimeWait)
		}
	default:
		if !r.irsKnown || s.Seq == r.rcvNxt {
			r.change(e, tcp.StateClosed, tcp.CauseRSTReset)
		}
	}
}
