package tcp

import (
	"io"
	"syscall"
	"time"

	"github.com/synack/synack/internal/copies"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// recvSpace is the receive side of the TCB (RFC 9293 §3.3.1): the
// receive sequence space, the receive buffer with the out-of-order data
// held for reassembly, the peer's FIN, and the ACK owed for what arrived.
type recvSpace struct {
	irs, rcvNxt seq.Num
	rcvAdv      seq.Num // right edge of the window we last advertised; never moves left
	finRcvdSeq  seq.Num
	oooLast     seq.Num // start of the most recent out-of-order segment (RFC 2018 §4)
	// rcvMSS is the largest segment received, for "every second
	// full-sized segment"; 32 bits (a segment is under 64 KiB) leave the
	// flags room in the same word: the TCB stays in its size class.
	rcvMSS  int32
	finRcvd bool // the peer's FIN arrived ahead of RCV.NXT and waits for the gap
	peerFin bool // the peer's FIN has been received in order: EOF after the buffer
	ackOwed bool // an ACK is owed but may be delayed
	ackNow  bool // an ACK is owed at once (RFC 5681 §4.2)
	ackOOO  bool // ... because data or a FIN arrived out of order: a duplicate ACK

	rcv ring
	ooo []span // ranges held ahead of RCV.NXT, sorted and disjoint

	rcvdUnacked int // bytes received since the last ACK we sent
}

// Receive copies received data into p (RFC 9293 §3.10.3). It returns io.EOF
// once the peer's FIN has been reached and every byte before it read, the
// connection's error after a reset or time-out, and (0, nil) when nothing is
// there yet.
func (c *Conn) Receive(now time.Time, p []byte) (int, error) {
	if c.rcv.n > 0 {
		before := c.rcvWnd()
		n := c.rcv.read(p)
		copies.Add(copies.ReadOut, n)
		if c.rcv.n == 0 && len(c.ooo) == 0 {
			c.rcv.release(c.pool()) // drained, nothing held ahead: the buffer goes round
		}
		c.maybeWindowUpdate(now, before)
		return n, nil
	}
	switch {
	case c.err != nil:
		return 0, c.err
	case c.peerFin:
		return 0, io.EOF
	case c.state == StateClosed || c.state == StateListen:
		return 0, syscall.ENOTCONN
	}
	return 0, nil
}

// maybeWindowUpdate sends a window update when reading has opened the
// window enough to matter (RFC 9293 §3.8.6.2.2), e.g. after a zero window.
// As Linux (tcp_cleanup_rbuf), only when the advertised window had fallen
// to half the buffer or less and the new one is at least twice as large:
// an update after every read would double the ACKs.
func (c *Conn) maybeWindowUpdate(now time.Time, before uint32) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
	default:
		return
	}
	free := c.cfg.RcvBuf - c.rcv.n
	if 2*int(before) <= c.cfg.RcvBuf && free >= 2*int(before) && free-int(before) >= min(int(c.mss()), c.cfg.RcvBuf/2) {
		c.sendAck(now, CauseWindowUpdate)
	}
}

// receiveText is the seventh and eighth steps of RFC 9293 §3.10.7.4: place
// the segment's data in the receive buffer (in order, or ahead of RCV.NXT
// for reassembly), then process its FIN.
func (c *Conn) receiveText(now time.Time, s *wire.Segment) {
	data, sq := s.Payload, s.Seq
	end := s.Seq.Add(seq.Size(len(s.Payload))) // where the FIN would be
	fin := s.Flags&wire.FlagFIN != 0
	if sq.LessThan(c.rcvNxt) {
		k := int(sq.Size(c.rcvNxt))
		if k >= len(data) {
			if len(data) > 0 {
				c.ackNow = true // a duplicate: ACK at once (RFC 5681 §4.2)
			}
			data = nil
		} else {
			data = data[k:]
		}
		if k > 0 && len(s.Payload) > 0 && c.sackOK {
			// The part already received is reported (RFC 2883 §4), by
			// an ACK at once: the report lives only for this call.
			// Linux delays this ACK when only part was old.
			c.setDSACK(sq, sq.Add(seq.Size(min(k, len(s.Payload)))))
			c.ackNow = true
		}
		sq = c.rcvNxt
	}
	right := c.rcvNxt.Add(seq.Size(c.rcvWnd()))
	if c.finRcvd && c.finRcvdSeq.LessThan(right) {
		right = c.finRcvdSeq // the peer's data ends at its FIN
	}
	if len(data) > 0 && sq.Add(seq.Size(len(data))).GreaterThan(right) {
		data = data[:int(sq.Size(seq.Max(sq, right)))]
		fin = false // the FIN lies beyond the window: the peer will send it again
		c.ackNow = true
	}
	if len(data) > 0 {
		c.stats.BytesIn += len(data)
		c.rcvMSS = max(c.rcvMSS, int32(len(data)))
		if sq == c.rcvNxt {
			c.rcv.writeAt(c.pool(), c.rcv.n, data)
			copies.Add(copies.RecvRing, len(data))
			c.rcv.n += len(data)
			c.rcvNxt = c.rcvNxt.Add(seq.Size(len(data)))
			c.rcvdUnacked += len(data)
			if c.pullReassembled() {
				c.ackNow = true // a hole was filled (RFC 5681 §4.2)
			}
			if c.rcvdUnacked >= 2*int(c.rcvMSS) {
				c.ackNow = true // every second full-sized segment (RFC 1122 §4.2.3.2)
			} else {
				c.ackOwed = true
			}
		} else {
			c.dsackHeld(sq, sq.Add(seq.Size(len(data))))
			var ok bool
			if c.ooo, ok = addSpan(c.ooo, sq, sq.Add(seq.Size(len(data))), c.cfg.MaxOutOfOrder); ok {
				c.rcv.writeAt(c.pool(), c.rcv.n+int(c.rcvNxt.Size(sq)), data)
				copies.Add(copies.RecvRing, len(data))
				c.oooLast = sq
			}
			c.ackNow, c.ackOOO = true, true // out of order: duplicate ACK at once (RFC 5681 §4.2)
		}
	}
	if fin {
		if end == c.rcvNxt {
			c.processFin(now)
		} else if end.InWindow(c.rcvNxt, seq.Size(c.rcvWnd())+1) {
			// Held until the gap before it is filled; the earliest FIN seen
			// marks the end of the peer's data.
			if !c.finRcvd || end.LessThan(c.finRcvdSeq) {
				c.finRcvd, c.finRcvdSeq = true, end
			}
			c.ackNow, c.ackOOO = true, true // an out-of-order FIN: duplicate ACK at once (RFC 5681 §4.2)
		}
	}
	if c.finRcvd && c.finRcvdSeq == c.rcvNxt && !c.peerFin {
		c.processFin(now)
		c.ackNow = true // the gap before the FIN was filled (RFC 5681 §4.2)
	}
}

// pullReassembled moves out-of-order data that RCV.NXT has reached into the
// readable part of the buffer. It reports whether any did.
func (rs *recvSpace) pullReassembled() bool {
	pulled := false
	for len(rs.ooo) > 0 && (rs.ooo[0].start.LessThanEq(rs.rcvNxt) || mutantReassemblyGap) {
		end := rs.ooo[0].end
		if rs.finRcvd && end.GreaterThan(rs.finRcvdSeq) {
			end = rs.finRcvdSeq // held before the FIN showed it to lie beyond
		}
		if end.GreaterThan(rs.rcvNxt) {
			k := int(rs.rcvNxt.Size(end))
			rs.rcv.n += k
			rs.rcvNxt = end
			rs.rcvdUnacked += k
		}
		rs.ooo = rs.ooo[1:]
		pulled = true
	}
	if len(rs.ooo) == 0 {
		rs.ooo = nil
	}
	return pulled
}

// processFin is the eighth step: the FIN consumes one sequence number and
// means end-of-file after the data before it.
func (c *Conn) processFin(now time.Time) {
	c.rcvNxt++
	c.peerFin, c.finRcvd = true, false
	c.ooo = nil // nothing after the FIN is data
	switch c.state {
	case StateEstablished:
		c.setState(now, StateCloseWait, CauseFinInEstab)
		// Like Linux, the ACK of a FIN is delayed: if the application
		// closes at once, our FIN carries it (a three-way close).
		c.ackOwed = true
	case StateFinWait1:
		if c.finAcked() {
			c.enterTimeWait(now, CauseFinAckInFinWait1)
		} else {
			c.setState(now, StateClosing, CauseFinInFinWait1)
		}
		c.ackNow = true
	case StateFinWait2:
		c.enterTimeWait(now, CauseFinInFinWait2)
		c.ackNow = true
	}
}

// rcvWnd is RCV.WND: what is left of the window we advertised.
func (rs *recvSpace) rcvWnd() uint32 {
	if rs.rcvAdv.LessThan(rs.rcvNxt) {
		return 0
	}
	return uint32(rs.rcvNxt.Size(rs.rcvAdv))
}

// windowField returns the window to advertise now, moving the right edge
// forward when enough buffer has freed up: never by less than
// min(RCV.BUFF/2, MSS) (receiver SWS avoidance, RFC 9293 §3.8.6.2.2), and
// never backward (§3.8.6.2.2 discourages shrinking the window).
func (c *Conn) windowField() uint16 {
	free := c.cfg.RcvBuf - c.rcv.n
	cur := int(c.rcvWnd())
	if free > cur && free-cur >= min(c.cfg.RcvBuf/2, int(c.mss())) {
		c.rcvAdv = c.rcvNxt.Add(seq.Size(free))
		cur = free
	}
	return uint16(min(cur>>c.rcvShift, 0xffff))
}

// addSACK reports the out-of-order ranges held (RFC 2018 §4), the most
// recently changed first.
func (c *Conn) addSACK(s *wire.Segment) {
	dsack := c.dsackPending()
	if !c.sackOK || len(c.ooo) == 0 && !dsack {
		return
	}
	limit := c.sackLimit()
	s.Opts.NumSACK = 0
	add := func(sp span) {
		if int(s.Opts.NumSACK) < limit {
			s.Opts.SACK[s.Opts.NumSACK] = wire.SACKBlock{Left: sp.start, Right: sp.end}
			s.Opts.NumSACK++
		}
	}
	if dsack {
		// RFC 2883 §4: the duplicate first, once.
		add(c.io.dsack)
		c.io.dsackFor = nil
	}
	first := -1
	for i, sp := range c.ooo {
		if c.oooLast.InRange(sp.start, sp.end) {
			first = i
			add(sp)
		}
	}
	for i, sp := range c.ooo {
		if i != first {
			add(sp)
		}
	}
}

// setDSACK notes that [a, b) arrived again, for the ACK that answers it
// to report first (RFC 2883 §4; Linux tcp_dsack_set, net.ipv4.tcp_dsack
// on). Only data is reported: Linux reports a duplicate FIN too, which
// tells a sender nothing its undo (undo.go) needs.
func (c *Conn) setDSACK(a, b seq.Num) {
	if !c.sackOK || !a.LessThan(b) {
		return
	}
	io := c.ioScratch()
	io.dsack, io.dsackFor = span{a, b}, c
}

// dsackHeld reports the first part of [a, b) already held ahead of
// RCV.NXT (RFC 2883 §4.2, a duplicate of out-of-order data; Linux
// tcp_data_queue_ofo).
func (c *Conn) dsackHeld(a, b seq.Num) {
	for _, r := range c.ooo {
		if r.end.GreaterThan(a) && r.start.LessThan(b) {
			c.setDSACK(seq.Max(a, r.start), seq.Min(b, r.end))
			return
		}
	}
}

// dsackUnacceptable reports the data of an unacceptable segment that
// lies below RCV.NXT, for the duplicate ACK that answers it (Linux
// tcp_send_dupack).
func (c *Conn) dsackUnacceptable(s *wire.Segment) {
	if len(s.Payload) > 0 && s.Seq.LessThan(c.rcvNxt) {
		c.setDSACK(s.Seq, seq.Min(s.Seq.Add(seq.Size(len(s.Payload))), c.rcvNxt))
	}
}

// dsackPending reports whether a duplicate waits to be reported.
func (c *Conn) dsackPending() bool { return c.io != nil && c.io.dsackFor == c }

// acceptable is the four-case test of RFC 9293 §3.10.7.4 ("first, check
// sequence number"), with the RFC's allowance for ACKs and RSTs when the
// receive window is zero.
func (c *Conn) acceptable(s *wire.Segment) bool {
	wnd := seq.Size(c.rcvWnd())
	n := s.Len()
	if n == 0 || wnd == 0 {
		if wnd == 0 {
			return s.Seq == c.rcvNxt
		}
		return s.Seq.InWindow(c.rcvNxt, wnd)
	}
	return s.Seq.InWindow(c.rcvNxt, wnd) || s.Seq.Add(n-1).InWindow(c.rcvNxt, wnd)
}
