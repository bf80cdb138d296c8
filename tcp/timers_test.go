package tcp

import (
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/wire"
)

// backoffSchedule returns the n intervals of RFC 6298 §5.5: first, then
// doubling, capped at max.
func backoffSchedule(first, max time.Duration, n int) []time.Duration {
	var s []time.Duration
	for d := first; len(s) < n; d = min(2*d, max) {
		s = append(s, d)
	}
	return s
}

// RFC 6298 §5: data is retransmitted after the RTO (200 ms, the minimum,
// after a handshake with no delay), the RTO doubling each time up to
// RTOMax (120 s); after Retries (15) retransmissions the connection times
// out with ETIMEDOUT and sends nothing more.
func TestRetransmitBackoffAndGiveUp(t *testing.T) {
	h := newHarness(t).established()
	h.send(bytesN(100))
	h.wantOut("data", "P. 1001:1101(100) ack 5001")
	sched := backoffSchedule(200*time.Millisecond, 120*time.Second, 16)
	for i, d := range sched[:15] {
		h.expectAt(d, "retransmission "+u32(int64(i+1)), "P. 1001:1101(100) ack 5001")
		h.wantState(StateEstablished)
	}
	h.advance(sched[15] - time.Nanosecond)
	h.wantState(StateEstablished)
	h.advance(time.Nanosecond)
	h.wantNone("giving up sends nothing")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
	h.wantCause(CauseRetransGiveUp)
	h.wantTimers()
	if st := h.c.Stats(); st.Retrans != 15 {
		t.Fatalf("%d retransmissions, want 15", st.Retrans)
	}
	if _, err := h.c.Send(h.now, []byte("x")); err != syscall.ETIMEDOUT {
		t.Fatalf("SEND after the time-out: %v", err)
	}
}

// The Retries and RTO settings: Retries = 2, RTOMax = 300 ms.
func TestRetransmitSettings(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Retries = 2; c.RTOMax = 300 * time.Millisecond }).established()
	h.send(bytesN(10))
	h.wantOut("data", "P. 1001:1011(10) ack 5001")
	h.expectAt(200*time.Millisecond, "first retransmission", "P. 1001:1011(10) ack 5001")
	h.expectAt(300*time.Millisecond, "the back-off is capped at RTOMax", "P. 1001:1011(10) ack 5001")
	h.advance(300 * time.Millisecond)
	h.wantNone("no third retransmission")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
}

// RFC 6298 §5.3, §5.7: an ACK of new data restarts the timer with the RTO
// recomputed without back-off; an ACK of everything stops it.
func TestRetransmitTimerRestartedByAck(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoDelay = true }).established()
	h.send(bytesN(10))
	h.send(bytesN(10))
	h.wantOut("two segments", "P. 1001:1011(10) ack 5001", "P. 1011:1021(10) ack 5001")
	h.expectAt(200*time.Millisecond, "go-back-N: the first unacknowledged segment, one segment's window", "P. 1001:1021(20) ack 5001")
	h.advance(100 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1011")
	h.wantNone("a partial ACK")
	// RFC 6298 §5 (after 5.7), Karn: the ACK of a retransmission gives no
	// sample, so the backed-off RTO (2 × 200 ms) stays. This test asserted
	// the un-backed-off 200 ms before, which is what caused spurious
	// retransmissions without timestamps.
	h.expectAt(400*time.Millisecond, "the timer restarts from the ACK with the backed-off RTO", "P. 1011:1021(10) ack 5001")
	h.in(". 5001:5001(0) ack 1021")
	h.wantTimers()
	h.advance(time.Hour)
	h.wantNone("nothing left to retransmit")
}

// An orphan (Detach) gives up after OrphanRetries, not Retries; its data
// and FIN are retransmitted together.
func TestRetransmitOrphanRetries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OrphanRetries = 2 }).established()
	h.send(bytesN(100))
	h.wantOut("data", "P. 1001:1101(100) ack 5001")
	h.c.Detach(h.now)
	h.wantOut("Detach closes: FIN after the data", "F. 1101:1101(0) ack 5001")
	h.wantState(StateFinWait1)
	if !h.c.Orphaned() {
		t.Fatal("not orphaned")
	}
	h.expectAt(200*time.Millisecond, "data and FIN retransmitted in one segment", "FP. 1001:1101(100) ack 5001")
	h.expectAt(400*time.Millisecond, "second retransmission", "FP. 1001:1101(100) ack 5001")
	h.advance(800 * time.Millisecond)
	h.wantNone("OrphanRetries = 2: no third")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
}

// The FIN is retransmitted in FIN-WAIT-1, CLOSING and LAST-ACK with the
// RTO back-off, and the connection gives up after Retries.
func TestFinRetransmit(t *testing.T) {
	for _, r := range []struct {
		state State
		fin   string
	}{
		{StateFinWait1, "F. 1001:1001(0) ack 5001"},
		{StateClosing, "F. 1001:1001(0) ack 5002"},
		{StateLastAck, "F. 1001:1001(0) ack 5002"},
	} {
		t.Run(r.state.String(), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Retries = 3 }).gotoState(r.state)
			for _, d := range backoffSchedule(200*time.Millisecond, time.Minute, 3) {
				h.expectAt(d, "the FIN is retransmitted", r.fin)
				h.wantState(r.state)
			}
			h.advance(1600 * time.Millisecond)
			h.wantNone("given up")
			h.wantState(StateClosed)
			h.wantErr(syscall.ETIMEDOUT)
			h.wantTimers()
		})
	}
}

// A retransmitted FIN that is then ACKed completes the close normally.
func TestFinRetransmitThenAcked(t *testing.T) {
	h := newHarness(t).lastAck()
	h.expectAt(200*time.Millisecond, "FIN retransmitted", "F. 1001:1001(0) ack 5002")
	h.in(". 5002:5002(0) ack 1002")
	h.wantState(StateClosed)
	h.wantErr(nil)
}

// RFC 9293 §3.10.7.4 note: FIN-WAIT-2 has no timeout of its own; only an
// orphan (the application let go: Detach) is closed after FinWait2Timeout,
// silently as Linux does (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo), checked
// against a Linux peer by interop's TestKernelOrphanFinWait2Silent). This
// test asserted a RST before.
func TestFinWait2Timeout(t *testing.T) {
	t.Run("not orphaned: FIN-WAIT-2 waits for ever", func(t *testing.T) {
		h := newHarness(t).finWait2()
		h.wantTimers()
		h.advance(24 * time.Hour)
		h.wantNone("nothing")
		h.wantState(StateFinWait2)
	})
	t.Run("Detach in FIN-WAIT-2 starts the timeout", func(t *testing.T) {
		h := newHarness(t).finWait2()
		h.advance(time.Hour)
		h.c.Detach(h.now)
		h.wantNone("Detach in FIN-WAIT-2 sends nothing")
		h.wantTimers(TimerFinWait2)
		h.advance(60*time.Second - time.Millisecond)
		h.wantState(StateFinWait2)
		h.advance(time.Millisecond)
		h.wantNone("the orphan's FIN-WAIT-2 times out silently")
		h.wantState(StateClosed)
		h.wantCause(CauseFinWait2Timeout)
		h.wantErr(nil)
	})
	t.Run("Detach in ESTABLISHED: the timeout starts when our FIN is ACKed", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.FinWait2Timeout = 10 * time.Second }).established()
		h.c.Detach(h.now)
		h.wantOut("FIN", "F. 1001:1001(0) ack 5001")
		h.advance(100 * time.Millisecond)
		h.in(". 5001:5001(0) ack 1002")
		h.wantState(StateFinWait2)
		h.advance(10 * time.Second)
		h.wantNone("FinWait2Timeout, silently")
		h.wantState(StateClosed)
	})
	t.Run("the peer's FIN before the timeout: TIME-WAIT as usual", func(t *testing.T) {
		h := newHarness(t).finWait2()
		h.c.Detach(h.now)
		h.advance(30 * time.Second)
		h.in("F. 5001:5001(0) ack 1002")
		h.wantOut("FIN ACKed", ". 1002:1002(0) ack 5002")
		h.wantState(StateTimeWait)
		h.wantTimers(TimerTimeWait)
	})
	t.Run("an orphan receiving new data resets, as Linux", func(t *testing.T) {
		h := newHarness(t).finWait2()
		h.c.Detach(h.now)
		h.in("P. 5001:5101(100) ack 1002")
		h.wantOut("nobody can read it: RST", "R. 1002:1002(0) ack 5001")
		h.wantState(StateClosed)
		h.wantErr(syscall.ECONNRESET)
		h.wantCause(CauseDataAfterClose)
	})
}

// RFC 1122 §4.2.3.6 keepalive (Linux defaults: 2 h idle, 75 s interval, 9
// probes). A probe is <SEQ=SND.NXT-1><ACK=RCV.NXT>, so that the peer must
// answer; unanswered, the connection is reset and reports ETIMEDOUT.
func TestKeepaliveGiveUp(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.KeepAlive = true }).established()
	h.wantTimers(TimerKeepalive)
	h.expectAt(2*time.Hour, "the first probe after 2 h idle", ". 1000:1000(0) ack 5001")
	for i := 2; i <= 9; i++ {
		h.expectAt(75*time.Second, "probe "+u32(int64(i))+", 75 s later", ". 1000:1000(0) ack 5001")
	}
	h.expectAt(75*time.Second, "nine unanswered probes: RST", "R. 1001:1001(0) ack 5001")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
	h.wantCause(CauseKeepaliveGiveUp)
	h.wantTimers()
}

// An answered probe resets the count; the next probe comes after a full
// idle period from the answer.
func TestKeepaliveAnswered(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.KeepAlive = true
		c.KeepIdle = time.Minute
		c.KeepInterval = 10 * time.Second
		c.KeepCount = 2
	}).established()
	h.expectAt(time.Minute, "probe", ". 1000:1000(0) ack 5001")
	h.expectAt(10*time.Second, "second probe", ". 1000:1000(0) ack 5001")
	h.advance(time.Second)
	h.in(". 5001:5001(0) ack 1001")
	h.wantNone("the answer needs no answer")
	h.expectAt(time.Minute, "a full idle period after the answer", ". 1000:1000(0) ack 5001")
	h.expectAt(10*time.Second, "probe", ". 1000:1000(0) ack 5001")
	h.expectAt(10*time.Second, "KeepCount = 2 unanswered", "R. 1001:1001(0) ack 5001")
	h.wantState(StateClosed)
}

// Traffic postpones the first probe; keepalive is off unless enabled; it
// runs in CLOSE-WAIT and FIN-WAIT-2 too.
func TestKeepaliveIdleAndStates(t *testing.T) {
	t.Run("received data postpones the probe", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.KeepAlive = true }).established()
		h.advance(time.Hour)
		h.in("P. 5001:5002(1) ack 1001")
		h.advance(time.Second)
		h.wantOut("delayed ACK", ". 1001:1001(0) ack 5002")
		h.expectAt(2*time.Hour-time.Second, "2 h after the data", ". 1000:1000(0) ack 5002")
	})
	t.Run("off by default", func(t *testing.T) {
		h := newHarness(t).established()
		h.wantTimers()
		h.advance(30 * 24 * time.Hour)
		h.wantNone("no keepalive unless enabled")
	})
	t.Run("CLOSE-WAIT", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.KeepAlive = true }).closeWait()
		h.advance(40 * time.Millisecond)
		h.wantOut("delayed ACK of the FIN", ". 1001:1001(0) ack 5002")
		h.expectAt(2*time.Hour-40*time.Millisecond, "probe in CLOSE-WAIT", ". 1000:1000(0) ack 5002")
	})
	t.Run("FIN-WAIT-2", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.KeepAlive = true }).finWait2()
		h.expectAt(2*time.Hour, "probe in FIN-WAIT-2", ". 1001:1001(0) ack 5001")
	})
	t.Run("not while data is outstanding: the retransmission timer watches", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.KeepAlive = true; c.KeepIdle = time.Second; c.Retries = 20 }).established()
		h.send(bytesN(10))
		h.out = nil
		h.advance(3 * time.Second)
		for _, s := range h.out {
			if len(s.seg.Payload) == 0 {
				t.Fatalf("keepalive probe %v while data is outstanding", s.seg)
			}
		}
	})
}

// SetKeepAlive turns keepalive on for one connection with its own values.
func TestSetKeepAlive(t *testing.T) {
	h := newHarness(t).established()
	h.c.SetKeepAlive(h.now, true, 10*time.Second, 5*time.Second, 2)
	h.expectAt(10*time.Second, "probe after 10 s", ". 1000:1000(0) ack 5001")
	h.expectAt(5*time.Second, "then every 5 s", ". 1000:1000(0) ack 5001")
	h.expectAt(5*time.Second, "count 2", "R. 1001:1001(0) ack 5001")
	h2 := newHarness(t, func(c *Config) { c.KeepAlive = true }).established()
	h2.c.SetKeepAlive(h2.now, false, 0, 0, 0)
	h2.wantTimers()
	h2.advance(24 * time.Hour)
	h2.wantNone("keepalive turned off")
}

// With a user timeout, keepalive gives up once the connection has been
// idle that long with a probe unanswered (as Linux).
func TestKeepaliveWithUserTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.KeepAlive, c.KeepIdle, c.KeepInterval, c.UserTimeout = true, 10*time.Second, 5*time.Second, 12*time.Second
	}).established()
	h.expectAt(10*time.Second, "probe", ". 1000:1000(0) ack 5001")
	h.expectAt(5*time.Second, "idle 15 s > 12 s with a probe out: RST", "R. 1001:1001(0) ack 5001")
	h.wantErr(syscall.ETIMEDOUT)
}

// RFC 5482 user timeout in ESTABLISHED: data unacknowledged for that long
// ends the connection with ETIMEDOUT, ahead of the retries; an ACK of new
// data restarts it; nothing outstanding, nothing to time out.
func TestUserTimeoutEstablished(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.UserTimeout = time.Second }).established()
	h.wantTimers()
	h.advance(time.Hour)
	h.wantState(StateEstablished)
	h.send(bytesN(10))
	h.wantOut("data", "P. 1001:1011(10) ack 5001")
	h.wantTimers(TimerRetransmit, TimerUserTimeout)
	h.expectAt(200*time.Millisecond, "retransmission", "P. 1001:1011(10) ack 5001")
	h.expectAt(400*time.Millisecond, "retransmission", "P. 1001:1011(10) ack 5001")
	h.advance(400*time.Millisecond - time.Nanosecond)
	h.wantState(StateEstablished)
	h.advance(time.Nanosecond)
	h.wantNone("the user timeout sends nothing")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
	h.wantCause(CauseUserTimeout)
}

// SetUserTimeout changes the timeout of one connection; an ACK of new data
// restarts it.
func TestSetUserTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoDelay = true }).established()
	h.send(bytesN(10))
	h.send(bytesN(10))
	h.out = nil
	h.c.SetUserTimeout(h.now, 3*time.Second)
	h.advance(2 * time.Second)
	h.in(". 5001:5001(0) ack 1011")
	h.advance(3*time.Second - time.Nanosecond)
	h.wantState(StateEstablished)
	h.advance(time.Nanosecond)
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)

	h2 := newHarness(t, func(c *Config) { c.UserTimeout = time.Second }).established()
	h2.send(bytesN(10))
	h2.c.SetUserTimeout(h2.now, 0)
	h2.advance(5 * time.Second)
	h2.wantState(StateEstablished)
}

// A user timeout set on a connection that has already ended arms nothing.
func TestSetUserTimeoutAfterClose(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Retries = 1 }).established()
	h.send(bytesN(10))
	h.advance(time.Second)
	h.wantState(StateClosed)
	h.c.SetUserTimeout(h.now, time.Second)
	h.c.SetKeepAlive(h.now, true, time.Second, time.Second, 1)
	h.wantTimers()
	h.checkInvariants()
}

// RFC 1122 §4.2.3.2: the ACK of one segment is delayed by DelayedACK (40 ms
// by default, at most 500 ms); every second full-sized segment is ACKed at
// once; an out-of-order segment is ACKed at once.
func TestDelayedACK(t *testing.T) {
	t.Run("one segment: ACK after DelayedACK", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("P. 5001:5101(100) ack 1001")
		h.expectAt(40*time.Millisecond, "the delayed ACK", ". 1001:1001(0) ack 5101")
		h.wantTimers()
	})
	t.Run("the DelayedACK setting", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.DelayedACK = 200 * time.Millisecond }).established()
		h.in("P. 5001:5101(100) ack 1001")
		h.expectAt(200*time.Millisecond, "the delayed ACK", ". 1001:1001(0) ack 5101")
	})
	t.Run("a second full-sized segment is ACKed at once", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("P. 5001:6461(1460) ack 1001")
		h.wantNone("first: delayed")
		h.in("P. 6461:7921(1460) ack 1001")
		h.wantOut("second: at once", ". 1001:1001(0) ack 7921")
		h.in("P. 7921:9381(1460) ack 1001")
		h.wantNone("third: delayed again")
		h.expectAt(40*time.Millisecond, "its delayed ACK", ". 1001:1001(0) ack 9381")
	})
	t.Run("the delayed ACK timer does not restart with each segment", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("P. 5001:5011(10) ack 1001")
		h.advance(30 * time.Millisecond)
		h.in("P. 5011:5012(1) ack 1001")
		h.expectAt(10*time.Millisecond, "40 ms after the first", ". 1001:1001(0) ack 5012")
	})
	t.Run("data we send carries the ACK and cancels the timer", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("P. 5001:5101(100) ack 1001")
		h.send([]byte("reply"))
		h.wantOut("the reply carries the ACK", "P. 1001:1006(5) ack 5101")
		h.wantTimers(TimerRetransmit)
	})
	t.Run("out-of-order data is ACKed at once, and so is the segment filling the hole", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("P. 5101:5201(100) ack 1001")
		h.wantOut("duplicate ACK", ". 1001:1001(0) ack 5001")
		h.in("P. 5001:5101(100) ack 1001")
		h.wantOut("the hole is filled", ". 1001:1001(0) ack 5201")
		if h.c.Readable() != 200 {
			t.Fatalf("readable %d", h.c.Readable())
		}
	})
}

// Entering CLOSED ends every timer: a RST while an ACK is delayed, or an
// ABORT with data outstanding, leaves nothing to fire.
func TestClosedStopsTimers(t *testing.T) {
	t.Run("RST with a delayed ACK pending", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.KeepAlive = true }).established()
		h.in("P. 5001:5101(100) ack 1001")
		h.wantTimers(TimerKeepalive, TimerDelayedACK)
		h.in("R 5101:5101(0)")
		h.wantState(StateClosed)
		h.wantTimers()
		h.checkInvariants()
		h.advance(24 * time.Hour)
		h.wantNone("no ACK and no probe after the reset")
	})
	t.Run("ABORT with data outstanding", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.KeepAlive = true; c.UserTimeout = time.Minute }).established()
		h.send(bytesN(10))
		h.wantOut("data", "P. 1001:1011(10) ack 5001")
		h.c.Abort(h.now)
		h.wantOut("RST", "R. 1011:1011(0) ack 5001")
		h.wantTimers()
		h.advance(24 * time.Hour)
		h.wantNone("nothing after ABORT")
	})
}

// Keepalive probes only where RFC 1122 §4.2.3.6 and Linux do (ESTABLISHED,
// CLOSE-WAIT, FIN-WAIT-2): a keepalive timer left over into FIN-WAIT-1 or
// LAST-ACK sends nothing; the FIN's retransmissions do the work.
func TestKeepaliveNotInClosingStates(t *testing.T) {
	for _, s := range []State{StateFinWait1, StateLastAck} {
		t.Run(s.String(), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.KeepAlive = true; c.KeepIdle = time.Second; c.Retries = 30 }).gotoState(s)
			h.advance(10 * time.Second)
			for _, o := range h.out {
				if o.seg.Flags&wire.FlagFIN == 0 {
					t.Fatalf("sent %v in %v; only FIN retransmissions are expected", o.seg, s)
				}
			}
			h.wantState(s)
		})
	}
}

// Only an acceptable ACK answers a probe (Linux resets icsk_probes_out
// and rcv_tstamp in tcp_ack): a RST or SYN that is in the window but only
// earns a challenge ACK (RFC 5961 §3.2, §4.2), or a segment without ACK,
// proves nothing about the path our probes take. Before, any in-window
// segment reset the keepalive and zero-window probe counts, so a peer (or
// an attacker with the 4-tuple) could keep a dead connection open.
func TestProbesAnsweredOnlyByAck(t *testing.T) {
	intruders := []string{"R 5100:5100(0)", "S 5100:5100(0)", "P 5001:5002(1)"}
	for _, seg := range intruders {
		t.Run("keepalive/"+seg, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.KeepAlive, c.KeepIdle, c.KeepInterval, c.KeepCount = true, time.Minute, 10*time.Second, 2
			}).established()
			h.expectAt(time.Minute, "probe", ". 1000:1000(0) ack 5001")
			h.advance(time.Second)
			h.in(seg)
			h.out = nil // a challenge ACK, or nothing
			h.expectAt(9*time.Second, "the second probe on schedule", ". 1000:1000(0) ack 5001")
			h.expectAt(10*time.Second, "KeepCount = 2 unanswered: RST", "R. 1001:1001(0) ack 5001")
			h.wantState(StateClosed)
			h.wantErr(syscall.ETIMEDOUT)
		})
		t.Run("zero window/"+seg, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Retries = 2 }).established()
			h.in(". 5001:5001(0) ack 1001 win 0")
			h.send(bytesN(10))
			h.wantNone("the window is closed")
			h.expectAt(200*time.Millisecond, "probe 1", ". 1000:1000(0) ack 5001")
			h.expectAt(400*time.Millisecond, "probe 2", ". 1000:1000(0) ack 5001")
			h.advance(100 * time.Millisecond)
			h.in(seg)
			h.out = nil
			h.advance(700 * time.Millisecond)
			h.wantNone("Retries = 2 unanswered probes: give up")
			h.wantState(StateClosed)
			h.wantErr(syscall.ETIMEDOUT)
		})
	}
}
