package tcp

import (
	"fmt"
	"testing"
	"time"
)

// Hostile and odd timestamp echoes (RFC 7323 §4.1, RFC 6298): an echo
// that cannot be one of ours is no RTT sample, as Linux tcp_rtt_tsopt_us
// refuses it; the segment's own timing is preferred when there is one
// (tcp_ack_update_rtt). Before, a TSecr ahead of our clock became a
// ~49-day sample: SRTT of 149 hours, the RTO pinned at RTOMax.
func TestRTTHostileEchoes(t *testing.T) {
	rows := []struct {
		name string
		ecr  func(ours uint32) uint32 // the TSecr of the ACK of the second segment
		want bool                     // whether it is a sample
	}{
		{"TSecr ahead of our clock", func(ours uint32) uint32 { return ours + 1_000_000 }, false},
		{"TSecr just ahead of our clock", func(ours uint32) uint32 { return ours + 1 }, false},
		{"TSecr older than our SYN", func(uint32) uint32 { return 0xffff_ff00 }, false},
		{"TSecr of zero", func(uint32) uint32 { return 0 }, false},
		{"TSecr of the segment", func(ours uint32) uint32 { return ours - 300 }, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			h := newHarness(t, withTS, func(c *Config) { c.NoDelay = true })
			establishedTS(h)
			before := h.c.Status()
			h.advance(time.Second)
			h.send(bytesN(10))
			h.wantOut("the first, timed", "P. 1001:1011(10) ack 5001 <TS val 1001 ecr 101>")
			h.send(bytesN(10))
			h.wantOut("the second", "P. 1011:1021(10) ack 5001 <TS val 1001 ecr 101>")
			h.advance(300 * time.Millisecond)
			ours := uint32(1301)
			h.in(fmt.Sprintf(". 5001:5001(0) ack 1021 <TS val 102 ecr %d>", r.ecr(ours)))
			st := h.c.Status()
			sampled := st.SRTT != before.SRTT
			if sampled != r.want {
				t.Fatalf("SRTT %v → %v (RTO %v): sampled %v, want %v", before.SRTT, st.SRTT, st.RTO, sampled, r.want)
			}
			if st.SRTT > time.Second || st.RTO > time.Second {
				t.Fatalf("SRTT %v, RTO %v after one ACK", st.SRTT, st.RTO)
			}
		})
	}
}

// The timed segment's own RTT wins over an implausible echo on the same
// ACK (Linux tcp_ack_update_rtt prefers the ACK's timing).
func TestRTTTimedSegmentPreferred(t *testing.T) {
	h := newHarness(t, withTS)
	establishedTS(h)
	h.advance(time.Second)
	h.send(bytesN(10))
	h.wantOut("timed", "P. 1001:1011(10) ack 5001 <TS val 1001 ecr 101>")
	h.advance(80 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1011 <TS val 102 ecr 4000000000>")
	if st := h.c.Status(); st.SRTT > 100*time.Millisecond {
		t.Fatalf("SRTT %v: the hostile echo was used over the timed 80 ms", st.SRTT)
	}
}

// An echo of a retransmitted segment is a valid sample with timestamps
// (RFC 7323 §4.1: TSecr tells which copy was answered) and ends the
// back-off; an ACK without a timestamp after a retransmission is none, and
// the backed-off RTO stays (Karn, RFC 6298 §5).
func TestRTTAfterRetransmission(t *testing.T) {
	for _, r := range []struct {
		name, ack string
		rto       time.Duration
	}{
		{"echo of the retransmission", ". 5001:5001(0) ack 1011 <TS val 102 ecr 201>", 200 * time.Millisecond},
		{"ACK without timestamp", ". 5001:5001(0) ack 1011", 400 * time.Millisecond},
	} {
		t.Run(r.name, func(t *testing.T) {
			h := newHarness(t, withTS)
			establishedTS(h)
			h.send(bytesN(10))
			h.wantOut("data", "P. 1001:1011(10) ack 5001 <TS val 1 ecr 101>")
			h.expectAt(200*time.Millisecond, "RTO", "P. 1001:1011(10) ack 5001 <TS val 201 ecr 101>")
			h.advance(30 * time.Millisecond)
			h.in(r.ack)
			if st := h.c.Status(); st.RTO != r.rto {
				t.Fatalf("RTO %v after %s, want %v", st.RTO, r.name, r.rto)
			}
		})
	}
}

// Karn without timestamps: after a timeout the backed-off RTO stays for
// new data until an ACK of data sent once gives a sample (RFC 6298 §5,
// Linux resets icsk_backoff only on a valid RTT). Before, any advancing
// ACK reset it, and the next segment was retransmitted after the
// un-backed-off RTO — spuriously on a path slower than it.
func TestKarnBackoffKeptUntilSample(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoDelay = true }).established()
	h.send(bytesN(10))
	h.wantOut("data", "P. 1001:1011(10) ack 5001")
	h.expectAt(200*time.Millisecond, "RTO", "P. 1001:1011(10) ack 5001")
	h.advance(250 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1011")
	h.send(bytesN(10))
	h.wantOut("new data", "P. 1011:1021(10) ack 5001")
	if st := h.c.Status(); st.RTO != 400*time.Millisecond {
		t.Fatalf("RTO %v for new data after an ambiguous ACK, want the backed-off 400ms", st.RTO)
	}
	h.advance(300 * time.Millisecond)
	h.wantNone("no retransmission before the backed-off RTO")
	h.in(". 5001:5001(0) ack 1021")
	// The handshake's sample was 1 ms (G); folding in 300 ms gives SRTT
	// 38.375 ms, RTTVAR 75.125 ms: RTO 338.875 ms, not doubled.
	if st := h.c.Status(); st.RTO != 338875*time.Microsecond {
		t.Fatalf("SRTT %v RTO %v after the sample of new data, want RTO 338.875ms with no back-off", st.SRTT, st.RTO)
	}
}

// RFC 6298 §5.7 (Linux TCP_TIMEOUT_FALLBACK in tcp_init_metrics): a
// handshake that gave no RTT sample — its SYN+ACK was retransmitted and no
// timestamp tells which copy was answered — leaves the RTO at 3 s, not 1 s.
// With a sample, the RTO comes from it.
func TestRTOFallbackAfterHandshake(t *testing.T) {
	t.Run("SYN+ACK retransmitted, no timestamps", func(t *testing.T) {
		h := newHarness(t).synReceived()
		h.expectAt(time.Second, "SYN+ACK retransmitted", "S. 1000:1000(0) ack 5001")
		h.advance(100 * time.Millisecond)
		h.in(". 5001:5001(0) ack 1001 win 65535")
		h.wantState(StateEstablished)
		if st := h.c.Status(); st.RTO != 3*time.Second || st.SRTT != 0 {
			t.Fatalf("SRTT %v RTO %v, want no sample and the 3 s fallback", st.SRTT, st.RTO)
		}
		// The first sample replaces the fallback.
		h.send(bytesN(10))
		h.advance(50 * time.Millisecond)
		h.in(". 5001:5001(0) ack 1011 win 65535")
		if st := h.c.Status(); st.SRTT != 50*time.Millisecond || st.RTO != 200*time.Millisecond {
			t.Fatalf("SRTT %v RTO %v after a 50 ms sample", st.SRTT, st.RTO)
		}
	})
	t.Run("SYN+ACK retransmitted, timestamps", func(t *testing.T) {
		h := newHarness(t, withTS)
		h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor})
		h.in("S 5000:5000(0) win 65535 <mss 1460,TS val 100 ecr 0>")
		h.wantOut("SYN+ACK", "S. 1000:1000(0) ack 5001 <mss 1460,TS val 1 ecr 100>")
		h.expectAt(time.Second, "SYN+ACK retransmitted", "S. 1000:1000(0) ack 5001 <mss 1460,TS val 1001 ecr 100>")
		h.advance(100 * time.Millisecond)
		h.in(". 5001:5001(0) ack 1001 <TS val 101 ecr 1001>")
		if st := h.c.Status(); st.SRTT != 100*time.Millisecond || st.RTO != 300*time.Millisecond {
			t.Fatalf("SRTT %v RTO %v, want the echo's 100 ms sample (RTO 100 + 4×50 ms)", st.SRTT, st.RTO)
		}
	})
	t.Run("clean handshake", func(t *testing.T) {
		h := newHarness(t).synReceived()
		h.advance(100 * time.Millisecond)
		h.in(". 5001:5001(0) ack 1001 win 65535")
		if st := h.c.Status(); st.SRTT != 100*time.Millisecond {
			t.Fatalf("SRTT %v RTO %v, want the SYN+ACK's 100 ms sample", st.SRTT, st.RTO)
		}
	})
}

// The initial window after lost SYNs or SYN+ACKs. RFC 5681 §3.1 and RFC
// 6928 §2 say one segment after any retransmission; Linux
// (tcp_init_transfer) cuts it only after more than one, and not when the
// ACK's TSecr shows the first copy was answered (tcp_try_undo_spurious_syn).
// We follow Linux. Before, the window was 10 segments whatever was lost.
func TestInitialWindowAfterLostSyn(t *testing.T) {
	const mss = 1460
	rows := []struct {
		name    string
		passive bool
		retrans int
		ts      bool
		echo    string // the TSecr the answer carries, with ts
		cwnd    int
	}{
		{"active, one SYN retransmission", false, 1, false, "", 10 * mss},
		{"active, two SYN retransmissions", false, 2, false, "", mss},
		{"active, two retransmissions, echo of the last", false, 2, true, "3001", mss - 12},
		{"active, two retransmissions, echo of the first SYN", false, 2, true, "1", 10 * (mss - 12)},
		{"passive, one SYN+ACK retransmission", true, 1, false, "", 10 * mss},
		{"passive, two SYN+ACK retransmissions", true, 2, false, "", mss},
		{"passive, two retransmissions, echo of the first SYN+ACK", true, 2, true, "1", 10 * (mss - 12)},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			mods := []func(*Config){}
			if r.ts {
				mods = append(mods, withTS)
			}
			h := newHarness(t, mods...)
			opts, ackOpts := "<mss 1460>", ""
			if r.ts {
				opts = "<mss 1460,TS val 100 ecr " + r.echo + ">"
				ackOpts = " <TS val 101 ecr " + r.echo + ">"
			}
			if r.passive {
				h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor})
				h.in("S 5000:5000(0) win 65535 " + map[bool]string{false: "<mss 1460>", true: "<mss 1460,TS val 100 ecr 0>"}[r.ts])
			} else {
				h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: ourISS, TSOffset: tsOffsetFor})
			}
			h.advance(time.Second * time.Duration(1<<r.retrans-1))
			if st := h.c.Status(); st.State != map[bool]State{false: StateSynSent, true: StateSynReceived}[r.passive] {
				t.Fatalf("in %v", st.State)
			}
			if r.passive {
				h.in(". 5001:5001(0) ack 1001 win 65535" + ackOpts)
			} else {
				h.in("S. 5000:5000(0) ack 1001 win 65535 " + opts)
			}
			h.wantState(StateEstablished)
			if st := h.c.Status(); st.CWnd != r.cwnd {
				t.Fatalf("cwnd %d after %d retransmissions, want %d", st.CWnd, r.retrans, r.cwnd)
			}
		})
	}
}
