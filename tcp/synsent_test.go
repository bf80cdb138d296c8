package tcp

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// RFC 9293 §3.10.7.3: what arrives in SYN-SENT. Our SYN is 1000; the ACK
// is acceptable only if ISS < SEG.ACK =< SND.NXT, i.e. SEG.ACK = 1001.
func TestSynSentArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.synSent() }, []arrival{
		{what: "a SYN+ACK acknowledging our SYN is ACKed and the connection is ESTABLISHED",
			in: "S. 5000:5000(0) ack 1001 win 65535 <mss 1460>", out: []string{". 1001:1001(0) ack 5001"},
			state: StateEstablished, cause: CauseSynAck},
		{what: "as Linux, data on a SYN+ACK is not kept: the ACK covers only the SYN and the peer sends the data again",
			in: "S. 5000:5000(10) ack 1001 <mss 1460>", out: []string{". 1001:1001(0) ack 5001"},
			state: StateEstablished},
		{what: "a SYN alone is a simultaneous open: SYN+ACK with our original ISS, enter SYN-RECEIVED",
			in: "S 5000:5000(0) <mss 1460>", out: []string{"S. 1000:1000(0) ack 5001 <mss 1460>"},
			state: StateSynReceived, cause: CauseSimultaneousOpen},
		{what: "an old duplicate SYN+ACK (SEG.ACK = ISS) is refused with RST at SEQ=SEG.ACK, and we keep waiting",
			in: "S. 9000:9000(0) ack 1000", out: []string{"R 1000:1000(0)"}, state: StateSynSent},
		{what: "a SYN+ACK acknowledging something never sent (SEG.ACK > SND.NXT) is refused with RST at SEQ=SEG.ACK",
			in: "S. 9000:9000(0) ack 2000", out: []string{"R 2000:2000(0)"}, state: StateSynSent},
		{what: "an acceptable bare ACK without SYN is dropped",
			in: ". 5000:5000(0) ack 1001", state: StateSynSent},
		{what: "an unacceptable bare ACK is refused with RST at SEQ=SEG.ACK",
			in: ". 5000:5000(0) ack 3000", out: []string{"R 3000:3000(0)"}, state: StateSynSent},
		{what: "a RST that acknowledges our SYN refuses the connection: ECONNREFUSED",
			in: "R. 0:0(0) ack 1001", state: StateClosed, err: syscall.ECONNREFUSED, cause: CauseRSTRefused},
		{what: "a RST without ACK cannot be tied to our SYN and is dropped (RFC 5961 §3.2 keeps RFC 793's rule)",
			in: "R 5000:5000(0)", state: StateSynSent},
		{what: "a RST whose ACK does not acknowledge our SYN is dropped, not answered",
			in: "R. 0:0(0) ack 999", state: StateSynSent},
		{what: "a RST acknowledging something never sent is dropped",
			in: "R. 0:0(0) ack 1002", state: StateSynSent},
		{what: "a FIN without SYN is dropped",
			in: "F 5000:5000(0)", state: StateSynSent},
		{what: "a FIN+ACK acknowledging our SYN but without SYN is dropped",
			in: "F. 5000:5000(0) ack 1001", state: StateSynSent},
		{what: "data without SYN or ACK is dropped",
			in: "P 5000:5010(10)", state: StateSynSent},
		{what: "data with an acceptable ACK but no SYN is dropped",
			in: "P. 5001:5011(10) ack 1001", state: StateSynSent},
		{what: "data with FIN and an unacceptable ACK is refused with RST at SEQ=SEG.ACK",
			in: "FP. 5001:5011(10) ack 7", out: []string{"R 7:7(0)"}, state: StateSynSent},
	})
}

// RFC 9293 §3.8.1 and §3.8.3, RFC 6298 §5.5: the SYN is retransmitted after
// 1 s, then with the interval doubling, and after SynRetries retransmissions
// the connection times out with ETIMEDOUT (Linux's 127 s for 6 retries).
func TestSynSentRetransmitAndGiveUp(t *testing.T) {
	h := newHarness(t).synSent()
	h.wantTimers(TimerSynRetry)
	interval := time.Second
	for i := 1; i <= 6; i++ {
		h.expectAt(interval, "the SYN is retransmitted with the same ISS", "S 1000:1000(0)")
		h.wantState(StateSynSent)
		h.checkInvariants()
		interval *= 2
	}
	h.advance(interval - time.Nanosecond)
	h.wantState(StateSynSent)
	h.advance(time.Nanosecond)
	h.wantNone("giving up sends nothing: the peer never answered")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
	h.wantCause(CauseSynGiveUp)
	if got := h.now.Sub(epoch); got != 127*time.Second {
		t.Fatalf("gave up after %v, want 127s", got)
	}
	if st := h.c.Stats(); st.Retrans != 6 || st.SegsOut != 7 {
		t.Fatalf("stats %+v, want 6 retransmissions of 7 segments", st)
	}
	h.wantTimers()
	h.checkInvariants()
}

// The SynRetries setting changes the number of retransmissions.
func TestSynSentRetriesSetting(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SynRetries = 2; c.RTOInitial = 3 * time.Second }).synSent()
	h.expectAt(3*time.Second, "first retransmission after RTOInitial", "S 1000:1000(0)")
	h.expectAt(6*time.Second, "second after twice that", "S 1000:1000(0)")
	h.advance(12 * time.Second)
	h.wantNone("no third retransmission")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
}

// A SYN+ACK that answers a retransmitted SYN still establishes the
// connection; the RTT is not sampled from it (Karn's rule, RFC 6298 §3),
// so the RTO falls back to 3 s until data is timed (RFC 6298 §5.7, Linux
// TCP_TIMEOUT_FALLBACK). This test asserted 1 s before.
func TestSynSentAnswerAfterRetransmit(t *testing.T) {
	h := newHarness(t).synSent()
	h.expectAt(time.Second, "SYN retransmitted", "S 1000:1000(0)")
	h.advance(500 * time.Millisecond)
	h.in("S. 5000:5000(0) ack 1001 <mss 1460>")
	h.wantOut("the late SYN+ACK is ACKed", ". 1001:1001(0) ack 5001")
	h.wantState(StateEstablished)
	h.wantTimers()
	if st := h.c.Status(); st.SRTT != 0 || st.RTO != 3*time.Second {
		t.Fatalf("SRTT %v RTO %v: the ambiguous SYN must not be timed (want 0, 3s)", st.SRTT, st.RTO)
	}
}

// RFC 9293 §3.10.2: SEND in SYN-SENT queues the data; it goes out with the
// ACK that completes the handshake (the third segment carries data).
func TestSynSentSendQueuedUntilEstablished(t *testing.T) {
	h := newHarness(t).synSent()
	h.send([]byte("hello"))
	h.wantNone("nothing is sent before the connection is established")
	if h.c.Writable() != 65535-5 || h.c.Unsent() != 5 {
		t.Fatalf("Writable %d Unsent %d", h.c.Writable(), h.c.Unsent())
	}
	h.in("S. 5000:5000(0) ack 1001 win 65535 <mss 1460>")
	h.wantOut("the third segment of the handshake carries the queued data", "P. 1001:1006(5) ack 5001")
	h.wantState(StateEstablished)
	h.in(". 5001:5001(0) ack 1006")
	h.wantNone("the ACK of the data needs no answer")
	if h.c.Unsent() != 0 {
		t.Fatalf("Unsent %d after the ACK", h.c.Unsent())
	}
	h.wantTimers()
}

// RFC 9293 §3.10.4: CLOSE in SYN-SENT deletes the TCB without sending
// anything; the SYN is not retransmitted afterwards.
func TestSynSentClose(t *testing.T) {
	h := newHarness(t).synSent()
	h.send([]byte("lost"))
	if err := h.c.Close(h.now); err != nil {
		t.Fatal(err)
	}
	h.wantState(StateClosed)
	h.wantCause(CauseCloseSynSent)
	h.wantErr(nil)
	h.advance(time.Hour)
	h.wantNone("no SYN retransmission after CLOSE")
	h.in("S. 5000:5000(0) ack 1001")
	h.wantOut("the late SYN+ACK meets no TCB: RST at SEQ=SEG.ACK", "R 1001:1001(0)")
	h.checkInvariants()
}

// RFC 5482: the user timeout bounds how long the SYN may stay unanswered,
// ahead of the SYN retries.
func TestSynSentUserTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.UserTimeout = 2500 * time.Millisecond }).synSent()
	h.expectAt(time.Second, "first SYN retransmission", "S 1000:1000(0)")
	h.advance(1500*time.Millisecond - time.Nanosecond)
	h.wantState(StateSynSent)
	h.advance(time.Nanosecond)
	h.wantNone("the user timeout sends nothing")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
	h.wantCause(CauseUserTimeout)
	h.wantTimers()
}

// A SYN+ACK whose TSecr is no TSval of our SYN — ahead of our clock, or
// older than our first SYN — answers someone else's SYN: Linux
// (tcp_rcv_synsent_state_process) resets it, <SEQ=SEG.ACK><CTL=RST>, and
// stays in SYN-SENT; a RST+ACK with such an echo is dropped. The echo of
// a retransmitted SYN is ours and establishes.
func TestSynSentRefusesForeignEcho(t *testing.T) {
	open := func(t *testing.T) *harness {
		h := newHarness(t, withTS)
		h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS, TSOffset: tsOffsetFor})
		h.wantOut("SYN", "S 1000:1000(0) <mss 1460,TS val 1 ecr 0>")
		h.expectAt(time.Second, "SYN retransmitted", "S 1000:1000(0) <mss 1460,TS val 1001 ecr 0>")
		h.advance(100 * time.Millisecond)
		return h
	}
	for _, ecr := range []uint32{1200, 0xffff_fff0} {
		h := open(t)
		h.in(fmt.Sprintf("S. 5000:5000(0) ack 1001 win 65535 <mss 1460,TS val 7 ecr %d>", ecr))
		h.wantOut(fmt.Sprintf("TSecr %d is not ours: RST", ecr), "R 1001:1001(0)")
		h.wantState(StateSynSent)
		h.in(fmt.Sprintf("R. 5001:5001(0) ack 1001 <TS val 7 ecr %d>", ecr))
		h.wantNone("a RST with a foreign echo is dropped")
		h.wantState(StateSynSent)
	}
	for _, ecr := range []uint32{1, 1001} {
		h := open(t)
		h.in(fmt.Sprintf("S. 5000:5000(0) ack 1001 win 65535 <mss 1460,TS val 7 ecr %d>", ecr))
		h.wantOut("an echo of our SYN: established", ". 1001:1001(0) ack 5001 <TS val 1101 ecr 7>")
		h.wantState(StateEstablished)
	}
}
