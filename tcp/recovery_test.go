package tcp

import (
	"fmt"
	"testing"
	"time"
)

// Segment-level tests of SACK loss recovery: the RFC 6675 scoreboard and
// NextSeg, RACK-TLP (RFC 8985) and PRR (RFC 6937). Each is a script of
// rows, packetdrill-style: time passes, a segment arrives or the
// application writes, and exactly these segments go out, each for this
// rule.

// step is one row: after the delay, the application writes send bytes and
// then in arrives (either may be empty); out is what must go out, and why
// (when set) the rule of each.
type step struct {
	what  string
	after time.Duration
	send  int
	in    string
	out   []string
	why   []Cause
}

func (h *harness) run(steps []step) {
	h.t.Helper()
	for _, s := range steps {
		h.advance(s.after)
		if s.send > 0 {
			h.send(bytesN(s.send))
		}
		if s.in != "" {
			h.in(s.in)
		}
		if s.why != nil {
			if len(h.out) != len(s.why) {
				h.t.Fatalf("%s: %d segments out, want %d", s.what, len(h.out), len(s.why))
			}
			for i, w := range s.why {
				if h.out[i].why != w {
					h.t.Fatalf("%s: segment %d sent for %q, want %q", s.what, i, h.out[i].why, w)
				}
			}
		}
		h.wantOut(s.what, s.out...)
		h.checkInvariants()
		h.checkBoard()
	}
}

// checkBoard asserts the scoreboard's invariants: its ranges sorted,
// disjoint, above SND.UNA and within what was sent, and bounded.
func (h *harness) checkBoard() {
	h.t.Helper()
	c := h.c
	if c.lossState == nil {
		return // nothing SACKed or lost yet
	}
	if len(c.sacked) > maxSACKRanges || len(c.lost) > 2*maxLostRanges {
		h.t.Fatalf("scoreboard over its bounds: %d SACKed, %d lost ranges", len(c.sacked), len(c.lost))
	}
	for _, l := range [][]span{c.sacked, c.lost} {
		for i, r := range l {
			if !r.start.LessThan(r.end) || r.start.LessThan(c.sndUna) || r.end.GreaterThan(c.sndMax) ||
				(i > 0 && !l[i-1].end.LessThan(r.start)) {
				h.t.Fatalf("bad ranges %v (SND.UNA %d, SND.MAX %d)", l, c.sndUna, c.sndMax)
			}
		}
	}
	for _, r := range c.lost {
		if c.coveredSACKed(r.start, r.end) {
			h.t.Fatalf("range %v both SACKed and lost", r)
		}
	}
}

// sackEstablished is ESTABLISHED with SACK, MSS 1000 and an RTT of 10 ms
// measured on the handshake (SRTT 10 ms, RTO clamped to 200 ms).
func sackEstablished(t *testing.T, mods ...func(*Config)) *harness {
	// NewReno's window (ssthresh flight/2, RFC 5681 §3.2): these tests
	// check the recovery rules, not CUBIC's β.
	h := newHarness(t, append([]func(*Config){func(c *Config) { c.SACK = On; c.CongestionControl = CongestionReno }}, mods...)...)
	h.listen()
	h.in("S 5000:5000(0) win 65535 <mss 1000,sackOK>")
	h.wantOut("SYN+ACK", "S. 1000:1000(0) ack 5001")
	h.advance(10 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1001 win 65535")
	h.wantState(StateEstablished)
	if !h.c.sackOK || h.c.Status().SRTT != 10*time.Millisecond {
		t.Fatalf("fixture: SACK %v, SRTT %v", h.c.sackOK, h.c.Status().SRTT)
	}
	return h
}

// tenSegments is the initial window of ten segments, the last pushed
// when it ends what was written.
var tenSegments = tenSegs("P")

func tenSegs(psh string) []string {
	return []string{
		". 1001:2001(1000) ack 5001", ". 2001:3001(1000) ack 5001", ". 3001:4001(1000) ack 5001",
		". 4001:5001(1000) ack 5001", ". 5001:6001(1000) ack 5001", ". 6001:7001(1000) ack 5001",
		". 7001:8001(1000) ack 5001", ". 8001:9001(1000) ack 5001", ". 9001:10001(1000) ack 5001",
		psh + ". 10001:11001(1000) ack 5001",
	}
}

// RFC 8985 §6.2: the first segment is lost. While fewer than DupThresh
// segments are SACKed the reordering window is min_RTT/4 (2.5 ms); from
// the third it is zero, and the hole is lost at once: recovery begins
// with its retransmission (PRR lets out at least one segment, Linux
// tcp_cwnd_reduction), and the rule is RACK's.
func TestRACKMarksLostByDupThresh(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments, the initial window", send: 10000, out: tenSegments},
		{what: "one SACKed: within the reordering window", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 1001 <sack 2001:3001>"},
		{what: "two SACKed", in: ". 5001:5001(0) ack 1001 <sack 2001:4001>"},
		{what: "three SACKed: no reordering window, the hole is lost", in: ". 5001:5001(0) ack 1001 <sack 2001:5001>",
			out: []string{". 1001:2001(1000) ack 5001"}, why: []Cause{CauseRACKLost}},
	})
	st := h.c.Status()
	if !st.InRecovery || st.SSThresh != 5000 || st.Recoveries != 1 || h.c.Stats().SACKRecoveries != 1 {
		t.Fatalf("recovery %v, ssthresh %d, recoveries %d; want in recovery, flight/2 = 5000, 1", st.InRecovery, st.SSThresh, st.Recoveries)
	}
	// pipe: 10000 outstanding - 3000 SACKed (the retransmission is in flight).
	if st.Pipe != 7000 || st.SACKed != 3000 || st.Lost != 0 {
		t.Fatalf("pipe %d, SACKed %d, lost %d; want 7000, 3000, 0", st.Pipe, st.SACKed, st.Lost)
	}
	h.run([]step{
		{what: "the cumulative ACK past RecoveryPoint ends recovery", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 11001"},
	})
	if st := h.c.Status(); st.InRecovery || st.CWnd != 5000 {
		t.Fatalf("after recovery: in recovery %v, cwnd %d; want false, ssthresh 5000", st.InRecovery, st.CWnd)
	}
}

// RFC 8985 §6.3: with one segment SACKed, the hole is lost when its
// reordering window (min_RTT/4 = 2.5 ms after RACK.rtt) has passed: the
// reorder timer fires and the hole is retransmitted without waiting for
// more ACKs or for the RTO.
func TestRACKReorderTimer(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "one SACKed", after: 10 * time.Millisecond, in: ". 5001:5001(0) ack 1001 <sack 2001:3001>"},
	})
	if d, ok := h.c.Deadline(TimerReorder); !ok || d.Sub(h.now) != 2500*time.Microsecond {
		t.Fatalf("reorder timer %v (armed %v), want in 2.5 ms", d.Sub(h.now), ok)
	}
	h.expectAt(2500*time.Microsecond, "the reordering window passed", ". 1001:2001(1000) ack 5001")
	if !h.c.Status().InRecovery {
		t.Fatal("not in recovery after RACK marked a loss")
	}
}

// RFC 8985 §6.2 step 3: a delivery below RACK.fack of a segment never
// retransmitted is reordering; from then on the reordering window stays
// even with DupThresh segments SACKed, so a late segment is not taken
// for lost.
func TestRACKReorderingSeen(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "segment 3 first", after: 10 * time.Millisecond, in: ". 5001:5001(0) ack 1001 <sack 3001:4001>"},
		{what: "segment 2 late: reordering", in: ". 5001:5001(0) ack 1001 <sack 2001:4001>"},
		{what: "DupThresh SACKed, but reordering was seen: wait", in: ". 5001:5001(0) ack 1001 <sack 2001:5001>"},
		{what: "segment 1 arrives within the window", after: time.Millisecond, in: ". 5001:5001(0) ack 5001"},
	})
	if h.c.Stats().Retrans != 0 || h.c.Status().InRecovery {
		t.Fatalf("%d retransmissions, want none: reordering is not loss", h.c.Stats().Retrans)
	}
}

// RFC 6675 with RACK off: IsLost() needs DupThresh SACKed segments above
// a hole; NextSeg (1) retransmits it, with RFC 6675's rule named.
func TestRFC6675IsLost(t *testing.T) {
	h := sackEstablished(t, func(c *Config) { c.RACK = Off })
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "one SACKed", after: 10 * time.Millisecond, in: ". 5001:5001(0) ack 1001 <sack 2001:3001>"},
		{what: "two SACKed", in: ". 5001:5001(0) ack 1001 <sack 2001:4001>"},
		{what: "three SACKed: IsLost", in: ". 5001:5001(0) ack 1001 <sack 2001:5001>",
			out: []string{". 1001:2001(1000) ack 5001"}, why: []Cause{CauseSACKLost}},
	})
	if _, ok := h.c.Deadline(TimerReorder); ok {
		t.Fatal("reorder timer armed with RACK off")
	}
}

// The same with sequence numbers more than 2^31 from zero: outside
// recovery HighRxt means nothing (RFC 6675 §2 defines it for the recovery
// under way), and its zero value, "above" SND.UNA modulo 2^32, must not
// hide the hole from IsLost().
func TestRFC6675IsLostHighSequence(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SACK, c.RACK, c.CongestionControl = On, Off, CongestionReno })
	const iss = 3000000000
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: iss}); err != nil {
		t.Fatal(err)
	}
	h.in("S 5000:5000(0) win 65535 <mss 1000,sackOK>")
	h.wantOut("SYN+ACK", "S. 3000000000:3000000000(0) ack 5001")
	h.advance(10 * time.Millisecond)
	h.in(". 5001:5001(0) ack 3000000001 win 65535")
	h.wantState(StateEstablished)
	var ten []string
	for i := range 10 {
		a := iss + 1 + 1000*i
		flags := "."
		if i == 9 {
			flags = "P."
		}
		ten = append(ten, fmt.Sprintf("%s %d:%d(1000) ack 5001", flags, a, a+1000))
	}
	h.run([]step{
		{what: "ten segments", send: 10000, out: ten},
		{what: "two SACKed", after: 10 * time.Millisecond, in: ". 5001:5001(0) ack 3000000001 <sack 3000001001:3000003001>"},
		{what: "three SACKed: IsLost", in: ". 5001:5001(0) ack 3000000001 <sack 3000001001:3000004001>",
			out: []string{". 3000000001:3000001001(1000) ack 5001"}, why: []Cause{CauseSACKLost}},
	})
}

// RFC 6675 §4: two holes in one window are both repaired in one round
// trip, holes first (lowest first), and a SACKed segment is never resent.
func TestSACKTwoHoles(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "segments 1 and 5 lost; 2-4 SACKed: the first hole is lost", after: 10 * time.Millisecond,
			in:  ". 5001:5001(0) ack 1001 <sack 2001:5001>",
			out: []string{". 1001:2001(1000) ack 5001"}, why: []Cause{CauseRACKLost}},
		{what: "6 SACKed: the second hole is lost too, but pipe (5000) is at ssthresh: PRR holds it",
			in: ". 5001:5001(0) ack 1001 <sack 6001:7001,sack 2001:5001>"},
		{what: "7 SACKed: pipe 4000 < ssthresh, PRR-SSRB lets the second hole go", in: ". 5001:5001(0) ack 1001 <sack 6001:8001,sack 2001:5001>",
			out: []string{". 5001:6001(1000) ack 5001"}, why: []Cause{CauseRACKLost}},
		{what: "both holes repaired in one round trip: the ACK of all ends recovery", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 11001"},
	})
	if st := h.c.Stats(); st.Retrans != 2 || st.SACKRecoveries != 1 || h.c.Status().InRecovery {
		t.Fatalf("%d retransmissions, %d recoveries; want 2 in one recovery, ended", st.Retrans, st.SACKRecoveries)
	}
}

// RFC 6675 §5: the scoreboard takes the SACK blocks of every ACK, an old
// one too (Linux tcp_ack's old_ack): ACKs reordered on the way may carry
// what no later ACK repeats, and a sender that ignored them would resend
// data the peer holds.
func TestSACKOnOldACK(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "the ACK of the first", after: 10 * time.Millisecond, in: ". 5001:5001(0) ack 2001"},
		{what: "an older ACK, overtaken on the way, SACKs the fifth", in: ". 5001:5001(0) ack 1001 <sack 5001:6001>"},
	})
	if st := h.c.Status(); st.SACKed != 1000 || st.SndUna != 2001 {
		t.Fatalf("SACKed %d bytes, SND.UNA %d; want the old ACK's block taken (1000) and SND.UNA kept at 2001", st.SACKed, st.SndUna)
	}
}

// RFC 2883 §4: a first block below the cumulative ACK is a duplicate
// SACK: counted, and not taken as SACK information.
func TestDSACKRecognised(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "two segments", send: 2000, out: []string{". 1001:2001(1000) ack 5001", "P. 2001:3001(1000) ack 5001"}},
		{what: "a DSACK of the first", after: 10 * time.Millisecond, in: ". 5001:5001(0) ack 2001 <sack 1001:2001>"},
	})
	if n := h.c.Stats().DSACKRecv; n != 1 {
		t.Fatalf("DSACKRecv %d, want 1", n)
	}
	if st := h.c.Status(); st.SACKed != 0 {
		t.Fatalf("a DSACK block taken as SACK: %d bytes SACKed", st.SACKed)
	}
}

// RFC 8985 §7.2, as Linux tcp_schedule_loss_probe: with two segments out
// and SRTT 10 ms, the probe timeout is 2·SRTT + 2 ms; the probe resends
// the last segment (there is no new data); then the RTO is armed from
// the probe.
func TestTLPTail(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "two segments", send: 2000, out: []string{". 1001:2001(1000) ack 5001", "P. 2001:3001(1000) ack 5001"}},
	})
	if _, ok := h.c.Deadline(TimerRetransmit); ok {
		t.Fatal("the RTO is armed beside the loss probe (Linux: one timer)")
	}
	h.expectAt(22*time.Millisecond, "the loss probe resends the last segment", ". 2001:3001(1000) ack 5001")
	if h.c.Stats().LossProbes != 1 {
		t.Fatal("probe not counted")
	}
	if d, ok := h.c.Deadline(TimerRetransmit); !ok || d.Sub(h.now) != 200*time.Millisecond {
		t.Fatalf("after the probe the RTO is in %v, want 200 ms", d.Sub(h.now))
	}
	h.run([]step{
		{what: "the probe's ACK SACKs the tail: the first segment is RACK-lost", after: 10 * time.Millisecond,
			in:  ". 5001:5001(0) ack 1001 <sack 2001:3001>",
			out: []string{". 1001:2001(1000) ack 5001"}, why: []Cause{CauseRACKLost}},
	})
}

// Linux tcp_send_loss_probe probes a lone FIN too: with one segment out
// the timeout is 2·SRTT + RTOMin = 220 ms, capped by the RTO (200 ms), so
// the FIN is resent at 200 ms by the probe, not by the RTO, which then
// follows a full RTO later (and backs off).
func TestTLPLoneFIN(t *testing.T) {
	h := sackEstablished(t)
	h.c.Close(h.now)
	h.wantOut("CLOSE sends FIN", "F. 1001:1001(0) ack 5001")
	h.expectAt(200*time.Millisecond, "the loss probe resends the FIN", "F. 1001:1001(0) ack 5001")
	if h.out != nil || h.c.Stats().LossProbes != 1 {
		t.Fatal("probe not counted")
	}
	h.expectAt(200*time.Millisecond, "then the RTO", "F. 1001:1001(0) ack 5001")
	h.expectAt(400*time.Millisecond, "backed off", "F. 1001:1001(0) ack 5001")
	if st := h.c.Stats(); st.LossProbes != 1 || st.Timeouts != 2 {
		t.Fatalf("%d probes, %d timeouts; want one probe then RTOs", st.LossProbes, st.Timeouts)
	}
}

// With TLP off (Config.TLP, Linux tcp_early_retrans), the RTO alone
// watches a tail.
func TestTLPOff(t *testing.T) {
	h := sackEstablished(t, func(c *Config) { c.TLP = Off })
	h.c.Close(h.now)
	h.wantOut("CLOSE sends FIN", "F. 1001:1001(0) ack 5001")
	h.expectAt(200*time.Millisecond, "the RTO resends the FIN", "F. 1001:1001(0) ack 5001")
	if _, ok := h.c.Deadline(TimerLossProbe); ok || h.c.Stats().LossProbes != 0 {
		t.Fatal("a probe with TLP off")
	}
}

// RFC 8985 §7.3: when new data waits (held back by the congestion window),
// the probe sends one new segment rather than resending.
func TestTLPNewData(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{{what: "eleven segments' worth: ten go", send: 11000, out: tenSegs("")}})
	h.expectAt(22*time.Millisecond, "the probe sends new data past the congestion window", "P. 11001:12001(1000) ack 5001")
	if h.c.Stats().Retrans != 0 {
		t.Fatal("a new-data probe counted as a retransmission")
	}
}

// RFC 6675 §5.1: after an RTO, go-back-N resends from SND.UNA but skips
// what the peer SACKed.
func TestRTOSkipsSACKed(t *testing.T) {
	h := sackEstablished(t, func(c *Config) { c.TLP = Off; c.RACK = Off })
	h.run([]step{
		{what: "four segments", send: 4000, out: []string{". 1001:2001(1000) ack 5001", ". 2001:3001(1000) ack 5001",
			". 3001:4001(1000) ack 5001", "P. 4001:5001(1000) ack 5001"}},
		{what: "segment 2 SACKed", after: 10 * time.Millisecond, in: ". 5001:5001(0) ack 1001 <sack 2001:3001>"},
	})
	h.expectAt(190*time.Millisecond, "RTO: the first segment", ". 1001:2001(1000) ack 5001")
	h.run([]step{
		{what: "its ACK: slow start from one segment resends 3 and 4, not the SACKed 2", after: 10 * time.Millisecond,
			in:  ". 5001:5001(0) ack 2001 <sack 2001:3001>",
			out: []string{". 3001:4001(1000) ack 5001", "P. 4001:5001(1000) ack 5001"}},
	})
}

// RFC 6937 §3: in recovery PRR lets out about ssthresh/RecoverFS of what
// is delivered while pipe > ssthresh: here half, one new segment for
// every two delivered.
func TestPRRProportional(t *testing.T) {
	h := sackEstablished(t, func(c *Config) { c.SndBuf = 1 << 20 })
	steps := []step{
		{what: "ten segments go, ten wait", send: 20000, out: tenSegs("")},
		{what: "three SACKed: recovery, the hole first", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 1001 <sack 2001:5001>", out: []string{". 1001:2001(1000) ack 5001"}},
	}
	h.run(steps)
	sent := 0
	for i := 6; i <= 11; i++ {
		h.in(". 5001:5001(0) ack 1001 <sack 2001:" + u32(int64(i)*1000+1) + ">")
		sent += len(h.out)
		h.out = nil
	}
	// Six segments delivered after the entry: prr_delivered 1000+6000, so
	// CEIL(7000·5000/10000) = 3500 allows three whole segments in all
	// (prr_out), the retransmission being the first: two more.
	if sent < 2 || sent > 4 {
		t.Fatalf("%d segments sent for 6 delivered in recovery, want about half", sent)
	}
	if st := h.c.Status(); st.Pipe > st.SSThresh+1000 {
		t.Fatalf("pipe %d, ssthresh %d: PRR should bring pipe down to ssthresh", st.Pipe, st.SSThresh)
	}
}

// RFC 6675 §4 NextSeg (4): with no new data and the lost hole repaired,
// one rescue retransmission of the highest unSACKed segment per recovery.
func TestRescueRetransmission(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "1 and 10 lost: 2-9 SACKed, recovery", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 1001 <sack 2001:5001>", out: []string{". 1001:2001(1000) ack 5001"}},
	})
	var whys []Cause
	for i := 6; i <= 10; i++ {
		h.in(". 5001:5001(0) ack 1001 <sack 2001:" + u32(int64(i)*1000+1) + ">")
		for _, o := range h.out {
			whys = append(whys, o.why)
		}
		h.out = nil
	}
	rescues := 0
	for _, w := range whys {
		if w == CauseRescue {
			rescues++
		}
	}
	if rescues != 1 {
		t.Fatalf("rescue retransmissions %d (%v), want exactly one", rescues, whys)
	}
}

// The scoreboard stays within its bound however many holes the peer
// reports: a receiver SACKing every other segment of a large window.
func TestScoreboardBounded(t *testing.T) {
	h := sackEstablished(t, func(c *Config) { c.SndBuf = 1 << 20; c.RACK = Off })
	h.c.cc = NewReno(1000)
	for range 10 {
		h.c.cc.OnAck(Ack{Acked: 100000}) // a large window without a long slow start (NewReno grows on Acked alone)
	}
	h.send(bytesN(200000))
	h.out = nil
	n := int(h.c.sndUna.Size(h.c.sndMax)) / 1000
	for i := 1; i < n; i += 2 {
		l := 1001 + i*1000
		h.in(". 5001:5001(0) ack 1001 <sack " + u32(int64(l)) + ":" + u32(int64(l+1000)) + ">")
		h.checkBoard()
	}
	if len(h.c.sacked) > maxSACKRanges {
		t.Fatalf("%d ranges", len(h.c.sacked))
	}
}

// The loss state is out of line and made when first needed (lossState):
// an idle connection has none, nor one without SACK whose data is all
// acknowledged in order; a RACK sender makes it with its first segment
// (RFC 8985 §6.1 times every segment); without SACK a duplicate ACK
// makes it.
func TestLossStateOnlyWhenNeeded(t *testing.T) {
	h := sackEstablished(t)
	if h.c.lossState != nil {
		t.Fatal("an idle connection holds a loss state")
	}
	h.run([]step{{what: "one segment", send: 1000, out: []string{"P. 1001:2001(1000) ack 5001"}}})
	if h.c.lossState == nil {
		t.Fatal("RACK sent a segment without timing it")
	}

	h = newHarness(t)
	h.listen()
	h.in("S 5000:5000(0) win 65535 <mss 1000>")
	h.advance(10 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1001 win 65535")
	h.wantOut("SYN+ACK", "S. 1000:1000(0) ack 5001")
	h.send(bytesN(2000))
	h.wantOut("two segments", ". 1001:2001(1000) ack 5001", "P. 2001:3001(1000) ack 5001")
	h.in(". 5001:5001(0) ack 2001")
	h.in(". 5001:5001(0) ack 3001")
	if h.c.lossState != nil || h.c.Stats().Timeouts != 0 {
		t.Fatal("a connection without SACK or loss holds a loss state")
	}
	h.send(bytesN(2000))
	h.wantOut("two more", ". 3001:4001(1000) ack 5001", "P. 4001:5001(1000) ack 5001")
	h.in(". 5001:5001(0) ack 3001")
	if h.c.lossState == nil {
		t.Fatal("a duplicate ACK was not counted (RFC 5681 §3.2)")
	}
}
