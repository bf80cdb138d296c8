package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// This file is loss recovery: duplicate-ACK counting, fast retransmit and
// NewReno fast recovery (RFC 5681 §3.2, RFC 6582), and what a
// retransmission timeout ends. How large the window is belongs to the
// Congestion algorithm (congestion.go).

// lossRecovery is the loss-recovery and congestion side of the TCB.
type lossRecovery struct {
	cc         Congestion
	dupAcks    int     // duplicate ACKs in a row (RFC 5681 §2)
	inRecovery bool    // in NewReno fast recovery
	recover    seq.Num // RFC 6582 "recover": the highest sequence number sent when recovery began
	recWnd     int     // NewReno window during fast recovery
}

// recoveryAck is the loss-recovery part of an ACK that moves SND.UNA on by
// acked sequence numbers, data of which were bytes of the send buffer.
func (c *Conn) recoveryAck(now time.Time, ack seq.Num, acked, data int) {
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
	c.dupAcks = 0
}

// recoveryTimeout ends recovery on a retransmission timeout and tells the
// congestion control (RFC 5681 §3.1).
func (c *Conn) recoveryTimeout() {
	if c.cc != nil {
		c.cc.OnTimeout(int(c.sndUna.Size(c.sndMax)))
	}
	c.inRecovery, c.dupAcks = false, 0
	c.recover = c.sndMax // RFC 6582 §3.2 step 1 after a timeout
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

// window returns the window the sender may fill: the congestion window
// (NewReno's inflated one in recovery) limited by the peer's window.
func (c *Conn) window() int {
	cw := 1 << 30
	if c.inRecovery {
		cw = c.recWnd
	} else if c.cc != nil {
		cw = c.cc.CWnd()
	}
	return min(int(c.sndWnd), cw)
}
