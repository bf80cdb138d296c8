package tcp

import (
	"errors"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// RFC 9293 §3.10.1: OPEN on a connection that exists is an error
// ("connection already exists"): EISCONN, and nothing changes.
func TestOpenWhenNotClosed(t *testing.T) {
	for _, s := range States()[1:] {
		t.Run(s.String(), func(t *testing.T) {
			h := newHarness(t).gotoState(s)
			o := OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: 9}
			if err := h.c.OpenActive(h.now, o); err != syscall.EISCONN {
				t.Fatalf("active OPEN in %v: %v, want EISCONN", s, err)
			}
			if err := h.c.OpenPassive(h.now, o); err != syscall.EISCONN {
				t.Fatalf("passive OPEN in %v: %v, want EISCONN", s, err)
			}
			h.wantNone("a refused OPEN sends nothing")
			h.wantState(s)
		})
	}
}

// A connection that has ended can be opened again: the new connection
// starts from a clean TCB.
func TestOpenAgainAfterClose(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.KeepAlive = true }).timeWait()
	h.advance(time.Minute)
	h.wantState(StateClosed)
	h.c.SetNoDelay(h.now, true)
	if err := h.c.OpenActive(h.now, OpenOptions{LocalPort: ourPort, RemotePort: peerPort, ISS: 7000}); err != nil {
		t.Fatal(err)
	}
	h.wantOut("a new SYN", "S 7000:7000(0)")
	h.in("S. 9000:9000(0) ack 7001 <mss 1460>")
	h.wantOut("established", ". 7001:7001(0) ack 9001")
	if h.c.EOF() {
		t.Fatal("the new connection inherited the old one's end of file")
	}
	if n, err := h.c.Receive(h.now, make([]byte, 10)); n != 0 || err != nil {
		t.Fatalf("RECEIVE: %d, %v; want nothing yet", n, err)
	}
	h.send([]byte("a"))
	h.send([]byte("b"))
	h.wantOut("data flows, no FIN from the old CLOSE, NoDelay kept", "P. 7001:7002(1) ack 9001", "P. 7002:7003(1) ack 9001")
	h.wantState(StateEstablished)
	h.wantTimers(TimerRetransmit, TimerKeepalive)
	h.checkInvariants()
}

// RFC 9293 §3.10.2 SEND in each state.
func TestSendInEveryState(t *testing.T) {
	rows := []struct {
		state State
		err   error
		out   []string
		what  string
	}{
		{StateClosed, syscall.ENOTCONN, nil, "no connection"},
		{StateListen, syscall.ENOTCONN, nil, "a listening connection does not turn active on SEND"},
		{StateSynSent, nil, nil, "queued until ESTABLISHED"},
		{StateSynReceived, nil, nil, "queued until ESTABLISHED"},
		{StateEstablished, nil, []string{"P. 1001:1004(3) ack 5001"}, "sent at once"},
		{StateCloseWait, nil, []string{"P. 1001:1004(3) ack 5002"}, "the peer has finished, we may go on sending"},
		{StateFinWait1, syscall.EPIPE, nil, "after CLOSE: connection closing"},
		{StateFinWait2, syscall.EPIPE, nil, "after CLOSE: connection closing"},
		{StateClosing, syscall.EPIPE, nil, "after CLOSE: connection closing"},
		{StateLastAck, syscall.EPIPE, nil, "after CLOSE: connection closing"},
		{StateTimeWait, syscall.EPIPE, nil, "after CLOSE: connection closing"},
	}
	for _, r := range rows {
		t.Run(r.state.String(), func(t *testing.T) {
			h := newHarness(t).gotoState(r.state)
			n, err := h.c.Send(h.now, []byte("abc"))
			if err != r.err || (err == nil && n != 3) || (err != nil && n != 0) {
				t.Fatalf("SEND in %v = %d, %v; want %v (%s)", r.state, n, err, r.err, r.what)
			}
			h.wantOut(r.what, r.out...)
			h.wantState(r.state)
			if w := h.c.Writable(); (r.err == nil) != (w > 0) {
				t.Fatalf("Writable %d in %v", w, r.state)
			}
		})
	}
}

// A full send buffer takes what fits and then nothing, without error.
func TestSendBufferFull(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SndBuf = 100 }).synSent()
	n, err := h.c.Send(h.now, bytesN(150))
	if n != 100 || err != nil {
		t.Fatalf("SEND 150 into 100: %d, %v", n, err)
	}
	if n, err := h.c.Send(h.now, []byte("x")); n != 0 || err != nil || h.c.Writable() != 0 {
		t.Fatalf("SEND into a full buffer: %d, %v, writable %d", n, err, h.c.Writable())
	}
}

// RFC 9293 §3.10.3 RECEIVE in each state.
func TestReceiveInEveryState(t *testing.T) {
	rows := []struct {
		state State
		err   error
	}{
		{StateClosed, syscall.ENOTCONN},
		{StateListen, syscall.ENOTCONN},
		{StateSynSent, nil},
		{StateSynReceived, nil},
		{StateEstablished, nil},
		{StateFinWait1, nil},
		{StateFinWait2, nil},
		{StateCloseWait, io.EOF},
		{StateClosing, io.EOF},
		{StateLastAck, io.EOF},
		{StateTimeWait, io.EOF},
	}
	for _, r := range rows {
		t.Run(r.state.String(), func(t *testing.T) {
			h := newHarness(t).gotoState(r.state)
			n, err := h.c.Receive(h.now, make([]byte, 10))
			if n != 0 || err != r.err {
				t.Fatalf("RECEIVE in %v = %d, %v; want 0, %v", r.state, n, err, r.err)
			}
			if h.c.EOF() != (r.err == io.EOF) {
				t.Fatalf("EOF() = %v in %v", h.c.EOF(), r.state)
			}
		})
	}
}

// RFC 9293 §3.10.4 CLOSE in each state.
func TestCloseInEveryState(t *testing.T) {
	rows := []struct {
		state State
		err   error
		out   []string
		after State
		what  string
	}{
		{StateClosed, syscall.ENOTCONN, nil, StateClosed, "no connection"},
		{StateListen, nil, nil, StateClosed, "delete the TCB"},
		{StateSynSent, nil, nil, StateClosed, "delete the TCB"},
		{StateSynReceived, nil, []string{"F. 1001:1001(0) ack 5001"}, StateFinWait1, "nothing queued: send FIN"},
		{StateEstablished, nil, []string{"F. 1001:1001(0) ack 5001"}, StateFinWait1, "send FIN"},
		{StateCloseWait, nil, []string{"F. 1001:1001(0) ack 5002"}, StateLastAck, "send FIN"},
		{StateFinWait1, ErrConnectionClosing, nil, StateFinWait1, "already closing"},
		{StateFinWait2, ErrConnectionClosing, nil, StateFinWait2, "already closing"},
		{StateClosing, ErrConnectionClosing, nil, StateClosing, "already closing"},
		{StateLastAck, ErrConnectionClosing, nil, StateLastAck, "already closing"},
		{StateTimeWait, ErrConnectionClosing, nil, StateTimeWait, "already closing"},
	}
	for _, r := range rows {
		t.Run(r.state.String(), func(t *testing.T) {
			h := newHarness(t).gotoState(r.state)
			if err := h.c.Close(h.now); !errors.Is(err, r.err) || (err == nil) != (r.err == nil) {
				t.Fatalf("CLOSE in %v = %v, want %v", r.state, err, r.err)
			}
			h.wantOut(r.what, r.out...)
			h.wantState(r.after)
			h.checkInvariants()
		})
	}
}

// RFC 9293 §3.10.5 ABORT in each state: RST only where the peer holds
// state (SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT);
// always CLOSED after, with no timer left.
func TestAbortInEveryState(t *testing.T) {
	rows := []struct {
		state State
		out   []string
	}{
		{StateClosed, nil},
		{StateListen, nil},
		{StateSynSent, nil},
		{StateSynReceived, []string{"R. 1001:1001(0) ack 5001"}},
		{StateEstablished, []string{"R. 1001:1001(0) ack 5001"}},
		{StateFinWait1, []string{"R. 1002:1002(0) ack 5001"}},
		{StateFinWait2, []string{"R. 1002:1002(0) ack 5001"}},
		{StateCloseWait, []string{"R. 1001:1001(0) ack 5002"}},
		{StateClosing, nil},
		{StateLastAck, nil},
		{StateTimeWait, nil},
	}
	for _, r := range rows {
		t.Run(r.state.String(), func(t *testing.T) {
			h := newHarness(t).gotoState(r.state)
			h.c.Abort(h.now)
			h.wantOut("ABORT", r.out...)
			h.wantState(StateClosed)
			h.wantTimers()
			h.wantErr(nil)
			h.advance(time.Hour)
			h.wantNone("nothing after ABORT")
			h.checkInvariants()
		})
	}
}

// ABORT throws away queued data both ways.
func TestAbortDiscardsData(t *testing.T) {
	h := newHarness(t).established()
	h.in("P. 5001:5101(100) ack 1001")
	h.in(". 5101:5101(0) ack 1001 win 0")
	h.send(bytesN(100))
	h.c.Abort(h.now)
	h.wantOut("RST", "R. 1001:1001(0) ack 5101")
	if h.c.Readable() != 0 || h.c.Unsent() != 0 {
		t.Fatalf("readable %d unsent %d after ABORT", h.c.Readable(), h.c.Unsent())
	}
}

// Detach is close(2): the application lets go. Unread data turns it into
// an abort with RST (RFC 2525 §2.17, as Linux); otherwise it is a CLOSE
// that the stack finishes on its own.
func TestDetach(t *testing.T) {
	rows := []struct {
		what  string
		setup func(h *harness)
		out   []string
		state State
	}{
		{"LISTEN: closed", func(h *harness) { h.listen() }, nil, StateClosed},
		{"SYN-SENT: closed", func(h *harness) { h.synSent() }, nil, StateClosed},
		{"SYN-RECEIVED: FIN", func(h *harness) { h.synReceived() }, []string{"F. 1001:1001(0) ack 5001"}, StateFinWait1},
		{"ESTABLISHED: FIN", func(h *harness) { h.established() }, []string{"F. 1001:1001(0) ack 5001"}, StateFinWait1},
		{"ESTABLISHED with unread data: RST", func(h *harness) {
			h.established()
			h.in("P. 5001:5011(10) ack 1001")
		}, []string{"R. 1001:1001(0) ack 5011"}, StateClosed},
		{"CLOSE-WAIT with the data read: FIN", func(h *harness) {
			h.established()
			h.in("FP. 5001:5011(10) ack 1001")
			h.read()
		}, []string{"F. 1001:1001(0) ack 5012"}, StateLastAck},
		{"CLOSE-WAIT with unread data: RST", func(h *harness) {
			h.established()
			h.in("FP. 5001:5011(10) ack 1001")
		}, []string{"R. 1001:1001(0) ack 5012"}, StateClosed},
		{"FIN-WAIT-1 with unread data: RST", func(h *harness) {
			h.finWait1()
			h.in("P. 5001:5011(10) ack 1001")
		}, []string{"R. 1002:1002(0) ack 5011"}, StateClosed},
		{"FIN-WAIT-1: nothing more to do yet", func(h *harness) { h.finWait1() }, nil, StateFinWait1},
		{"CLOSING: nothing to do", func(h *harness) { h.closing() }, nil, StateClosing},
		{"LAST-ACK: nothing to do", func(h *harness) { h.lastAck() }, nil, StateLastAck},
		{"TIME-WAIT: nothing to do", func(h *harness) { h.timeWait() }, nil, StateTimeWait},
		{"CLOSED: nothing to do", func(h *harness) {}, nil, StateClosed},
	}
	for _, r := range rows {
		t.Run(r.what, func(t *testing.T) {
			h := newHarness(t)
			r.setup(h)
			h.out = nil
			h.c.Detach(h.now)
			h.wantOut(r.what, r.out...)
			h.wantState(r.state)
			if !h.c.Orphaned() {
				t.Fatal("not orphaned")
			}
			h.c.Detach(h.now)
			h.wantNone("a second Detach does nothing")
			h.checkInvariants()
		})
	}
}

// RFC 9293 §3.10.6 STATUS: a snapshot of the TCB.
func TestStatus(t *testing.T) {
	h := newHarness(t).established()
	h.in("P. 5001:5101(100) ack 1001 win 30000")
	h.send(bytesN(10))
	h.wantOut("data with the ACK", "P. 1001:1011(10) ack 5101")
	st := h.c.Status()
	want := Status{
		State: StateEstablished, LocalPort: ourPort, RemotePort: peerPort,
		ISS: 1000, SndUna: 1001, SndNxt: 1011, SndMax: 1011, SndWnd: 30000,
		IRS: 5000, RcvNxt: 5101, RcvWnd: 65435, SendQueue: 10, RecvQueue: 100,
		MSS: 1460, CWnd: 14600, SSThresh: 1 << 30,
	}
	if st.State != want.State || st.LocalPort != want.LocalPort || st.RemotePort != want.RemotePort ||
		st.ISS != want.ISS || st.SndUna != want.SndUna || st.SndNxt != want.SndNxt || st.SndMax != want.SndMax ||
		st.SndWnd != want.SndWnd || st.IRS != want.IRS || st.RcvNxt != want.RcvNxt || st.RcvWnd != want.RcvWnd ||
		st.SendQueue != want.SendQueue || st.RecvQueue != want.RecvQueue || st.MSS != want.MSS ||
		st.CWnd != want.CWnd || st.SSThresh != want.SSThresh || st.Err != nil || st.WScale || st.Timestamps || st.SACK {
		t.Fatalf("status\n%+v\nwant\n%+v", st, want)
	}
	if st.RTO != 200*time.Millisecond || st.SRTT != time.Millisecond {
		t.Fatalf("SRTT %v RTO %v: the handshake's instant ACK gives a 1 ms sample and the 200 ms minimum", st.SRTT, st.RTO)
	}
	if len(st.Timers) != 1 || !st.Timers[TimerRetransmit].Equal(epoch.Add(200*time.Millisecond)) {
		t.Fatalf("timers %v, want the retransmission timer at +200ms", st.Timers)
	}
	h.in("R 5101:5101(0)")
	if st := h.c.Status(); st.State != StateClosed || st.Err != syscall.ECONNRESET || st.Timers != nil {
		t.Fatalf("status after RST: %+v", st)
	}
}

// Stats count what went in and out.
func TestStats(t *testing.T) {
	h := newHarness(t).established()
	h.in("P. 5001:5101(100) ack 1001")
	h.send(bytesN(10))
	h.in("R 9000:9000(0)")
	st := h.c.Stats()
	want := Stats{SegsIn: 4, SegsOut: 3, Retrans: 0, Dropped: 0, ChallengeACKs: 1, BytesIn: 100, BytesOut: 10}
	if st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

// The names of states, timers and timer actions read as RFC 9293 spells
// them, and parse back.
func TestNames(t *testing.T) {
	for _, s := range States() {
		p, ok := ParseState(s.String())
		if !ok || p != s {
			t.Fatalf("ParseState(%q) = %v, %v", s.String(), p, ok)
		}
		if s.Synchronized() != (s >= StateEstablished) {
			t.Fatalf("%v synchronized = %v", s, s.Synchronized())
		}
	}
	if Legal(StateClosed, StateTimeWait) || Legal(StateListen, StateEstablished) || !Legal(StateTimeWait, StateClosed) {
		t.Fatal("Legal disagrees with the table")
	}
	if _, ok := ParseState("ESTABLISHED-ISH"); ok {
		t.Fatal("ParseState accepted a bad name")
	}
	for _, c := range []struct{ got, want string }{
		{StateSynReceived.String(), "SYN-RECEIVED"},
		{State(200).String(), "State(200)"},
		{State(numStates).String(), "State(11)"},
		{TimerTimeWait.String(), "time-wait"},
		{Timer(99).String(), "Timer(99)"},
		{TimerSet.String(), "set"},
		{TimerFire.String(), "fire"},
		{TimerCancel.String(), "cancel"},
		{TimerAction(7).String(), "TimerAction(7)"},
		{strconv.Itoa(0), "0"},
	} {
		if c.got != c.want {
			t.Fatalf("%q, want %q", c.got, c.want)
		}
	}
}

// A SEND after CLOSE is EPIPE in every state that follows, CLOSED
// included, as Linux keeps it for every write after SEND_SHUTDOWN
// (tcp_sendmsg_locked, sk_stream_wait_connect). Before, it turned into
// ENOTCONN once the connection reached CLOSED.
func TestSendAfterCloseStaysEPIPE(t *testing.T) {
	paths := map[string]func(h *harness){
		"active close through TIME-WAIT": func(h *harness) {
			h.gotoState(StateEstablished)
			h.c.Close(h.now)
			h.in(". 5001:5001(0) ack 1002")
			h.in("F. 5001:5001(0) ack 1002")
			h.advance(3 * time.Minute)
		},
		"passive close through LAST-ACK": func(h *harness) {
			h.gotoState(StateCloseWait)
			h.c.Close(h.now)
			h.in(". 5002:5002(0) ack 1002")
		},
		"CLOSE in SYN-SENT": func(h *harness) {
			h.gotoState(StateSynSent)
			h.c.Close(h.now)
		},
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			path(h)
			h.wantState(StateClosed)
			if n, err := h.c.Send(h.now, []byte("abc")); n != 0 || err != syscall.EPIPE {
				t.Fatalf("SEND in CLOSED after CLOSE = %d, %v; want EPIPE", n, err)
			}
		})
	}
}
