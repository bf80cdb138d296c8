package tcp

import (
	"io"
	"testing"
	"time"
)

// RFC 9293 §3.10.7.4 in TIME-WAIT: SND.NXT = 1002, RCV.NXT = 5002. Only a
// retransmitted FIN is expected; stray segments of the old connection are
// refused by the sequence checks and get at most an ACK; a new SYN may
// reopen the 4-tuple (RFC 9293 §3.6.1 note, RFC 6191).
func TestTimeWaitArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.timeWait() }, []arrival{
		{what: "a retransmitted FIN (our last ACK was lost) is ACKed again",
			in: "F. 5001:5001(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a bare ACK at RCV.NXT is dropped silently",
			in: ". 5002:5002(0) ack 1002", state: StateTimeWait},
		{what: "an ACK of something never sent is answered with an ACK",
			in: ". 5002:5002(0) ack 1003", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "as Linux, TIME-WAIT does not judge the ACK field of a bare ACK at RCV.NXT unless it acknowledges unsent data: dropped",
			in: ". 5002:5002(0) ack " + u32(1002-100000), state: StateTimeWait},
		{what: "an ACK left of the window is answered with an ACK",
			in: ". 4000:4000(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a SYN with SEG.SEQ > RCV.NXT reopens the 4-tuple: CLOSED, and the caller hands the SYN on",
			in: "S 6000:6000(0)", state: StateClosed, reopen: true, cause: CauseTimeWaitReopen},
		{what: "a SYN at RCV.NXT is not newer: it is ACKed and opens nothing",
			in: "S 5002:5002(0)", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "an old SYN left of RCV.NXT is ACKed and opens nothing",
			in: "S 4000:4000(0)", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a SYN+ACK never reopens; it is answered with an ACK",
			in: "S. 6000:6000(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a RST at RCV.NXT closes TIME-WAIT (RFC 1337 protection off, as Linux), without error",
			in: "R 5002:5002(0)", state: StateClosed, cause: CauseRSTTimeWait},
		{what: "a RST in the window but not exact gets a challenge ACK",
			in: "R 5100:5100(0)", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a RST outside the window is dropped",
			in: "R 4000:4000(0)", state: StateTimeWait},
		{what: "stray data in the window is not delivered: ACK only",
			in: "P. 5002:5102(100) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "stray data left of the window: ACK only",
			in: "P. 4000:4100(100) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "stray data without ACK: ACK only",
			in: "P 5002:5102(100)", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a new FIN at RCV.NXT is a stray: ACK only",
			in: "F. 5002:5002(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "stray data with FIN: ACK only, nothing delivered",
			in: "FP. 5002:5102(100) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
	})
}

// RFC 1337 §3 fix 1 (Config.RFC1337): a RST in TIME-WAIT is ignored.
func TestTimeWaitRFC1337(t *testing.T) {
	runArrivals(t, func(h *harness) { h.timeWait() }, []arrival{
		{what: "with RFC 1337 on, a RST at RCV.NXT is ignored and TIME-WAIT runs its course",
			in: "R 5002:5002(0)", state: StateTimeWait},
		{what: "with RFC 1337 on, a RST+ACK is ignored as well",
			in: "R. 5002:5002(0) ack 1002", state: StateTimeWait},
		{what: "with RFC 1337 on, a RST in the window but not exact is ignored, no challenge",
			in: "R 5100:5100(0)", state: StateTimeWait},
	}, func(c *Config) { c.RFC1337 = true })
}

// With RFC793Rules any RST in the window closes TIME-WAIT (RFC 793).
func TestTimeWaitRFC793Rules(t *testing.T) {
	runArrivals(t, func(h *harness) { h.timeWait() }, []arrival{
		{what: "without RFC 5961 a RST anywhere in the window closes TIME-WAIT",
			in: "R 5100:5100(0)", state: StateClosed},
	}, func(c *Config) { c.RFC793Rules = true })
}

// RFC 9293 §3.10.8: TIME-WAIT ends after 2MSL (60 s by default), silently.
func TestTimeWaitExpiry(t *testing.T) {
	h := newHarness(t).timeWait()
	h.wantTimers(TimerTimeWait)
	h.advance(60*time.Second - time.Nanosecond)
	h.wantState(StateTimeWait)
	h.advance(time.Nanosecond)
	h.wantNone("TIME-WAIT ends silently")
	h.wantState(StateClosed)
	h.wantCause(CauseTimeWaitExpired)
	h.wantErr(nil)
	h.wantTimers()
	h.in(". 5002:5002(0) ack 1002")
	h.wantOut("the 4-tuple is free: a late ACK meets RST", "R 1002:1002(0)")
}

// The MSL setting scales TIME-WAIT.
func TestTimeWaitMSLSetting(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MSL = 2 * time.Minute }).timeWait()
	h.advance(4*time.Minute - time.Nanosecond)
	h.wantState(StateTimeWait)
	h.advance(time.Nanosecond)
	h.wantState(StateClosed)
}

// A retransmitted FIN in TIME-WAIT is ACKed and restarts the 2MSL timer
// (RFC 9293 §3.10.7.4: "restart the 2 MSL timeout").
func TestTimeWaitRestartOnRetransmittedFin(t *testing.T) {
	h := newHarness(t).timeWait()
	h.advance(50 * time.Second)
	h.in("F. 5001:5001(0) ack 1002")
	h.wantOut("the FIN is ACKed again", ". 1002:1002(0) ack 5002")
	h.advance(59 * time.Second)
	h.wantState(StateTimeWait)
	h.in("F. 5001:5001(0) ack 1002")
	h.wantOut("and again: retransmitted FINs are not rate-limited", ". 1002:1002(0) ack 5002")
	h.advance(60*time.Second - time.Nanosecond)
	h.wantState(StateTimeWait)
	h.advance(time.Nanosecond)
	h.wantState(StateClosed)
	h.wantNone("expiry is silent")
}

// Stray empty segments in TIME-WAIT share the challenge-ACK rate limit, so
// two stacks cannot ping-pong ACKs; segments with data or FIN always get one.
func TestTimeWaitStrayAckRateLimit(t *testing.T) {
	h := newHarness(t).timeWait()
	h.in(". 5002:5002(0) ack 1003")
	h.wantOut("first stray ACK answered", ". 1002:1002(0) ack 5002")
	h.in(". 5002:5002(0) ack 1003")
	h.wantNone("second within the interval is not")
	h.in("P. 5002:5003(1) ack 1002")
	h.wantOut("stray data is always answered", ". 1002:1002(0) ack 5002")
	h.advance(500 * time.Millisecond)
	h.in(". 5002:5002(0) ack 1003")
	h.wantOut("after the interval, answered again", ". 1002:1002(0) ack 5002")
}

// Entering TIME-WAIT stops every other timer: no keepalive, no
// retransmission, no delayed ACK fires afterwards.
func TestTimeWaitStopsOtherTimers(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.KeepAlive = true; c.KeepIdle = time.Minute })
	h.established()
	h.wantTimers(TimerKeepalive)
	h.in("P. 5001:5002(1) ack 1001")
	h.send([]byte("x"))
	h.wantOut("our data", "P. 1001:1002(1) ack 5002")
	h.wantTimers(TimerRetransmit, TimerKeepalive)
	h.c.Close(h.now)
	h.wantOut("our FIN", "F. 1002:1002(0) ack 5002")
	h.in("F. 5002:5002(0) ack 1003")
	h.wantOut("FIN ACKed", ". 1003:1003(0) ack 5003")
	h.wantState(StateTimeWait)
	h.wantTimers(TimerTimeWait)
	h.advance(59 * time.Second)
	h.wantNone("nothing fires in TIME-WAIT")
	h.advance(2 * time.Hour)
	h.wantNone("nor after")
	h.wantState(StateClosed)
	b, err := h.read()
	if string(b) != "j" || err != io.EOF {
		t.Fatalf("read %q, %v; the byte received before TIME-WAIT is still readable, then EOF", b, err)
	}
}

// RFC 6191: with timestamps on the old connection, a SYN reopens TIME-WAIT
// when its TSval is newer than TS.Recent, whatever its sequence number; an
// older TSval never does. Without a timestamp the sequence rule applies.
func TestTimeWaitReopenRFC6191(t *testing.T) {
	runArrivals(t, timeWaitTS, []arrival{
		{what: "a newer TSval reopens even with SEG.SEQ below RCV.NXT",
			in: "S 4000:4000(0) <TS val 500 ecr 0>", state: StateClosed, reopen: true},
		{what: "an older TSval does not reopen even with SEG.SEQ beyond RCV.NXT: ACK",
			in: "S 9000:9000(0) <TS val 50 ecr 0>", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "an equal TSval reopens only with SEG.SEQ beyond RCV.NXT",
			in: "S 9000:9000(0) <TS val 102 ecr 0>", state: StateClosed, reopen: true},
		{what: "an equal TSval with an older SEG.SEQ does not reopen",
			in: "S 4000:4000(0) <TS val 102 ecr 0>", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a SYN without timestamps falls back to the sequence rule",
			in: "S 9000:9000(0)", state: StateClosed, reopen: true},
		{what: "PAWS in TIME-WAIT: a FIN with an old TSval is answered and dropped",
			in: "F. 5001:5001(0) ack 1002 <TS val 50 ecr 1>", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait},
		{what: "a RST is exempt from PAWS and closes TIME-WAIT",
			in: "R 5002:5002(0) <TS val 50 ecr 1>", state: StateClosed},
	}, withTS)
}

// timeWaitTS reaches TIME-WAIT with timestamps on, TS.Recent = 102.
func timeWaitTS(h *harness) {
	h.t.Helper()
	establishedTS(h)
	h.c.Close(h.now)
	h.wantOut("our FIN", "F. 1001:1001(0) ack 5001 <TS val 1 ecr 101>")
	h.in("F. 5001:5001(0) ack 1002 <TS val 102 ecr 1>")
	h.wantOut("FIN ACKed, echoing its TSval", ". 1002:1002(0) ack 5002 <TS val 1 ecr 102>")
	h.wantState(StateTimeWait)
}

// RFC 7323 §4.3 (3) in TIME-WAIT: an acceptable bare ACK at RCV.NXT (SEG.SEQ
// = Last.ACK.sent) with a newer TSval updates TS.Recent, as Linux
// tcp_timewait_state_process does, so a SYN older than it no longer
// reopens the 4-tuple (RFC 6191) — in the full TCB and in its record.
func TestTimeWaitTSRecentUpdate(t *testing.T) {
	for _, compact := range []bool{false, true} {
		h := newHarness(t, withTS)
		timeWaitTS(h)
		h.in(". 5002:5002(0) ack 1002 <TS val 400 ecr 1>")
		h.wantNone("a bare ACK in TIME-WAIT is not answered")
		if compact {
			rec := h.c.SaveTimeWait()
			h.restore(func(c *Conn) { c.RestoreTimeWait(h.now, &rec) })
		}
		if h.c.tsRecent != 400 {
			t.Fatalf("compact %v: TS.Recent %d after the ACK, want 400", compact, h.c.tsRecent)
		}
		if h.in("S 9000:9000(0) <TS val 350 ecr 0>") {
			t.Fatalf("compact %v: a SYN older than the last ACK's TSval reopened TIME-WAIT", compact)
		}
		h.wantOut("the old SYN is ACKed", ". 1002:1002(0) ack 5002 <TS val 1 ecr 400>")
		h.wantState(StateTimeWait)
	}
}
