package tcp

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/synack/synack/wire"
)

// pattern is what parseSeg puts in a payload starting at sequence number
// start: the harness's segments carry their own position.
func pattern(start uint32, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + (int(start)+i)%26)
	}
	return p
}

// Out-of-order data is held and reassembled: whatever the arrival order,
// the application reads the bytes in sequence order.
func TestReassembly(t *testing.T) {
	orders := [][]string{
		{"5001:5101", "5101:5201", "5201:5301", "5301:5401"},
		{"5301:5401", "5201:5301", "5101:5201", "5001:5101"},
		{"5101:5201", "5301:5401", "5001:5101", "5201:5301"},
		{"5101:5351", "5201:5301", "5001:5151", "5301:5401"}, // overlapping pieces
	}
	for _, order := range orders {
		t.Run(order[0]+"…", func(t *testing.T) {
			h := newHarness(t).established()
			for _, r := range order {
				var a, b uint32
				parseRange(t, r, &a, &b)
				h.in("P. " + r + "(" + u32(int64(b-a)) + ") ack 1001")
				h.checkInvariants()
			}
			got, err := h.read()
			if err != nil || !bytes.Equal(got, pattern(5001, 400)) {
				t.Fatalf("read %d bytes %q, %v; want the 400 bytes in order", len(got), got, err)
			}
			h.advance(time.Second)
			if len(h.out) == 0 || h.out[len(h.out)-1].seg.Ack != 5401 {
				t.Fatalf("the last ACK sent is %v, want ack 5401", h.out)
			}
		})
	}
}

func parseRange(t *testing.T, r string, a, b *uint32) {
	if _, err := fmt.Sscanf(r, "%d:%d", a, b); err != nil {
		t.Fatal(err)
	}
}

// A FIN that arrives ahead of a gap is held until the gap is filled: only
// then does the connection enter CLOSE-WAIT and RECEIVE report EOF.
func TestOutOfOrderFinHeld(t *testing.T) {
	t.Run("bare FIN ahead of the data", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("F. 5201:5201(0) ack 1001")
		h.wantOut("an out-of-order FIN gets a duplicate ACK", ". 1001:1001(0) ack 5001")
		h.wantState(StateEstablished)
		h.in("P. 5101:5201(100) ack 1001")
		h.wantOut("still a hole", ". 1001:1001(0) ack 5001")
		h.wantState(StateEstablished)
		h.in("P. 5001:5101(100) ack 1001")
		h.wantState(StateCloseWait)
		h.wantOut("the hole is filled: ACK covers the data and the FIN", ". 1001:1001(0) ack 5202")
		got, err := h.read()
		if !bytes.Equal(got, pattern(5001, 200)) || err != io.EOF {
			t.Fatalf("read %d bytes, %v; want 200 then EOF", len(got), err)
		}
	})
	t.Run("data with FIN ahead of the data", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("FP. 5101:5201(100) ack 1001")
		h.wantOut("duplicate ACK", ". 1001:1001(0) ack 5001")
		if _, err := h.c.Receive(h.now, make([]byte, 10)); err != nil {
			t.Fatalf("RECEIVE with nothing in order: %v, want nothing and no error", err)
		}
		h.in("P. 5001:5101(100) ack 1001")
		h.wantState(StateCloseWait)
		got, err := h.read()
		if len(got) != 200 || err != io.EOF {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
	})
	t.Run("in FIN-WAIT-2 the held FIN leads to TIME-WAIT", func(t *testing.T) {
		h := newHarness(t).finWait2()
		h.in("F. 5101:5101(0) ack 1002")
		h.wantOut("duplicate ACK", ". 1002:1002(0) ack 5001")
		h.in("P. 5001:5101(100) ack 1002")
		h.wantOut("data and FIN ACKed", ". 1002:1002(0) ack 5102")
		h.wantState(StateTimeWait)
	})
	t.Run("a FIN beyond the window is not held", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("F. 70536:70536(0) ack 1001")
		h.wantOut("out of window", ". 1001:1001(0) ack 5001")
		h.in("P. 5001:5101(100) ack 1001")
		h.wantState(StateEstablished)
	})
}

// MaxOutOfOrder bounds the ranges held ahead of RCV.NXT: beyond it,
// segments are dropped (and ACKed), never kept.
func TestMaxOutOfOrder(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxOutOfOrder = 2 }).established()
	h.in("P. 5101:5201(100) ack 1001")
	h.in("P. 5301:5401(100) ack 1001")
	h.in("P. 5501:5601(100) ack 1001")
	h.wantOut("each out-of-order segment is ACKed at once", ". 1001:1001(0) ack 5001", ". 1001:1001(0) ack 5001", ". 1001:1001(0) ack 5001")
	h.checkInvariants()
	h.in("P. 5351:5451(100) ack 1001")
	h.wantOut("extending a held range is fine", ". 1001:1001(0) ack 5001")
	h.in("P. 5001:5101(100) ack 1001")
	h.in("P. 5201:5301(100) ack 1001")
	h.wantOut("holes filled", ". 1001:1001(0) ack 5201", ". 1001:1001(0) ack 5451")
	h.in("P. 5451:5601(150) ack 1001")
	got, _ := h.read()
	if !bytes.Equal(got, pattern(5001, 600)) {
		t.Fatalf("read %d bytes; the third range was dropped and had to come again", len(got))
	}
	h.checkInvariants()
}

// RFC 5681 §3.2, RFC 6582 §3.2: the third duplicate ACK retransmits the
// first unacknowledged segment at once and starts NewReno fast recovery; a
// partial ACK retransmits the next hole; further duplicate ACKs inflate the
// window; a full ACK ends recovery with cwnd = ssthresh.
func TestFastRetransmitNewReno(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CongestionControl = CongestionReno }).established()
	h.send(bytesN(5 * 1460))
	h.wantOut("five segments", ". 1001:2461(1460) ack 5001", ". 2461:3921(1460) ack 5001", ". 3921:5381(1460) ack 5001",
		". 5381:6841(1460) ack 5001", "P. 6841:8301(1460) ack 5001")
	h.in(". 5001:5001(0) ack 1001")
	h.in(". 5001:5001(0) ack 1001")
	h.wantNone("two duplicate ACKs: nothing yet")
	h.in(". 5001:5001(0) ack 1001 win 60000")
	h.wantNone("an ACK with a new window is not a duplicate")
	h.in(". 5001:5001(0) ack 1001 win 60000")
	h.wantOut("the third duplicate ACK: fast retransmit", ". 1001:2461(1460) ack 5001")
	st := h.c.Status()
	if st.SSThresh != 3650 {
		t.Fatalf("ssthresh %d, want flight/2 = 3650", st.SSThresh)
	}
	h.send(bytesN(1460))
	h.wantNone("recovery window ssthresh+3·MSS = 8030 less 7300 in flight: not a full segment")
	h.in(". 5001:5001(0) ack 1001 win 60000")
	h.wantOut("a fourth duplicate inflates the window by one MSS: new data", "P. 8301:9761(1460) ack 5001")
	h.in(". 5001:5001(0) ack 2461 win 60000")
	h.wantOut("a partial ACK retransmits the next hole at once", ". 2461:3921(1460) ack 5001")
	h.in(". 5001:5001(0) ack 8301 win 60000")
	h.wantNone("the full ACK of what was outstanding ends recovery")
	if st := h.c.Status(); st.CWnd != 3650 {
		t.Fatalf("cwnd %d after recovery, want ssthresh 3650", st.CWnd)
	}
	h.in(". 5001:5001(0) ack 1001 win 60000")
	h.in(". 5001:5001(0) ack 1001 win 60000")
	h.in(". 5001:5001(0) ack 1001 win 60000")
	h.wantNone("old ACKs below SND.UNA are not duplicates")
	if st := h.c.Stats(); st.Retrans != 2 {
		t.Fatalf("%d retransmissions, want 2", st.Retrans)
	}
}

// RFC 6582 §3.2 step 1: "recover" starts at the ISS, so fast retransmit
// works whatever the ISS, including one in the upper half of the sequence
// space.
func TestFastRetransmitHighISS(t *testing.T) {
	const iss = 0x90000000
	h := newHarness(t)
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: iss}); err != nil {
		t.Fatal(err)
	}
	h.in("S 5000:5000(0) <mss 1000>")
	h.in(". 5001:5001(0) ack " + u32(iss+1))
	h.wantState(StateEstablished)
	h.out = nil
	h.send(bytesN(4000))
	if len(h.out) != 4 {
		t.Fatalf("sent %d segments, want 4", len(h.out))
	}
	h.out = nil
	for range 3 {
		h.in(". 5001:5001(0) ack " + u32(iss+1))
	}
	h.wantOut("fast retransmit", ". "+u32(iss+1)+":"+u32(iss+1001)+"(1000) ack 5001")
}

// RFC 6298 §2: the first RTT sample R sets SRTT = R, RTTVAR = R/2,
// RTO = SRTT + 4·RTTVAR; later samples with alpha = 1/8, beta = 1/4; the
// RTO is clamped to [RTOMin, RTOMax]; before any sample it is RTOInitial.
func TestRTTEstimation(t *testing.T) {
	h := newHarness(t).synSent()
	if st := h.c.Status(); st.RTO != time.Second || st.SRTT != 0 {
		t.Fatalf("before a sample: RTO %v SRTT %v, want 1s and none", st.RTO, st.SRTT)
	}
	h.advance(100 * time.Millisecond)
	h.in("S. 5000:5000(0) ack 1001 <mss 1460>")
	st := h.c.Status()
	if st.SRTT != 100*time.Millisecond || st.RTTVar != 50*time.Millisecond || st.RTO != 300*time.Millisecond {
		t.Fatalf("first sample 100ms: SRTT %v RTTVAR %v RTO %v, want 100ms 50ms 300ms", st.SRTT, st.RTTVar, st.RTO)
	}
	h.out = nil
	h.send(bytesN(10))
	h.advance(300 * time.Millisecond)
	h.wantOut("data, then its retransmission at the 300 ms RTO", "P. 1001:1011(10) ack 5001", "P. 1001:1011(10) ack 5001")
	h.advance(100 * time.Millisecond)
	h.in(". 5001:5001(0) ack 1011")
	if st := h.c.Status(); st.SRTT != 100*time.Millisecond {
		t.Fatalf("Karn's rule: the ACK of a retransmitted segment is not a sample; SRTT %v", st.SRTT)
	}
	h.send(bytesN(10))
	h.wantOut("new data", "P. 1011:1021(10) ack 5001")
	h.advance(250 * time.Millisecond)
	h.wantNone("answered before the RTO")
	h.in(". 5001:5001(0) ack 1021")
	st = h.c.Status()
	// RTTVAR = 3/4·50 + 1/4·|100-250| = 75; SRTT = 7/8·100 + 1/8·250 = 118.75.
	if st.SRTT != 118750*time.Microsecond || st.RTTVar != 75*time.Millisecond || st.RTO != 418750*time.Microsecond {
		t.Fatalf("second sample 250ms: SRTT %v RTTVAR %v RTO %v, want 118.75ms 75ms 418.75ms", st.SRTT, st.RTTVar, st.RTO)
	}
}

// RFC 6298 §2.4, §2.5: the RTO never goes below RTOMin nor above RTOMax.
func TestRTOClamp(t *testing.T) {
	h := newHarness(t).synSent()
	h.advance(time.Millisecond)
	h.in("S. 5000:5000(0) ack 1001")
	if st := h.c.Status(); st.RTO != 200*time.Millisecond {
		t.Fatalf("RTO %v for a 1 ms RTT, want the 200 ms minimum", st.RTO)
	}
	h = newHarness(t, func(c *Config) { c.RTOMax = 2 * time.Second; c.RTOInitial = 10 * time.Second })
	h.synSent()
	if st := h.c.Status(); st.RTO != 2*time.Second {
		t.Fatalf("RTO %v, want RTOInitial capped at RTOMax", st.RTO)
	}
	h.advance(1500 * time.Millisecond)
	h.in("S. 5000:5000(0) ack 1001")
	if st := h.c.Status(); st.RTO != 2*time.Second {
		t.Fatalf("RTO %v for a 1.5 s RTT, want the 2 s maximum", st.RTO)
	}
}

// Sequence numbers wrap modulo 2^32 (RFC 9293 §3.4) on both sides.
func TestSequenceWrap(t *testing.T) {
	const iss = 0xfffffc00 // 1024 before the wrap
	h := newHarness(t)
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: iss}); err != nil {
		t.Fatal(err)
	}
	h.in("S 4294967000:4294967000(0) <mss 1000>")
	h.wantOut("SYN+ACK", "S. "+u32(iss)+":"+u32(iss)+"(0) ack 4294967001")
	h.in(". 4294967001:4294967001(0) ack " + u32(iss+1))
	h.wantState(StateEstablished)
	h.send(bytesN(3000))
	h.wantOut("three segments across the wrap",
		". 4294966273:4294967273(1000) ack 4294967001",
		". 4294967273:977(1000) ack 4294967001",
		"P. 977:1977(1000) ack 4294967001")
	h.inSeg(wire.Segment{Seq: 4294967001, Ack: 1977, Flags: wire.FlagACK, Wnd: 65535, Payload: pattern(0, 600)})
	h.wantNone("600 bytes across the peer's wrap in one segment: its ACK is delayed")
	h.advance(40 * time.Millisecond)
	h.wantOut("the delayed ACK names a sequence number past the wrap", ". 1977:1977(0) ack "+u32(4294967001+600))
	if h.c.Unsent() != 0 || h.c.Readable() != 600 {
		t.Fatalf("unsent %d readable %d", h.c.Unsent(), h.c.Readable())
	}
	h.checkInvariants()
}

// A fast retransmission of the last segment carries the FIN that rode on
// it.
func TestFastRetransmitWithFin(t *testing.T) {
	h := newHarness(t).established()
	h.in(". 5001:5001(0) ack 1001 win 1460")
	h.send(bytesN(2 * 1460))
	h.wantOut("one segment fits the window", ". 1001:2461(1460) ack 5001")
	h.c.Close(h.now)
	h.wantNone("the rest and the FIN wait for the window")
	h.in(". 5001:5001(0) ack 2461")
	h.wantOut("the FIN rides on the last segment", "FP. 2461:3921(1460) ack 5001")
	for range 3 {
		h.in(". 5001:5001(0) ack 2461")
	}
	h.wantOut("the third duplicate ACK retransmits data and FIN", "F. 2461:3921(1460) ack 5001")
	h.in(". 5001:5001(0) ack 3922")
	h.wantState(StateFinWait2)
}

// A retransmission of data already received, now carrying the FIN the
// first copy lacked: the duplicate part is ACKed at once and the FIN taken.
func TestDuplicateDataWithFin(t *testing.T) {
	h := newHarness(t).established()
	h.in("P. 5001:5101(100) ack 1001")
	h.in("FP. 5001:5101(100) ack 1001")
	h.wantOut("ACK at once for the duplicate, covering the FIN", ". 1001:1001(0) ack 5102")
	h.wantState(StateCloseWait)
	got, err := h.read()
	if len(got) != 100 || err != io.EOF {
		t.Fatalf("read %d, %v; the data once, then EOF", len(got), err)
	}
}

// The peer's FIN fixes where its data ends: data a peer sends beyond a FIN
// that is being held for a gap is not data, and must neither be delivered
// nor hide the FIN; nor does anything held beyond the FIN outlive it.
func TestNothingBeyondFin(t *testing.T) {
	t.Run("data beyond a held FIN", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("F. 5050:5050(0) ack 1001")
		h.wantOut("out-of-order FIN: duplicate ACK", ". 1001:1001(0) ack 5001")
		h.in("P. 5050:5100(50) ack 1001")
		h.wantOut("data beyond the FIN is not kept", ". 1001:1001(0) ack 5001")
		h.in("P. 5001:5050(49) ack 1001")
		h.wantOut("the gap is filled: data and FIN ACKed", ". 1001:1001(0) ack 5051")
		h.wantState(StateCloseWait)
		got, err := h.read()
		if !bytes.Equal(got, pattern(5001, 49)) || err != io.EOF {
			t.Fatalf("read %d bytes, %v; want the 49 bytes before the FIN, then EOF", len(got), err)
		}
	})
	t.Run("a FIN before data held out of order", func(t *testing.T) {
		h := newHarness(t).established()
		h.in("FP. 5002:5050(48) ack 1001")
		h.wantOut("out of order", ". 1001:1001(0) ack 5001")
		h.in("F. 5001:5001(0) ack 1001")
		h.wantState(StateCloseWait)
		h.checkInvariants()
		if h.c.Readable() != 0 || !h.c.EOF() {
			t.Fatalf("readable %d, EOF %v: nothing after the FIN is data", h.c.Readable(), h.c.EOF())
		}
	})
}

// RFC 5681 §4.2: a segment beyond a hole is answered at once with a
// duplicate ACK, and the trace names that rule; the segment that fills the
// hole is answered at once too, as an ordinary ACK of new data.
func TestOutOfOrderACKCause(t *testing.T) {
	h := newHarness(t).established()
	h.in("P. 5101:5201(100) ack 1001")
	if len(h.out) != 1 || h.out[0].why != CauseOutOfOrder {
		t.Fatalf("%d segments out; want one duplicate ACK for %q", len(h.out), CauseOutOfOrder)
	}
	h.wantOut("a duplicate ACK at once", ". 1001:1001(0) ack 5001")
	h.in("P. 5001:5101(100) ack 1001")
	if len(h.out) != 1 || h.out[0].why != CauseAck {
		t.Fatalf("%d segments out; want one ACK of the filled hole for %q", len(h.out), CauseAck)
	}
	h.wantOut("the hole filled: ACK at once", ". 1001:1001(0) ack 5201")
}
