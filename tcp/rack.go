package tcp

import (
	"sort"
	"time"

	"github.com/synack/synack/seq"
)

// This file is RACK-TLP (RFC 8985), the loss detection Linux uses when
// the peer does SACK: a segment is lost once one sent after it has been
// delivered and an RTT plus a reordering window have passed since it was
// sent (RACK, §6); a tail with nothing after it to be delivered is probed
// instead of waiting for the RTO (TLP, §7).
//
// RACK needs each segment's send time. Original transmissions go in log,
// in sequence order, which is also their time order (a rewind, after an
// RTO or a path MTU drop, starts it afresh); retransmissions outside that
// flow go in retx, in time order. A cursor over log passes each segment
// once, when it is judged delivered, lost, or resent; so each ACK costs
// O(log n) lookups and amortised O(1) walking, whatever the window.

const (
	maxTxLog   = 8192 // original transmissions remembered; beyond, the last record grows
	maxRetxLog = 256  // retransmissions remembered; beyond, the oldest is forgotten (the RTO still watches it)
)

// txRec is one transmission of [start, end) at xmit (Unix ns).
type txRec struct {
	start, end seq.Num
	xmit       int64
	resent     bool // an original sent again since: its copy in retx is the one watched
}

// rackState is RACK's and TLP's part of the TCB (RFC 8985 §5.2, §7).
type rackState struct {
	log         []txRec // original transmissions, in sequence and time order
	lhead, lcur int     // log[lhead:] is outstanding; log[lhead:lcur] has been judged
	retx        []txRec // retransmissions, in time order

	xmitTS      int64   // RACK.xmit_ts: send time of the most recently sent segment delivered
	endSeq      seq.Num // RACK.end_seq
	rackRTT     time.Duration
	minRTT      time.Duration
	fack        seq.Num // RACK.fack: the highest end delivered
	reorderSeen bool
	reoMult     int // RACK.reo_wnd_mult (1 when zero)
	reoPersist  int
	dsackRound  seq.Num
	dsackOpen   bool

	tlpHigh    seq.Num // TLP.end_seq (Linux tlp_high_seq)
	tlpOut     bool    // a probe is outstanding
	tlpRetrans bool    // it was a retransmission
	rtoAt      int64   // the RTO a loss probe stands in for, Unix ns
}

// rackOn reports whether RACK does the loss detection.
func (c *Conn) rackOn() bool { return c.sackOK && c.cfg.RACK.Enabled() }

// logSend records a transmission of [a, b). resent is a retransmission
// made outside the sequence order (NextSeg, a probe, a rescue).
func (c *Conn) logSend(now time.Time, a, b seq.Num, resent bool) {
	if !c.rackOn() || !a.LessThan(b) {
		return
	}
	c.loss()
	t := now.UnixNano()
	if resent {
		if len(c.retx) >= maxRetxLog {
			c.retx = append(c.retx[:0], c.retx[1:]...)
		}
		c.retx = append(c.retx, txRec{start: a, end: b, xmit: t})
		for i := c.logFind(a); i < len(c.log) && c.log[i].start.LessThan(b); i++ {
			c.log[i].resent = true
		}
		return
	}
	if n := len(c.log); n-c.lhead >= maxTxLog && n > c.lhead {
		c.log[n-1].end, c.log[n-1].xmit = b, t // bounded: the record looks newer, which delays, never hastens, a loss
		return
	}
	if len(c.log) == cap(c.log) && c.lhead > 0 {
		k := copy(c.log, c.log[c.lhead:])
		c.log = c.log[:k]
		c.lcur -= c.lhead
		c.lhead = 0
	}
	c.log = append(c.log, txRec{start: a, end: b, xmit: t})
}

// logFind is the index of the first outstanding original ending after x.
func (c *Conn) logFind(x seq.Num) int {
	live := c.log[c.lhead:]
	return c.lhead + sort.Search(len(live), func(i int) bool { return live[i].end.GreaterThan(x) })
}

// resetLog forgets the send times: everything outstanding will be sent
// again in sequence order (an RTO, a path MTU drop).
func (c *Conn) resetLog() {
	if c.lossState == nil {
		return
	}
	c.log, c.lhead, c.lcur = c.log[:0], 0, 0
	c.retx = c.retx[:0]
	c.lost = c.lost[:0]
}

// trimLog drops what the cumulative ACK covers, and the memory once
// nothing is outstanding.
func (c *Conn) trimLog() {
	for c.lhead < len(c.log) && c.log[c.lhead].end.LessThanEq(c.sndUna) {
		c.lhead++
	}
	c.lcur = max(c.lcur, c.lhead)
	if c.sndUna == c.sndMax {
		c.log, c.lhead, c.lcur = c.log[:0], 0, 0
		c.retx = c.retx[:0]
		if cap(c.log) > 256 {
			c.log = nil
		}
	}
}

// sentAfter is RFC 8985 §6.2 RACK_sent_after.
func sentAfter(t1 int64, s1 seq.Num, t2 int64, s2 seq.Num) bool {
	return t1 > t2 || (t1 == t2 && s1.GreaterThan(s2))
}

// rackDelivered is RFC 8985 §6.2 steps 2 and 3 for a newly delivered
// range [a, b): take its latest transmission as RACK.xmit_ts, sample
// RACK.rtt, and note reordering.
func (c *Conn) rackDelivered(now time.Time, a, b seq.Num) {
	var xmit int64
	resent := false
	if i := c.logFind(b - 1); i < len(c.log) && c.log[i].start.LessThan(b) {
		xmit, resent = c.log[i].xmit, c.log[i].resent
	}
	for i := len(c.retx) - 1; i >= 0; i-- {
		if r := c.retx[i]; r.start.LessThan(b) && a.LessThan(r.end) {
			if r.xmit > xmit {
				xmit, resent = r.xmit, true
			}
			break
		}
	}
	if xmit == 0 {
		return // sent before the log was last reset
	}
	rtt := since(now, xmit)
	// Step 2: an ACK of a retransmission may be for the original; a
	// sample below the minimum RTT must be (the TSecr test is left out).
	if !resent || rtt >= c.minRTT {
		c.rackRTT = rtt
		if !resent && (c.minRTT == 0 || rtt < c.minRTT) {
			c.minRTT = rtt
		}
		if sentAfter(xmit, b, c.xmitTS, c.endSeq) {
			c.xmitTS, c.endSeq = xmit, b
		}
	}
	// Step 3.
	if b.GreaterThan(c.fack) {
		c.fack = b
	} else if b.LessThan(c.fack) && !resent {
		c.reorderSeen = true
	}
}

// reoWnd is RFC 8985 §6.2 step 4: no reordering window until reordering
// has been seen once recovery has begun or DupThresh segments are SACKed;
// else a quarter of the minimum RTT, scaled by DSACK rounds, at most SRTT.
func (c *Conn) reoWnd() time.Duration {
	if !c.reorderSeen && (c.inRecovery || c.sndUna.LessThan(c.recover) || c.sackedBytes() > (dupThresh-1)*c.sndMSS) {
		return 0
	}
	w := time.Duration(max(c.reoMult, 1)) * c.minRTT / 4
	if c.rtt.valid {
		w = min(w, c.rtt.srtt)
	}
	return w
}

// rackDSACK adapts the reordering window to DSACKs (RFC 8985 §6.2 step 4).
func (c *Conn) rackDSACK(dsack bool) {
	if c.dsackOpen && c.sndUna.GreaterThanEq(c.dsackRound) {
		c.dsackOpen = false
	}
	if !c.dsackOpen && dsack {
		c.dsackOpen, c.dsackRound = true, c.sndMax
		c.reoMult = max(c.reoMult, 1) + 1
		c.reoPersist = 16
	}
}

// rackRecoveryDone counts a DSACK-free recovery towards resetting the
// reordering window (RFC 8985 §6.2 step 4).
func (c *Conn) rackRecoveryDone() {
	if c.reoPersist > 0 {
		c.reoPersist--
		if c.reoPersist == 0 {
			c.reoMult = 1
		}
	}
}

// rackDetectLoss is RFC 8985 §6.2 step 5: mark lost each segment sent
// before RACK.xmit_ts whose RTT plus reordering window has passed, and
// arm the reorder timer for the first that has not yet (§6.3). It
// reports whether it marked any.
func (c *Conn) rackDetectLoss(now time.Time) bool {
	if c.xmitTS == 0 {
		return false
	}
	wait := c.rackRTT + c.reoWnd()
	var timeout int64
	marked := false
	for ; c.lcur < len(c.log); c.lcur++ {
		e := c.log[c.lcur]
		if e.end.LessThanEq(c.sndUna) || e.resent {
			continue
		}
		if !sentAfter(c.xmitTS, c.endSeq, e.xmit, e.end) {
			break // sent after the most recent delivery: nothing to say yet
		}
		if left := e.xmit + int64(wait) - now.UnixNano(); left > 0 {
			timeout = left
			break
		}
		if !c.markLost(seq.Max(e.start, c.sndUna), e.end) {
			break
		}
		marked = true
	}
	for i := 0; i < len(c.retx); {
		r := c.retx[i]
		if r.end.LessThanEq(c.sndUna) || c.coveredSACKed(r.start, r.end) {
			c.retx = append(c.retx[:i], c.retx[i+1:]...)
			continue
		}
		if !sentAfter(c.xmitTS, c.endSeq, r.xmit, r.end) {
			break
		}
		if left := r.xmit + int64(wait) - now.UnixNano(); left > 0 {
			if timeout == 0 || left < timeout {
				timeout = left
			}
			break
		}
		if !c.markLost(seq.Max(r.start, c.sndUna), r.end) {
			break
		}
		marked = true
		c.bump(lcLostRetransmits)
		c.retx = append(c.retx[:i], c.retx[i+1:]...)
	}
	if timeout > 0 {
		c.setTimer(now, TimerReorder, time.Duration(timeout))
	} else {
		c.cancelTimer(now, TimerReorder)
	}
	return marked && len(c.lost) > 0
}

// coveredSACKed reports whether [a, b) is wholly SACKed.
func (sb *scoreboard) coveredSACKed(a, b seq.Num) bool {
	for _, r := range sb.sacked {
		if r.start.LessThanEq(a) && b.LessThanEq(r.end) {
			return true
		}
	}
	return false
}

// reorderTimeout is RFC 8985 §6.3: the reordering window of a segment
// has passed; mark what is lost and repair it (Linux tcp_rack_reo_timeout).
func (c *Conn) reorderTimeout(now time.Time) {
	if c.lossState == nil || !c.rackOn() || c.sndUna == c.sndMax || !c.canSend() {
		return
	}
	if c.rackDetectLoss(now) {
		if !c.inRecovery {
			c.enterSACKRecovery(now)
		}
		// Linux tcp_rack_reo_timeout calls tcp_cwnd_reduction as if one
		// segment were delivered.
		c.prrAck(c.sndMSS, false)
		c.flush(now)
	}
}

// probeAt is when a loss probe is due (RFC 8985 §7.2), as Linux
// tcp_schedule_loss_probe decides it (net/ipv4/tcp_output.c): only with
// SACK, something in flight and nothing SACKed, lost or in recovery
// (TCP_CA_Open); after 2·SRTT, plus tcp_rto_min when a single segment is
// out (a delayed ACK may hold its answer) or else TCP_TIMEOUT_MIN (2 ms);
// 1 s without an RTT sample; never after the RTO. A lone FIN or a single
// segment is probed too.
func (c *Conn) probeAt(now time.Time, rtoAt int64) (int64, bool) {
	if c.lossState == nil || !c.rackOn() || !c.cfg.TLP.Enabled() || c.inRecovery || c.sndUna.LessThan(c.recover) ||
		c.sndUna == c.sndMax || len(c.sacked) > 0 || len(c.lost) > 0 || !c.canSend() || c.sndUna == c.iss {
		return 0, false
	}
	pto := time.Second // TCP_TIMEOUT_INIT
	if c.rtt.valid {
		pto = 2 * c.rtt.srtt
		if int(c.sndUna.Size(c.sndMax)) <= c.sndMSS {
			pto += c.cfg.RTOMin
		} else {
			pto += 2 * time.Millisecond
		}
	}
	at := now.Add(pto).UnixNano()
	if rtoAt != 0 && rtoAt < at {
		at = rtoAt
	}
	return at, true
}

// armXmitTimer arms the timer that watches what is in flight: the loss
// probe when one is due (it stands in for the RTO, as in Linux where both
// share icsk_timeout), else the RTO. restart starts the RTO afresh (an
// ACK of new data, RFC 6298 §5.3); otherwise an armed one is kept.
func (c *Conn) armXmitTimer(now time.Time, restart bool) {
	if c.sndUna == c.sndMax || c.dataStart() == c.sndMax {
		return
	}
	rtoAt := now.Add(c.rtt.timeout(c.cfg, c.backoff)).UnixNano()
	if !restart {
		if d := c.deadline[TimerRetransmit]; d != 0 {
			rtoAt = d
		} else if c.armed(TimerLossProbe) {
			rtoAt = c.rtoAt
		}
	}
	if at, ok := c.probeAt(now, rtoAt); ok {
		c.rtoAt = rtoAt
		c.cancelTimer(now, TimerRetransmit)
		c.setTimer(now, TimerLossProbe, time.Duration(at-now.UnixNano()))
		return
	}
	c.cancelTimer(now, TimerLossProbe)
	c.setTimer(now, TimerRetransmit, time.Duration(rtoAt-now.UnixNano()))
}

// xmitTimerArmed reports whether the RTO or a probe standing in for it is armed.
func (c *Conn) xmitTimerArmed() bool { return c.armed(TimerRetransmit) || c.armed(TimerLossProbe) }

// sendLossProbe is RFC 8985 §7.3 as Linux tcp_send_loss_probe does it:
// one new segment if the peer's window allows (even past the congestion
// window), else the last segment sent again; at most one probe
// outstanding; then the RTO, from now.
func (c *Conn) sendLossProbe(now time.Time) {
	if c.lossState == nil || c.sndUna == c.sndMax || !c.canSend() {
		return
	}
	if c.tlpOut {
		c.setTimer(now, TimerRetransmit, time.Duration(max(c.rtoAt-now.UnixNano(), 1)))
		return
	}
	sent := c.stats.SegsOut
	if c.unsent() > 0 && c.sndNxt == c.sndMax {
		c.probeOne = true
		c.sendData(now)
		c.probeOne = false
	}
	if c.stats.SegsOut != sent {
		c.tlpRetrans = false
	} else {
		// The last segment: the last original sent, or the last MSS.
		end := c.sndMax
		lo := seq.Max(c.sndUna, c.dataStart())
		a := lo
		fin := 0
		if c.finSent() {
			fin = 1 // the FIN takes a sequence number, not payload
		}
		if n := len(c.log); n > c.lhead && c.log[n-1].end == end {
			a = seq.Max(c.log[n-1].start, lo)
		} else if int(lo.Size(end)) > c.sndMSS+fin {
			a = end.Add(-seq.Size(c.sndMSS + fin))
		}
		if !c.retransmitRange(now, a, end, CauseTLP) {
			c.setTimer(now, TimerRetransmit, c.rtt.timeout(c.cfg, c.backoff))
			return
		}
		c.tlpRetrans = true
	}
	c.tlpHigh, c.tlpOut = c.sndMax, true
	c.bump(lcLossProbes)
	c.setTimer(now, TimerRetransmit, c.rtt.timeout(c.cfg, c.backoff))
}

// tlpAck is RFC 8985 §7.4 as Linux tcp_process_tlp_ack: a probe that
// repaired a loss (the ACK goes past it, without a DSACK saying both
// copies arrived) still costs a congestion window reduction.
func (c *Conn) tlpAck(ack seq.Num, advanced bool, si sackInfo) {
	if !c.tlpOut || ack.LessThan(c.tlpHigh) {
		return
	}
	switch {
	case !c.tlpRetrans:
		c.tlpOut = false // a probe of new data: nothing to judge
	case si.dsack && si.dEnd.GreaterThanEq(c.tlpHigh.Add(-seq.Size(c.sndMSS+1))):
		c.tlpOut = false // both copies arrived: no loss
	case ack.GreaterThan(c.tlpHigh):
		c.tlpOut = false
		c.cc.OnLoss(int(c.sndUna.Size(c.sndMax)))
		c.cc.OnRecoveryExit()
		c.undoOn = false // a real loss: no older episode's undo may take this reduction back
		c.bump(lcLossProbeRecoveries)
	case !advanced && si.newly == 0:
		c.tlpOut = false // a pure duplicate ACK: both copies arrived
	}
}

// finSent reports whether our FIN has been sent.
func (ss *sendSpace) finSent() bool { return ss.closing && ss.sndMax.GreaterThan(ss.finSeq) }
