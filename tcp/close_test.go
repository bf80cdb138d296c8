package tcp

import (
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RFC 9293 §3.10.7.4 in FIN-WAIT-1: our FIN is 1001 (SND.NXT = 1002),
// SND.UNA = 1001, RCV.NXT = 5001.
func TestFinWait1Arrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.finWait1() }, []arrival{
		{what: "the ACK of our FIN enters FIN-WAIT-2",
			in: ". 5001:5001(0) ack 1002", state: StateFinWait2, cause: CauseFinWait1Acked},
		{what: "an ACK that stops short of our FIN (FIN takes a sequence number) leaves FIN-WAIT-1",
			in: ". 5001:5001(0) ack 1001", state: StateFinWait1},
		{what: "an ACK beyond our FIN acknowledges something never sent: ACK and drop",
			in: ". 5001:5001(0) ack 1003", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait1},
		{what: "an ACK older than SND.UNA - MAX.SND.WND: ACK and drop",
			in: ". 5001:5001(0) ack " + u32(1001-65536), out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait1},
		{what: "a SYN gets a challenge ACK",
			in: "S 5100:5100(0)", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait1},
		{what: "an old SYN+ACK is left of the window: ACK",
			in: "S. 5000:5000(0) ack 1001", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait1},
		{what: "a RST at RCV.NXT resets: ECONNRESET",
			in: "R 5001:5001(0)", state: StateClosed, err: syscall.ECONNRESET, cause: CauseRSTReset},
		{what: "a RST in the window but not exact gets a challenge ACK",
			in: "R 5100:5100(0)", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait1},
		{what: "a RST outside the window is dropped",
			in: "R 4000:4000(0)", state: StateFinWait1},
		{what: "a FIN that does not ACK ours is a simultaneous close: ACK it at once, enter CLOSING",
			in: "F. 5001:5001(0) ack 1001", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing, cause: CauseFinInFinWait1},
		{what: "a FIN that also ACKs ours goes straight to TIME-WAIT (Note 2)",
			in: "F. 5001:5001(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait, cause: CauseFinAckInFinWait1},
		{what: "data is still received in FIN-WAIT-1 (a half-close); its ACK is delayed",
			in: "P. 5001:5101(100) ack 1001", state: StateFinWait1, read: 100},
		{what: "data with the ACK of our FIN: FIN-WAIT-2 and the data delivered",
			in: "P. 5001:5101(100) ack 1002", state: StateFinWait2, read: 100},
		{what: "data left of the window: ACK and drop, its ACK field not processed",
			in: "P. 4000:4100(100) ack 1002", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait1},
		{what: "data with FIN and the ACK of ours: data delivered, FIN ACKed, TIME-WAIT",
			in: "FP. 5001:5101(100) ack 1002", out: []string{". 1002:1002(0) ack 5102"}, state: StateTimeWait, read: 100},
		{what: "data with FIN not ACKing ours: data delivered, FIN ACKed, CLOSING",
			in: "FP. 5001:5101(100) ack 1001", out: []string{". 1002:1002(0) ack 5102"}, state: StateClosing, read: 100},
		{what: "an out-of-order FIN with the ACK of ours: FIN-WAIT-2, the FIN held, a duplicate ACK at once",
			in: "F. 5101:5101(0) ack 1002", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait2},
	})
}

// RFC 9293 §3.10.7.4 in FIN-WAIT-2: SND.UNA = SND.NXT = 1002, RCV.NXT = 5001.
func TestFinWait2Arrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.finWait2() }, []arrival{
		{what: "a bare ACK needs no answer",
			in: ". 5001:5001(0) ack 1002", state: StateFinWait2},
		{what: "an ACK of something never sent: ACK and drop",
			in: ". 5001:5001(0) ack 1003", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait2},
		{what: "an ACK older than SND.UNA - MAX.SND.WND: ACK and drop",
			in: ". 5001:5001(0) ack " + u32(1002-65536), out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait2},
		{what: "a SYN gets a challenge ACK",
			in: "S 5100:5100(0)", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait2},
		{what: "a SYN+ACK in the window gets a challenge ACK too",
			in: "S. 5100:5100(0) ack 1002", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait2},
		{what: "a RST at RCV.NXT resets: ECONNRESET",
			in: "R 5001:5001(0)", state: StateClosed, err: syscall.ECONNRESET},
		{what: "a RST in the window but not exact gets a challenge ACK",
			in: "R 5100:5100(0)", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait2},
		{what: "a RST outside the window is dropped",
			in: "R 4000:4000(0)", state: StateFinWait2},
		{what: "the peer's FIN is ACKed at once and the connection enters TIME-WAIT",
			in: "F. 5001:5001(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateTimeWait, cause: CauseFinInFinWait2},
		{what: "a FIN without ACK is dropped",
			in: "F 5001:5001(0)", state: StateFinWait2},
		{what: "data is received; its ACK is delayed",
			in: "P. 5001:5101(100) ack 1002", state: StateFinWait2, read: 100},
		{what: "data right of the window: ACK and drop",
			in: "P. 70536:70636(100) ack 1002", out: []string{". 1002:1002(0) ack 5001"}, state: StateFinWait2},
		{what: "data with FIN: delivered, FIN ACKed at once, TIME-WAIT",
			in: "FP. 5001:5101(100) ack 1002", out: []string{". 1002:1002(0) ack 5102"}, state: StateTimeWait, read: 100},
	})
}

// closeWaitSettled is CLOSE-WAIT after the delayed ACK of the peer's FIN.
func closeWaitSettled(h *harness) {
	h.closeWait()
	h.expectAt(40*time.Millisecond, "the delayed ACK of the FIN", ". 1001:1001(0) ack 5002")
}

// RFC 9293 §3.10.7.4 in CLOSE-WAIT: SND.UNA = SND.NXT = 1001, RCV.NXT = 5002.
// Text and FIN after the peer's FIN "should not occur" and are ignored.
func TestCloseWaitArrivals(t *testing.T) {
	runArrivals(t, closeWaitSettled, []arrival{
		{what: "a bare ACK needs no answer",
			in: ". 5002:5002(0) ack 1001", state: StateCloseWait},
		{what: "an ACK of something never sent: ACK and drop",
			in: ". 5002:5002(0) ack 1002", out: []string{". 1001:1001(0) ack 5002"}, state: StateCloseWait},
		{what: "an ACK older than SND.UNA - MAX.SND.WND: ACK and drop",
			in: ". 5002:5002(0) ack " + u32(1001-65536), out: []string{". 1001:1001(0) ack 5002"}, state: StateCloseWait},
		{what: "a SYN gets a challenge ACK",
			in: "S 5100:5100(0)", out: []string{". 1001:1001(0) ack 5002"}, state: StateCloseWait},
		{what: "a SYN+ACK in the window gets a challenge ACK too",
			in: "S. 5100:5100(0) ack 1001", out: []string{". 1001:1001(0) ack 5002"}, state: StateCloseWait},
		{what: "a RST at RCV.NXT resets: ECONNRESET",
			in: "R 5002:5002(0)", state: StateClosed, err: syscall.ECONNRESET},
		{what: "a RST in the window but not exact gets a challenge ACK",
			in: "R 5100:5100(0)", out: []string{". 1001:1001(0) ack 5002"}, state: StateCloseWait},
		{what: "a RST at the old FIN's sequence number is left of the window and dropped",
			in: "R 5001:5001(0)", state: StateCloseWait},
		{what: "a retransmitted FIN (our ACK was lost) is left of the window and ACKed again",
			in: "F. 5001:5001(0) ack 1001", out: []string{". 1001:1001(0) ack 5002"}, state: StateCloseWait},
		{what: "a FIN at RCV.NXT after the FIN is ignored",
			in: "F. 5002:5002(0) ack 1001", state: StateCloseWait},
		{what: "data after the peer's FIN is ignored, not delivered",
			in: "P. 5002:5102(100) ack 1001", state: StateCloseWait},
		{what: "data left of the window: ACK and drop",
			in: "P. 4000:4100(100) ack 1001", out: []string{". 1001:1001(0) ack 5002"}, state: StateCloseWait},
		{what: "data with FIN after the peer's FIN is ignored",
			in: "FP. 5002:5102(100) ack 1001", state: StateCloseWait},
	})
}

// RFC 9293 §3.10.7.4 in CLOSING: SND.UNA = 1001, our FIN 1001, RCV.NXT = 5002.
func TestClosingArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.closing() }, []arrival{
		{what: "the ACK of our FIN enters TIME-WAIT",
			in: ". 5002:5002(0) ack 1002", state: StateTimeWait, cause: CauseClosingAcked},
		{what: "an ACK short of our FIN is ignored",
			in: ". 5002:5002(0) ack 1001", state: StateClosing},
		{what: "an ACK of something never sent: ACK and drop",
			in: ". 5002:5002(0) ack 1003", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
		{what: "an ACK older than SND.UNA - MAX.SND.WND: ACK and drop",
			in: ". 5002:5002(0) ack " + u32(1001-65536), out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
		{what: "a SYN gets a challenge ACK",
			in: "S 5100:5100(0)", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
		{what: "a SYN+ACK in the window gets a challenge ACK too",
			in: "S. 5100:5100(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
		{what: "a RST at RCV.NXT resets: ECONNRESET",
			in: "R 5002:5002(0)", state: StateClosed, err: syscall.ECONNRESET},
		{what: "a RST in the window but not exact gets a challenge ACK",
			in: "R 5100:5100(0)", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
		{what: "a RST outside the window is dropped",
			in: "R 5001:5001(0)", state: StateClosing},
		{what: "a retransmitted FIN is left of the window: ACK it again",
			in: "F. 5001:5001(0) ack 1001", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
		{what: "a retransmitted FIN that ACKs ours fails the sequence check first: ACK, and its ACK field is not used",
			in: "F. 5001:5001(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
		{what: "data after the peer's FIN is ignored",
			in: "P. 5002:5102(100) ack 1001", state: StateClosing},
		{what: "data with FIN after the peer's FIN is ignored; its ACK of our FIN still counts",
			in: "FP. 5002:5102(100) ack 1002", state: StateTimeWait},
		{what: "data left of the window: ACK and drop",
			in: "P. 4000:4100(100) ack 1001", out: []string{". 1002:1002(0) ack 5002"}, state: StateClosing},
	})
}

// RFC 9293 §3.10.7.4 in LAST-ACK: SND.UNA = 1001, our FIN 1001, RCV.NXT = 5002.
func TestLastAckArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.lastAck() }, []arrival{
		{what: "the ACK of our FIN closes the connection without error",
			in: ". 5002:5002(0) ack 1002", state: StateClosed, cause: CauseLastAckAcked},
		{what: "an ACK short of our FIN is ignored",
			in: ". 5002:5002(0) ack 1001", state: StateLastAck},
		{what: "an ACK of something never sent: ACK and drop",
			in: ". 5002:5002(0) ack 1003", out: []string{". 1002:1002(0) ack 5002"}, state: StateLastAck},
		{what: "an ACK older than SND.UNA - MAX.SND.WND: ACK and drop",
			in: ". 5002:5002(0) ack " + u32(1001-65536), out: []string{". 1002:1002(0) ack 5002"}, state: StateLastAck},
		{what: "a SYN gets a challenge ACK",
			in: "S 5100:5100(0)", out: []string{". 1002:1002(0) ack 5002"}, state: StateLastAck},
		{what: "a SYN+ACK in the window gets a challenge ACK too",
			in: "S. 5100:5100(0) ack 1002", out: []string{". 1002:1002(0) ack 5002"}, state: StateLastAck},
		{what: "a RST at RCV.NXT resets: ECONNRESET",
			in: "R 5002:5002(0)", state: StateClosed, err: syscall.ECONNRESET},
		{what: "a RST in the window but not exact gets a challenge ACK",
			in: "R 5100:5100(0)", out: []string{". 1002:1002(0) ack 5002"}, state: StateLastAck},
		{what: "a RST outside the window is dropped",
			in: "R 100000:100000(0)", state: StateLastAck},
		{what: "a retransmitted FIN is ACKed again",
			in: "F. 5001:5001(0) ack 1001", out: []string{". 1002:1002(0) ack 5002"}, state: StateLastAck},
		{what: "data after the peer's FIN is ignored",
			in: "P. 5002:5102(100) ack 1001", state: StateLastAck},
		{what: "data with FIN after the peer's FIN is ignored; its ACK of our FIN closes",
			in: "FP. 5002:5102(100) ack 1002", state: StateClosed},
		{what: "data left of the window: ACK and drop",
			in: "P. 4000:4100(100) ack 1001", out: []string{". 1002:1002(0) ack 5002"}, state: StateLastAck},
	})
}

// RFC 9293 §3.5 Figure 13, simultaneous close: both FINs cross, both sides
// go through CLOSING to TIME-WAIT, then CLOSED after 2MSL.
func TestSimultaneousClose(t *testing.T) {
	p := newPair(t, Config{}, Config{})
	p.open()
	p.a.Close(p.now)
	p.b.Close(p.now)
	p.run(time.Second)
	log := strings.Join(p.log, "\n")
	for _, want := range []string{"A FIN-WAIT-1 -> CLOSING", "B FIN-WAIT-1 -> CLOSING", "A CLOSING -> TIME-WAIT", "B CLOSING -> TIME-WAIT"} {
		if !strings.Contains(log, want) {
			t.Fatalf("no %q in\n%s", want, log)
		}
	}
	p.run(61 * time.Second)
	if p.a.State() != StateClosed || p.b.State() != StateClosed || p.a.Err() != nil || p.b.Err() != nil {
		t.Fatalf("A %v %v, B %v %v", p.a.State(), p.a.Err(), p.b.State(), p.b.Err())
	}
}

// The three-way close: the passive closer's FIN carries the ACK of the
// peer's FIN when the application closes within the delayed-ACK time.
func TestThreeWayClose(t *testing.T) {
	p := newPair(t, Config{}, Config{})
	p.open()
	mark := len(p.log)
	p.a.Close(p.now)
	p.run(15 * time.Millisecond) // the FIN reaches B
	if p.b.State() != StateCloseWait {
		t.Fatalf("B %v", p.b.State())
	}
	p.b.Close(p.now)
	p.run(time.Second)
	var segs int
	for _, l := range p.log[mark:] {
		if strings.Contains(l, " > ") {
			segs++
		}
	}
	if p.a.State() != StateTimeWait || p.b.State() != StateClosed || segs != 3 {
		t.Fatalf("A %v B %v after %d segments\n%s", p.a.State(), p.b.State(), segs, strings.Join(p.log, "\n"))
	}
}

// A FIN takes one sequence number: the ACK of a FIN at 5001 is 5002, and
// our FIN at 1001 is acknowledged by 1002.
func TestFinConsumesSequenceNumber(t *testing.T) {
	h := newHarness(t).established()
	h.in("F. 5001:5001(0) ack 1001")
	h.expectAt(40*time.Millisecond, "the FIN at 5001 is acknowledged with 5002", ". 1001:1001(0) ack 5002")
	h.c.Close(h.now)
	h.wantOut("our FIN at 1001", "F. 1001:1001(0) ack 5002")
	h.in(". 5002:5002(0) ack 1001")
	h.wantState(StateLastAck)
	h.in(". 5002:5002(0) ack 1002")
	h.wantState(StateClosed)
}

// A FIN rides on the last data segment when the data is still queued at
// CLOSE (here held back by Nagle's algorithm, RFC 896).
func TestFinRidesOnData(t *testing.T) {
	h := newHarness(t).established()
	h.send(bytesN(10))
	h.wantOut("the first small segment goes at once", "P. 1001:1011(10) ack 5001")
	h.send(bytesN(5))
	h.wantNone("Nagle holds a second small segment while the first is unacknowledged")
	h.c.Close(h.now)
	h.wantOut("CLOSE: the FIN rides on the held data", "FP. 1011:1016(5) ack 5001")
	h.in(". 5001:5001(0) ack 1017")
	h.wantState(StateFinWait2)
	h.wantTimers()
}

// Data with FIN is delivered before the end of file; RECEIVE then returns
// io.EOF, for ever.
func TestDataWithFinThenEOF(t *testing.T) {
	h := newHarness(t).established()
	h.in("FP. 5001:5006(5) ack 1001")
	h.wantState(StateCloseWait)
	if h.c.EOF() {
		t.Fatal("EOF before the data is read")
	}
	b, err := h.read()
	if string(b) != "jklmn" || err != io.EOF {
		t.Fatalf("read %q, %v; want the data then EOF", b, err)
	}
	if !h.c.EOF() {
		t.Fatal("EOF() false after the last byte")
	}
	h.c.Close(h.now)
	h.in(". 5007:5007(0) ack 1002")
	h.wantState(StateClosed)
	if _, err := h.c.Receive(h.now, make([]byte, 1)); err != io.EOF {
		t.Fatalf("RECEIVE after the close: %v, want io.EOF", err)
	}
	if !h.c.EOF() {
		t.Fatal("EOF() false after a graceful close")
	}
}

// A CLOSE is a half-close (RFC 9293 §3.10.4): unread data stays readable
// after the connection has closed.
func TestUnreadDataSurvivesGracefulClose(t *testing.T) {
	h := newHarness(t).established()
	h.in("FP. 5001:5006(5) ack 1001")
	h.c.Close(h.now)
	h.wantOut("FIN with the ACK of the peer's FIN and data", "F. 1001:1001(0) ack 5007")
	h.in(". 5007:5007(0) ack 1002")
	h.wantState(StateClosed)
	b, err := h.read()
	if string(b) != "jklmn" || err != io.EOF {
		t.Fatalf("read %q, %v after LAST-ACK; want the data then EOF", b, err)
	}
}
