package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// This file is the undo of a congestion window reduction that loss
// recovery finds spurious afterwards, as Linux does it (tcp_input.c:
// tcp_try_undo_recovery, tcp_try_undo_loss, tcp_try_undo_dsack,
// tcp_packet_delayed), the window and threshold put back as RFC 9438
// §4.9 says (Congestion.Undo).
//
// An episode begins with a reduction: a fast recovery, or a
// retransmission timeout (the "loss" state, as Linux's TCP_CA_Loss,
// until what was outstanding is acknowledged). It was spurious when the
// originals arrived after all and only the retransmissions were
// needless. Two tests tell, and synack uses both, as Linux does:
//
//   - DSACK (RFC 2883 §4, RFC 3708): the episode's retransmissions are
//     counted (Linux undo_retrans), and each duplicate the peer reports
//     above the episode's start takes one off; when none is left, every
//     retransmission was a duplicate: nothing was lost.
//   - Timestamps (the Eifel detection, RFC 3522 §2): an ACK that echoes
//     a TSval older than the episode's first retransmission was sent for
//     an original.
//
// Why both, and why undo rather than F-RTO (RFC 5682): undo covers a
// spurious fast recovery as well as a spurious timeout, and needs no
// change to what is sent, so the wire shows what Linux peers meet. The
// timestamp test answers on the first ACK after the retransmission but
// needs timestamps; the DSACK test answers one round trip later but
// needs only SACK, which nearly every peer offers. Each is a few fields
// and a comparison per ACK.
//
// Linux also undoes when the episode retransmitted nothing at all; synack
// always retransmits at once when an episode begins, so that case does
// not arise and is left out. Nor is there Linux's partial undo
// (tcp_try_undo_partial, a hole filled by a delayed original while other
// retransmissions are still out).

// undoState is what an episode's undo needs (Linux undo_marker,
// undo_retrans, retrans_stamp, dsack_dups).
type undoState struct {
	undoOn      bool    // the last episode's reduction may still be undone (Linux undo_marker ≠ 0)
	undoRTO     bool    // the episode has seen a retransmission timeout: its undo finds the timeout spurious
	rxtStamped  bool    // rxtTS is set
	undoMarker  seq.Num // SND.UNA when the episode began: DSACKs below it are of older retransmissions
	rxtHigh     seq.Num // the end of the highest retransmission since rxtTS was set
	rxtTS       uint32  // TSval of the first retransmission still outstanding (Linux retrans_stamp)
	undoRetrans int     // the episode's retransmitted segments not yet DSACKed; -1: none retransmitted yet
	rxtSegs     int     // segments ever retransmitted (Linux total_retrans)
	dsackDups   int     // segments ever reported duplicate (Linux dsack_dups)
}

// startUndo begins an episode at a reduction (Linux tcp_init_undo):
// retransmissions still in flight from before count, since they may be
// DSACKed later.
func (c *Conn) startUndo(rto bool) {
	c.undoOn, c.undoRTO, c.undoMarker = true, rto, c.sndUna
	c.undoRetrans = -1
	for _, r := range c.retx {
		if r.end.GreaterThan(c.sndUna) {
			c.undoRetrans = max(c.undoRetrans, 0) + c.segsIn(seq.Max(r.start, c.sndUna), r.end)
		}
	}
}

// segsIn is how many segments [a, b) was sent as (Linux tcp_skb_pcount,
// and DIV_ROUND_UP(len, mss) for a DSACK).
func (c *Conn) segsIn(a, b seq.Num) int {
	return max(1, (int(a.Size(b))+c.sndMSS-1)/c.sndMSS)
}

// noteRetransmit counts a retransmission of [a, b) at now (Linux
// tcp_retransmit_skb: undo_retrans, retrans_stamp).
func (c *Conn) noteRetransmit(now time.Time, a, b seq.Num) {
	n := c.segsIn(a, b)
	c.loss().rxtSegs += n
	c.undoRetrans = max(c.undoRetrans, 0) + n
	if !c.rxtStamped {
		c.rxtTS, c.rxtStamped, c.rxtHigh = c.tsNow(now), true, b
	}
	c.rxtHigh = seq.Max(c.rxtHigh, b)
}

// countDSACK is the undo's part of a DSACK block [a, b) (Linux
// tcp_check_dsack, tcp_dsack_seen): a report of more than was ever
// retransmitted, or of more than a window, is dubious and ignored;
// otherwise the duplicates are taken off the episode's count of
// retransmissions when they lie above its start. As Linux for data
// already acknowledged, the count is "dumb": a DSACK is taken to be of a
// retransmission without looking up which.
func (c *Conn) countDSACK(a, b seq.Num) {
	n := int(a.Size(b))
	if !a.LessThan(b) || n > int(c.maxSndWnd) {
		return
	}
	segs := c.segsIn(a, b)
	c.dsackDups += segs
	if c.dsackDups > c.rxtSegs {
		return // not retransmitted by us: a peer's or a middlebox's duplicate
	}
	if c.undoOn && c.undoRetrans > 0 && b.GreaterThan(c.undoMarker) {
		c.undoRetrans = max(c.undoRetrans-segs, 0)
	}
}

// packetDelayed is RFC 3522 §2 (Linux tcp_packet_delayed): the ACK
// echoes a timestamp older than the first retransmission's, so it was
// sent for an original.
func (c *Conn) packetDelayed(s *wire.Segment) bool {
	return c.tsOK && c.rxtStamped && s.Opts.HasTimestamp && s.Opts.TSEcr != 0 && int32(s.Opts.TSEcr-c.rxtTS) < 0
}

// undoCause is the rule that finds the episode spurious on this ACK, or
// CauseNone (Linux tcp_may_undo).
func (c *Conn) undoCause(s *wire.Segment) Cause {
	switch {
	case !c.undoOn:
		return CauseNone
	case c.undoRetrans == 0:
		return CauseUndoDSACK
	case c.packetDelayed(s):
		return CauseUndoEifel
	}
	return CauseNone
}

// undo puts the window back (Linux tcp_undo_cwnd_reduction), counts it
// under k, and traces it with its rule.
func (c *Conn) undo(now time.Time, why Cause, k lossCounter) {
	c.cc.Undo()
	c.undoOn = false
	c.bump(k)
	if c.obs != nil {
		c.event(now, Event{Kind: EventUndo, CWnd: c.cc.CWnd(), SSThresh: c.cc.SSThresh(), Cause: why})
	}
}

// undoLoss is Linux tcp_try_undo_loss, on an ACK that moves SND.UNA on
// after a retransmission timeout: a spurious timeout is undone, and
// what it was resending from SND.UNA goes no further (what remained was
// delivered or is on its way, as the ACK shows); with SACK the timeout's
// recovery ends there, without SACK it lasts to "recover" (RFC 6582), as
// in Linux.
func (c *Conn) undoLoss(now time.Time, s *wire.Segment) bool {
	why := c.undoCause(s)
	if why == CauseNone {
		return false
	}
	c.undo(now, why, lcLossUndo)
	c.bump(lcSpuriousRTOs)
	c.lost = c.lost[:0]
	c.sndNxt = c.sndMax
	if c.sackOK {
		c.recover = c.sndUna
	}
	return true
}

// undoDSACK is Linux tcp_try_undo_dsack, outside a timeout's recovery:
// every retransmission of the episode has been reported duplicate. A
// fast recovery under way ends (RFC 2883 §5 and RFC 3708's response:
// the reduction was for reordering, not loss); it reports whether one
// did.
func (c *Conn) undoDSACK(now time.Time) bool {
	if !c.undoOn || c.undoRetrans != 0 {
		return false
	}
	c.undo(now, CauseUndoDSACK, lcDSACKUndo)
	if c.undoRTO {
		c.bump(lcSpuriousRTOs) // a timeout's episode, over before its DSACKs came
	}
	if !c.inRecovery {
		return false
	}
	c.inRecovery = false
	c.rackRecoveryDone()
	return true
}
