package tcp

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/wire"
)

// RFC 9293 §3.10.7.4 in SYN-RECEIVED of a passive open: SND.UNA = 1000,
// SND.NXT = 1001, RCV.NXT = 5001, RCV.WND = 65535.
func TestSynReceivedPassiveArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.synReceived() }, []arrival{
		{what: "the ACK of our SYN establishes the connection",
			in: ". 5001:5001(0) ack 1001", state: StateEstablished, cause: CauseAckOfSyn},
		{what: "an ACK that does not acknowledge our SYN (SEG.ACK = SND.UNA) is answered with RST at SEQ=SEG.ACK",
			in: ". 5001:5001(0) ack 1000", out: []string{"R 1000:1000(0)"}, state: StateSynReceived},
		{what: "an ACK of something never sent is answered with RST at SEQ=SEG.ACK",
			in: ". 5001:5001(0) ack 2000", out: []string{"R 2000:2000(0)"}, state: StateSynReceived},
		{what: "a retransmitted SYN (our SYN+ACK was lost) is answered with the SYN+ACK again, as Linux",
			in: "S 5000:5000(0) <mss 1460>", out: []string{"S. 1000:1000(0) ack 5001 <mss 1460>"},
			state: StateSynReceived},
		{what: "a SYN+ACK from the peer lies left of the window and gets an ACK",
			in: "S. 5000:5000(0) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateSynReceived},
		{what: "a different SYN in the window returns a passive open to LISTEN (RFC 9293 §3.10.7.4 fourth, Note 3)",
			in: "S 5100:5100(0)", state: StateListen, cause: CauseSynInSynRcvd},
		{what: "a RST with SEG.SEQ = RCV.NXT returns a passive open to LISTEN, silently (Note 3)",
			in: "R 5001:5001(0)", state: StateListen, cause: CauseRSTPassive},
		{what: "a RST in the window but not at RCV.NXT gets a challenge ACK (RFC 5961 §3.2)",
			in: "R 5100:5100(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateSynReceived},
		{what: "a RST outside the window is dropped",
			in: "R 4000:4000(0)", state: StateSynReceived},
		{what: "a FIN without ACK is dropped at the fifth step",
			in: "F 5001:5001(0)", state: StateSynReceived},
		{what: "a FIN with the ACK of our SYN establishes and then closes the peer's side: CLOSE-WAIT, ACK delayed",
			in: "F. 5001:5001(0) ack 1001", state: StateCloseWait, cause: CauseFinInEstab},
		{what: "data with the ACK of our SYN establishes the connection and is delivered; its ACK is delayed",
			in: "P. 5001:5011(10) ack 1001", state: StateEstablished, read: 10},
		{what: "data with FIN and the ACK of our SYN: ESTABLISHED, the data delivered, CLOSE-WAIT",
			in: "FP. 5001:5011(10) ack 1001", state: StateCloseWait, read: 10},
		{what: "data left of the window is answered with an ACK and dropped",
			in: "P. 4000:4010(10) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateSynReceived},
		{what: "data right of the window is answered with an ACK and dropped",
			in: "P. 70536:70546(10) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateSynReceived},
		{what: "data without ACK is dropped",
			in: "P 5001:5011(10)", state: StateSynReceived},
	})
}

// The same connection opened actively, by a simultaneous open.
func TestSynReceivedActiveArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.synReceivedActive() }, []arrival{
		{what: "the peer's SYN+ACK completes the simultaneous open (RFC 9293 Figure 7): ESTABLISHED, nothing more to send",
			in: "S. 5000:5000(0) ack 1001 <mss 1460>", state: StateEstablished, cause: CauseSynAckInSynRcvd},
		{what: "a bare ACK of our SYN also establishes it",
			in: ". 5001:5001(0) ack 1001", state: StateEstablished, cause: CauseAckOfSyn},
		{what: "a RST at RCV.NXT refuses an active open: ECONNREFUSED",
			in: "R 5001:5001(0)", state: StateClosed, err: syscall.ECONNREFUSED, cause: CauseRSTActive},
		{what: "a RST in the window but not exact gets a challenge ACK",
			in: "R 5002:5002(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateSynReceived},
		{what: "a new SYN in the window of an active open gets a challenge ACK (RFC 5961 §4.2)",
			in: "S 5100:5100(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateSynReceived},
		{what: "a SYN+ACK acknowledging something else is left of the window and gets an ACK",
			in: "S. 5000:5000(0) ack 1000", out: []string{". 1001:1001(0) ack 5001"}, state: StateSynReceived},
	})
}

// RFC 9293 §3.5 Figure 7 with two connections: SYN, SYN, SYN+ACK, SYN+ACK,
// and both are ESTABLISHED; data then flows both ways.
func TestSimultaneousOpen(t *testing.T) {
	p := newPair(t, Config{}, Config{})
	if err := p.a.OpenActive(p.now, OpenOptions{LocalPort: 1, RemotePort: 2, ISS: 100}); err != nil {
		t.Fatal(err)
	}
	if err := p.b.OpenActive(p.now, OpenOptions{LocalPort: 2, RemotePort: 1, ISS: 300}); err != nil {
		t.Fatal(err)
	}
	p.run(time.Second)
	if p.a.State() != StateEstablished || p.b.State() != StateEstablished {
		t.Fatalf("A %v B %v\n%s", p.a.State(), p.b.State(), strings.Join(p.log, "\n"))
	}
	var segs []string
	for _, l := range p.log {
		if strings.Contains(l, " > ") {
			segs = append(segs, l[:strings.Index(l, " win")])
		}
	}
	// The two SYN+ACKs cross; which is logged first depends on delivery order.
	want := []string{"A > S 100:100(0)", "B > S 300:300(0)", "B > S. 300:300(0) ack 101", "A > S. 100:100(0) ack 301"}
	if len(segs) == 4 && segs[2] == want[3] {
		segs[2], segs[3] = segs[3], segs[2]
	}
	if strings.Join(segs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("segments:\n%s\nwant:\n%s", strings.Join(segs, "\n"), strings.Join(want, "\n"))
	}
	p.a.Send(p.now, []byte("ping"))
	p.b.Send(p.now, []byte("pong"))
	p.run(time.Second)
	a, _ := readAll(p.a, p.now)
	b, _ := readAll(p.b, p.now)
	if string(a) != "pong" || string(b) != "ping" {
		t.Fatalf("A read %q, B read %q", a, b)
	}
}

// RFC 7323 §2.2: the window of a SYN+ACK is never scaled, also when it
// completes a simultaneous open.
func TestSimultaneousOpenSynAckWindowUnscaled(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.WindowScaling = On })
	h.synSent()
	h.in("S 5000:5000(0) win 1000 <mss 1000,wscale 7>")
	h.wantOut("SYN+ACK offers our scale", "S. 1000:1000(0) ack 5001")
	h.in("S. 5000:5000(0) ack 1001 win 1000 <mss 1000,wscale 7>")
	h.wantState(StateEstablished)
	h.send(bytesN(3000))
	h.wantOut("the peer's window is 1000 bytes, not 1000<<7: one segment, no PSH as more is queued", ". 1001:2001(1000) ack 5001")
}

// SYN+ACK retransmission (RFC 9293 §3.8.1) with back-off; after
// SynAckRetries the half-open connection is freed: CLOSED, not LISTEN.
func TestSynReceivedRetransmitAndGiveUp(t *testing.T) {
	h := newHarness(t).synReceived()
	interval := time.Second
	for i := 1; i <= 5; i++ {
		h.expectAt(interval, "the SYN+ACK is retransmitted", "S. 1000:1000(0) ack 5001 <mss 1460>")
		interval *= 2
	}
	h.advance(interval - time.Nanosecond)
	h.wantState(StateSynReceived)
	h.advance(time.Nanosecond)
	h.wantNone("the half-open connection is freed silently")
	h.wantState(StateClosed)
	h.wantCause(CauseSynAckGiveUp)
	h.wantErr(syscall.ETIMEDOUT)
	h.wantTimers()
	h.checkInvariants()
}

// A simultaneous open gives up after SynRetries, as an active open does.
func TestSynReceivedActiveGiveUp(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SynRetries = 1 }).synReceivedActive()
	h.expectAt(time.Second, "the SYN+ACK is retransmitted", "S. 1000:1000(0) ack 5001")
	h.advance(2 * time.Second)
	h.wantNone("no more")
	h.wantState(StateClosed)
	h.wantCause(CauseSynGiveUp)
	h.wantErr(syscall.ETIMEDOUT)
}

// The retransmitted SYN's answer is rate-limited like a challenge ACK: a
// flood of duplicate SYNs gets one SYN+ACK per interval.
func TestSynReceivedDuplicateSynRateLimit(t *testing.T) {
	h := newHarness(t).synReceived()
	h.in("S 5000:5000(0) <mss 1460>")
	h.wantOut("the first duplicate SYN is answered", "S. 1000:1000(0) ack 5001")
	h.advance(100 * time.Millisecond)
	h.in("S 5000:5000(0) <mss 1460>")
	h.wantNone("a second within ChallengeACK is not")
	h.advance(400 * time.Millisecond)
	h.in("S 5000:5000(0) <mss 1460>")
	h.wantOut("one ChallengeACK interval later it is again", "S. 1000:1000(0) ack 5001")
}

// RFC 9293 §3.10.4: CLOSE in SYN-RECEIVED with nothing queued sends FIN and
// enters FIN-WAIT-1; the handshake still completes and the close goes on.
func TestSynReceivedClose(t *testing.T) {
	h := newHarness(t).synReceived()
	if err := h.c.Close(h.now); err != nil {
		t.Fatal(err)
	}
	h.wantOut("CLOSE sends FIN right after the SYN", "F. 1001:1001(0) ack 5001")
	h.wantState(StateFinWait1)
	h.wantCause(CauseCloseFIN)
	h.in(". 5001:5001(0) ack 1002")
	h.wantNone("one ACK covers our SYN and our FIN")
	h.wantState(StateFinWait2)
	h.in("F. 5001:5001(0) ack 1002")
	h.wantOut("the peer's FIN is ACKed", ". 1002:1002(0) ack 5002")
	h.wantState(StateTimeWait)
}

// CLOSE in SYN-RECEIVED with data queued: the FIN waits for ESTABLISHED and
// follows the data (RFC 9293 §3.10.4: "queue for processing after entering
// ESTABLISHED state").
func TestSynReceivedCloseWithQueuedData(t *testing.T) {
	h := newHarness(t).synReceived()
	h.send([]byte("bye"))
	h.c.Close(h.now)
	h.wantNone("neither data nor FIN before the SYN is acknowledged")
	h.wantState(StateFinWait1)
	h.in(". 5001:5001(0) ack 1001")
	h.wantOut("data and FIN in one segment once the SYN is ACKed", "FP. 1001:1004(3) ack 5001")
	h.in(". 5001:5001(0) ack 1005")
	h.wantState(StateFinWait2)
}

// The SYN+ACK of a passive open that has gone on to FIN-WAIT-1 is still
// retransmitted, and its FIN too.
func TestSynReceivedCloseRetransmits(t *testing.T) {
	h := newHarness(t).synReceived()
	h.c.Close(h.now)
	h.wantOut("FIN", "F. 1001:1001(0) ack 5001")
	h.advance(time.Second)
	got := h.out
	h.out = nil
	var flags []wire.Flags
	for _, s := range got {
		flags = append(flags, s.seg.Flags)
	}
	if len(got) != 2 || flags[0] != wire.FlagFIN|wire.FlagACK || flags[1] != wire.FlagSYN|wire.FlagACK {
		t.Fatalf("after 1 s sent %v, want the FIN and the SYN+ACK again", got)
	}
	h.in(". 5001:5001(0) ack 1002")
	h.wantState(StateFinWait2)
	h.wantTimers()
}

// ABORT in SYN-RECEIVED sends RST: the peer holds state (RFC 9293 §3.10.5).
func TestSynReceivedAbort(t *testing.T) {
	h := newHarness(t).synReceived()
	h.c.Abort(h.now)
	h.wantOut("ABORT in SYN-RECEIVED sends RST", "R. 1001:1001(0) ack 5001")
	h.wantState(StateClosed)
	h.wantCause(CauseAbort)
}

// RFC 5482 in SYN-RECEIVED: the user timeout frees the half-open connection.
func TestSynReceivedUserTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.UserTimeout = 1500 * time.Millisecond }).synReceived()
	h.expectAt(time.Second, "SYN+ACK retransmitted", "S. 1000:1000(0) ack 5001")
	h.advance(500 * time.Millisecond)
	h.wantNone("the user timeout sends nothing")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
}

// After returning to LISTEN (Note 3) the connection accepts the next SYN.
func TestSynReceivedBackToListenThenNewSyn(t *testing.T) {
	h := newHarness(t).synReceived()
	h.in("R 5001:5001(0)")
	h.wantState(StateListen)
	h.wantTimers()
	h.advance(10 * time.Second)
	h.wantNone("no SYN+ACK retransmission after returning to LISTEN")
	h.in("S 7000:7000(0) <mss 1460>")
	h.wantOut("a new SYN gets a SYN+ACK with the listener's ISS", "S. 1000:1000(0) ack 7001")
	h.in(". 7001:7001(0) ack 1001")
	h.wantState(StateEstablished)
	if !h.c.Passive() {
		t.Fatal("the connection is still a passive one")
	}
}

// Returning to LISTEN (Note 3) restores the passive OPEN as the user made
// it: a wildcard remote port again accepts any port, a fully specified one
// stays specified, and per-connection settings survive.
func TestSynReceivedBackToListenKeepsOpen(t *testing.T) {
	for _, remote := range []uint16{0, peerPort} {
		h := newHarness(t)
		if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: remote, ISS: ourISS}); err != nil {
			t.Fatal(err)
		}
		h.c.SetKeepAlive(h.now, true, time.Minute, 0, 0)
		h.in("S 5000:5000(0)")
		h.wantOut("SYN+ACK", "S. 1000:1000(0) ack 5001")
		h.in("R 5001:5001(0)")
		h.wantState(StateListen)
		if l, r := h.c.Ports(); l != ourPort || r != remote {
			t.Fatalf("ports after returning to LISTEN: %d, %d; want %d, %d", l, r, ourPort, remote)
		}
		h.in("S 6000:6000(0)")
		h.wantOut("SYN+ACK", "S. 1000:1000(0) ack 6001")
		h.in(". 6001:6001(0) ack 1001")
		h.wantState(StateEstablished)
		h.expectAt(time.Minute, "SetKeepAlive survived the return to LISTEN", ". 1000:1000(0) ack 6001")
	}
}

// CLOSE in SYN-RECEIVED with data queued: only the SYN is in flight, so
// only the SYN+ACK is retransmitted, on its own back-off; no data goes out
// before the SYN is acknowledged.
func TestSynReceivedCloseWithQueuedDataRetransmits(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ZeroWindowProbeData = true }).synReceived()
	h.send(bytesN(100))
	h.c.Close(h.now)
	h.wantNone("data and FIN wait for the handshake")
	h.wantTimers(TimerSynRetry)
	h.expectAt(time.Second, "the SYN+ACK alone", "S. 1000:1000(0) ack 5001")
	h.expectAt(2*time.Second, "then after 2 s, not 4 s", "S. 1000:1000(0) ack 5001")
	h.in(". 5001:5001(0) ack 1001")
	h.wantOut("the handshake completes: data and FIN", "FP. 1001:1101(100) ack 5001")
	h.wantState(StateFinWait1)
}
