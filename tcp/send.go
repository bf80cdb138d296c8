package tcp

import (
	"syscall"
	"time"

	"github.com/synack/synack/internal/copies"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// sendSpace is the send side of the TCB (RFC 9293 §3.3.1): the send
// sequence space, the send window, the send buffer and our FIN.
type sendSpace struct {
	// sndNxt is where the next new segment starts; a retransmission
	// timeout rewinds it to sndUna. sndMax is the highest sequence number
	// sent, which RFC 9293's acceptability tests call SND.NXT.
	iss, sndUna, sndNxt, sndMax seq.Num
	sndWnd, maxSndWnd           uint32 // RFC 9293 SND.WND (scaled), RFC 5961 §5 MAX.SND.WND
	sndWl1, sndWl2              seq.Num

	closing     bool    // the user called CLOSE: a FIN follows the queued data
	noDelay     bool    // Nagle's algorithm is off (Config.NoDelay, SetNoDelay)
	swsOverride bool    // the persist timer forces a small segment out (RFC 9293 §3.8.6.2.1)
	pmtuResend  bool    // sendData is resending after a path MTU drop
	finSeq      seq.Num // sequence number of our FIN, valid when closing

	snd ring // its payloads wrapping around the end are copied into Scratch.wrap

	gsoMax int // the most payload one super-segment may carry (TSO); 0: one segment at a time
}

// SetGSOMax lets the sender hand out super-segments of up to n payload
// bytes, several segments' worth with Segment.GSOSize set, for a link that
// segments them (TSO, a TUN with offloads). The pieces on the wire are
// exactly the segments the sender would have sent one by one. n ≤ the
// MSS turns it off.
func (c *Conn) SetGSOMax(n int) { c.gsoMax = n }

// Send queues p for transmission (RFC 9293 §3.10.2) and returns how many
// bytes the send buffer took; 0 with a nil error means it is full.
func (c *Conn) Send(now time.Time, p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	switch c.state {
	case StateClosed, StateListen:
		if c.shutWr {
			// Linux keeps EPIPE for every write after SEND_SHUTDOWN, also
			// once the connection is gone (sk_stream_wait_connect).
			return 0, syscall.EPIPE
		}
		// A SEND in LISTEN may turn the connection active (RFC 9293
		// §3.10.2); like every socket API, synack does not offer that.
		return 0, syscall.ENOTCONN
	case StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		// CLOSE always leaves these states, so none has queued a FIN.
	default:
		return 0, syscall.EPIPE // "connection closing"
	}
	n := c.snd.write(c.pool(), p)
	copies.Add(copies.SendRing, n)
	if c.state.synchronized() {
		c.flush(now)
	}
	return n, nil
}

// canSend reports whether the state lets data or our FIN go out.
func (c *Conn) canSend() bool {
	switch c.state {
	case StateEstablished, StateCloseWait, StateFinWait1, StateClosing, StateLastAck:
		return true
	}
	return false
}

// payload returns n bytes of the send ring at data offset off as one slice,
// copying into the Scratch only when they wrap around the ring.
func (c *Conn) payload(off, n int) []byte {
	a, b := c.snd.peek(off, n)
	if len(b) == 0 {
		return a
	}
	io := c.ioScratch()
	if cap(io.wrap) < n {
		io.wrap = make([]byte, max(n, c.sndMSS))
	}
	p := io.wrap[:n]
	copy(p[copy(p, a):], b)
	copies.Add(copies.Packet, n) // and once more into the packet
	return p
}

// flush sends what the windows allow, then any ACK owed, and sets the
// timers that depend on what is outstanding.
func (c *Conn) flush(now time.Time) {
	if c.canSend() {
		if c.recovering() && c.sackOK {
			c.recoverySend(now)
		} else {
			c.sendData(now)
		}
	}
	if c.ackNow {
		why := CauseAck
		if c.ackOOO {
			why = CauseOutOfOrder // the ACK says what the segment was: beyond a hole
		}
		c.sendAck(now, why)
	} else if c.ackOwed && !c.armed(TimerDelayedACK) {
		c.setTimer(now, TimerDelayedACK, c.cfg.DelayedACK)
	}
	if !c.canSend() {
		return
	}
	// Data or our FIN in flight; a SYN alone has the syn-retry timer.
	if c.dataStart() != c.sndMax && !c.xmitTimerArmed() {
		c.armXmitTimer(now, false)
	}
	// RFC 9293 §3.8.6.1, §3.8.6.2.1: with data waiting and nothing in
	// flight, no ACK will come to move things on. Whether the window is zero
	// or only too small for SWS avoidance, only the persist timer (which is
	// also the SWS override timer) will learn that the window opened.
	if c.unsent() > 0 && c.sndUna == c.sndMax {
		if !c.armed(TimerPersist) {
			c.setTimer(now, TimerPersist, c.rtt.timeout(c.cfg, c.persistProbes))
		}
	} else if c.armed(TimerPersist) {
		c.cancelTimer(now, TimerPersist)
	}
	c.armUserTimeout(now)
}

// unsent returns queued bytes not yet sent.
func (ss *sendSpace) unsent() int {
	return ss.snd.n - int(ss.dataStart().Size(seq.Max(ss.sndNxt, ss.dataStart())))
}

// sendData is the sender of RFC 9293 §3.8.6.2.1 (SWS avoidance) and
// RFC 896 (Nagle), bounded by the congestion and send windows; a FIN rides
// on the last data segment once the user has called CLOSE.
func (c *Conn) sendData(now time.Time) {
	sent := c.stats.SegsOut
	c.sendSegments(now)
	if c.stats.SegsOut != sent && !c.probing() {
		// Linux tcp_write_xmit schedules a loss probe after each write
		// (tcp_schedule_loss_probe), else the RTO watches.
		c.armXmitTimer(now, false)
	}
}

func (c *Conn) sendSegments(now time.Time) {
	probe := c.probing()
	for range 1 << 16 { // bounded: each pass sends a segment or stops
		start := c.dataStart()
		if c.closing && c.sndNxt.GreaterThan(c.finSeq) {
			return // data and FIN all sent
		}
		resending := c.sndNxt.LessThan(c.sndMax)
		limit := 1 << 30 // with SACK, a resend stops short of what the peer holds
		if resending && c.anySACKed() {
			for _, r := range c.sacked {
				if c.sndNxt.InRange(r.start, r.end) {
					c.sndNxt = r.end // RFC 6675 §5.1: never resend what is SACKed
				} else if c.sndNxt.LessThan(r.start) {
					limit = int(c.sndNxt.Size(r.start))
					break
				}
			}
			if c.sndNxt == c.sndMax {
				continue
			}
		}
		off := int(start.Size(seq.Max(c.sndNxt, start)))
		avail := min(c.snd.n-off, limit)
		inflight := int(c.sndUna.Size(c.sndNxt))
		usable := max(c.window()-inflight, 0)
		if c.anySACKed() && !c.inRecovery {
			// What the peer SACKed is not in flight (Linux
			// tcp_packets_in_flight): after an RTO the resend skips it.
			usable = max(c.window()-inflight+c.sackedBelow(c.sndNxt), 0)
		}
		if probe {
			// RFC 8985 §7.3: the probe goes even past the congestion
			// window (Linux tcp_write_xmit with push_one = 2), not past
			// the peer's.
			usable = max(int(c.sndWnd)-inflight, 0)
		}
		mss := c.segMSS()
		n := min(avail, mss, usable)
		gso := 0
		if n == mss && c.gsoMax >= 2*mss {
			// Whole segments only, none wrapping the send ring: the
			// pieces are those that would go one by one, and a tail
			// shorter than the MSS meets Nagle and SWS below next pass.
			k := min(avail, c.gsoMax, usable) / mss
			if a, _ := c.snd.peek(off, k*mss); len(a) < k*mss {
				k = len(a) / mss
			}
			if k >= 2 {
				n, gso = k*mss, mss
			}
		}
		fin := c.closing && off+n == c.snd.n && limit == 1<<30
		if n == 0 && !fin {
			return
		}
		retrans := c.sndNxt.LessThan(c.sndMax)
		// Nagle and sender SWS avoidance hold back new data only: what was
		// sent before goes again as soon as the windows allow.
		if n > 0 && n < mss && !retrans {
			sws := n < avail && n < int(c.maxSndWnd)/2 // window-limited small segment
			nagle := n == avail && !c.noDelay && inflight > 0 && !fin
			if (sws || nagle) && !c.swsOverride && !probe {
				return
			}
		}
		if fin && n == 0 && retrans && mutantNoFinRetransmit {
			return
		}
		s := wire.Segment{Seq: c.sndNxt, Ack: c.rcvNxt, Flags: wire.FlagACK, Wnd: c.windowField()}
		s.Payload = c.payload(off, n)
		s.GSOSize = uint16(gso)
		why := CauseData
		if n > 0 && off+n == c.snd.n {
			s.Flags |= wire.FlagPSH
		}
		if fin {
			s.Flags |= wire.FlagFIN
			why = CauseCloseFIN
		}
		c.addSACK(&s)
		c.sndNxt = c.sndNxt.Add(s.Len())
		if retrans {
			c.stats.Retrans++
			c.noteRetransmit(now, s.Seq, c.sndNxt)
			why = CauseRetransmit
			if c.pmtuResend {
				why = CausePMTUResend
			}
		} else if !c.timing {
			c.timing, c.rttSeq, c.rttStart = true, c.sndNxt, now.UnixNano()
		}
		if c.sndNxt.GreaterThan(c.sndMax) {
			c.sndMax = c.sndNxt
		}
		if probe {
			why = CauseTLPNewData
		}
		c.logSegment(now, &s)
		c.sentInRecovery(int(s.Len()))
		c.emit(now, &s, why)
		if probe {
			return
		}
	}
}

// logSegment records a segment sendData sent for RACK, a super-segment as
// the segments it will be cut into.
func (c *Conn) logSegment(now time.Time, s *wire.Segment) {
	if !c.sackOK {
		return
	}
	a, end := s.Seq, s.Seq.Add(s.Len())
	if s.GSOSize > 0 {
		for a.Add(seq.Size(s.GSOSize)).LessThan(end) {
			b := a.Add(seq.Size(s.GSOSize))
			c.logSend(now, a, b, false)
			a = b
		}
	}
	c.logSend(now, a, end, false)
}

// segMSS is the payload a data segment may carry now: the send MSS less
// the SACK blocks addSACK will add (2 bytes + 8 a block, padded with NOPs to
// a multiple of 4), so the packet still fits the path (Linux
// tcp_current_mss).
func (c *Conn) segMSS() int {
	n := len(c.ooo)
	if c.dsackPending() {
		n++
	}
	if !c.sackOK || n == 0 || mutantSACKOverMTU {
		return c.sndMSS
	}
	k := min(n, c.sackLimit())
	return max(c.sndMSS-(8*k+4), 1)
}

// dataStart is the sequence number of the first byte in the send ring.
func (ss *sendSpace) dataStart() seq.Num {
	if ss.sndUna == ss.iss {
		return ss.iss + 1 // our SYN is not acknowledged yet
	}
	return ss.sndUna
}

// finAcked reports whether our FIN has been acknowledged.
func (ss *sendSpace) finAcked() bool {
	return ss.closing && ss.sndUna.GreaterThan(ss.finSeq)
}

// updateWindow updates SND.WND when the segment is newer than the one that
// last did (RFC 9293 §3.10.7.4, SND.WL1/SND.WL2).
func (c *Conn) updateWindow(now time.Time, s *wire.Segment) {
	if !(c.sndWl1.LessThan(s.Seq) || (c.sndWl1 == s.Seq && c.sndWl2.LessThanEq(s.Ack))) {
		return
	}
	w := uint32(s.Wnd) << c.sndShift
	if c.sndWnd == 0 && w > 0 {
		c.persistProbes = 0
		c.cancelTimer(now, TimerPersist)
	}
	c.sndWnd, c.sndWl1, c.sndWl2 = w, s.Seq, s.Ack
	c.maxSndWnd = max(c.maxSndWnd, w)
}

// firstWindow sets SND.WND, SND.WL1 and SND.WL2 from the segment that
// synchronizes the connection (RFC 9293 §3.10.7.3, §3.10.7.4).
func (c *Conn) firstWindow(s *wire.Segment, wnd uint32) {
	c.sndWnd, c.sndWl1, c.sndWl2 = wnd, s.Seq, s.Ack
	c.maxSndWnd = wnd
}

func (c *Conn) initSend(iss seq.Num) {
	c.iss, c.sndUna, c.sndNxt, c.sndMax = iss, iss, iss, iss
	if c.lossState != nil {
		c.recover = iss // RFC 6582 §3.2 step 1: "recover" starts at the ISS (loss sets it when made later)
	}
	c.sndMSS = 536 // RFC 9293 §3.7.1 until the peer's MSS is known
}

func (c *Conn) queueFin() {
	c.closing = true
	c.finSeq = c.dataStart().Add(seq.Size(c.snd.n))
}

// SetNoDelay turns Nagle's algorithm off (true) or on; turning it off
// sends what it was holding back.
func (c *Conn) SetNoDelay(now time.Time, on bool) {
	c.noDelay = on
	if on && c.canSend() {
		c.flush(now) // as Linux: what Nagle held back goes out at once
	}
}

// acceptableSeq is the sequence number for a segment without data (a bare
// ACK, a RST) that the peer will find acceptable, as Linux's
// tcp_acceptable_seq chooses it: the highest sequence number sent, unless
// that lies beyond the window the peer last offered — a peer whose
// receive buffer filled may shrink its window, and then refuses a segment
// beyond its right edge — in which case the window's right edge. Never a
// SND.NXT rewound by a retransmission timeout: the peer may already hold
// everything up to SND.MAX and would refuse an ACK from further back.
func (ss *sendSpace) acceptableSeq() seq.Num {
	if ss.sndUna == ss.iss {
		return ss.sndMax // our SYN is unacknowledged: no window known yet
	}
	end := ss.sndUna.Add(seq.Size(ss.sndWnd))
	if ss.sndMax.LessThanEq(end) {
		return ss.sndMax
	}
	return end
}
