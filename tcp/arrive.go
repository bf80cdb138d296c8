package tcp

import (
	"syscall"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// SegmentArrives processes one arriving segment (RFC 9293 §3.10.7). The
// segment must already be known to belong to this connection's 4-tuple.
//
// It returns reopen = true when s is a SYN that may reopen this 4-tuple from
// TIME-WAIT (RFC 9293 §3.6.1, RFC 6191): the connection is then CLOSED and
// the caller hands the SYN to a listener.
func (c *Conn) SegmentArrives(now time.Time, s *wire.Segment) (reopen bool) {
	c.stats.SegsIn++
	switch c.state {
	case StateClosed:
		c.arriveClosed(now, s)
		return false
	case StateListen:
		c.arriveListen(now, s)
	case StateSynSent:
		c.arriveSynSent(now, s)
	case StateTimeWait:
		return c.arriveTimeWait(now, s)
	default:
		c.arriveOther(now, s)
	}
	c.flush(now)
	c.dropDSACK()
	return false
}

// dropDSACK forgets a duplicate's report that no ACK carried (the call
// that noted it is over).
func (c *Conn) dropDSACK() {
	if c.dsackPending() {
		c.io.dsackFor = nil
	}
}

// ResetFor returns the RST that answers s when no connection exists
// (RFC 9293 §3.10.7.1), or false when s is itself a RST, which is never
// answered.
func ResetFor(s *wire.Segment) (wire.Segment, bool) {
	if s.Flags&wire.FlagRST != 0 {
		return wire.Segment{}, false
	}
	r := wire.Segment{SrcPort: s.DstPort, DstPort: s.SrcPort, Flags: wire.FlagRST}
	if s.Flags&wire.FlagACK != 0 {
		r.Seq = s.Ack // <SEQ=SEG.ACK><CTL=RST>
	} else {
		r.Flags |= wire.FlagACK // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
		r.Ack = s.Seq.Add(s.Len())
	}
	return r, true
}

// arriveClosed: RFC 9293 §3.10.7.1.
func (c *Conn) arriveClosed(now time.Time, s *wire.Segment) {
	if !c.replyRST(now, s, CauseNoTCB) {
		c.drop(now, s, CauseNoTCBRST)
	}
}

// ListenAction is what LISTEN does with a segment (RFC 9293 §3.10.7.2).
type ListenAction uint8

const (
	ListenDrop  ListenAction = iota // a RST, a SYN+FIN, or neither SYN nor ACK
	ListenReset                     // any ACK: <SEQ=SEG.ACK><CTL=RST>
	ListenOpen                      // a SYN: SYN-RECEIVED, send SYN+ACK
)

// ListenDecide is the LISTEN rule for s, and its cause. A stack's listener
// asks it first, to know whether the SYN and accept queues or a cookie
// have a say, and then lets ListenArrive act: the rules live here only.
func ListenDecide(s *wire.Segment) (ListenAction, Cause) {
	switch {
	case s.Flags&wire.FlagRST != 0:
		return ListenDrop, CauseRSTInListen
	case s.Flags&wire.FlagACK != 0:
		return ListenReset, CauseAckInListen
	case s.Flags&(wire.FlagSYN|wire.FlagFIN) == wire.FlagSYN|wire.FlagFIN:
		// RFC 9293 would queue the FIN for after the handshake; Linux
		// (tcp_rcv_state_process, TCP_LISTEN) drops a SYN+FIN, a scanner's
		// probe, and so do we.
		return ListenDrop, CauseSynFinInListen
	case s.Flags&wire.FlagSYN != 0:
		return ListenOpen, CauseSynInListen
	}
	return ListenDrop, CauseNoSynInListen
}

// arriveListen: RFC 9293 §3.10.7.2.
func (c *Conn) arriveListen(now time.Time, s *wire.Segment) {
	switch act, cause := ListenDecide(s); act {
	case ListenReset:
		// <SEQ=SEG.ACK><CTL=RST>, to the segment's port (RFC 9293 §3.10.7.2).
		c.replyRST(now, s, cause)
	case ListenOpen:
		c.listenSyn(now, s)
	default:
		c.drop(now, s, cause)
	}
}

// arriveSynSent: RFC 9293 §3.10.7.3.
func (c *Conn) arriveSynSent(now time.Time, s *wire.Segment) {
	ackOK := false
	if s.Flags&wire.FlagACK != 0 {
		// "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
		// RST bit is set, if so drop the segment and return)". This is how an
		// old duplicate SYN+ACK is refused.
		if s.Ack.LessThanEq(c.iss) || s.Ack.GreaterThan(c.sndMax) {
			if s.Flags&wire.FlagRST != 0 {
				c.drop(now, s, CauseUnacceptableRST)
			} else {
				c.sendRST(now, s.Ack, 0, false, CauseBadAckInSynSent)
			}
			return
		}
		if s.Opts.HasTimestamp && s.Opts.TSEcr != 0 && c.cfg.Timestamps.Enabled() &&
			(int32(s.Opts.TSEcr-c.synTS) < 0 || int32(c.tsNow(now)-s.Opts.TSEcr) < 0) {
			// Linux (tcp_rcv_synsent_state_process) resets a SYN+ACK
			// whose TSecr is no TSval of our SYN: it answers another SYN.
			if s.Flags&wire.FlagRST != 0 {
				c.drop(now, s, CauseUnacceptableRST)
			} else {
				c.sendRST(now, s.Ack, 0, false, CauseBadEchoInSynSent)
			}
			return
		}
		ackOK = true
	}
	if s.Flags&wire.FlagRST != 0 {
		// RFC 5961 §3.2 keeps RFC 793's rule here: a RST is acceptable in
		// SYN-SENT only if it acknowledges our SYN.
		if ackOK {
			c.closeWith(now, syscall.ECONNREFUSED, CauseRSTRefused)
		} else {
			c.drop(now, s, CauseUnacceptableRST)
		}
		return
	}
	if s.Flags&wire.FlagSYN == 0 {
		c.drop(now, s, CauseNoSynNoRST)
		return
	}
	if !ackOK && c.tsRecentAge != 0 && s.Opts.HasTimestamp && c.cfg.Timestamps.Enabled() &&
		since(now, c.tsRecentAge) <= 24*24*time.Hour && int32(s.Opts.TSVal-c.tsRecent) < 0 {
		// PAWS on a SYN in SYN-SENT, with the TS.Recent of the TIME-WAIT
		// this connection reuses (Linux tcp_rcv_synsent_state_process):
		// an old incarnation's SYN must not start a simultaneous open.
		c.drop(now, s, CausePAWS)
		return
	}
	c.acceptSyn(now, s)
	if ackOK {
		c.ackAdvance(now, s)
		// RFC 7323 §2.2: the window of a SYN is never scaled.
		c.firstWindow(s, uint32(s.Wnd))
		c.establish(now, s, CauseSynAck)
		c.ackNow = true // the ACK may ride on queued data (handshake-data-on-ack)
		return
	}
	// Simultaneous open: SYN-SENT + SYN → SYN-RECEIVED, send SYN+ACK with
	// our original ISS (RFC 9293 §3.5, Figure 7).
	c.setState(now, StateSynReceived, CauseSimultaneousOpen)
	c.sendSyn(now, true, CauseSimultaneousOpen)
}

// arriveOther handles SYN-RECEIVED and the synchronized states except
// TIME-WAIT, step by step as RFC 9293 §3.10.7.4 orders them.
func (c *Conn) arriveOther(now time.Time, s *wire.Segment) {
	syn, rst, ack, fin := s.Flags&wire.FlagSYN != 0, s.Flags&wire.FlagRST != 0, s.Flags&wire.FlagACK != 0, s.Flags&wire.FlagFIN != 0
	if c.state == StateSynReceived && syn && !rst && s.Seq == c.irs {
		if ack && !c.passive && s.Ack == c.sndMax {
			// Simultaneous open: the peer's SYN+ACK acknowledges our SYN.
			// Its SYN lies left of RCV.NXT, so a literal reading of §3.10.7.4
			// would refuse it; Figure 7 and Linux accept it.
			c.lastRecv = now.UnixNano()
			c.ackAdvance(now, s)
			// RFC 7323 §2.2: the window of a SYN+ACK is never scaled.
			c.firstWindow(s, uint32(s.Wnd))
			c.establish(now, s, CauseSynAckInSynRcvd)
			return
		}
		if !ack {
			// A retransmitted SYN: our SYN+ACK was lost. Linux
			// (tcp_check_req) answers with the SYN+ACK again, rate-limited.
			if c.lastChallenge != 0 && since(now, c.lastChallenge) < c.cfg.ChallengeACK {
				c.drop(now, s, CauseChallengeLimit)
				return
			}
			c.lastChallenge = now.UnixNano()
			c.sendSyn(now, true, CauseSynRetransmit)
			return
		}
	}

	// First: PAWS and the sequence number.
	if c.pawsReject(now, s) {
		c.dupAckLimited(now, s, CausePAWS)
		return
	}
	if !c.acceptable(s) {
		if rst {
			c.drop(now, s, CauseUnacceptableRST)
		} else {
			c.dsackUnacceptable(s)
			c.dupAckLimited(now, s, CauseUnacceptable)
			c.dropDSACK()
		}
		return
	}

	// Second: RST (RFC 5961 §3.2).
	if rst {
		if !c.cfg.RFC793Rules && !mutantAnyRST && s.Seq != c.rcvNxt {
			c.challengeAck(now, s, CauseChallengeRST)
			return
		}
		c.reset(now)
		return
	}
	c.updateTSRecent(now, s)

	// Fourth: SYN.
	if syn {
		if c.state == StateSynReceived && c.passive {
			c.backToListen(now, CauseSynInSynRcvd)
			return
		}
		if c.cfg.RFC793Rules {
			// RFC 793: an in-window SYN is an error; reset the connection.
			c.sendRST(now, c.acceptableSeq(), c.rcvNxt, true, CauseChallengeSYN)
			c.closeWith(now, syscall.ECONNRESET, CauseChallengeSYN)
			return
		}
		c.challengeAck(now, s, CauseChallengeSYN)
		return
	}

	// Fifth: ACK.
	if !ack {
		c.drop(now, s, CauseNoAck)
		return
	}
	if c.state == StateSynReceived {
		if !(c.sndUna.LessThan(s.Ack) && s.Ack.LessThanEq(c.sndMax)) && !mutantTwoWayHandshake {
			c.sendRST(now, s.Ack, 0, false, CauseBadAckInSynRcvd)
			return
		}
		c.ackAnswers(now)
		c.ackAdvance(now, s)
		c.firstWindow(s, uint32(s.Wnd)<<c.sndShift)
		c.establish(now, s, CauseAckOfSyn)
	} else if !c.processAck(now, s) {
		return
	}
	finAckedNow := false
	switch c.state {
	case StateFinWait1:
		if c.finAcked() {
			if fin {
				finAckedNow = true // Note 2: FIN-WAIT-1 → TIME-WAIT on this segment
			} else {
				c.enterFinWait2(now)
			}
		}
	case StateClosing:
		if c.finAcked() {
			c.enterTimeWait(now, CauseClosingAcked)
		}
		return
	case StateLastAck:
		if c.finAcked() {
			c.closeWith(now, nil, CauseLastAckAcked)
		}
		return
	}

	// Seventh: segment text; eighth: FIN.
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
		if c.orphan && c.state != StateEstablished && s.Seq.Add(seq.Size(len(s.Payload))).GreaterThan(c.rcvNxt) && len(s.Payload) > 0 {
			// Nobody will read this data: reset, as Linux does
			// (LINUX_MIB_TCPABORTONDATA).
			c.sendRST(now, c.acceptableSeq(), c.rcvNxt, true, CauseDataAfterClose)
			c.closeWith(now, syscall.ECONNRESET, CauseDataAfterClose)
			return
		}
		c.receiveText(now, s)
	}
	if c.state == StateFinWait1 && finAckedNow {
		c.enterFinWait2(now) // the FIN was not in order: only the ACK counted
	}
}

// reset acts on an acceptable RST (RFC 9293 §3.10.7.4, second step).
func (c *Conn) reset(now time.Time) {
	switch c.state {
	case StateSynReceived:
		if c.passive {
			c.backToListen(now, CauseRSTPassive)
			return
		}
		c.closeWith(now, syscall.ECONNREFUSED, CauseRSTActive)
	default:
		c.closeWith(now, syscall.ECONNRESET, CauseRSTReset)
	}
}

// backToListen returns a passively opened connection to LISTEN (Note 3),
// as the passive OPEN left it.
func (c *Conn) backToListen(now time.Time, cause Cause) {
	iss, lp, rp, tso := c.iss, c.localPort, c.listenRemote, c.tsOffset
	c.setState(now, StateListen, cause)
	c.renew()
	c.state, c.passive = StateListen, true
	c.localPort, c.remotePort, c.listenRemote, c.iss, c.tsOffset = lp, rp, rp, iss, tso
}

// enterFinWait2 follows the ACK of our FIN from FIN-WAIT-1.
func (c *Conn) enterFinWait2(now time.Time) {
	c.setState(now, StateFinWait2, CauseFinWait1Acked)
	if c.orphan {
		c.setTimer(now, TimerFinWait2, c.cfg.FinWait2Timeout)
	}
	c.armKeepalive(now)
}

// enterTimeWait enters TIME-WAIT and starts the 2MSL timer; setState has
// cancelled every other timer.
func (c *Conn) enterTimeWait(now time.Time, cause Cause) {
	c.setState(now, StateTimeWait, cause)
	c.setTimer(now, TimerTimeWait, 2*c.cfg.MSL*mutantTimeWaitScale)
}

// arriveTimeWait: TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191, RFC 1337).
func (c *Conn) arriveTimeWait(now time.Time, s *wire.Segment) bool {
	syn, rst, ack, fin := s.Flags&wire.FlagSYN != 0, s.Flags&wire.FlagRST != 0, s.Flags&wire.FlagACK != 0, s.Flags&wire.FlagFIN != 0
	if syn && !rst && !ack {
		if c.reopenOK(s) && !c.noReopen {
			c.closeWith(now, nil, CauseTimeWaitReopen)
			return true
		}
		// An old SYN, or one nobody would accept: ACK it, open nothing and
		// stay in TIME-WAIT (RFC 1122 §4.2.2.13; Linux ACKs a SYN that
		// finds no listener).
		c.dupAckLimited(now, s, CauseStaleInTimeWait)
		return false
	}
	if c.pawsReject(now, s) {
		c.dupAckLimited(now, s, CausePAWS)
		return false
	}
	if rst {
		switch {
		case !c.acceptable(s):
			c.drop(now, s, CauseUnacceptableRST)
		case c.cfg.RFC1337:
			c.drop(now, s, CauseRSTTimeWait1337)
		case c.cfg.RFC793Rules || s.Seq == c.rcvNxt:
			c.closeWith(now, nil, CauseRSTTimeWait)
		default:
			c.challengeAck(now, s, CauseChallengeRST)
		}
		return false
	}
	if fin && s.Seq.Add(seq.Size(len(s.Payload))) == c.rcvNxt-1 {
		if mutantNoTimeWaitReack {
			c.drop(now, s, CauseFinInTimeWait) // broken on purpose: the FIN goes unanswered
			return false
		}
		// The peer did not get our last ACK and sent its FIN again.
		c.sendAck(now, CauseFinInTimeWait)
		c.setTimer(now, TimerTimeWait, 2*c.cfg.MSL*mutantTimeWaitScale)
		return false
	}
	if mutantNoTimeWaitSeqCheck && len(s.Payload) > 0 {
		c.rcv.write(c.pool(), s.Payload) // broken on purpose: data of a dead connection delivered
		return false
	}
	if !c.acceptable(s) || len(s.Payload) > 0 || fin || syn || (ack && s.Ack.GreaterThan(c.sndMax)) {
		// Stray data, FIN or ACK of the old connection: at most an ACK. A
		// SYN that did not reopen gets one too (RFC 5961 §4.2).
		c.dupAckLimited(now, s, CauseStaleInTimeWait)
		return false
	}
	// An acceptable bare ACK: RFC 7323 §4.3 (3) applies in TIME-WAIT too,
	// and the newer TS.Recent then judges a reopening SYN (RFC 6191); Linux
	// tcp_timewait_state_process updates tw_ts_recent here.
	c.updateTSRecent(now, s)
	c.drop(now, s, CauseStaleInTimeWait)
	return false
}

// reopenOK says whether a SYN may reopen the 4-tuple from TIME-WAIT:
// with timestamps on both sides, a TSval newer than TS.Recent (RFC 6191 §2);
// otherwise a sequence number beyond RCV.NXT (RFC 9293 §3.6.1 note, as
// BSD and Linux do).
func (c *Conn) reopenOK(s *wire.Segment) bool {
	if c.tsOK && s.Opts.HasTimestamp {
		d := int32(s.Opts.TSVal - c.tsRecent)
		return d > 0 || (d == 0 && s.Seq.GreaterThan(c.rcvNxt))
	}
	return s.Seq.GreaterThan(c.rcvNxt)
}
