package tcp

import (
	"testing"
	"time"
)

// Segment-level tests of the undo of a spurious reduction (undo.go):
// DSACK-based (RFC 2883, Linux undo_retrans) and timestamp-based (Eifel,
// RFC 3522, Linux tcp_packet_delayed), and the duplicate reports our
// receiver sends (RFC 2883 §4).

// undoEvents returns the causes of the undo events traced so far.
func (h *harness) undoEvents() []Cause {
	var out []Cause
	for _, e := range h.events {
		if e.Kind == EventUndo {
			out = append(out, e.Cause)
		}
	}
	return out
}

// RFC 2883 §4, Linux tcp_try_undo_dsack: segment 1 was only late, not
// lost. RACK took it for lost and fast recovery halved ssthresh; the
// original arrived (the ACK of everything ends recovery) and then the
// retransmission, which the peer reports duplicate. Every retransmission
// of the episode was a duplicate: the reduction is undone, though nothing
// is outstanding any more (Linux tcp_ack, no_queue).
func TestUndoDSACKOfOnlyRetransmission(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "2-4 SACKed: RACK marks 1 lost, recovery", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 1001 <sack 2001:5001>", out: []string{". 1001:2001(1000) ack 5001"}, why: []Cause{CauseRACKLost}},
		{what: "the rest SACKed: nothing more to repair", in: ". 5001:5001(0) ack 1001 <sack 2001:11001>"},
		{what: "the original of 1 arrives: the ACK of all ends recovery", after: time.Millisecond, in: ". 5001:5001(0) ack 11001"},
	})
	if st := h.c.Status(); st.InRecovery || st.CWnd != 5000 || st.SSThresh != 5000 {
		t.Fatalf("after recovery: in recovery %v, cwnd %d, ssthresh %d; want out, 5000, 5000", st.InRecovery, st.CWnd, st.SSThresh)
	}
	h.run([]step{
		{what: "then the retransmission arrives and is reported duplicate", after: 9 * time.Millisecond,
			in: ". 5001:5001(0) ack 11001 <sack 1001:2001>"},
	})
	st, n := h.c.Status(), h.c.Stats()
	if st.CWnd != 10000 || st.SSThresh != NewReno(1000).SSThresh() {
		t.Fatalf("after the DSACK: cwnd %d, ssthresh %d; want 10000 and the initial ssthresh again", st.CWnd, st.SSThresh)
	}
	if n.DSACKUndo != 1 || n.FullUndo != 0 || n.LossUndo != 0 || n.DSACKRecv != 1 {
		t.Fatalf("counters %+v; want one DSACK undo", n.LossStats)
	}
	if u := h.undoEvents(); len(u) != 1 || u[0] != CauseUndoDSACK {
		t.Fatalf("undo events %v, want one for RFC 2883", u)
	}
}

// Linux undo_retrans counts every retransmission of the episode: with
// two holes retransmitted and only one reported duplicate, the other may
// have been lost; the reduction stands.
func TestUndoDSACKOfOneOfTwo(t *testing.T) {
	h := sackEstablished(t)
	h.run([]step{
		{what: "ten segments", send: 10000, out: tenSegments},
		{what: "1 late, 5 lost: 2-4 SACKed, 1 retransmitted", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 1001 <sack 2001:5001>", out: []string{". 1001:2001(1000) ack 5001"}},
		{what: "6 SACKed: PRR holds 5", in: ". 5001:5001(0) ack 1001 <sack 6001:7001,sack 2001:5001>"},
		{what: "7 SACKed: 5 retransmitted", in: ". 5001:5001(0) ack 1001 <sack 6001:8001,sack 2001:5001>",
			out: []string{". 5001:6001(1000) ack 5001"}},
		{what: "the rest SACKed", in: ". 5001:5001(0) ack 1001 <sack 6001:11001,sack 2001:5001>"},
		{what: "the original of 1 arrives", after: time.Millisecond, in: ". 5001:5001(0) ack 5001 <sack 6001:11001>"},
		{what: "the retransmission of 1 is reported duplicate: one of two", in: ". 5001:5001(0) ack 5001 <sack 1001:2001,sack 6001:11001>"},
	})
	if st := h.c.Status(); !st.InRecovery || st.SSThresh != 5000 {
		t.Fatalf("in recovery %v, ssthresh %d; want still in recovery at 5000", st.InRecovery, st.SSThresh)
	}
	h.run([]step{
		{what: "the retransmission of 5 repairs the hole: recovery ends", after: 9 * time.Millisecond, in: ". 5001:5001(0) ack 11001"},
	})
	st, n := h.c.Status(), h.c.Stats()
	if st.CWnd != 5000 || st.SSThresh != 5000 || n.DSACKUndo+n.FullUndo+n.LossUndo != 0 || n.DSACKRecv != 1 {
		t.Fatalf("cwnd %d, ssthresh %d, counters %+v; want the reduction to stand", st.CWnd, st.SSThresh, n.LossStats)
	}
	if u := h.undoEvents(); len(u) != 0 {
		t.Fatalf("undo events %v, want none", u)
	}
}

// tsEstablished is ESTABLISHED with timestamps and segments of 1000 bytes, without
// SACK: our TSval reads milliseconds since the test began, plus one; the
// peer's ACK of the handshake came 10 ms after our SYN+ACK (SRTT 10 ms,
// RTO 200 ms).
func tsEstablished(t *testing.T, mods ...func(*Config)) *harness {
	h := newHarness(t, append([]func(*Config){withTS, func(c *Config) { c.CongestionControl = CongestionReno }}, mods...)...)
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}); err != nil {
		t.Fatal(err)
	}
	h.in("S 5000:5000(0) win 65535 <mss 1012,TS val 100 ecr 0>") // 1000 bytes a segment beside the timestamps
	h.wantOut("SYN+ACK", "S. 1000:1000(0) ack 5001 <mss 1460,TS val 1 ecr 100>")
	h.advance(10 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1001 <TS val 101 ecr 1>")
	h.wantState(StateEstablished)
	return h
}

// RFC 3522 §2 (Linux tcp_try_undo_loss, tcp_packet_delayed): the ACK was
// only delayed. The retransmission timer fires twice (the second time
// the threshold is not lowered again, Linux tcp_enter_loss); then the
// ACK arrives, echoing the original's TSval (11), older than the first
// retransmission's (211): the original arrived, the timeouts were
// spurious, and the window and threshold come back whole.
func TestUndoEifelSpuriousRTO(t *testing.T) {
	h := tsEstablished(t)
	h.send(bytesN(1000))
	h.wantOut("one segment", "P. 1001:2001(1000) ack 5001 <TS val 11 ecr 101>")
	h.expectAt(200*time.Millisecond, "the RTO resends it", "P. 1001:2001(1000) ack 5001 <TS val 211 ecr 101>")
	if st := h.c.Status(); st.CWnd != 1000 || st.SSThresh != 2000 {
		t.Fatalf("after the RTO: cwnd %d, ssthresh %d; want the loss window 1000, ssthresh 2000", st.CWnd, st.SSThresh)
	}
	h.expectAt(400*time.Millisecond, "backed off, again", "P. 1001:2001(1000) ack 5001 <TS val 611 ecr 101>")
	h.advance(5 * time.Millisecond)
	h.in(". 5001:5001(0) ack 2001 <TS val 102 ecr 11>")
	h.wantNone("nothing left to send")
	// The window is back to ten segments, and slow start adds the one
	// this ACK acknowledged (RFC 5681 §3.1: the threshold is back too).
	st, n := h.c.Status(), h.c.Stats()
	if st.CWnd != 11000 || st.SSThresh != NewReno(1000).SSThresh() {
		t.Fatalf("after the ACK: cwnd %d, ssthresh %d; want 10000+1000 and the initial ssthresh", st.CWnd, st.SSThresh)
	}
	if n.LossUndo != 1 || n.SpuriousRTOs != 1 || n.Timeouts != 2 {
		t.Fatalf("counters %+v; want one loss undo of two timeouts", n.LossStats)
	}
	if u := h.undoEvents(); len(u) != 1 || u[0] != CauseUndoEifel {
		t.Fatalf("undo events %v, want one for RFC 3522", u)
	}
}

// The same timeout, answered for the retransmission (the ACK echoes its
// TSval): the original was lost, and the loss window grows by slow start
// (RFC 5681 §3.1) instead.
func TestUndoEifelNotForRetransmission(t *testing.T) {
	h := tsEstablished(t)
	h.send(bytesN(1000))
	h.wantOut("one segment", "P. 1001:2001(1000) ack 5001 <TS val 11 ecr 101>")
	h.expectAt(200*time.Millisecond, "the RTO resends it", "P. 1001:2001(1000) ack 5001 <TS val 211 ecr 101>")
	h.advance(10 * time.Millisecond)
	h.in(". 5001:5001(0) ack 2001 <TS val 102 ecr 211>")
	st, n := h.c.Status(), h.c.Stats()
	if st.CWnd != 2000 || st.SSThresh != 2000 || n.LossUndo != 0 || len(h.undoEvents()) != 0 {
		t.Fatalf("cwnd %d, ssthresh %d, counters %+v; want slow start from the loss window, no undo", st.CWnd, st.SSThresh, n.LossStats)
	}
}

// Without timestamps, DSACK tells too (Linux tcp_try_undo_loss with
// undo_retrans 0): the peer's answer to the retransmission reports it
// duplicate and acknowledges the segment, before the delayed ACK of the
// original arrives.
func TestUndoDSACKSpuriousRTO(t *testing.T) {
	h := sackEstablished(t, func(c *Config) { c.TLP = Off })
	h.run([]step{
		{what: "one segment", send: 1000, out: []string{"P. 1001:2001(1000) ack 5001"}},
	})
	h.expectAt(200*time.Millisecond, "the RTO resends it", "P. 1001:2001(1000) ack 5001")
	h.run([]step{
		{what: "the duplicate reported and the segment acknowledged", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 2001 <sack 1001:2001>"},
		{what: "the delayed ACK of the original, now old", after: 50 * time.Millisecond, in: ". 5001:5001(0) ack 2001"},
	})
	st, n := h.c.Status(), h.c.Stats()
	if st.CWnd != 11000 || n.LossUndo != 1 || n.SpuriousRTOs != 1 || n.DSACKUndo != 0 {
		t.Fatalf("cwnd %d, counters %+v; want 10000 back (and 1000 of slow start) and one loss undo", st.CWnd, n.LossStats)
	}
	if u := h.undoEvents(); len(u) != 1 || u[0] != CauseUndoDSACK {
		t.Fatalf("undo events %v, want one for RFC 2883", u)
	}
}

// A DSACK above what was ever retransmitted is dubious (Linux
// tcp_dsack_seen: dsack_dups > total_retrans): a peer's report of a
// duplicate it made up, or the network's, undoes nothing.
func TestUndoDubiousDSACK(t *testing.T) {
	h := sackEstablished(t, func(c *Config) { c.TLP = Off })
	h.run([]step{
		{what: "three segments", send: 3000, out: []string{". 1001:2001(1000) ack 5001", ". 2001:3001(1000) ack 5001", "P. 3001:4001(1000) ack 5001"}},
	})
	h.expectAt(200*time.Millisecond, "the RTO resends the first", ". 1001:2001(1000) ack 5001")
	h.run([]step{
		{what: "a DSACK of all three: more than was retransmitted", after: 10 * time.Millisecond,
			in:  ". 5001:5001(0) ack 2001 <sack 1001:4001>",
			out: []string{". 2001:3001(1000) ack 5001", "P. 3001:4001(1000) ack 5001"}},
	})
	if n := h.c.Stats(); n.LossUndo+n.DSACKUndo != 0 || n.DSACKRecv != 1 {
		t.Fatalf("counters %+v; want the DSACK counted and ignored", n.LossStats)
	}
}

// RFC 2883 §4: our receiver reports a duplicate first in the ACK that
// answers it: a segment wholly below RCV.NXT, the part of one that
// overlaps it, and data already held out of order (§4.2: the duplicate,
// then the SACK block that holds it).
func TestDSACKSent(t *testing.T) {
	h := sackEstablished(t)
	h.in(". 5001:6001(1000) ack 1001")
	h.advance(h.cfg.DelayedACK)
	h.wantOut("the delayed ACK", ". 1001:1001(0) ack 6001 <>")
	h.in(". 5001:6001(1000) ack 1001")
	h.wantOut("a duplicate: reported", ". 1001:1001(0) ack 6001 <sack 5001:6001>")
	h.in(". 5501:6501(1000) ack 1001")
	h.wantOut("half old, half new: the old half reported, the new acknowledged",
		". 1001:1001(0) ack 6501 <sack 5501:6001>")
	h.in(". 7001:8001(1000) ack 1001")
	h.wantOut("out of order: SACKed", ". 1001:1001(0) ack 6501 <sack 7001:8001>")
	h.in(". 7001:8001(1000) ack 1001")
	h.wantOut("out of order, again: reported, then the block that holds it",
		". 1001:1001(0) ack 6501 <sack 7001:8001,sack 7001:8001>")
	h.in(". 6501:7001(500) ack 1001")
	h.wantOut("the hole filled: nothing left to report", ". 1001:1001(0) ack 8001 <>")
}

// RFC 3522 §2 in fast recovery (Linux tcp_try_undo_recovery, TCPFullUndo):
// segment 1 was only reordered. RACK retransmitted it at 20 ms (TSval
// 21); the ACK that ends recovery echoes TSval 11, the original's: the
// original filled the hole, and the reduction is undone.
func TestUndoEifelFastRecovery(t *testing.T) {
	h := newHarness(t, withTS, func(c *Config) { c.SACK = On; c.CongestionControl = CongestionReno })
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}); err != nil {
		t.Fatal(err)
	}
	h.in("S 5000:5000(0) win 65535 <mss 1012,sackOK,TS val 100 ecr 0>")
	h.wantOut("SYN+ACK", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK,TS val 1 ecr 100>")
	h.advance(10 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1001 <TS val 101 ecr 1>")
	h.run([]step{
		{what: "ten segments, TSval 11", send: 10000, out: tenSegments},
		{what: "2-4 SACKed: RACK marks 1 lost", after: 10 * time.Millisecond,
			in: ". 5001:5001(0) ack 1001 <TS val 102 ecr 11,sack 2001:5001>", out: []string{". 1001:2001(1000) ack 5001 <TS val 21 ecr 102>"}},
		{what: "the rest SACKed", after: time.Millisecond, in: ". 5001:5001(0) ack 1001 <TS val 103 ecr 11,sack 2001:11001>"},
		{what: "the ACK of all echoes the original's TSval", after: time.Millisecond, in: ". 5001:5001(0) ack 11001 <TS val 104 ecr 11>"},
	})
	st, n := h.c.Status(), h.c.Stats()
	if st.InRecovery || st.CWnd != 10000 || st.SSThresh != NewReno(1000).SSThresh() {
		t.Fatalf("in recovery %v, cwnd %d, ssthresh %d; want out, 10000 and the initial ssthresh", st.InRecovery, st.CWnd, st.SSThresh)
	}
	if n.FullUndo != 1 || n.LossUndo+n.DSACKUndo != 0 {
		t.Fatalf("counters %+v; want one full undo", n.LossStats)
	}
	if u := h.undoEvents(); len(u) != 1 || u[0] != CauseUndoEifel {
		t.Fatalf("undo events %v, want one for RFC 3522", u)
	}
}
