package tcp

import (
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// timerState is the timing side of the TCB: a deadline for each timer,
// the RTT estimator and the back-off of the retransmission timer (RFC
// 6298), and the counters and settings of the keepalive, persist and user
// timeouts (RFC 1122 §4.2.2.17, §4.2.3.6, RFC 5482).
type timerState struct {
	deadline [numTimers]int64 // Unix ns (int64s keep the TCB small and pointer-free); 0 means not armed

	rtt       rttEstimator
	backoff   int     // RTO doublings in force: kept until a valid RTT sample (Karn, RFC 6298 §5)
	retries   int     // consecutive retransmission timeouts without progress (Linux icsk_retransmits)
	timing    bool    // a segment is being timed (RFC 6298 §3: one at a time)
	keepalive bool    // keepalive probes on (Config.KeepAlive, SetKeepAlive)
	rttSeq    seq.Num // an ACK at or beyond it ends the timing
	rttStart  int64   // when the timed segment was sent, Unix ns

	// Per-connection settings, initialised from Config (keepalive too,
	// above, where it shares timing's word).
	keepIdle     time.Duration
	keepInterval time.Duration
	keepCount    int
	userTimeout  time.Duration

	keepProbes    int   // keepalive probes unanswered
	persistProbes int   // zero-window probes since the window closed: their back-off
	probesOut     int   // window probes the peer has not answered (RFC 1122 §4.2.2.17)
	lastRecv      int64 // when the peer was last heard (an acceptable ACK, its SYN), Unix ns: keepalive idle time
}

// Tick fires every timer that is due at now (RFC 9293 §3.10.8), in the
// fixed order of the Timer constants so that runs are reproducible.
func (c *Conn) Tick(now time.Time) {
	for t := Timer(0); t < numTimers; t++ {
		d := c.deadline[t]
		if d == 0 || now.UnixNano() < d {
			continue
		}
		c.deadline[t] = 0
		if c.obs != nil {
			c.event(now, Event{Kind: EventTimer, Timer: t, Action: TimerFire})
		}
		c.fire(now, t)
	}
}

func (c *Conn) fire(now time.Time, t Timer) {
	switch t {
	case TimerRetransmit:
		c.retransmitTimeout(now)
	case TimerSynRetry:
		c.synTimeout(now)
	case TimerTimeWait:
		c.closeWith(now, nil, CauseTimeWaitExpired)
	case TimerFinWait2:
		if c.state == StateFinWait2 {
			// Silently, as Linux: with tcp_fin_timeout at most the
			// TIME-WAIT length (the default) an orphan's FIN-WAIT-2 is a
			// timewait sock (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)) that
			// expires without a segment; only its rarer keepalive-timer
			// path resets.
			c.closeWith(now, nil, CauseFinWait2Timeout)
		}
	case TimerKeepalive:
		c.keepaliveTimeout(now)
	case TimerPersist:
		c.persistTimeout(now)
	case TimerDelayedACK:
		if c.ackOwed || c.ackNow {
			c.sendAck(now, CauseDelayedACK)
		}
	case TimerLossProbe:
		c.sendLossProbe(now)
	case TimerReorder:
		c.reorderTimeout(now)
	case TimerUserTimeout:
		if c.sndUna != c.sndMax || c.unsent() > 0 {
			c.closeWith(now, c.timeoutErr(), CauseUserTimeout)
		}
	}
}

// synTimeout retransmits an unacknowledged SYN or SYN+ACK with exponential
// back-off, and gives up after SynRetries / SynAckRetries (RFC 9293 §3.8.3
// R2 for SYNs, Linux tcp_syn_retries / tcp_synack_retries).
func (c *Conn) synTimeout(now time.Time) {
	if c.sndUna != c.iss {
		return
	}
	c.backoff++
	limit, cause := c.cfg.SynRetries, CauseSynGiveUp
	if c.state != StateSynSent && c.passive {
		limit, cause = c.cfg.SynAckRetries, CauseSynAckGiveUp
	}
	if c.backoff > limit {
		c.closeWith(now, c.timeoutErr(), cause)
		return
	}
	c.timing = false
	c.sendSyn(now, c.state != StateSynSent, CauseRetransmit)
}

// retransmitTimeout is RFC 6298 §5.4–5.6: back off, retransmit from
// SND.UNA with a one-segment window (RFC 5681 §3.1), give up after the
// retry limit (Linux tcp_retries2, tcp_orphan_retries).
func (c *Conn) retransmitTimeout(now time.Time) {
	if c.sndUna == c.sndMax || !c.canSend() {
		return
	}
	c.backoff++
	c.retries++
	n, limit := c.retries, c.cfg.Retries
	if c.orphan {
		limit = c.cfg.OrphanRetries
	} else if c.sndWnd == 0 {
		// Into a zero window a retransmission is a window probe, and RFC
		// 1122 §4.2.2.17 keeps the connection open while the peer answers
		// them: count only unanswered ones (Linux tcp_retransmit_timer; an
		// orphan is timed out regardless, as there).
		c.probesOut++
		n = c.probesOut
	}
	if n > limit {
		c.closeWith(now, c.timeoutErr(), CauseRetransGiveUp)
		return
	}
	c.recoveryTimeout()
	c.timing = false
	c.sndNxt = c.dataStart()
	c.setTimer(now, TimerRetransmit, c.rtt.timeout(c.cfg, c.backoff))
	sent := c.stats.SegsOut
	c.sendData(now)
	if c.stats.SegsOut == sent {
		// The window let nothing out. RFC 9293 §3.8.6.1: retransmit even
		// when the window is zero; the first segment serves as the probe
		// (as Linux).
		c.retransmitFirst(now, CauseRetransmit)
	}
}

// persistTimeout sends a zero-window probe (RFC 9293 §3.8.6.1). By default
// it is Linux's: an empty segment at SND.UNA-1 that the peer must ACK with
// its current window; with ZeroWindowProbeData, one byte of new data.
//
// RFC 1122 §4.2.2.17: the connection stays open as long as the peer answers
// the probes; only unanswered ones count towards the give-up (as Linux
// tcp_probe_timer), except for an orphan, whose probes all count.
func (c *Conn) persistTimeout(now time.Time) {
	if c.unsent() == 0 || c.sndUna != c.sndMax || !c.canSend() {
		return
	}
	if c.sndWnd > 0 {
		// The window is open but too small for sender SWS avoidance: this
		// is its override timeout (RFC 9293 §3.8.6.2.1), without which a
		// lost window update leaves both sides waiting. Send what fits.
		c.swsOverride = true
		c.sendData(now)
		c.swsOverride = false
		return
	}
	c.persistProbes++
	c.probesOut++
	n, limit := c.probesOut, c.cfg.Retries
	if c.orphan {
		n, limit = c.persistProbes, c.cfg.OrphanRetries
	}
	if n > limit {
		c.closeWith(now, c.timeoutErr(), CauseRetransGiveUp)
		return
	}
	if c.cfg.ZeroWindowProbeData {
		// One byte of new data past the closed window, bypassing sender SWS
		// avoidance and Nagle. It is then in flight: the retransmission
		// timer repeats it until the peer takes it (retransmitTimeout).
		s := wire.Segment{Seq: c.sndNxt, Ack: c.rcvNxt, Flags: wire.FlagACK, Wnd: c.windowField()}
		s.Payload = c.payload(int(c.dataStart().Size(c.sndNxt)), 1)
		c.sndNxt++
		c.sndMax = c.sndNxt
		c.emit(now, &s, CauseZeroWindowProbe)
		c.setTimer(now, TimerRetransmit, c.rtt.timeout(c.cfg, c.backoff))
		return
	}
	s := segAck(c.sndUna-1, c.rcvNxt, c.windowField())
	c.emit(now, &s, CauseZeroWindowProbe)
	c.setTimer(now, TimerPersist, c.rtt.timeout(c.cfg, c.persistProbes))
}

// keepaliveTimeout is RFC 1122 §4.2.3.6 with Linux's rules: probe only an
// idle connection with nothing outstanding, SEQ = SND.NXT-1 so the peer must
// answer; after KeepCount unanswered probes (or the user timeout) send RST
// and report ETIMEDOUT.
func (c *Conn) keepaliveTimeout(now time.Time) {
	if !c.keepalive || !c.keepState() {
		return
	}
	idle := since(now, c.lastRecv)
	if idle < c.keepIdle && c.keepProbes == 0 {
		c.setTimer(now, TimerKeepalive, c.keepIdle-idle) // traffic since the timer was set
		return
	}
	if c.sndUna != c.sndMax || c.unsent() > 0 {
		c.setTimer(now, TimerKeepalive, c.keepIdle) // the retransmission timer is watching
		return
	}
	if (c.userTimeout > 0 && c.keepProbes > 0 && idle >= c.userTimeout) || (c.userTimeout == 0 && c.keepProbes >= c.keepCount) {
		c.sendRST(now, c.acceptableSeq(), c.rcvNxt, true, CauseKeepaliveGiveUp)
		c.closeWith(now, c.timeoutErr(), CauseKeepaliveGiveUp)
		return
	}
	s := segAck(c.sndMax-1, c.rcvNxt, c.windowField())
	c.emit(now, &s, CauseKeepaliveProbe)
	c.keepProbes++
	c.setTimer(now, TimerKeepalive, c.keepInterval)
}

func (c *Conn) keepState() bool {
	switch c.state {
	case StateEstablished, StateCloseWait, StateFinWait2:
		return true
	}
	return false
}

// armKeepalive starts the idle timer where keepalive applies.
func (c *Conn) armKeepalive(now time.Time) {
	if c.keepalive && c.keepState() && !c.armed(TimerKeepalive) {
		c.setTimer(now, TimerKeepalive, c.keepIdle)
	}
}

// armUserTimeout starts the RFC 5482 timer when something waits for an ACK.
func (c *Conn) armUserTimeout(now time.Time) {
	if c.userTimeout <= 0 {
		return
	}
	switch c.state {
	case StateClosed, StateListen, StateTimeWait:
		return // nothing can wait for an ACK (RFC 9293 §3.10.7.4: no other timers)
	}
	if c.sndUna != c.sndMax || (c.unsent() > 0 && c.sndWnd == 0) {
		if !c.armed(TimerUserTimeout) {
			c.setTimer(now, TimerUserTimeout, c.userTimeout)
		}
	} else {
		c.cancelTimer(now, TimerUserTimeout)
	}
}

// SetKeepAlive turns keepalive on or off for this connection, with idle,
// interval and count (zero keeps the current value).
func (c *Conn) SetKeepAlive(now time.Time, on bool, idle, interval time.Duration, count int) {
	c.keepalive = on
	if idle > 0 {
		c.keepIdle = idle
	}
	if interval > 0 {
		c.keepInterval = interval
	}
	if count > 0 {
		c.keepCount = count
	}
	c.cancelTimer(now, TimerKeepalive)
	c.armKeepalive(now)
}

// SetUserTimeout sets the RFC 5482 user timeout; 0 turns it off.
func (c *Conn) SetUserTimeout(now time.Time, d time.Duration) {
	c.userTimeout = d
	c.cancelTimer(now, TimerUserTimeout)
	c.armUserTimeout(now)
}

// setTimer arms t to fire after d.
func (c *Conn) setTimer(now time.Time, t Timer, d time.Duration) {
	at := now.Add(d)
	if c.deadline[t] == at.UnixNano() {
		return
	}
	c.deadline[t] = at.UnixNano()
	if c.obs != nil {
		c.event(now, Event{Kind: EventTimer, Timer: t, Action: TimerSet, Deadline: at})
	}
}

func (c *Conn) cancelTimer(now time.Time, t Timer) {
	if c.deadline[t] == 0 {
		return
	}
	c.deadline[t] = 0
	if c.obs != nil {
		c.event(now, Event{Kind: EventTimer, Timer: t, Action: TimerCancel})
	}
}

func (tm *timerState) armed(t Timer) bool { return tm.deadline[t] != 0 }

// Deadline returns when timer t fires, and whether it is armed.
func (c *Conn) Deadline(t Timer) (time.Time, bool) { return fromUnixNano(c.deadline[t]), c.armed(t) }

// NextDeadline returns the earliest armed timer: Tick must be called then.
func (c *Conn) NextDeadline() (time.Time, bool) {
	var next int64
	for _, d := range c.deadline {
		if d != 0 && (next == 0 || d < next) {
			next = d
		}
	}
	return fromUnixNano(next), next != 0
}

// ackAnswers notes an acceptable ACK (SND.UNA =< SEG.ACK =< SND.NXT): the
// peer is alive and hears us. Only such an ACK answers keepalive and
// window probes, as Linux tcp_ack resets icsk_probes_out and rcv_tstamp;
// a RST or SYN that earns a challenge ACK, or a segment without ACK, does
// not.
func (c *Conn) ackAnswers(now time.Time) {
	c.lastRecv = now.UnixNano()
	c.keepProbes, c.probesOut = 0, 0
}
