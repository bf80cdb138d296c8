package tcp

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/seq"
)

// lastICMP returns the cause of the most recent ICMP event.
func (h *harness) lastICMP() Cause {
	for i := len(h.events) - 1; i >= 0; i-- {
		if h.events[i].Kind == EventICMP {
			return h.events[i].Cause
		}
	}
	return CauseNone
}

// RFC 5927 §4.1 and Linux's tcp_v4_err: in SYN-SENT our SYN is 1000 and
// SND.NXT 1001, so only an ICMP quoting 1000 or 1001 is believed; a
// believed one ends the attempt at once with its errno, whether Linux calls
// it hard (port unreachable) or soft (host unreachable).
func TestICMPErrorInSynSent(t *testing.T) {
	for _, tc := range []struct {
		what   string
		quoted seq.Num
		err    error
		fatal  bool
		taken  bool
	}{
		{"port unreachable quoting our SYN", 1000, syscall.ECONNREFUSED, true, true},
		{"host unreachable quoting our SYN", 1000, syscall.EHOSTUNREACH, false, true},
		{"net unreachable quoting SND.NXT (Linux's between is inclusive)", 1001, syscall.ENETUNREACH, false, true},
		{"a quote below the ISS", 999, syscall.EHOSTUNREACH, true, false},
		{"a quote beyond SND.NXT", 1002, syscall.EHOSTUNREACH, true, false},
		{"a quote far away, as a blind attacker guesses", 1000 + 1<<31, syscall.ECONNREFUSED, true, false},
	} {
		t.Run(tc.what, func(t *testing.T) {
			h := newHarness(t).synSent()
			if got := h.c.ICMPError(h.now, tc.quoted, tc.err, tc.fatal); got != tc.taken {
				t.Fatalf("ICMPError returned %v, want %v", got, tc.taken)
			}
			h.wantNone("an ICMP error is never answered")
			if !tc.taken {
				h.wantState(StateSynSent)
				if h.lastICMP() != CauseICMPOutOfWindow {
					t.Fatalf("ICMP cause %q, want the RFC 5927 check", h.lastICMP())
				}
				h.wantTimers(TimerSynRetry)
				return
			}
			h.wantState(StateClosed)
			h.wantErr(tc.err)
			h.wantCause(CauseICMPAbort)
			h.wantTimers()
			h.checkInvariants()
		})
	}
}

// A simultaneous open in SYN-RECEIVED is still our attempt: any error ends
// it. A passive SYN-RECEIVED keeps waiting through a soft error and returns
// to LISTEN on a hard one, as after a RST (Linux tcp_req_err drops the
// request and keeps the listener).
func TestICMPErrorInSynReceived(t *testing.T) {
	h := newHarness(t).synReceivedActive()
	if !h.c.ICMPError(h.now, 1000, syscall.EHOSTUNREACH, false) {
		t.Fatal("ICMP quoting our SYN+ACK refused")
	}
	h.wantState(StateClosed)
	h.wantErr(syscall.EHOSTUNREACH)

	h = newHarness(t).synReceived()
	if !h.c.ICMPError(h.now, 1000, syscall.EHOSTUNREACH, false) {
		t.Fatal("soft ICMP quoting our SYN+ACK refused")
	}
	h.wantState(StateSynReceived)
	h.wantNone("a soft error changes nothing on the wire")
	if h.c.ICMPError(h.now, 1002, syscall.ECONNREFUSED, true) {
		t.Fatal("a hard error quoting an unsent sequence number was taken")
	}
	h.wantState(StateSynReceived)
	if !h.c.ICMPError(h.now, 1000, syscall.ECONNREFUSED, true) {
		t.Fatal("hard ICMP quoting our SYN+ACK refused")
	}
	h.wantState(StateListen)
	h.wantCause(CauseICMPAbort)
	h.wantNone("no RST: the peer is unreachable")
}

// RFC 1122 §4.2.3.9: in a synchronized state an ICMP error is soft. The
// connection carries on; if it then times out, the error it reports is the
// ICMP's, not ETIMEDOUT (Linux tcp_write_err). An ACK that gets through in
// between clears it.
func TestICMPSoftErrorReportedOnTimeout(t *testing.T) {
	for _, acked := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.Retries = 2 }).established()
		h.send(bytesN(100))
		h.wantOut("data", "P. 1001:1101(100) ack 5001")
		if !h.c.ICMPError(h.now, 1001, syscall.EHOSTUNREACH, false) {
			t.Fatal("ICMP quoting data in flight refused")
		}
		h.wantState(StateEstablished)
		if h.lastICMP() != CauseICMPSoft {
			t.Fatalf("ICMP cause %q, want soft", h.lastICMP())
		}
		want := error(syscall.EHOSTUNREACH)
		if acked {
			h.in(". 5001:5001(0) ack 1051 win 65535")
			want = syscall.ETIMEDOUT
		}
		h.advance(10 * time.Minute)
		h.wantState(StateClosed)
		h.wantErr(want)
		h.wantCause(CauseRetransGiveUp)
	}
}

// CLOSED, LISTEN and TIME-WAIT have nothing in flight: ICMP is ignored.
func TestICMPIgnoredWithoutFlight(t *testing.T) {
	for _, st := range []State{StateClosed, StateListen, StateTimeWait} {
		h := newHarness(t).gotoState(st)
		h.out = nil
		if h.c.ICMPError(h.now, 1001, syscall.ECONNREFUSED, true) || h.c.PathMTU(h.now, 1001, 500) {
			t.Fatalf("%v took an ICMP report", st)
		}
		h.wantState(st)
		h.wantNone("ignored")
		if h.lastICMP() != CauseICMPNoConn {
			t.Fatalf("%v: ICMP cause %q", st, h.lastICMP())
		}
	}
}

// RFC 1191 / RFC 8201: a Packet Too Big quoting data in flight lowers the
// send MSS, and what was sent too big goes again at once in segments that
// fit, without a congestion response; new data then uses the new size. A
// report of a larger MTU, or one quoting nothing in flight, changes nothing.
func TestPathMTULowersMSSAndResends(t *testing.T) {
	h := newHarness(t).establishedActive() // peer MSS 1460
	h.send(bytesN(2920))
	h.wantOut("two segments of the peer's MSS", ". 1001:2461(1460) ack 5001", "P. 2461:3921(1460) ack 5001")
	cwnd := h.c.cc.CWnd()
	if h.c.PathMTU(h.now, 900, 1000) {
		t.Fatal("a Packet Too Big quoting an acknowledged sequence number was taken")
	}
	if h.c.PathMTU(h.now, 1001, 1460) != true {
		t.Fatal("a report quoting data in flight refused")
	}
	h.wantNone("a report that allows the MSS in use changes nothing")
	if !h.c.PathMTU(h.now, 1001, 1000) {
		t.Fatal("Packet Too Big quoting data in flight refused")
	}
	resent := h.out
	h.wantOut("everything in flight again, at most 1000 bytes a segment",
		". 1001:2001(1000) ack 5001", ". 2001:3001(1000) ack 5001", "P. 3001:3921(920) ack 5001")
	for _, s := range resent {
		if s.why != CausePMTUResend {
			t.Fatalf("resent with cause %q", s.why)
		}
	}
	if st := h.c.Status(); st.MSS != 1000 {
		t.Fatalf("send MSS %d, want 1000", st.MSS)
	}
	if h.c.cc.CWnd() != cwnd {
		t.Fatalf("cwnd %d after a path MTU drop, want %d unchanged: it was not congestion", h.c.cc.CWnd(), cwnd)
	}
	h.in(". 5001:5001(0) ack 3921 win 65535")
	h.send(bytesN(2000))
	h.wantOut("new data uses the new MSS", ". 3921:4921(1000) ack 5001", "P. 4921:5921(1000) ack 5001")
	h.checkInvariants()
}

// With timestamps, the 12 option bytes come out of the path's MSS too.
func TestPathMTUWithTimestamps(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Timestamps = On })
	h.synSent()
	// The SYN+ACK echoes our SYN's TSval (one we never sent is refused).
	h.in(fmt.Sprintf("S. 5000:5000(0) ack 1001 win 65535 <mss 1460,TS val 7 ecr %d>", h.c.tsNow(h.now)))
	h.out = nil
	h.c.PathMTU(h.now, 1001, 1240)
	if st := h.c.Status(); st.MSS != 1228 {
		t.Fatalf("send MSS %d, want 1240-12", st.MSS)
	}
}

// A Packet Too Big for the SYN (rare, but a tunnel may say so) is kept
// until the peer's MSS is known, and the lower of the two wins.
func TestPathMTUInSynSent(t *testing.T) {
	h := newHarness(t).synSent()
	if !h.c.PathMTU(h.now, 1000, 1200) {
		t.Fatal("Packet Too Big quoting our SYN refused")
	}
	h.wantNone("the SYN is small: nothing to resend")
	h.wantState(StateSynSent)
	h.in("S. 5000:5000(0) ack 1001 win 65535 <mss 1460>")
	if st := h.c.Status(); st.MSS != 1200 {
		t.Fatalf("send MSS %d, want the path's 1200", st.MSS)
	}
}

// OpenOptions.MSS is the stack's per-route clamp: the SYN advertises it and
// the connection never sends more, whatever the peer allows; it survives
// the compact half-open record.
func TestOpenMSSClamp(t *testing.T) {
	h := newHarness(t)
	if err := h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS, MSS: 1200}); err != nil {
		t.Fatal(err)
	}
	h.wantOut("SYN advertises the clamp", "S 1000:1000(0) <mss 1200>")
	h.in("S. 5000:5000(0) ack 1001 win 65535 <mss 1460>")
	if st := h.c.Status(); st.MSS != 1200 {
		t.Fatalf("send MSS %d, want 1200", st.MSS)
	}

	h = newHarness(t)
	syn := parseSeg(t, "S 5000:5000(0) win 65535 <mss 1460>").seg
	h.c.ListenArrive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, MSS: 536}, &syn)
	h.wantOut("SYN+ACK advertises the clamp", "S. 1000:1000(0) ack 5001 <mss 536>")
	rec := h.c.SaveHalfOpen()
	h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
	h.advance(time.Second)
	h.wantOut("the restored record still advertises the clamp", "S. 1000:1000(0) ack 5001 <mss 536>")
	if st := h.c.Status(); st.MSS != 536 {
		t.Fatalf("send MSS %d, want 536", st.MSS)
	}

	h = newHarness(t)
	if err := h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS, MSS: 9000}); err != nil {
		t.Fatal(err)
	}
	h.wantOut("a limit above Config.MSS does not raise it", "S 1000:1000(0) <mss 1460>")
}

// A data segment that carries SACK blocks carries that much less data, so
// the packet never grows past the MSS the path allows (Linux
// tcp_current_mss): one block takes 12 option bytes, two 20.
func TestSACKBlocksShrinkDataSegments(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SACK = On })
	h.synSent()
	h.in("S. 5000:5000(0) ack 1001 win 65535 <mss 1000,sackOK>")
	h.wantOut("ACK", ". 1001:1001(0) ack 5001")
	h.in("P. 5101:5201(100) ack 1001 win 65535")
	h.wantOut("out-of-order data: duplicate ACK with one SACK block", ". 1001:1001(0) ack 5001")
	h.send(bytesN(1986))
	h.wantOut("full segments less the 12 bytes of one SACK block (Nagle holds the 10-byte rest)",
		". 1001:1989(988) ack 5001", ". 1989:2977(988) ack 5001")
	h.in("P. 5301:5401(100) ack 1001 win 65535")
	h.wantOut("a second hole: duplicate ACK", ". 2977:2977(0) ack 5001")
	h.in(". 5001:5001(0) ack 2977 win 65535")
	h.wantOut("the rest goes once all is ACKed", "P. 2977:2987(10) ack 5001")
	h.in(". 5001:5001(0) ack 2987 win 65535")
	h.send(bytesN(990))
	h.wantOut("two SACK blocks take 20 bytes", ". 2987:3967(980) ack 5001")
}

// Receiver SWS avoidance (RFC 9293 §3.8.6.2.2) counts in the connection's
// own MSS, not Config.MSS: with the stack's unclamped Config.MSS and a
// route MSS of 1000, reading 2000 bytes out of a full window reopens it.
func TestWindowUpdateUsesConnectionMSS(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MSS = 0xffff; c.RcvBuf = 8000 })
	if err := h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS, MSS: 1000}); err != nil {
		t.Fatal(err)
	}
	h.in("S. 5000:5000(0) ack 1001 win 65535 <mss 1000>")
	for i := range 8 {
		h.inSeg(parseSeg(t, ". "+strconv.Itoa(5001+1000*i)+":"+strconv.Itoa(6001+1000*i)+"(1000) ack 1001 win 65535").seg)
	}
	h.out = nil
	buf := make([]byte, 2000)
	if n, _ := h.c.Receive(h.now, buf); n != 2000 {
		t.Fatalf("read %d", n)
	}
	h.wantOut("2000 bytes freed in an 8000-byte buffer: window update", ". 1001:1001(0) ack 13001 win 2000")
}
