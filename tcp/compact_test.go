package tcp

import (
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/synack/synack/wire"
)

// restore swaps the harness's connection for a fresh one rebuilt by load,
// as the stack does with its scratch TCB.
func (h *harness) restore(load func(c *Conn)) {
	c := NewConn(&h.cfg, h, h)
	load(c)
	h.c = c
}

// listenSynAll brings a connection from nothing to SYN-RECEIVED through
// ListenSyn, with every option negotiated and timestamps starting at 1.
func listenSynAll(h *harness) {
	h.t.Helper()
	s := parseSeg(h.t, "S 5000:5000(0) win 65535 <mss 1400,sackOK,TS val 100 ecr 0,wscale 7>").seg
	h.c.ListenArrive(h.now, OpenOptions{LocalPort: ourPort, ISS: ourISS, TSOffset: tsOffsetFor}, &s)
	h.wantOut("SYN+ACK answering every option", "S. 1000:1000(0) ack 5001 win 65535 <mss 1460,sackOK,TS val 1 ecr 100,wscale 5>")
	h.wantState(StateSynReceived)
}

// A half-open connection saved as a HalfOpen record and restored behaves
// as the full TCB would: same SYN+ACK retransmissions and back-off, same
// options once established.
func TestHalfOpenRecord(t *testing.T) {
	h := newHarness(t, allOptions)
	listenSynAll(h)
	if l, r := h.c.Ports(); l != ourPort || r != peerPort || !h.c.Passive() {
		t.Fatalf("ListenSyn: ports %d %d, passive %v", l, r, h.c.Passive())
	}
	h.expectAt(time.Second, "SYN+ACK retransmitted", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK,TS val 1001 ecr 100,wscale 5>")
	rec := h.c.SaveHalfOpen()
	h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
	h.wantState(StateSynReceived)
	h.expectAt(2*time.Second, "the restored record keeps the back-off: next after 2 s", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK,TS val 3001 ecr 100,wscale 5>")
	rec = h.c.SaveHalfOpen()
	h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
	h.in("S 5000:5000(0) <mss 1400,sackOK,TS val 100 ecr 0,wscale 7>")
	h.wantOut("a retransmitted SYN is answered by the restored record", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK,TS val 3001 ecr 100,wscale 5>")
	h.in(". 5001:5001(0) ack 1001 win 10 <TS val 101 ecr 3001>")
	h.wantState(StateEstablished)
	st := h.c.Status()
	if st.MSS != 1388 || !st.WScale || !st.SACK || !st.Timestamps || st.SndWnd != 10<<7 {
		t.Fatalf("after the restored handshake: %+v", st)
	}
	h.send(bytesN(5))
	h.wantOut("data carries the timestamp echo and our scaled window", "P. 1001:1006(5) ack 5001 win 32768 <TS val 3001 ecr 101>")
	h.checkInvariants()
}

// A restored half-open record gives up like the full TCB and answers RST
// like it (Note 3: back to LISTEN, which the stack turns into forgetting).
func TestHalfOpenRecordEnds(t *testing.T) {
	t.Run("give-up", func(t *testing.T) {
		h := newHarness(t, allOptions, func(c *Config) { c.SynAckRetries = 1 })
		listenSynAll(h)
		rec := h.c.SaveHalfOpen()
		h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
		h.expectAt(time.Second, "one retransmission", "S. 1000:1000(0) ack 5001 <mss 1460,sackOK,TS val 1001 ecr 100,wscale 5>")
		rec = h.c.SaveHalfOpen()
		h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
		h.advance(2 * time.Second)
		h.wantNone("given up silently")
		h.wantState(StateClosed)
		h.wantErr(syscall.ETIMEDOUT)
	})
	t.Run("RST", func(t *testing.T) {
		h := newHarness(t, allOptions)
		listenSynAll(h)
		rec := h.c.SaveHalfOpen()
		h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
		h.in("R 5001:5001(0)")
		h.wantState(StateListen)
		h.in("R 5001:5001(0)")
		h.wantNone("a RST in LISTEN is ignored")
	})
	t.Run("challenge ACK rate limit survives the record", func(t *testing.T) {
		h := newHarness(t, allOptions)
		listenSynAll(h)
		h.in("R 5100:5100(0)")
		h.wantOut("challenge ACK", ". 1001:1001(0) ack 5001 <TS val 1 ecr 100>")
		rec := h.c.SaveHalfOpen()
		h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
		h.in("R 5100:5100(0)")
		h.wantNone("still rate-limited after the round trip")
	})
}

// A SYN cookie (RFC 4987 §3.6) keeps MSS, window scale, SACK and
// timestamps; the half-open connection rebuilt from it completes as the
// original would have.
func TestHalfOpenFromCookie(t *testing.T) {
	var cfg Config = Config{RcvBuf: 1 << 20}
	if got := cfg.WindowShift(); got != 5 {
		t.Fatalf("WindowShift for 1 MiB = %d, want 5", got)
	}
	for _, r := range []struct {
		what string
		o    CookieOptions
		ack  string
		st   func(Status) bool
	}{
		{"every option kept", CookieOptions{PeerMSS: 1000, WS: true, SndShift: 7, RcvShift: 5, SACK: true, TS: true, TSRecent: 101, TSOffset: tsOffsetFor, LocalPort: ourPort, RemotePort: peerPort},
			". 5001:5001(0) ack 1001 win 10 <TS val 101 ecr 1>",
			func(s Status) bool { return s.WScale && s.SACK && s.Timestamps && s.MSS == 988 && s.SndWnd == 10<<7 }},
		{"no options", CookieOptions{PeerMSS: 536, LocalPort: ourPort, RemotePort: peerPort},
			". 5001:5001(0) ack 1001 win 10",
			func(s Status) bool { return !s.WScale && !s.SACK && !s.Timestamps && s.MSS == 536 && s.SndWnd == 10 }},
	} {
		t.Run(r.what, func(t *testing.T) {
			h := newHarness(t, allOptions)
			rec := HalfOpenFromCookie(ourISS, peerISS, r.o)
			h.restore(func(c *Conn) { c.RestoreHalfOpen(h.now, &rec) })
			h.wantState(StateSynReceived)
			h.in(r.ack)
			h.wantNone("the ACK completes the handshake")
			h.wantState(StateEstablished)
			if st := h.c.Status(); !r.st(st) || !h.c.Passive() {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

// A TIME-WAIT record restored behaves as the full TCB in TIME-WAIT:
// re-ACKs a retransmitted FIN (restarting 2MSL), expires on time, and
// applies the RFC 6191 reopening rule with the saved TS.Recent.
func TestTimeWaitRecord(t *testing.T) {
	save := func(t *testing.T) (*harness, TimeWait) {
		h := newHarness(t, withTS)
		timeWaitTS(h)
		h.advance(10 * time.Second)
		rec := h.c.SaveTimeWait()
		if !rec.Timestamps() {
			t.Fatal("the record lost the timestamps")
		}
		h.restore(func(c *Conn) { c.RestoreTimeWait(h.now, &rec) })
		h.wantState(StateTimeWait)
		return h, rec
	}
	t.Run("retransmitted FIN", func(t *testing.T) {
		h, _ := save(t)
		h.in("F. 5001:5001(0) ack 1002 <TS val 103 ecr 1>")
		h.wantOut("re-ACKed with our timestamp", ". 1002:1002(0) ack 5002 <TS val 10001 ecr 102>")
		rec := h.c.SaveTimeWait()
		h.restore(func(c *Conn) { c.RestoreTimeWait(h.now, &rec) })
		h.advance(60*time.Second - time.Nanosecond)
		h.wantState(StateTimeWait)
		h.advance(time.Nanosecond)
		h.wantState(StateClosed)
	})
	t.Run("expiry keeps the original deadline", func(t *testing.T) {
		h, _ := save(t)
		h.advance(50*time.Second - time.Nanosecond)
		h.wantState(StateTimeWait)
		h.advance(time.Nanosecond)
		h.wantState(StateClosed)
		h.wantNone("silent")
	})
	t.Run("reopen by a newer TSval", func(t *testing.T) {
		h, _ := save(t)
		if !h.in("S 4000:4000(0) <TS val 500 ecr 0>") {
			t.Fatal("a newer TSval must reopen")
		}
		h.wantState(StateClosed)
	})
	t.Run("an older TSval does not reopen", func(t *testing.T) {
		h, _ := save(t)
		if h.in("S 9000:9000(0) <TS val 50 ecr 0>") {
			t.Fatal("an older TSval must not reopen")
		}
		h.wantOut("ACK", ". 1002:1002(0) ack 5002")
	})
	t.Run("stray data refused", func(t *testing.T) {
		h, _ := save(t)
		h.in("P. 5002:5102(100) ack 1002 <TS val 200 ecr 1>")
		h.wantOut("ACK only", ". 1002:1002(0) ack 5002")
		if h.c.Readable() != 0 {
			t.Fatal("data delivered in TIME-WAIT")
		}
	})
	t.Run("without timestamps", func(t *testing.T) {
		h := newHarness(t).timeWait()
		rec := h.c.SaveTimeWait()
		if rec.Timestamps() {
			t.Fatal("timestamps were not in use")
		}
		h.restore(func(c *Conn) { c.RestoreTimeWait(h.now, &rec) })
		h.in("R 5002:5002(0)")
		h.wantState(StateClosed)
	})
}

// SetHooks redirects a connection's output and trace events.
func TestSetHooks(t *testing.T) {
	h := newHarness(t).established()
	other := &harness{t: t}
	h.c.SetHooks(other, other)
	h.send([]byte("x"))
	h.wantNone("nothing through the old hooks")
	if len(other.out) != 1 || other.out[0].seg.Flags != wire.FlagACK|wire.FlagPSH {
		t.Fatalf("new hooks got %v", other.out)
	}
	h.c.Abort(h.now)
	if len(other.events) == 0 {
		t.Fatal("no events through the new observer")
	}
}

// A SYN flood is held in HalfOpen records: each must stay 48 bytes as
// fields are added (a TimeWait record, 48 too).
func TestCompactRecordSizes(t *testing.T) {
	if n := unsafe.Sizeof(HalfOpen{}); n != 48 {
		t.Errorf("HalfOpen is %d bytes, want 48", n)
	}
	if n := unsafe.Sizeof(TimeWait{}); n > 48 {
		t.Errorf("TimeWait is %d bytes, want at most 48", n)
	}
}

// The stack's own transitions of a record go through setState: Forget
// ends a TIME-WAIT or half-open record in CLOSED with the stack's cause
// and nothing else traced or sent; RestoreCookie enters SYN-RECEIVED from
// LISTEN.
func TestRecordTransitions(t *testing.T) {
	h := newHarness(t, withTS)
	timeWaitTS(h)
	rec := h.c.SaveTimeWait()
	h.restore(func(c *Conn) { c.RestoreTimeWait(h.now, &rec) })
	h.events, h.out = nil, nil
	h.c.Forget(h.now, CauseTWReuse)
	if len(h.events) != 1 || h.events[0].Kind != EventState || h.events[0].From != StateTimeWait ||
		h.events[0].To != StateClosed || h.events[0].Cause != CauseTWReuse {
		t.Fatalf("Forget traced %+v, want one TIME-WAIT → CLOSED (tcp_tw_reuse)", h.events)
	}
	h.wantNone("Forget sends nothing")

	h = newHarness(t)
	h.restore(func(c *Conn) {
		r := HalfOpenFromCookie(ourISS, 5000, CookieOptions{PeerMSS: 1460, LocalPort: ourPort, RemotePort: peerPort})
		c.RestoreCookie(h.now, &r)
	})
	if len(h.events) != 1 || h.events[0].From != StateListen || h.events[0].To != StateSynReceived || h.events[0].Cause != CauseCookieOK {
		t.Fatalf("RestoreCookie traced %+v, want LISTEN → SYN-RECEIVED (cookie)", h.events)
	}
}
