package tcp

import (
	"syscall"
	"testing"
)

// RFC 9293 §3.10.7.2: what arrives at a LISTEN connection. Only a SYN opens
// anything; an ACK is answered with <SEQ=SEG.ACK><CTL=RST>; RSTs and anything
// else without ACK are dropped.
func TestListenArrivals(t *testing.T) {
	runArrivals(t, func(h *harness) { h.listen() }, []arrival{
		{what: "a SYN is answered by SYN+ACK carrying our ISS and MSS, and the connection enters SYN-RECEIVED",
			in: "S 5000:5000(0) win 65535 <mss 1460>", out: []string{"S. 1000:1000(0) ack 5001 win 65535 <mss 1460>"},
			state: StateSynReceived, cause: CauseSynInListen},
		{what: "data riding on a SYN is not kept (as Linux without Fast Open): the SYN+ACK acknowledges the SYN alone",
			in: "S 5000:5000(10) win 65535 <mss 1460>", out: []string{"S. 1000:1000(0) ack 5001"},
			state: StateSynReceived},
		{what: "a SYN+ACK in LISTEN is refused with a RST at SEQ=SEG.ACK",
			in: "S. 5000:5000(0) ack 1001", out: []string{"R 1001:1001(0)"}, state: StateListen},
		{what: "a bare ACK in LISTEN is refused with a RST at SEQ=SEG.ACK",
			in: ". 5000:5000(0) ack 1001", out: []string{"R 1001:1001(0)"}, state: StateListen},
		{what: "any ACK value is refused the same way: the RST takes its SEQ from SEG.ACK",
			in: ". 5000:5000(0) ack 777", out: []string{"R 777:777(0)"}, state: StateListen},
		{what: "a RST in LISTEN is ignored",
			in: "R 5000:5000(0)", state: StateListen},
		{what: "a RST+ACK in LISTEN is ignored too: a RST is never answered",
			in: "R. 5000:5000(0) ack 1001", state: StateListen},
		{what: "a SYN with RST set is a RST and is ignored",
			in: "SR 5000:5000(0)", state: StateListen},
		{what: "a FIN without ACK is dropped",
			in: "F 5000:5000(0)", state: StateListen},
		{what: "a FIN+ACK is refused with a RST at SEQ=SEG.ACK",
			in: "F. 5000:5000(0) ack 1001", out: []string{"R 1001:1001(0)"}, state: StateListen},
		{what: "data without ACK is dropped",
			in: "P 5000:5010(10)", state: StateListen},
		{what: "data with ACK is refused with a RST at SEQ=SEG.ACK",
			in: "P. 5000:5010(10) ack 1001", out: []string{"R 1001:1001(0)"}, state: StateListen},
		{what: "data with FIN and ACK is refused with a RST at SEQ=SEG.ACK",
			in: "FP. 5000:5010(10) ack 4242", out: []string{"R 4242:4242(0)"}, state: StateListen},
	})
}

// A passive OPEN with a remote port accepts a SYN from that port; one with
// none takes the port of the first SYN.
func TestListenTakesPeerPort(t *testing.T) {
	h := newHarness(t)
	if err := h.c.OpenPassive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS}); err != nil {
		t.Fatal(err)
	}
	if l, r := h.c.Ports(); l != ourPort || r != 0 {
		t.Fatalf("ports after passive OPEN = %d, %d; want %d, 0", l, r, ourPort)
	}
	h.in("S 5000:5000(0) <mss 1460>")
	h.wantOut("the SYN+ACK goes back to the SYN's source port", "S. 1000:1000(0) ack 5001")
	if l, r := h.c.Ports(); l != ourPort || r != peerPort {
		t.Fatalf("ports after the SYN = %d, %d; want %d, %d", l, r, ourPort, peerPort)
	}
	if !h.c.Passive() || h.c.ISS() != ourISS || h.c.IRS() != peerISS {
		t.Fatalf("passive %v ISS %d IRS %d", h.c.Passive(), h.c.ISS(), h.c.IRS())
	}
}

// RFC 9293 §3.10.4: CLOSE in LISTEN deletes the TCB; nothing is sent.
func TestListenClose(t *testing.T) {
	h := newHarness(t).listen()
	if err := h.c.Close(h.now); err != nil {
		t.Fatalf("CLOSE in LISTEN: %v", err)
	}
	h.wantNone("CLOSE in LISTEN sends nothing")
	h.wantState(StateClosed)
	h.wantCause(CauseCloseListen)
	h.wantErr(nil)
	if err := h.c.Close(h.now); err != syscall.ENOTCONN {
		t.Fatalf("CLOSE in CLOSED = %v, want ENOTCONN", err)
	}
	h.in("S 5000:5000(0)")
	h.wantOut("a closed listener answers a SYN with RST (RFC 9293 §3.10.7.1)", "R. 0:0(0) ack 5001")
	h.checkInvariants()
}
