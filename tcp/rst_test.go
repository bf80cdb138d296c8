package tcp

import (
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// RFC 9293 §3.10.7.1: a CLOSED connection (no TCB) answers everything but
// a RST with a RST: <SEQ=SEG.ACK><CTL=RST> when the segment has ACK,
// otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
func TestClosedArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) {}, []arrival{
		{what: "a SYN is refused with RST+ACK acknowledging the SYN",
			in: "S 5000:5000(0)", out: []string{"R. 0:0(0) ack 5001"}, state: StateClosed},
		{what: "a SYN with data: the RST acknowledges SYN and data",
			in: "S 5000:5000(10)", out: []string{"R. 0:0(0) ack 5011"}, state: StateClosed},
		{what: "a SYN+ACK is refused with RST at SEQ=SEG.ACK",
			in: "S. 5000:5000(0) ack 1001", out: []string{"R 1001:1001(0)"}, state: StateClosed},
		{what: "an ACK is refused with RST at SEQ=SEG.ACK",
			in: ". 5001:5001(0) ack 1234", out: []string{"R 1234:1234(0)"}, state: StateClosed},
		{what: "a RST is never answered",
			in: "R 5001:5001(0)", state: StateClosed},
		{what: "a RST+ACK is never answered",
			in: "R. 5001:5001(0) ack 1001", state: StateClosed},
		{what: "a FIN without ACK: RST+ACK covering the FIN",
			in: "F 5001:5001(0)", out: []string{"R. 0:0(0) ack 5002"}, state: StateClosed},
		{what: "data without ACK: RST+ACK covering the data",
			in: "P 5001:5101(100)", out: []string{"R. 0:0(0) ack 5101"}, state: StateClosed},
		{what: "data with FIN and ACK: RST at SEQ=SEG.ACK",
			in: "FP. 5001:5101(100) ack 1001", out: []string{"R 1001:1001(0)"}, state: StateClosed},
	})
}

// ResetFor is the stack's answer for a segment that matches no connection.
func TestResetFor(t *testing.T) {
	rows := []struct {
		what string
		in   wire.Segment
		ok   bool
		want wire.Segment
	}{
		{"with ACK: <SEQ=SEG.ACK><CTL=RST>, ports swapped",
			wire.Segment{SrcPort: 1, DstPort: 2, Seq: 10, Ack: 77, Flags: wire.FlagACK | wire.FlagPSH, Payload: []byte("xx")}, true,
			wire.Segment{SrcPort: 2, DstPort: 1, Seq: 77, Flags: wire.FlagRST}},
		{"without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and FIN counted",
			wire.Segment{SrcPort: 1, DstPort: 2, Seq: 10, Flags: wire.FlagSYN | wire.FlagFIN, Payload: []byte("xx")}, true,
			wire.Segment{SrcPort: 2, DstPort: 1, Seq: 0, Ack: 14, Flags: wire.FlagRST | wire.FlagACK}},
		{"the sequence space wraps",
			wire.Segment{Seq: seq.Num(0xffffffff), Flags: wire.FlagSYN}, true,
			wire.Segment{Ack: 0, Flags: wire.FlagRST | wire.FlagACK}},
		{"a RST is never answered",
			wire.Segment{Seq: 10, Flags: wire.FlagRST | wire.FlagACK, Ack: 5}, false, wire.Segment{}},
	}
	for _, r := range rows {
		t.Run(r.what, func(t *testing.T) {
			got, ok := ResetFor(&r.in)
			if ok != r.ok || got.String() != r.want.String() || got.SrcPort != r.want.SrcPort || got.DstPort != r.want.DstPort {
				t.Fatalf("ResetFor(%v) = %v (ports %d>%d), %v; want %v (ports %d>%d), %v",
					r.in, got, got.SrcPort, got.DstPort, ok, r.want, r.want.SrcPort, r.want.DstPort, r.ok)
			}
		})
	}
}

// RFC 5961 §7: challenge ACKs are rate-limited per connection, one per
// ChallengeACK interval; the others are dropped silently.
func TestChallengeACKRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ChallengeACK = time.Second }).established()
	h.in("R 5100:5100(0)")
	h.wantOut("the first in-window RST gets a challenge ACK", ". 1001:1001(0) ack 5001")
	h.advance(999 * time.Millisecond)
	h.in("R 5200:5200(0)")
	h.wantNone("a second RST within the interval gets none")
	h.in("S 5300:5300(0)")
	h.wantNone("nor a SYN: SYNs and RSTs share the limit")
	h.in(". 5001:5001(0) ack 2001")
	h.wantNone("nor an ACK of unsent data")
	h.advance(time.Millisecond)
	h.in("S 5300:5300(0)")
	h.wantOut("one interval after the first, a challenge ACK again", ". 1001:1001(0) ack 5001")
	h.wantState(StateEstablished)
	if st := h.c.Stats(); st.ChallengeACKs != 2 || st.Dropped != 3 {
		t.Fatalf("stats %+v, want 2 challenge ACKs and 3 drops", st)
	}
	h.in("R 5001:5001(0)")
	h.wantState(StateClosed)
	h.wantErr(syscall.ECONNRESET)
}

// The challenge ACK does what RFC 5961 §3.2 intends: a peer that really
// reset answers it with an exact RST, which is accepted.
func TestChallengeACKThenExactRST(t *testing.T) {
	h := newHarness(t).established()
	h.in("P. 5001:5101(100) ack 1001")
	h.in("R 5150:5150(0)")
	h.wantOut("challenge ACK names RCV.NXT", ". 1001:1001(0) ack 5101")
	h.in("R 5101:5101(0)")
	h.wantNone("the exact RST is not answered")
	h.wantState(StateClosed)
	h.wantErr(syscall.ECONNRESET)
	if h.c.Readable() != 0 {
		t.Fatal("a reset flushes the receive queue (RFC 9293 §3.10.7.4)")
	}
	if _, err := h.c.Receive(h.now, make([]byte, 10)); err != syscall.ECONNRESET {
		t.Fatalf("RECEIVE after reset: %v", err)
	}
	if _, err := h.c.Send(h.now, []byte("x")); err != syscall.ECONNRESET {
		t.Fatalf("SEND after reset: %v", err)
	}
}

// Config.RFC793Rules restores RFC 793: any RST in the window resets, an
// in-window SYN resets the connection with a RST, and old ACKs are not
// checked against MAX.SND.WND.
func TestRFC793Rules(t *testing.T) {
	runArrivals(t, func(h *harness) { h.established() }, []arrival{
		{what: "RFC 793: a RST anywhere in the window resets",
			in: "R 5100:5100(0)", state: StateClosed, err: syscall.ECONNRESET},
		{what: "RFC 793: a RST outside the window is still dropped",
			in: "R 4000:4000(0)", state: StateEstablished},
		{what: "RFC 793: a SYN in the window is an error: RST, and the connection is reset",
			in: "S 5100:5100(0)", out: []string{"R. 1001:1001(0) ack 5001"}, state: StateClosed, err: syscall.ECONNRESET},
		{what: "RFC 793: a SYN outside the window gets an ACK",
			in: "S 4000:4000(0)", out: []string{". 1001:1001(0) ack 5001"}, state: StateEstablished},
		{what: "RFC 793: a very old ACK is ignored, not challenged",
			in: ". 5001:5001(0) ack " + u32(1001-100000), state: StateEstablished},
	}, func(c *Config) { c.RFC793Rules = true })
	runArrivals(t, func(h *harness) { h.synReceivedActive() }, []arrival{
		{what: "RFC 793 in SYN-RECEIVED of an active open: an in-window SYN resets",
			in: "S 5100:5100(0)", out: []string{"R. 1001:1001(0) ack 5001"}, state: StateClosed, err: syscall.ECONNRESET},
	}, func(c *Config) { c.RFC793Rules = true })
}
