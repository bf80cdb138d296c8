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

// lossRecovery is the loss-recovery and congestion side of the TCB: the
// congestion control inline, the rest out of line.
type lossRecovery struct {
	cc         Congestion
	*lossState // nil until the connection first needs it (loss)
}

// lossState is loss recovery's state: the SACK scoreboard, RACK's send
// log, the recovery episode and its undo, and the counters. It is made
// when first needed — the first segment a RACK sender sends (RFC 8985
// §6.1 times every segment from the first), else the first SACK block,
// duplicate ACK or retransmission timeout — so that an idle connection,
// or one that has sent nothing, keeps the TCB in its heap size class
// (stack's TestTCBSizeClass): 392 bytes it would otherwise carry inline.
//
// Once made it stays: the counters, RACK's minimum RTT and reordering
// state (RFC 8985 §6.2 step 4) and a pending undo outlive an episode,
// and a second allocation for them would cost the TCB its size class.
// What it points to is trimmed instead once nothing is outstanding
// (trimLog).
type lossState struct {
	dupAcks    int     // duplicate ACKs in a row (RFC 5681 §2)
	inRecovery bool    // in fast recovery: NewReno's, or RFC 6675's with SACK
	recover    seq.Num // RFC 6582 "recover", RFC 6675 RecoveryPoint: the highest sequence number sent when recovery began
	recWnd     int     // NewReno window during fast recovery

	scoreboard // sack.go
	rackState  // rack.go
	undoState  // undo.go

	highRxt   seq.Num // RFC 6675 HighRxt: the highest sequence number retransmitted
	rescueRxt seq.Num // RFC 6675 RescueRxt
	rescued   bool    // RescueRxt is defined
	probeOne  bool    // sendData sends one segment past the congestion window: a loss probe

	// RFC 6937 §3: what the recovery has delivered and sent, the flight
	// it began with, and what this ACK lets out (bytes).
	prrDelivered, prrOut, recoverFS, sndcnt int

	counts lossCounts
}

// loss returns c's loss state, made if c has none yet. RFC 6582's
// "recover" starts at SND.UNA, as at the ISS (§3.2 step 1): no recovery
// is under way, and none may be mistaken for one.
func (c *Conn) loss() *lossState {
	if c.lossState == nil {
		c.lossState = &lossState{recover: c.sndUna}
	}
	return c.lossState
}

// recovering reports whether fast recovery is under way.
func (c *Conn) recovering() bool { return c.lossState != nil && c.inRecovery }

// probing reports whether sendData is sending a loss probe.
func (c *Conn) probing() bool { return c.lossState != nil && c.probeOne }

// anySACKed reports whether the scoreboard holds a SACKed range.
func (c *Conn) anySACKed() bool { return c.lossState != nil && len(c.sacked) > 0 }

// recoveryAck is the loss-recovery part of an ACK s that moves SND.UNA
// on by acked sequence numbers, data of which were bytes of the send
// buffer. An episode that ends here, or an ACK in a timeout's recovery,
// may find the reduction spurious (undo.go).
func (c *Conn) recoveryAck(now time.Time, s *wire.Segment, acked, data int) {
	ack := s.Ack
	if c.lossState == nil {
		if c.cc != nil {
			c.ccAck(now, ack, acked, data)
		}
		return
	}
	c.dupAcks = 0
	// A timeout's recovery (Linux TCP_CA_Loss) lasts until what was
	// outstanding at the timeout is acknowledged.
	inLoss := !c.inRecovery && ack.Add(-seq.Size(acked)).LessThan(c.recover)
	if c.sackOK {
		c.trimBoard()
		c.trimLog()
	}
	switch {
	case c.inRecovery && ack.GreaterThanEq(c.recover):
		// RFC 6675 §5, RFC 6582 §3.2 step 3: RecoveryPoint is
		// acknowledged; recovery ends, its reduction undone if it was
		// spurious (Linux tcp_try_undo_recovery).
		c.inRecovery = false
		if why := c.undoCause(s); why != CauseNone {
			c.undo(now, why, lcFullUndo)
		} else {
			c.cc.OnRecoveryExit()
		}
		if c.sackOK {
			c.rackRecoveryDone()
		}
	case c.inRecovery && !c.sackOK:
		// RFC 6582 §3.2 step 4: partial ACK; deflate, retransmit the next hole.
		c.recWnd = max(c.recWnd-acked, 0) + c.sndMSS
		c.retransmitFirst(now, CausePartialAck)
	case c.inRecovery:
	case c.cc != nil:
		if inLoss {
			c.undoLoss(now, s)
		}
		c.ccAck(now, ack, acked, data)
	}
	if c.rxtStamped && !c.inRecovery && !c.sndUna.LessThan(c.recover) && !c.sndUna.LessThan(c.rxtHigh) {
		// Out of any episode, with every retransmission acknowledged
		// (Linux: retrans_stamp = 0 when !tcp_any_retrans_done).
		c.rxtStamped = false
	}
}

// sackAck is the SACK side of an acceptable ACK, after SND.UNA has moved:
// a DSACK may show the last episode spurious (undo.go); RACK (or RFC
// 6675 IsLost) marks losses, which start recovery (RFC 6675 §5), and PRR
// counts what the ACK delivered (RFC 6937 §3).
func (c *Conn) sackAck(now time.Time, ack seq.Num, advanced bool, delivered int, si sackInfo) {
	c.tlpAck(ack, advanced, si)
	rtoRecovery := !c.inRecovery && c.sndUna.LessThan(c.recover)
	// Linux tcp_fastretrans_alert tries the DSACK undo before it looks
	// for losses again, in fast recovery or out of any, not in a
	// timeout's recovery (there only an ACK that moves SND.UNA undoes).
	undone := !rtoRecovery && c.undoDSACK(now)
	if c.sndUna == c.sndMax {
		c.clearBoard()
		c.cancelTimer(now, TimerReorder)
		return
	}
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
	// An undone recovery with losses still marked starts again (Linux:
	// "if loss is evident, starts a new recovery").
	marked = marked || undone && len(c.lost) > 0
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
	c.startUndo(false)
	c.inRecovery = true
	c.recover = c.sndMax
	c.highRxt = c.sndUna
	c.prrDelivered, c.prrOut, c.recoverFS, c.sndcnt = 0, 0, flight, 0
	c.tlpOut = false // Linux tcp_init_cwnd_reduction: the probe episode ends
	c.bump(lcSACKRecoveries)
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
	if c.recovering() && c.sackOK {
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
// congestion control (RFC 5681 §3.1). As Linux tcp_enter_loss, the
// threshold is lowered once for an episode: a timeout that repeats one
// without progress finds the loss window already in force, and one that
// ends a fast recovery makes that recovery's reduction a timeout's (from
// the window before the episode: Undo, then OnTimeout), so that the
// algorithm keeps one prior state for the episode's undo.
func (c *Conn) recoveryTimeout() {
	c.loss()
	flight := int(c.sndUna.Size(c.sndMax))
	inLoss := !c.inRecovery && c.sndUna.LessThan(c.recover)
	switch {
	case c.cc == nil:
	case c.inRecovery && c.undoOn:
		c.cc.Undo()
		c.cc.OnTimeout(flight)
		c.undoRTO = true
	case inLoss && c.retries > 1 && c.undoOn:
		c.undoRTO = true
	default:
		c.cc.OnTimeout(flight)
		c.startUndo(true)
	}
	c.inRecovery, c.dupAcks = false, 0
	c.recover = c.sndMax // RFC 6582 §3.2 step 1 after a timeout; RFC 6675 §5.1
	c.bump(lcTimeouts)
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
	c.loss().dupAcks++
	switch {
	case c.inRecovery:
		c.recWnd += c.sndMSS // step 4 of RFC 5681 §3.2: inflate
	case c.dupAcks == 3 && c.sndUna.GreaterThanEq(c.recover):
		// RFC 6582 §3.2 step 2: only if this loss is past the last recovery.
		flight := int(c.sndUna.Size(c.sndMax))
		c.cc.OnLoss(flight)
		c.startUndo(false)
		c.inRecovery = true
		c.recover = c.sndMax
		c.recWnd = c.cc.SSThresh() + 3*c.sndMSS
		c.bump(lcRenoRecoveries)
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
	c.noteRetransmit(now, s.Seq, s.Seq.Add(s.Len()))
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
	c.noteRetransmit(now, a, a.Add(s.Len()))
	c.logSend(now, a, a.Add(s.Len()), true)
	c.sentInRecovery(int(s.Len()))
	c.emit(now, &s, why)
	return true
}

// window returns the window the sender may fill: the congestion window
// (NewReno's inflated one in recovery) limited by the peer's window.
func (c *Conn) window() int {
	cw := 1 << 30
	if c.recovering() && c.sackOK {
		// RFC 6937: what PRR lets out now, on top of what is in flight.
		cw = int(c.sndUna.Size(c.sndNxt)) + c.sndcnt
	} else if c.recovering() {
		cw = c.recWnd
	} else if c.cc != nil {
		cw = c.cc.CWnd()
	}
	return min(int(c.sndWnd), cw)
}
