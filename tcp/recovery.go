package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// This file is loss recovery. Without SACK: duplicate-ACK counting, fast
// retransmit and NewReno fast recovery (RFC 5681 §3.2, RFC 6582). With
// SACK: the loss recovery of RFC 6675 (pipe, NextSeg), fed by RACK-TLP
// (rack.go, RFC 8985) or, with RACK off, by RFC 6675's IsLost, and sized
// by Proportional Rate Reduction (RFC 6937). And what a retransmission
// timeout ends. How large the window is belongs to the Congestion
// algorithm (congestion.go).

// lossRecovery is the loss-recovery and congestion side of the TCB.
type lossRecovery struct {
	cc         Congestion
	dupAcks    int     // duplicate ACKs in a row (RFC 5681 §2)
	inRecovery bool    // in fast recovery: NewReno's, or RFC 6675's with SACK
	recover    seq.Num // RFC 6582 "recover", RFC 6675 RecoveryPoint: the highest sequence number sent when recovery began
	recWnd     int     // NewReno window during fast recovery

	scoreboard // sack.go
	rackState  // rack.go

	highRxt   seq.Num // RFC 6675 HighRxt: the highest sequence number retransmitted
	rescueRxt seq.Num // RFC 6675 RescueRxt
	rescued   bool    // RescueRxt is defined

	// RFC 6937 §3: what the recovery has delivered and sent, the flight
	// it began with, and what this ACK lets out (bytes).
	prrDelivered, prrOut, recoverFS, sndcnt int

	probeOne bool // sendData sends one segment past the congestion window: a loss probe
}

// recoveryAck is the loss-recovery part of an ACK that moves SND.UNA on by
// acked sequence numbers, data of which were bytes of the send buffer.
func (c *Conn) recoveryAck(now time.Time, ack seq.Num, acked, data int) {
	c.dupAcks = 0
	if c.sackOK {
		c.trimBoard()
		c.trimLog()
		if c.inRecovery && ack.GreaterThanEq(c.recover) {
			// RFC 6675 §5 (RFC 6582 §3.2 step 3): RecoveryPoint is
			// acknowledged; recovery ends.
			c.inRecovery = false
			c.cc.OnRecoveryExit()
			c.rackRecoveryDone()
		} else if !c.inRecovery && c.cc != nil {
			c.ccAck(now, ack, acked, data)
		}
		return
	}
	if c.inRecovery {
		if ack.GreaterThanEq(c.recover) {
			// RFC 6582 §3.2 step 3: a full ACK ends recovery.
			c.inRecovery = false
			c.cc.OnRecoveryExit()
		} else {
			// RFC 6582 §3.2 step 4: partial ACK; deflate, retransmit the next hole.
			c.recWnd = max(c.recWnd-acked, 0) + c.sndMSS
			c.retransmitFirst(now, CausePartialAck)
		}
	} else if c.cc != nil {
		c.ccAck(now, ack, acked, data)
	}
}

// sackAck is the SACK side of an acceptable ACK, after SND.UNA has moved:
// RACK (or RFC 6675 IsLost) marks losses, which start recovery (RFC 6675
// §5), and PRR counts what the ACK delivered (RFC 6937 §3).
func (c *Conn) sackAck(now time.Time, ack seq.Num, advanced bool, delivered int, si sackInfo) {
	c.tlpAck(ack, advanced, si)
	if c.sndUna == c.sndMax {
		c.clearBoard()
		c.cancelTimer(now, TimerReorder)
		return
	}
	rtoRecovery := !c.inRecovery && c.sndUna.LessThan(c.recover)
	marked := false
	if c.rackOn() {
		c.rackDSACK(si.dsack)
		if !rtoRecovery {
			marked = c.rackDetectLoss(now)
		}
	} else if !rtoRecovery {
		c.markLost6675()
		marked = len(c.lost) > 0
	}
	if marked && !c.inRecovery && !rtoRecovery {
		c.enterSACKRecovery(now)
	}
	if c.inRecovery {
		c.prrAck(delivered, advanced)
	}
	c.armXmitTimer(now, false)
}

// enterSACKRecovery is RFC 6675 §5 step (4.1)-(4.2) with RFC 6937's
// initialisation: RecoveryPoint = HighData, ssthresh from the congestion
// control, and PRR's counters.
func (c *Conn) enterSACKRecovery(now time.Time) {
	flight := int(c.sndUna.Size(c.sndMax))
	c.cc.OnLoss(flight)
	c.inRecovery = true
	c.recover = c.sndMax
	c.highRxt = c.sndUna
	c.prrDelivered, c.prrOut, c.recoverFS, c.sndcnt = 0, 0, flight, 0
	c.tlpOut = false // Linux tcp_init_cwnd_reduction: the probe episode ends
	c.stats.SACKRecoveries++
	c.cancelTimer(now, TimerLossProbe)
}

// pipe is RFC 6675 §4's estimate of the bytes in the network, counted as
// Linux tcp_packets_in_flight does: outstanding, less what is SACKed and
// what is marked lost and not yet sent again.
func (c *Conn) pipe() int {
	return int(c.sndUna.Size(c.sndMax)) - c.sackedBytes() - c.lostBytes()
}

// prrAck is RFC 6937 §3's per-ACK step, with the slow-start reduction
// bound (PRR-SSRB), in bytes; as Linux tcp_cwnd_reduction, the first
// retransmission of a recovery is always allowed.
func (c *Conn) prrAck(delivered int, advanced bool) {
	if delivered <= 0 {
		return
	}
	c.prrDelivered += delivered
	pipe, ss := c.pipe(), c.cc.SSThresh()
	var n int
	if pipe > ss {
		fs := int64(max(c.recoverFS, 1))
		n = int((int64(c.prrDelivered)*int64(ss)+fs-1)/fs) - c.prrOut // CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
	} else {
		n = min(ss-pipe, max(c.prrDelivered-c.prrOut, delivered)+c.sndMSS)
	}
	if c.prrOut == 0 {
		n = max(n, c.sndMSS)
	}
	c.sndcnt = max(n, 0)
}

// sentInRecovery counts n sequence numbers sent during SACK recovery
// (RFC 6937 prr_out).
func (c *Conn) sentInRecovery(n int) {
	if c.inRecovery && c.sackOK {
		c.prrOut += n
		c.sndcnt = max(c.sndcnt-n, 0)
	}
}

// recoverySend sends what RFC 6675 §4 NextSeg() chooses while PRR allows:
// (1) lost holes first, lowest first; (2) new data; (3) with RFC 6675's
// IsLost only, the next hole not yet retransmitted (RACK knows which are
// merely reordered, and Linux does not do (3)); (4) once per recovery, a
// rescue retransmission of the highest unSACKed segment.
func (c *Conn) recoverySend(now time.Time) {
	why := CauseSACKLost
	if c.rackOn() {
		why = CauseRACKLost
	}
	for range 1 << 10 { // bounded: each pass sends a segment or stops
		if len(c.lost) == 0 {
			break
		}
		r := c.lost[0]
		end := seq.Min(r.end, r.start.Add(seq.Size(c.sndMSS)))
		if c.finSent() && end == c.finSeq && r.end.GreaterThan(c.finSeq) {
			end = c.finSeq.Add(1) // the FIN rides on the last data
		}
		if int(r.start.Size(end)) > c.sndcnt {
			return
		}
		c.lost = subSpan(c.lost, r.start, end)
		if !c.retransmitRange(now, r.start, end, why) {
			continue
		}
		if mutantResendSACKed && end.LessThan(c.sndMax) {
			c.retransmitRange(now, end, seq.Min(end.Add(seq.Size(c.sndMSS)), c.sndMax), why)
		}
		c.highRxt = seq.Max(c.highRxt, end)
	}
	if c.sndcnt <= 0 {
		return
	}
	if c.unsent() > 0 && c.sndNxt == c.sndMax {
		sent := c.stats.SegsOut
		c.sendData(now) // window() is what PRR allows
		if c.stats.SegsOut != sent || c.sndcnt <= 0 {
			return
		}
	}
	hi, ok := c.highSACKed()
	if !c.rackOn() && ok {
		for range 1 << 10 {
			a := seq.Max(c.highRxt, c.sndUna)
			for _, r := range c.sacked {
				if a.InRange(r.start, r.end) {
					a = r.end
				}
			}
			if !a.LessThan(hi) {
				break
			}
			end := a.Add(seq.Size(c.sndMSS))
			for _, r := range c.sacked {
				if a.LessThan(r.start) {
					end = seq.Min(end, r.start)
					break
				}
			}
			if int(a.Size(end)) > c.sndcnt || !c.retransmitRange(now, a, end, CauseSACKHole) {
				return
			}
			c.highRxt = end
		}
	}
	if c.rescued && !c.sndUna.GreaterThan(c.rescueRxt) {
		return
	}
	// Rule (4): the segment that holds the highest unSACKed sequence number.
	end := c.sndMax
	if n := len(c.sacked); n > 0 && c.sacked[n-1].end == end {
		end = c.sacked[n-1].start
	}
	a := seq.Max(c.sndUna, c.dataStart())
	for _, r := range c.sacked {
		if r.end.LessThanEq(end) && r.end.GreaterThan(a) {
			a = r.end
		}
	}
	if !a.LessThan(end) || !end.GreaterThan(c.highRxt) {
		return // nothing unSACKed, or it was just retransmitted
	}
	fin := 0
	if c.finSent() && end == c.sndMax {
		fin = 1
	}
	if int(a.Size(end)) > c.sndMSS+fin {
		a = end.Add(-seq.Size(c.sndMSS + fin))
	}
	if int(a.Size(end)) > c.sndcnt {
		return
	}
	if c.retransmitRange(now, a, end, CauseRescue) {
		c.rescued, c.rescueRxt = true, c.recover // HighRxt is not updated
	}
}

// recoveryTimeout ends recovery on a retransmission timeout and tells the
// congestion control (RFC 5681 §3.1).
func (c *Conn) recoveryTimeout() {
	if c.cc != nil {
		c.cc.OnTimeout(int(c.sndUna.Size(c.sndMax)))
	}
	c.inRecovery, c.dupAcks = false, 0
	c.recover = c.sndMax // RFC 6582 §3.2 step 1 after a timeout; RFC 6675 §5.1
	c.stats.Timeouts++
	c.tlpOut = false // Linux tcp_retransmit_timer: tlp_high_seq = 0
	c.resetLog()
	if c.retries > 1 {
		// A second timeout without progress: the peer may have reneged
		// on what it SACKed (RFC 2018 §8); resend it all, as Linux does
		// once it detects reneging.
		c.clearBoard()
	}
}

// isDupAck is RFC 5681 §2's duplicate ACK: data outstanding, no payload,
// no SYN/FIN, the same ACK and the same window.
func (c *Conn) isDupAck(s *wire.Segment) bool {
	return c.sndMax != c.sndUna && len(s.Payload) == 0 &&
		s.Flags&(wire.FlagSYN|wire.FlagFIN) == 0 &&
		uint32(s.Wnd)<<c.sndShift == c.sndWnd
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
		c.stats.RenoRecoveries++
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

// retransmitRange resends [a, b) of the send sequence space — data, and
// our FIN when b is past it — without moving SND.NXT. It reports false
// when there is nothing there to send.
func (c *Conn) retransmitRange(now time.Time, a, b seq.Num, why Cause) bool {
	start := c.dataStart()
	a = seq.Max(a, start)
	if !a.LessThan(b) {
		return false
	}
	dataEnd, fin := b, false
	if c.finSent() && b.GreaterThan(c.finSeq) {
		dataEnd, fin = c.finSeq, true
	}
	off := int(start.Size(a))
	n := min(int(a.Size(seq.Max(dataEnd, a))), c.snd.n-off)
	if n < 0 || (n == 0 && !fin) || (fin && mutantNoFinRetransmit && n == 0) {
		return false
	}
	s := wire.Segment{Seq: a, Ack: c.rcvNxt, Flags: wire.FlagACK, Wnd: c.windowField()}
	s.Payload = c.payload(off, n)
	if fin {
		s.Flags |= wire.FlagFIN
	}
	c.timing = false // Karn's rule
	c.stats.Retrans++
	c.logSend(now, a, a.Add(s.Len()), true)
	c.sentInRecovery(int(s.Len()))
	c.emit(now, &s, why)
	return true
}

// window returns the window the sender may fill: the congestion window
// (NewReno's inflated one in recovery) limited by the peer's window.
func (c *Conn) window() int {
	cw := 1 << 30
	if c.inRecovery && c.sackOK {
		// RFC 6937: what PRR lets out now, on top of what is in flight.
		cw = int(c.sndUna.Size(c.sndNxt)) + c.sndcnt
	} else if c.inRecovery {
		cw = c.recWnd
	} else if c.cc != nil {
		cw = c.cc.CWnd()
	}
	return min(int(c.sndWnd), cw)
}
