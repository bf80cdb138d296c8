package tcp

import (
	"syscall"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// OpenOptions identify a connection and carry the values the stack chooses
// for it: the initial sequence number (RFC 6528, computed by the stack from
// the 4-tuple) and the timestamp offset (RFC 7323 §5.4).
type OpenOptions struct {
	LocalPort, RemotePort uint16 // RemotePort 0 in a passive OPEN means any
	ISS                   seq.Num
	TSOffset              uint32
	// MSS, if nonzero and below Config.MSS, is the MSS this connection
	// advertises and the most it sends: the stack sets it from the
	// route's MTU (RFC 9293 §3.7.1) and the path MTU it has learnt.
	MSS uint16
	// TSRecent, with HasTSRecent, is the TS.Recent of the TIME-WAIT whose
	// 4-tuple an active OPEN reuses: Linux tcp_twsk_unique carries it
	// over, so that PAWS keeps refusing the old incarnation's SYNs.
	TSRecent    uint32
	HasTSRecent bool
}

// OpenActive performs an active OPEN (RFC 9293 §3.10.1): send SYN, enter
// SYN-SENT.
func (c *Conn) OpenActive(now time.Time, o OpenOptions) error {
	if c.state != StateClosed {
		return syscall.EISCONN
	}
	c.renew()
	c.localPort, c.remotePort, c.tsOffset = o.LocalPort, o.RemotePort, o.TSOffset
	c.advMSS = o.MSS
	if o.HasTSRecent {
		c.tsRecent, c.tsRecentAge = o.TSRecent, now.UnixNano()
	}
	c.initSend(o.ISS)
	c.passive = false
	c.setState(now, StateSynSent, CauseActiveOpen)
	c.sendSyn(now, false, CauseActiveOpen)
	c.armUserTimeout(now)
	return nil
}

// OpenPassive performs a passive OPEN: enter LISTEN and wait for a SYN.
// The ISS given here answers that SYN.
func (c *Conn) OpenPassive(now time.Time, o OpenOptions) error {
	if c.state != StateClosed {
		return syscall.EISCONN
	}
	c.renew()
	c.localPort, c.remotePort, c.tsOffset = o.LocalPort, o.RemotePort, o.TSOffset
	c.listenRemote = o.RemotePort
	c.advMSS = o.MSS
	c.iss = o.ISS
	c.passive = true
	c.setState(now, StateListen, CausePassiveOpen)
	return nil
}

// renew clears the TCB of a connection that has ended, so that an OPEN
// starts a new one (RFC 9293 §3.10.1), keeping what the user set on this
// Conn (keepalive, Nagle and the user timeout) and what its link can do
// (SetGSOMax).
func (c *Conn) renew() {
	ka, nd, ut, gso, io := c.keepalive, c.noDelay, c.userTimeout, c.gsoMax, c.io
	idle, intvl, cnt := c.keepIdle, c.keepInterval, c.keepCount
	c.Init(c.cfg, c.out, c.obs)
	c.keepalive, c.noDelay, c.userTimeout, c.gsoMax, c.io = ka, nd, ut, gso, io
	c.keepIdle, c.keepInterval, c.keepCount = idle, intvl, cnt
}

// sendSyn sends SYN (or SYN+ACK) with our options. The window of a SYN is
// never scaled (RFC 7323 §2.2).
func (c *Conn) sendSyn(now time.Time, withAck bool, why Cause) {
	s := wire.Segment{Seq: c.iss, Flags: wire.FlagSYN, Wnd: uint16(min(c.cfg.RcvBuf, 0xffff))}
	o := &s.Opts
	o.HasMSS, o.MSS = true, c.mss()
	if withAck {
		s.Flags |= wire.FlagACK
		s.Ack = c.rcvNxt
		// RFC 7323 §2.2, §3.2, RFC 2018 §2: answer only options the SYN offered.
		if c.wsOK {
			o.HasWScale, o.WScale = true, c.rcvShift
		}
		o.SACKPermitted = c.sackOK
	} else {
		if c.cfg.WindowScaling.Enabled() {
			o.HasWScale, o.WScale = true, c.ourShift()
		}
		o.SACKPermitted = c.cfg.SACK.Enabled()
		if c.cfg.Timestamps.Enabled() {
			o.HasTimestamp, o.TSVal = true, c.tsNow(now)
		}
	}
	if c.sndMax == c.iss {
		c.sndNxt, c.sndMax = c.iss+1, c.iss+1
		c.synTS = c.tsNow(now)
	} else {
		c.stats.Retrans++
	}
	c.setTimer(now, TimerSynRetry, c.rtt.timeout(c.cfg, c.backoff))
	// Karn's rule (RFC 6298 §3): time the SYN only on its first transmission.
	c.timing = c.backoff == 0
	c.rttSeq, c.rttStart = c.iss+1, now.UnixNano()
	c.emit(now, &s, why)
}

// acceptSyn records the peer's SYN: IRS, RCV.NXT and the first window.
func (c *Conn) acceptSyn(now time.Time, s *wire.Segment) {
	c.irs = s.Seq
	c.rcvNxt = s.Seq + 1
	c.sndWl1, c.sndWl2 = s.Seq, c.iss
	c.rcvAdv = c.rcvNxt.Add(seq.Size(min(c.cfg.RcvBuf, 0xffff)))
	c.negotiate(now, s)
	c.lastRecv = now.UnixNano()
}

// establish enters ESTABLISHED on segment s and starts what runs there.
func (c *Conn) establish(now time.Time, s *wire.Segment, cause Cause) {
	c.cancelTimer(now, TimerSynRetry)
	c.rtt.handshakeDone(c.cfg)
	// RFC 5681 §3.1 and RFC 6928 §2 want a one-segment window after any
	// retransmitted SYN or SYN+ACK. Linux (tcp_init_transfer) cuts it only
	// after more than one, since the 1 s initial RTO makes one spurious
	// retransmission likely, and not when the ACK echoes the first copy's
	// timestamp (tcp_try_undo_spurious_syn): we follow Linux.
	spurious := c.tsOK && s.Opts.HasTimestamp && s.Opts.TSEcr == c.synTS
	if c.stats.Retrans > 1 && !spurious && c.cc != nil { // Linux tp->total_retrans
		c.cc.OnSynLoss()
	}
	c.backoff, c.retries = 0, 0
	c.setState(now, StateEstablished, cause)
	c.armKeepalive(now)
}

// listenSyn handles a SYN arriving in LISTEN (RFC 9293 §3.10.7.2).
func (c *Conn) listenSyn(now time.Time, s *wire.Segment) {
	if c.remotePort == 0 {
		c.remotePort = s.SrcPort
	}
	c.initSend(c.iss)
	c.acceptSyn(now, s)
	// RFC 9293 §3.10.7.2: "any other control or text should be queued for
	// processing later"; like Linux without TCP Fast Open we do not keep
	// data that rides on a SYN, and the peer sends it again.
	c.setState(now, StateSynReceived, CauseSynInListen)
	c.sendSyn(now, true, CauseSynInListen)
	c.armUserTimeout(now)
}
