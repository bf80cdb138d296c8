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
	if !c.cfg.RFC793Rules && s.Ack.LessThan(c.sndUna-seq.Num(c.maxSndWnd)) {
		// RFC 5961 §5.2: an ACK too old to be in any window the peer saw.
		c.challengeAck(now, s, CauseAckTooOld)
		return false
	}
	if s.Ack.LessThan(c.sndUna) {
		// RFC 9293 §3.10.7.4: an old ACK "can be ignored"; only
		// SND.UNA =< SEG.ACK =< SND.NXT may update the send window.
		// Its SACK blocks still count: RFC 6675 §5 updates the scoreboard
		// on every ACK that has them, as Linux tcp_ack's old_ack does, and
		// a reordered ACK may tell of data no later ACK repeats.
		if c.sackOK && s.Opts.NumSACK > 0 && c.sndUna != c.sndMax {
			c.loss()
			delivered := 0
			si := c.takeSACK(s, func(a, b seq.Num) {
				delivered += int(a.Size(b))
				if c.rackOn() {
					c.rackDelivered(now, a, b)
				}
			})
			c.sackAck(now, s.Ack, false, delivered, si)
		}
		return true
	}
	c.ackAnswers(now)
	if c.sackOK && c.sndUna != c.sndMax && (c.lossState != nil || s.Opts.NumSACK > 0) {
		// The SACK blocks first, so that what they newly cover counts as
		// delivered before the cumulative ACK trims the scoreboard. (With
		// no loss state yet, nothing was sent that RACK times, nor SACKed:
		// a plain ACK is all this can be.)
		c.loss()
		var si sackInfo
		delivered := 0
		mark := func(a, b seq.Num) {
			delivered += int(a.Size(b))
			if c.rackOn() {
				c.rackDelivered(now, a, b)
			}
		}
		if s.Ack.GreaterThan(c.sndUna) {
			// Newly acknowledged, less what was SACKed before.
			at := c.sndUna
			for _, r := range c.sacked {
				if !r.start.LessThan(s.Ack) {
					break
				}
				if at.LessThan(r.start) {
					mark(at, r.start)
				}
				at = seq.Max(at, r.end)
			}
			if at.LessThan(s.Ack) {
				mark(at, s.Ack)
			}
		}
		si = c.takeSACK(s, mark)
		advanced := s.Ack.GreaterThan(c.sndUna)
		if advanced {
			c.ackAdvance(now, s)
		}
		c.sackAck(now, s.Ack, advanced, delivered, si)
	} else if s.Ack.GreaterThan(c.sndUna) {
		c.ackAdvance(now, s)
	} else if c.sackOK && c.lossState != nil && c.undoOn && isDSACK(&s.Opts, s.Ack) {
		// Nothing outstanding, but a DSACK may still show the last
		// episode spurious (Linux tcp_ack, no_queue: "If data was
		// DSACKed, see if we can undo a cwnd reduction").
		c.bump(lcDSACKRecv)
		c.countDSACK(s.Opts.SACK[0].Left, s.Opts.SACK[0].Right)
		c.undoDSACK(now)
	} else if !c.sackOK && c.isDupAck(s) {
		c.onDupAck(now)
	}
	c.updateWindow(now, s)
	return true
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
		if c.snd.n == 0 {
			c.snd.release(c.pool()) // all acknowledged: the buffer goes round
		}
	}
	if c.sndNxt.LessThan(c.sndUna) {
		c.sndNxt = c.sndUna
	}
	c.retries = 0
	c.persistProbes = 0
	c.softErr = nil // something got through (Linux clears sk_err_soft here)
	c.recoveryAck(now, s, acked, data)
	// RFC 6298 §5.2, §5.3: stop the timer when all is acknowledged, else
	// restart it.
	if c.sndUna == c.sndMax {
		c.cancelTimer(now, TimerRetransmit)
		c.cancelTimer(now, TimerLossProbe)
		c.cancelTimer(now, TimerUserTimeout)
	} else {
		c.armXmitTimer(now, true)
		if c.userTimeout > 0 {
			c.setTimer(now, TimerUserTimeout, c.userTimeout)
		}
	}
}
