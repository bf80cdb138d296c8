package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// Conn is one transmission control block (RFC 9293 §3.3.1) and its state
// machine. It does no I/O, starts no goroutines, takes no locks and never
// reads a clock: every entry point takes now, segments leave through Output,
// and NextDeadline says when Tick must be called.
type Conn struct {
	cfg *Config
	out Output
	obs Observer

	state   State
	passive bool // opened from LISTEN: an RST in SYN-RECEIVED returns there (Note 3)
	orphan  bool // the application has let go; affects FIN-WAIT-2 and retries
	// noReopen forbids a SYN to reopen the 4-tuple from TIME-WAIT: the
	// stack sets it when no listener would take the SYN.
	noReopen bool
	shutWr   bool // the user called CLOSE on a connection: SEND is EPIPE from then on
	err      error
	softErr  error // an ICMP error kept for a time-out to report (RFC 1122 §4.2.3.9)

	localPort, remotePort uint16
	listenRemote          uint16 // the passive OPEN's remote port (0: any), for Note 3

	// lastChallenge is when the last rate-limited answer went out: a
	// challenge ACK, an ACK for an unacceptable segment, a SYN+ACK for a
	// duplicate SYN (RFC 5961 §7; Linux tcp_invalid_ratelimit).
	lastChallenge int64 // Unix ns; 0: never

	// Each concern's state is a part of its own, in its own file, embedded
	// so that the rules read c.sndUna and c.tsRecent.
	sendSpace    // send.go: send sequence space, send window and buffer, our FIN
	recvSpace    // recv.go: receive sequence space, reassembly, the ACK owed
	negotiated   // options.go: window scale, SACK-permitted, MSS
	tsState      // timestamps.go: RFC 7323 timestamps and PAWS
	timerState   // timers.go: the timers, the RTO and its back-off, probe counters
	lossRecovery // recovery.go: duplicate ACKs, fast recovery, congestion control

	stats segStats

	// Where the segment and the event being handed out are put: passing
	// the Output and Observer pointers into it rather than to locals keeps
	// every segment and event off the heap (they are valid only during
	// the call). Shared by the connections one goroutine drives
	// (SetScratch), or a connection's own.
	io *Scratch
}

// Scratch is the room a connection hands its segments and events out
// of, and the pool its send and receive buffers come from and go back to.
// Connections driven from one goroutine, which never emit while another
// is emitting, may share one (SetScratch), sparing each TCB 208 bytes and
// sharing their free buffers (at most PoolMax bytes of them); the stack
// does so, one per stack (a netconn shard's).
type Scratch struct {
	seg  wire.Segment
	ev   Event
	wrap []byte // a segment's payload that wraps around the send ring, copied whole
	pool bufPool
	own  bool       // made by ioScratch for c alone: no pool
	loss lossCounts // the loss counters of the connections sharing it, summed

	// A duplicate segment's report (RFC 2883 §4) for the ACK that
	// answers it, which leaves within the same call: a TCB need not
	// keep room for it.
	dsack    span
	dsackFor *Conn
}

// LossStats returns the loss counters of every connection that used s,
// summed: a stack's nstat-style TcpExt counters.
func (s *Scratch) LossStats() LossStats { return s.loss.stats() }

// SetScratch makes c hand out its segments and events from s, and take
// its buffers from s's pool, which other connections driven from the
// same goroutine may share. An OPEN keeps it. Set it before the
// connection holds a buffer.
func (c *Conn) SetScratch(s *Scratch) { c.io = s }

// PoolBytes returns the bytes of free buffers s keeps for its
// connections.
func (s *Scratch) PoolBytes() int { return s.pool.held }

// ioScratch returns c's Scratch, made if c has none.
func (c *Conn) ioScratch() *Scratch {
	if c.io == nil {
		c.io = &Scratch{own: true}
	}
	return c.io
}

// pool returns the pool c's buffers come from: its shared Scratch's, or
// nil (the collector's) for a connection that shares none, whose pool
// would keep only its own drained buffers.
func (c *Conn) pool() *bufPool {
	if c.io == nil || c.io.own {
		return nil
	}
	return &c.io.pool
}

// Stats are one connection's counters.
type Stats struct {
	SegsIn, SegsOut, Retrans, Dropped int
	ChallengeACKs, BytesIn, BytesOut  int

	LossStats // loss recovery, named after Linux's nstat counters
}

// segStats are the counters every connection keeps inline; the loss
// counters live with the loss state (lossState), made when first needed.
type segStats struct {
	SegsIn, SegsOut, Retrans, Dropped int
	ChallengeACKs, BytesIn, BytesOut  int
}

// LossStats are loss recovery's counters, each named after the Linux
// nstat (TcpExt) counter that counts the same event. A stack sums its
// connections' (Scratch.LossStats).
type LossStats struct {
	Timeouts            int // retransmission timeouts (TCPTimeouts)
	RenoRecoveries      int // NewReno fast recoveries, peer without SACK (TCPRenoRecovery)
	SACKRecoveries      int // RFC 6675 recoveries (TCPSackRecovery)
	LossProbes          int // tail loss probes sent (TCPLossProbes)
	LossProbeRecoveries int // losses a probe repaired (TCPLossProbeRecovery)
	LostRetransmits     int // retransmissions RACK found lost again (TCPLostRetransmit)
	DSACKRecv           int // duplicate SACKs received (TCPDSACKRecv)

	// Undo of a reduction found spurious (undo.go).
	DSACKUndo    int // by DSACKs, outside a timeout's recovery (TCPDSACKUndo)
	FullUndo     int // at the end of a fast recovery (TCPFullUndo)
	LossUndo     int // of a retransmission timeout's reduction (TCPLossUndo)
	SpuriousRTOs int // retransmission timeouts found spurious (TCPSpuriousRTOs; Linux counts F-RTO's, synack its undos of a timeout)
}

// lossCounter indexes lossCounts, in LossStats' order.
type lossCounter uint8

const (
	lcTimeouts lossCounter = iota
	lcRenoRecoveries
	lcSACKRecoveries
	lcLossProbes
	lcLossProbeRecoveries
	lcLostRetransmits
	lcDSACKRecv
	lcDSACKUndo
	lcFullUndo
	lcLossUndo
	lcSpuriousRTOs
	numLossCounters
)

// nstatNames are the Linux names of the loss counters.
var nstatNames = [numLossCounters]string{"TCPTimeouts", "TCPRenoRecovery", "TCPSackRecovery", "TCPLossProbes",
	"TCPLossProbeRecovery", "TCPLostRetransmit", "TCPDSACKRecv", "TCPDSACKUndo", "TCPFullUndo", "TCPLossUndo", "TCPSpuriousRTOs"}

type lossCounts [numLossCounters]int

func (n *lossCounts) stats() LossStats {
	return LossStats{
		Timeouts: n[lcTimeouts], RenoRecoveries: n[lcRenoRecoveries], SACKRecoveries: n[lcSACKRecoveries],
		LossProbes: n[lcLossProbes], LossProbeRecoveries: n[lcLossProbeRecoveries],
		LostRetransmits: n[lcLostRetransmits], DSACKRecv: n[lcDSACKRecv], DSACKUndo: n[lcDSACKUndo],
		FullUndo: n[lcFullUndo], LossUndo: n[lcLossUndo], SpuriousRTOs: n[lcSpuriousRTOs],
	}
}

func (s *LossStats) counts() lossCounts {
	return lossCounts{s.Timeouts, s.RenoRecoveries, s.SACKRecoveries, s.LossProbes, s.LossProbeRecoveries,
		s.LostRetransmits, s.DSACKRecv, s.DSACKUndo, s.FullUndo, s.LossUndo, s.SpuriousRTOs}
}

// Each calls f with each counter's nstat name ("TCPSackRecovery") and
// value, in a fixed order.
func (s *LossStats) Each(f func(name string, v int)) {
	n := s.counts()
	for i, v := range n {
		f(nstatNames[i], v)
	}
}

// Add adds o's counts to s.
func (s *LossStats) Add(o *LossStats) {
	a, b := s.counts(), o.counts()
	for i := range a {
		a[i] += b[i]
	}
	*s = a.stats()
}

// bump counts one event of loss recovery: the connection's, and its
// Scratch's sum when it shares one (a stack's).
func (c *Conn) bump(k lossCounter) {
	c.loss().counts[k]++
	if c.io != nil && !c.io.own {
		c.io.loss[k]++
	}
}

// NewConn returns a CLOSED connection. cfg must already have Defaults
// applied and outlive the connection; out receives segments and obs (which
// may be nil) trace events.
func NewConn(cfg *Config, out Output, obs Observer) *Conn {
	c := &Conn{}
	c.Init(cfg, out, obs)
	return c
}

// Init resets c to a CLOSED connection, for callers that embed Conn.
func (c *Conn) Init(cfg *Config, out Output, obs Observer) {
	*c = Conn{cfg: cfg, out: out, obs: obs}
	c.snd.max = cfg.SndBuf
	c.rcv.max = cfg.RcvBuf
	c.keepalive, c.noDelay = cfg.KeepAlive, cfg.NoDelay
	c.keepIdle, c.keepInterval, c.keepCount = cfg.KeepIdle, cfg.KeepInterval, cfg.KeepCount
	c.userTimeout = cfg.UserTimeout
}

// State returns the current state.
func (c *Conn) State() State { return c.state }

// Err returns the error that ended the connection (ECONNRESET,
// ECONNREFUSED, ETIMEDOUT), or nil.
func (c *Conn) Err() error { return c.err }

// Ports returns the local and remote port.
func (c *Conn) Ports() (local, remote uint16) { return c.localPort, c.remotePort }

// ISS returns our initial send sequence number, and IRS the peer's.
func (c *Conn) ISS() seq.Num { return c.iss }

// IRS returns the peer's initial sequence number.
func (c *Conn) IRS() seq.Num { return c.irs }

// Passive reports whether the connection was opened from LISTEN.
func (c *Conn) Passive() bool { return c.passive }

// Orphaned reports whether the application has let go of the connection.
func (c *Conn) Orphaned() bool { return c.orphan }

// Readable returns the bytes the application can read now.
func (c *Conn) Readable() int { return c.rcv.n }

// Writable returns how many bytes Send would accept now.
func (c *Conn) Writable() int {
	switch c.state {
	case StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		if !c.closing {
			return c.snd.room()
		}
	}
	return 0
}

// Unsent returns bytes queued but not yet acknowledged.
func (c *Conn) Unsent() int { return c.snd.n }

// EOF reports whether the peer's FIN has been received and every byte before
// it read: RECEIVE would return end-of-file.
func (c *Conn) EOF() bool { return c.rcv.n == 0 && c.err == nil && c.peerFin }

// Stats returns the connection's counters.
func (c *Conn) Stats() Stats {
	s := c.stats
	st := Stats{SegsIn: s.SegsIn, SegsOut: s.SegsOut, Retrans: s.Retrans, Dropped: s.Dropped,
		ChallengeACKs: s.ChallengeACKs, BytesIn: s.BytesIn, BytesOut: s.BytesOut}
	if c.lossState != nil {
		st.LossStats = c.counts.stats()
	}
	return st
}

// CongestionWindow returns the congestion control's cwnd and ssthresh and
// the sender's MSS, in bytes, without the cost of Status (the explorer
// reads it after every event); ok is false until the handshake has made
// the congestion control.
func (c *Conn) CongestionWindow() (cwnd, ssthresh, mss int, ok bool) {
	if c.cc == nil {
		return 0, 0, 0, false
	}
	return c.cc.CWnd(), c.cc.SSThresh(), c.sndMSS, true
}

// setState moves to a new state; every transition goes through here so that
// each is traced with its cause (smoltcp's set_state).
func (c *Conn) setState(now time.Time, to State, cause Cause) {
	from := c.state
	c.state = to
	switch to {
	case StateTimeWait, StateClosed, StateListen:
		// Entering TIME-WAIT or CLOSED ends every other timer (RFC 9293
		// §3.10.7.4: "stop all other timers").
		for t := Timer(0); t < numTimers; t++ {
			if t != TimerTimeWait || to != StateTimeWait {
				c.cancelTimer(now, t)
			}
		}
		c.snd.release(c.pool())
		c.ooo = nil
		c.ackOwed, c.ackNow, c.ackOOO = false, false, false // a delayed ACK is a timer too
		if to != StateTimeWait {
			c.cancelTimer(now, TimerTimeWait)
		}
	}
	if c.obs != nil {
		c.event(now, Event{Kind: EventState, From: from, To: to, Cause: cause})
	}
}

// closeWith enters CLOSED, recording err for the user. A reset or time-out
// flushes the receive queue (RFC 9293 §3.10.7.4, §3.10.8); a graceful end
// keeps unread data readable, since CLOSE only ends our sending (§3.10.4).
func (c *Conn) closeWith(now time.Time, err error, cause Cause) {
	if err != nil {
		if c.err == nil {
			c.err = err
			c.user(now, "error", err, cause)
		}
		c.rcv.release(c.pool())
	}
	c.setState(now, StateClosed, cause)
}

func (c *Conn) user(now time.Time, call string, err error, cause Cause) {
	if c.obs != nil {
		c.event(now, Event{Kind: EventUser, Call: call, Err: err, Cause: cause})
	}
}

func (c *Conn) drop(now time.Time, s *wire.Segment, cause Cause) {
	c.stats.Dropped++
	if c.obs != nil {
		c.event(now, Event{Kind: EventDrop, Seg: s, Cause: cause})
	}
}

// event hands e to the observer (the caller has checked there is one).
func (c *Conn) event(now time.Time, e Event) {
	io := c.ioScratch()
	io.ev = e
	c.obs.Event(now, c, &io.ev)
	io.ev.Seg = nil // do not keep the packet alive
}

// Status is a snapshot of the TCB, as RFC 9293 §3.10.6 STATUS describes.
type Status struct {
	State                       State
	LocalPort, RemotePort       uint16
	ISS, SndUna, SndNxt, SndMax seq.Num
	SndWnd                      uint32
	IRS, RcvNxt                 seq.Num
	RcvWnd                      uint32
	SendQueue, RecvQueue        int
	SRTT, RTTVar, RTO           time.Duration
	CWnd, SSThresh              int
	MSS                         int

	// Loss recovery (RFC 6675, RFC 8985, RFC 6937).
	InRecovery               bool             // in fast recovery (NewReno's, or RFC 6675's with SACK)
	Pipe                     int              // RFC 6675 pipe: bytes taken to be in the network
	SACKed, Lost             int              // bytes the scoreboard holds as SACKed, and as lost not yet resent
	ReoWnd                   time.Duration    // RACK reordering window now
	MinRTT                   time.Duration    // RACK's minimum RTT
	Retransmits              int              // segments retransmitted
	Recoveries               int              // fast recoveries entered
	Timeouts                 int              // retransmission timeouts
	LossProbes               int              // tail loss probes sent
	Undos                    int              // reductions found spurious and undone (undo.go)
	RecoverySndCnt           int              // RFC 6937 sndcnt: what PRR lets out now
	Congestion               CongestionStatus // the congestion control's own state (CUBIC's, HyStart++'s)
	WScale, Timestamps, SACK bool
	Timers                   map[Timer]time.Time
	Err                      error
}

// Status returns a snapshot of the connection.
func (c *Conn) Status() Status {
	st := Status{
		State: c.state, LocalPort: c.localPort, RemotePort: c.remotePort,
		ISS: c.iss, SndUna: c.sndUna, SndNxt: c.sndNxt, SndMax: c.sndMax, SndWnd: c.sndWnd,
		IRS: c.irs, RcvNxt: c.rcvNxt, RcvWnd: c.rcvWnd(),
		SendQueue: c.snd.n, RecvQueue: c.rcv.n,
		SRTT: c.rtt.srtt, RTTVar: c.rtt.rttvar, RTO: c.rtt.timeout(c.cfg, c.backoff),
		MSS: c.sndMSS, WScale: c.wsOK, Timestamps: c.tsOK, SACK: c.sackOK, Err: c.err,
	}
	if c.cc != nil {
		st.CWnd, st.SSThresh = c.cc.CWnd(), c.cc.SSThresh()
		if r, ok := c.cc.(CongestionReporter); ok {
			r.Report(&st.Congestion)
		}
	}
	st.Pipe = int(c.sndUna.Size(c.sndMax))
	st.Retransmits = c.stats.Retrans
	if c.lossState != nil {
		st.InRecovery, st.SACKed, st.Lost = c.inRecovery, c.sackedBytes(), c.lostBytes()
		if c.sackOK {
			st.Pipe = c.pipe()
			if c.rackOn() {
				st.ReoWnd = c.reoWnd()
			}
		}
		st.MinRTT = c.minRTT
		if c.inRecovery && c.sackOK {
			st.RecoverySndCnt = c.sndcnt
		}
		st.Timeouts, st.LossProbes = c.counts[lcTimeouts], c.counts[lcLossProbes]
		st.Recoveries = c.counts[lcRenoRecoveries] + c.counts[lcSACKRecoveries]
		st.Undos = c.counts[lcDSACKUndo] + c.counts[lcFullUndo] + c.counts[lcLossUndo]
	}
	for t, d := range c.deadline {
		if d != 0 {
			if st.Timers == nil {
				st.Timers = make(map[Timer]time.Time)
			}
			st.Timers[Timer(t)] = fromUnixNano(d)
		}
	}
	return st
}
