package tcp

import (
	"syscall"
	"testing"
	"time"
)

// RFC 9293 §3.10.7.4 in ESTABLISHED, with RFC 5961: SND.UNA = SND.NXT =
// 1001, RCV.NXT = 5001, RCV.WND = 65535, MAX.SND.WND = 65535.
func TestEstablishedArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.established() }, []arrival{
		{what: "a SYN in the window gets a challenge ACK and changes nothing (RFC 5961 §4.2)",
			in: "S 5100:5100(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "a SYN left of the window gets an ACK as well",
			in: "S 4000:4000(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "a retransmitted SYN+ACK (our ACK was lost) is left of the window and gets an ACK",
			in: "S. 5000:5000(0) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "an acceptable ACK needs no answer",
			in: ". 5001:5001(0) ack 1001", state: StateEstablished},
		{what: "an ACK slightly older than SND.UNA but within MAX.SND.WND is ignored silently",
			in: ". 5001:5001(0) ack 1000", state: StateEstablished},
		{what: "an ACK of data never sent is answered with an ACK and dropped",
			in: ". 5001:5001(0) ack 2001", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "an ACK older than SND.UNA - MAX.SND.WND is answered with an ACK and dropped (RFC 5961 §5.2)",
			in: ". 5001:5001(0) ack " + u32(1001-65535-1), out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "an ACK exactly SND.UNA - MAX.SND.WND is still acceptable",
			in: ". 5001:5001(0) ack " + u32(1001-65535), state: StateEstablished},
		{what: "a RST at RCV.NXT resets the connection: ECONNRESET",
			in: "R 5001:5001(0)", state: StateClosed, err: syscall.ECONNRESET, cause: CauseRSTReset},
		{what: "a RST+ACK at RCV.NXT resets it too",
			in: "R. 5001:5001(0) ack 1001", state: StateClosed, err: syscall.ECONNRESET},
		{what: "a RST in the window but not at RCV.NXT gets a challenge ACK (RFC 5961 §3.2)",
			in: "R 5100:5100(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "a RST at the last sequence number of the window is in it: challenge ACK",
			in: "R 70535:70535(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "a RST just right of the window is dropped silently",
			in: "R 70536:70536(0)", state: StateEstablished},
		{what: "a RST left of the window is dropped silently",
			in: "R 5000:5000(0)", state: StateEstablished},
		{what: "a FIN enters CLOSE-WAIT; its ACK is delayed so that our FIN may carry it",
			in: "F. 5001:5001(0) ack 1001", state: StateCloseWait, cause: CauseFinInEstab},
		{what: "a FIN without ACK is dropped at the fifth step",
			in: "F 5001:5001(0)", state: StateEstablished},
		{what: "data in the window is delivered and its ACK delayed",
			in: "P. 5001:5101(100) ack 1001", state: StateEstablished, read: 100},
		{what: "data without ACK is dropped",
			in: "P 5001:5101(100)", state: StateEstablished},
		{what: "data wholly left of the window is a duplicate: ACK at once, nothing delivered",
			in: "P. 4901:5001(100) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "data overlapping RCV.NXT is trimmed: the new part is delivered",
			in: "P. 4951:5051(100) ack 1001", state: StateEstablished, read: 50},
		{what: "data right of the window is answered with an ACK and dropped",
			in: "P. 70536:70636(100) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "data running past the right edge is trimmed to the window and ACKed at once",
			in: "P. 70500:70600(100) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "out-of-order data in the window is held and a duplicate ACK sent at once (RFC 5681 §4.2)",
			in: "P. 5101:5201(100) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "data with FIN is delivered and the connection enters CLOSE-WAIT",
			in: "FP. 5001:5101(100) ack 1001", state: StateCloseWait, read: 100},
		{what: "data with FIN right of the window: ACK, nothing delivered, no FIN",
			in: "FP. 70536:70636(100) ack 1001", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
	})
}

// The ACK-too-old limit follows MAX.SND.WND, the largest window the peer
// ever offered, not its current one (RFC 5961 §5.2).
func TestEstablishedAckTooOldUsesMaxWindow(t *testing.T) {
	h := newHarness(t).established()
	h.in(". 5001:5001(0) ack 1001 win 100")
	h.wantNone("a smaller window")
	h.in(". 5001:5001(0) ack " + u32(1001-60000))
	h.wantNone("60000 before SND.UNA is within the largest window seen")
	h.advance(time.Second)
	h.in(". 5001:5001(0) ack " + u32(1001-65536))
	h.wantOut("65536 before is not", ". 1001:1001(0) ack 5001")
}

// RFC 9293 §3.10.7.4: an old ACK (SEG.ACK < SND.UNA) is ignored and must
// not update the send window; only SND.UNA =< SEG.ACK =< SND.NXT does.
func TestEstablishedOldAckDoesNotUpdateWindow(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoDelay = true }).established()
	h.send(bytesN(100))
	h.wantOut("data", "P. 1001:1101(100) ack 5001")
	h.in("P. 5001:5011(10) ack 1101 win 65535")
	h.wantNone("all acknowledged; the data's ACK is delayed")
	// Newer SEQ (so SND.WL1 < SEG.SEQ) but an ACK older than SND.UNA.
	h.in("P. 5011:5021(10) ack 1001 win 0")
	h.wantOut("second segment: ACK at once", ". 1101:1101(0) ack 5021")
	h.send(bytesN(10))
	h.wantOut("the window is still open: the old ACK's zero window was ignored", "P. 1101:1111(10) ack 5021")
}

// RFC 9293 §3.10.7.4, SND.WL1/SND.WL2: the window is taken from the newest
// segment; an older one (lower SEQ) does not shrink it.
func TestEstablishedWindowUpdateOrder(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NoDelay = true }).established()
	h.in("P. 5011:5021(10) ack 1001 win 65535")
	h.wantOut("out of order: duplicate ACK", ". 1001:1001(0) ack 5001")
	h.in("P. 5001:5011(10) ack 1001 win 0")
	h.wantOut("the hole is filled: ACK at once", ". 1001:1001(0) ack 5021")
	h.send(bytesN(10))
	h.wantOut("the segment with SEG.SEQ < SND.WL1 did not close the window", "P. 1001:1011(10) ack 5021")
}

// A zero-length segment at RCV.NXT is acceptable when the receive window
// is zero; anything with data is not, but its ACK is still processed
// (RFC 9293 §3.10.7.4: "special allowance should be made to accept valid
// ACKs, URGs, and RSTs").
func TestEstablishedZeroReceiveWindow(t *testing.T) {
	mod := func(c *Config) { c.RcvBuf = 1000; c.MSS = 500; c.NoDelay = true }
	fill := func(h *harness) {
		h.established()
		h.in("P. 5001:6001(1000) ack 1001")
		h.expectAt(40*time.Millisecond, "the delayed ACK advertises the zero window", ". 1001:1001(0) ack 6001 win 0")
	}
	runArrivals(t, fill, []arrival{
		{what: "zero window: an empty ACK at RCV.NXT is acceptable",
			in: ". 6001:6001(0) ack 1001", state: StateEstablished, read: 1000},
		{what: "zero window: an empty ACK anywhere else is not, and is answered with an ACK",
			in: ". 6002:6002(0) ack 1001", out: []string{". 1001:1001(0) ack 6001 win 0"}, state: StateEstablished, read: 1000},
		{what: "zero window: data at RCV.NXT is not kept; the ACK says so at once",
			in: "P. 6001:6101(100) ack 1001", out: []string{". 1001:1001(0) ack 6001 win 0"}, state: StateEstablished, read: 1000},
		{what: "zero window: data beyond RCV.NXT is unacceptable",
			in: "P. 6101:6201(100) ack 1001", out: []string{". 1001:1001(0) ack 6001 win 0"}, state: StateEstablished, read: 1000},
		{what: "zero window: a RST at RCV.NXT is still acceptable",
			in: "R 6001:6001(0)", state: StateClosed, err: syscall.ECONNRESET},
		{what: "zero window: a RST anywhere else is dropped",
			in: "R 6002:6002(0)", state: StateEstablished, read: 1000},
		{what: "zero window: a bare FIN at RCV.NXT is accepted, as Linux does (it needs no buffer)",
			in: "F. 6001:6001(0) ack 1001", state: StateCloseWait, read: 1000},
	}, mod)

	t.Run("ACK in a zero-window data segment is processed", func(t *testing.T) {
		h := newHarness(t, mod)
		fill(h)
		h.send(bytesN(10))
		h.wantOut("our data", "P. 1001:1011(10) ack 6001 win 0")
		h.in("P. 6001:6101(100) ack 1011")
		h.wantOut("the data is refused", ". 1011:1011(0) ack 6001 win 0")
		if h.c.Unsent() != 0 {
			t.Fatalf("the ACK riding on refused data was not processed: %d unacknowledged", h.c.Unsent())
		}
		h.wantTimers()
	})
	t.Run("reading opens the window and sends an update", func(t *testing.T) {
		h := newHarness(t, mod)
		fill(h)
		b, _ := h.read()
		if len(b) != 1000 {
			t.Fatalf("read %d", len(b))
		}
		h.wantOut("the window reopened: update", ". 1001:1001(0) ack 6001 win 1000")
		h.in("P. 6001:6101(100) ack 1001")
		h.wantNone("data fits again")
		if h.c.Readable() != 100 {
			t.Fatalf("readable %d", h.c.Readable())
		}
	})
}

// A FIN accepted into a zero window (as Linux) takes its sequence number
// even though the window had no room: the window stays zero, never
// negative.
func TestEstablishedFinIntoZeroWindow(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RcvBuf = 1000; c.MSS = 500 }).established()
	h.in("P. 5001:6001(1000) ack 1001")
	h.advance(40 * time.Millisecond)
	h.wantOut("zero window", ". 1001:1001(0) ack 6001 win 0")
	h.in("F. 6001:6001(0) ack 1001")
	h.wantState(StateCloseWait)
	h.advance(40 * time.Millisecond)
	h.wantOut("the FIN is ACKed; the window is still zero", ". 1001:1001(0) ack 6002 win 0")
	h.in("P. 6003:6004(1) ack 1001")
	h.wantOut("with a zero window only SEG.SEQ = RCV.NXT is acceptable", ". 1001:1001(0) ack 6002 win 0")
}

// The four cases of RFC 9293 §3.10.7.4's acceptability test, each on both
// sides of its boundaries. RCV.NXT = 5001; the window is 100 bytes.
//
//	SEG.LEN = 0, RCV.WND = 0: SEG.SEQ = RCV.NXT
//	SEG.LEN = 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	SEG.LEN > 0, RCV.WND = 0: not acceptable (only its ACK is used)
//	SEG.LEN > 0, RCV.WND > 0: the first or the last byte in the window
func TestAcceptabilityFourCases(t *testing.T) {
	small := func(c *Config) { c.RcvBuf = 100; c.MSS = 50 }
	ack := ". 1001:1001(0) ack 5001"
	runArrivals(t, func(h *harness) { h.established() }, []arrival{
		{what: "len 0, window > 0: SEG.SEQ = RCV.NXT is acceptable", in: ". 5001:5001(0) ack 1001", state: StateEstablished},
		{what: "len 0, window > 0: the last sequence number of the window is acceptable", in: ". 5100:5100(0) ack 1001", state: StateEstablished},
		{what: "len 0, window > 0: one past the window is not", in: ". 5101:5101(0) ack 1001", out: []string{ack}, state: StateEstablished},
		{what: "len 0, window > 0: one before RCV.NXT is not", in: ". 5000:5000(0) ack 1001", out: []string{ack}, state: StateEstablished},
		{what: "len > 0, window > 0: the last byte at RCV.NXT is acceptable, and that byte is new", in: "P. 4991:5002(11) ack 1001", state: StateEstablished, read: 1},
		{what: "len > 0, window > 0: the last byte before RCV.NXT is not", in: "P. 4990:5001(11) ack 1001", out: []string{ack}, state: StateEstablished},
		{what: "len > 0, window > 0: the first byte at the window's end is acceptable (out of order)", in: "P. 5100:5110(10) ack 1001", out: []string{ack}, state: StateEstablished},
		{what: "len > 0, window > 0: the first byte past the window is not", in: "P. 5101:5111(10) ack 1001", out: []string{ack}, state: StateEstablished},
	}, small)
}
