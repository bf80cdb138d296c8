package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// This file is the way out: every segment a connection sends leaves
// through emit, and the answers the rules share (a bare ACK, a RST, a
// rate-limited challenge ACK) are built here.

// emit sends a segment built from the connection's current state.
func (c *Conn) emit(now time.Time, s *wire.Segment, why Cause) {
	s.SrcPort, s.DstPort = c.localPort, c.remotePort
	if s.Flags&wire.FlagRST == 0 {
		c.stampTS(now, s)
		if s.Flags&wire.FlagACK != 0 {
			c.lastAckSent = s.Ack
			c.ackOwed, c.ackNow, c.ackOOO, c.rcvdUnacked = false, false, false, 0
			c.cancelTimer(now, TimerDelayedACK)
		}
	}
	c.stats.SegsOut++
	c.stats.BytesOut += len(s.Payload)
	io := c.ioScratch()
	io.seg = *s
	c.out.Segment(now, c, &io.seg, why)
	io.seg.Payload = nil // do not keep the buffer alive
}

// sendAck sends a bare ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with the
// sequence number of acceptableSeq.
func (c *Conn) sendAck(now time.Time, why Cause) {
	s := segAck(c.acceptableSeq(), c.rcvNxt, c.windowField())
	c.addSACK(&s)
	c.emit(now, &s, why)
}

func segAck(sq, ack seq.Num, wnd uint16) wire.Segment {
	return wire.Segment{Seq: sq, Ack: ack, Flags: wire.FlagACK, Wnd: wnd}
}

// sendRST sends <SEQ=seqn><CTL=RST>, with ACK when ack is given.
func (c *Conn) sendRST(now time.Time, seqn seq.Num, ack seq.Num, withAck bool, why Cause) {
	s := wire.Segment{Seq: seqn, Flags: wire.FlagRST}
	if withAck {
		s.Flags |= wire.FlagACK
		s.Ack = ack
	}
	c.emit(now, &s, why)
}

// challengeAck sends an ACK for a suspicious segment unless the RFC 5961
// §7 rate limit says no (Linux tcp_invalid_ratelimit, per connection).
func (c *Conn) challengeAck(now time.Time, s *wire.Segment, why Cause) {
	if c.lastChallenge != 0 && since(now, c.lastChallenge) < c.cfg.ChallengeACK {
		c.drop(now, s, CauseChallengeLimit)
		return
	}
	c.lastChallenge = now.UnixNano()
	c.stats.ChallengeACKs++
	c.refused(now, s, why)
	c.sendAck(now, why)
}

// refused traces a segment that is not accepted but answered (with an
// ACK): for the trace it is dropped, though not silently, so the counter
// of silent drops stays as it is.
func (c *Conn) refused(now time.Time, s *wire.Segment, why Cause) {
	if c.obs != nil {
		c.event(now, Event{Kind: EventDrop, Seg: s, Cause: why})
	}
}

// dupAckLimited answers an unacceptable segment with an ACK. Segments
// carrying data or FIN always get one; empty ones share the challenge-ACK
// rate limit so two stacks cannot ping-pong ACKs (Linux tcp_oow_rate_limited).
func (c *Conn) dupAckLimited(now time.Time, s *wire.Segment, why Cause) {
	if len(s.Payload) > 0 || s.Flags&wire.FlagFIN != 0 {
		c.refused(now, s, why)
		c.sendAck(now, why)
		return
	}
	c.challengeAck(now, s, why)
}

// replyRST answers s with the RST of ResetFor, addressed to the segment's
// own source port: a listener with no remote port yet must not send to port 0.
func (c *Conn) replyRST(now time.Time, s *wire.Segment, why Cause) bool {
	r, ok := ResetFor(s)
	if ok {
		c.stats.SegsOut++
		c.out.Segment(now, c, &r, why)
	}
	return ok
}
