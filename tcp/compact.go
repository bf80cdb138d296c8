package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// A stack keeps half-open (SYN-RECEIVED) and TIME-WAIT connections as small
// records instead of full TCBs, so that a SYN flood or a busy server's
// TIME-WAIT backlog costs little memory. To process a segment or a timer for
// such a record, the stack restores it into a scratch Conn, runs the same
// state machine as for every other connection, and saves it back: the rules
// live in one place.

// Record flags.
const (
	recTS      = 1 << iota // timestamps in use
	recSACK                // SACK permitted
	recWS                  // window scaling in use
	recPassive             // opened from LISTEN
	recWndOpen             // an ACK advertised the whole receive buffer (windowField)
)

// HalfOpen is the compact form of a passively opened connection in
// SYN-RECEIVED: what it takes to finish the handshake and nothing more.
type HalfOpen struct {
	ISS, IRS           seq.Num
	TSOffset, TSRecent uint32
	Deadline           int64 // SYN+ACK retransmission, Unix ns
	LastChallenge      int64
	LocalPort          uint16
	RemotePort         uint16
	PeerMSS            uint16
	MSS                uint16 // what we advertised (OpenOptions.MSS)
	Shifts             uint8  // window scales: ours in the low 4 bits, the peer's above
	Flags              uint8
	Backoff            uint8
	Retrans            uint8  // SYN+ACKs sent again, by timer or for a duplicate SYN (Linux num_retrans)
	SynTS              uint32 // TSval of the first SYN+ACK; the record stays 48 bytes
}

// TimeWait is the compact form of a connection in TIME-WAIT (RFC 9293
// §3.10.7.4): enough to re-ACK a retransmitted FIN, refuse old segments and
// judge a reopening SYN.
type TimeWait struct {
	SndNxt, RcvNxt     seq.Num
	RcvWnd             uint32
	TSOffset, TSRecent uint32
	Deadline           int64 // 2MSL expiry, Unix ns
	LastChallenge      int64
	LocalPort          uint16
	RemotePort         uint16
	RcvShift           uint8
	Flags              uint8
}

// since is now less an instant in Unix ns.
func since(now time.Time, t int64) time.Duration { return time.Duration(now.UnixNano() - t) }

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (c *Conn) recFlags() uint8 {
	var f uint8
	if c.state == StateSynReceived && c.rcvAdv != c.rcvNxt.Add(seq.Size(min(c.cfg.RcvBuf, 0xffff))) {
		f |= recWndOpen
	}
	if c.tsOK {
		f |= recTS
	}
	if c.sackOK {
		f |= recSACK
	}
	if c.wsOK {
		f |= recWS
	}
	if c.passive {
		f |= recPassive
	}
	return f
}

func (c *Conn) setRecFlags(f uint8) {
	c.tsOK, c.sackOK, c.wsOK, c.passive = f&recTS != 0, f&recSACK != 0, f&recWS != 0, f&recPassive != 0
}

// SetHooks replaces the connection's Output and Observer, for a stack that
// moves a connection from its scratch Conn into a TCB of its own.
func (c *Conn) SetHooks(out Output, obs Observer) { c.out, c.obs = out, obs }

// ListenArrive runs a segment that reached a listener through the LISTEN
// rules (ListenDecide): the connection is created in LISTEN (without a
// trace event: the listener was already there); a SYN moves it to
// SYN-RECEIVED, sending SYN+ACK, anything else leaves it in LISTEN,
// answered or dropped.
func (c *Conn) ListenArrive(now time.Time, o OpenOptions, s *wire.Segment) {
	c.localPort, c.remotePort, c.tsOffset = o.LocalPort, s.SrcPort, o.TSOffset
	c.iss, c.passive, c.state, c.advMSS = o.ISS, true, StateListen, o.MSS
	c.stats.SegsIn++
	c.arriveListen(now, s)
}

// SaveHalfOpen returns the compact record of a connection in SYN-RECEIVED
// that has not been accepted: no data, no buffers.
func (c *Conn) SaveHalfOpen() HalfOpen {
	return HalfOpen{
		ISS: c.iss, IRS: c.irs, TSOffset: c.tsOffset, TSRecent: c.tsRecent,
		Deadline: c.deadline[TimerSynRetry], LastChallenge: c.lastChallenge,
		LocalPort: c.localPort, RemotePort: c.remotePort, PeerMSS: c.peerMSS(), MSS: c.advMSS,
		Shifts: c.sndShift<<4 | c.rcvShift, Flags: c.recFlags(), Backoff: uint8(min(c.backoff, 255)),
		Retrans: uint8(min(c.stats.Retrans, 255)), SynTS: c.synTS,
	}
}

// RestoreHalfOpen makes c (freshly Init'ed) the connection h describes, in
// SYN-RECEIVED, without trace events. A record built from a SYN cookie
// (RFC 4987 §3.6) restores the same way.
func (c *Conn) RestoreHalfOpen(now time.Time, h *HalfOpen) {
	c.localPort, c.remotePort, c.tsOffset = h.LocalPort, h.RemotePort, h.TSOffset
	c.initSend(h.ISS)
	c.sndNxt, c.sndMax = h.ISS+1, h.ISS+1
	c.irs, c.rcvNxt = h.IRS, h.IRS+1
	c.rcvAdv = c.rcvNxt.Add(seq.Size(min(c.cfg.RcvBuf, 0xffff)))
	if h.Flags&recWndOpen != 0 {
		// A challenge ACK moved the right edge to the whole (empty) buffer.
		c.rcvAdv = c.rcvNxt.Add(seq.Size(c.cfg.RcvBuf))
	}
	// Our SYN+ACK (every one, cookie or not) acknowledged the SYN: RFC
	// 7323 §4.3 Last.ACK.sent, which decides whether the handshake's ACK
	// updates TS.Recent.
	c.lastAckSent = c.rcvNxt
	c.sndWl1, c.sndWl2 = h.IRS, h.ISS
	c.setRecFlags(h.Flags)
	c.sndShift, c.rcvShift = h.Shifts>>4, h.Shifts&0xf
	c.stats.Retrans = int(h.Retrans)
	c.tsRecent, c.tsRecentAge = h.TSRecent, now.UnixNano()
	c.advMSS = h.MSS
	c.setSndMSS(min(int(h.PeerMSS), int(c.mss())))
	c.cc = c.cfg.Congestion(c.sndMSS)
	c.deadline[TimerSynRetry] = h.Deadline
	c.lastChallenge = h.LastChallenge
	c.backoff, c.synTS = int(h.Backoff), h.SynTS
	if c.backoff == 0 && h.Deadline != 0 {
		// sendSyn timed the SYN+ACK (Karn: only when not retransmitted)
		// and armed its timer one initial RTO later; no sample can have
		// been taken before the handshake's ACK.
		c.timing, c.rttSeq = true, h.ISS+1
		c.rttStart = c.deadline[TimerSynRetry] - int64(c.rtt.timeout(c.cfg, 0))
	}
	c.lastRecv = now.UnixNano()
	c.state = StateSynReceived
}

// SaveTimeWait returns the compact record of a connection in TIME-WAIT.
func (c *Conn) SaveTimeWait() TimeWait {
	return TimeWait{
		SndNxt: c.sndMax, RcvNxt: c.rcvNxt, RcvWnd: c.rcvWnd(),
		TSOffset: c.tsOffset, TSRecent: c.tsRecent,
		Deadline: c.deadline[TimerTimeWait], LastChallenge: c.lastChallenge,
		LocalPort: c.localPort, RemotePort: c.remotePort, RcvShift: c.rcvShift, Flags: c.recFlags(),
	}
}

// RestoreTimeWait makes c (freshly Init'ed) the connection r describes, in
// TIME-WAIT, without trace events.
func (c *Conn) RestoreTimeWait(now time.Time, r *TimeWait) {
	c.localPort, c.remotePort, c.tsOffset = r.LocalPort, r.RemotePort, r.TSOffset
	c.iss, c.sndUna, c.sndNxt, c.sndMax = r.SndNxt-1, r.SndNxt, r.SndNxt, r.SndNxt
	c.rcvNxt, c.lastAckSent = r.RcvNxt, r.RcvNxt // every ACK sent in TIME-WAIT acknowledges the FIN
	c.rcvAdv = r.RcvNxt.Add(seq.Size(r.RcvWnd))
	c.setRecFlags(r.Flags)
	c.rcvShift = r.RcvShift
	c.tsRecent, c.tsRecentAge = r.TSRecent, now.UnixNano()
	c.peerFin = true
	c.deadline[TimerTimeWait] = r.Deadline
	c.lastChallenge = r.LastChallenge
	c.state = StateTimeWait
	c.orphan = true
}

// Timestamps reports whether the connection used timestamps (RFC 7323).
func (r *TimeWait) Timestamps() bool { return r.Flags&recTS != 0 }

// CookieOptions are the SYN options a SYN cookie keeps (RFC 4987 §3.6;
// Linux keeps window scale and SACK-permitted in the low bits of TSval).
type CookieOptions struct {
	PeerMSS    uint16
	SndShift   uint8 // peer's window scale; valid when WS
	WS, SACK   bool
	TS         bool
	TSRecent   uint32 // the ACK's TSval
	SynTS      uint32 // the ACK's TSecr: the cookie SYN+ACK's TSval
	TSOffset   uint32
	RcvShift   uint8
	LocalPort  uint16
	RemotePort uint16
}

// HalfOpenFromCookie builds the record of a connection whose SYN was
// answered with a cookie, from the returning ACK.
func HalfOpenFromCookie(iss, irs seq.Num, o CookieOptions) HalfOpen {
	h := HalfOpen{ISS: iss, IRS: irs, TSOffset: o.TSOffset, TSRecent: o.TSRecent, SynTS: o.SynTS,
		LocalPort: o.LocalPort, RemotePort: o.RemotePort, PeerMSS: o.PeerMSS, Flags: recPassive}
	if o.WS {
		h.Flags |= recWS
		h.Shifts = o.SndShift<<4 | o.RcvShift
	}
	if o.SACK {
		h.Flags |= recSACK
	}
	if o.TS {
		h.Flags |= recTS
	}
	return h
}

// SetNoReopen says whether a SYN arriving in TIME-WAIT must not reopen the
// 4-tuple (no listener would take it); the stack sets it per segment.
func (c *Conn) SetNoReopen(v bool) { c.noReopen = v }

// Forget ends a connection the stack holds only as a record, restored for
// this: a TIME-WAIT that tcp_tw_reuse reuses or the table has no room
// for, a half-open whose listener closed. It enters CLOSED through the one
// transition function with cause, and sends nothing; the record's timer,
// which lived in the stack's table, goes with the record, untraced.
func (c *Conn) Forget(now time.Time, cause Cause) {
	c.deadline = [numTimers]int64{}
	c.closeWith(now, nil, cause)
}

// RestoreCookie loads the record an ACK's SYN cookie was rebuilt into
// (HalfOpenFromCookie): the connection leaves LISTEN for SYN-RECEIVED
// through the one transition function (RFC 4987 §3.6).
func (c *Conn) RestoreCookie(now time.Time, h *HalfOpen) {
	c.RestoreHalfOpen(now, h)
	c.state = StateListen
	c.setState(now, StateSynReceived, CauseCookieOK)
}
