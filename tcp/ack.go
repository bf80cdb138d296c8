package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// processAck is the fifth step of RFC 9293 §3.10.7.4 for the synchronized
// states. It returns false when the segment must be dropped.
func (c *Conn) processAck(now time.Time, s *wire.Segment) bool {
	if s.Ack.GreaterThan(c.sndMax) {
		// "If the ACK acks something not yet sent (SEG.ACK > SND.NXT) then
		// send an ACK, drop the segment, and return."
		c.challengeAck(now, s, CauseAckUnsent)
		return false
	}
	if !c.cfg.NoRFC5961 && s.Ack.LessThan(c.sndUna-seq.Num(c.maxSndWnd)) {
		// RFC 5961 §5.2: an ACK too old to be in any window the peer saw.
		c.challengeAck(now, s, CauseAckTooOld)
		return false
	}
	if s.Ack.LessThan(c.sndUna) {
		// RFC 9293 §3.10.7.4: an old ACK "can be ignored"; only
		// SND.UNA =< SEG.ACK =< SND.NXT may update the send window.
		return true
	}
	c.ackAnswers(now)
	if s.Ack.GreaterThan(c.sndUna) {
		c.ackAdvance(now, s)
	} else if c.isDupAck(s) {
		c.onDupAck(now)
	}
	c.updateWindow(now, s)
	return true
}

// isDupAck is RFC 5681 §2's duplicate ACK: data outstanding, no payload,
// no SYN/FIN, the same ACK and the same window.
func (c *Conn) isDupAck(s *wire.Segment) bool {
	return c.sndMax != c.sndUna && len(s.Payload) == 0 &&
		s.Flags&(wire.FlagSYN|wire.FlagFIN) == 0 &&
		uint32(s.Wnd)<<c.sndShift == c.sndWnd
}

// ackAdvance handles SND.UNA < SEG.ACK =< SND.NXT: drop acknowledged bytes,
// sample the RTT, grow the window, restart or stop the timers.
func (c *Conn) ackAdvance(now time.Time, s *wire.Segment) {
	c.sampleRTT(now, s)
	start := c.dataStart()
	acked := int(c.sndUna.Size(s.Ack))
	c.sndUna = s.Ack
	if s.Ack.GreaterThan(c.iss) {
		c.cancelTimer(now, TimerSynRetry)
	}
	data := 0
	if s.Ack.GreaterThan(start) {
		data = min(int(start.Size(s.Ack)), c.snd.n)
		c.snd.discard(data)
	}
	if c.sndNxt.LessThan(c.sndUna) {
		c.sndNxt = c.sndUna
	}
	c.retries = 0
	c.persistProbes = 0
	c.softErr = nil // something got through (Linux clears sk_err_soft here)
	if c.inRecovery {
		if s.Ack.GreaterThanEq(c.recover) {
			// RFC 6582 §3.2 step 3: a full ACK ends recovery.
			c.inRecovery = false
			c.cc.OnRecoveryExit()
		} else {
			// RFC 6582 §3.2 step 4: partial ACK; deflate, retransmit the next hole.
			c.recWnd = max(c.recWnd-acked, 0) + c.sndMSS
			c.retransmitFirst(now, CausePartialAck)
		}
	} else if c.cc != nil {
		c.cc.OnAck(data)
	}
	c.dupAcks = 0
	// RFC 6298 §5.2, §5.3: stop the timer when all is acknowledged, else
	// restart it.
	if c.sndUna == c.sndMax {
		c.cancelTimer(now, TimerRetransmit)
		c.cancelTimer(now, TimerUserTimeout)
	} else {
		c.setTimer(now, TimerRetransmit, c.rtt.timeout(c.cfg, c.backoff))
		if c.userTimeout > 0 {
			c.setTimer(now, TimerUserTimeout, c.userTimeout)
		}
	}
}

// onDupAck counts duplicate ACKs: the third starts fast retransmit and
// NewReno fast recovery (RFC 5681 §3.2, RFC 6582 §3.2).
func (c *Conn) onDupAck(now time.Time) {
	c.dupAcks++
	switch {
	case c.inRecovery:
		c.recWnd += c.sndMSS // step 4 of RFC 5681 §3.2: inflate
	case c.dupAcks == 3 && c.sndUna.GreaterThanEq(c.recover):
		// RFC 6582 §3.2 step 2: only if this loss is past the last recovery.
		flight := int(c.sndUna.Size(c.sndMax))
		c.cc.OnLoss(flight)
		c.inRecovery = true
		c.recover = c.sndMax
		c.recWnd = c.cc.SSThresh() + 3*c.sndMSS
		c.retransmitFirst(now, CauseFastRetransmit)
	}
}

// retransmitFirst resends the earliest unacknowledged segment (data, or
// the FIN alone) without moving SND.NXT.
func (c *Conn) retransmitFirst(now time.Time, why Cause) {
	start := c.dataStart()
	off := int(start.Size(c.sndUna))
	if c.sndUna.LessThan(start) {
		off = 0
	}
	// Never more than was sent (a one-byte window probe is repeated as one
	// byte); a SYN in flight is not data.
	n := min(c.snd.n-off, c.sndMSS, int(start.Size(seq.Max(c.sndMax, start))))
	fin := c.closing && c.sndMax.GreaterThan(c.finSeq) && start.Add(seq.Size(off+n)) == c.finSeq
	if n <= 0 && !fin {
		return
	}
	if fin && mutantNoFinRetransmit && n == 0 {
		return
	}
	s := wire.Segment{Seq: start.Add(seq.Size(off)), Ack: c.rcvNxt, Flags: wire.FlagACK, Wnd: c.windowField()}
	s.Payload = c.payload(off, n)
	if fin {
		s.Flags |= wire.FlagFIN
	}
	c.timing = false // Karn's rule
	c.stats.Retrans++
	c.emit(now, &s, why)
}
