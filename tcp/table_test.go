package tcp

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// arrival is one row of a SEGMENT ARRIVES table: from a fixture's state, one
// segment comes in; the row says what must go out, in order (nil: nothing),
// and what the connection looks like afterwards.
type arrival struct {
	what   string   // the sentence saying what the row means
	in     string   // the arriving segment
	out    []string // what we must send, in order
	state  State    // the state afterwards
	err    error    // Err() afterwards (nil: none)
	cause  Cause    // when set, the cause of the last state change
	read   int      // bytes the application can read afterwards
	reopen bool     // what SegmentArrives returns (TIME-WAIT reopening)
}

// runArrivals runs each row on a fresh connection that setup brings to the
// state under test; mods change the Config.
func runArrivals(t *testing.T, setup func(h *harness), rows []arrival, mods ...func(*Config)) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.what, func(t *testing.T) {
			h := newHarness(t, mods...)
			setup(h)
			h.events = nil
			reopen := h.in(r.in)
			h.wantOut(r.what, r.out...)
			h.wantState(r.state)
			if reopen != r.reopen {
				t.Fatalf("%s: SegmentArrives returned reopen=%v, want %v", r.what, reopen, r.reopen)
			}
			if err := h.c.Err(); !errors.Is(err, r.err) || (err == nil) != (r.err == nil) {
				t.Fatalf("%s: Err() = %v, want %v", r.what, err, r.err)
			}
			if r.cause != CauseNone && h.lastCause() != r.cause {
				t.Fatalf("%s: cause %q, want %q", r.what, h.lastCause(), r.cause)
			}
			if got := h.c.Readable(); got != r.read {
				t.Fatalf("%s: %d bytes readable, want %d", r.what, got, r.read)
			}
			h.checkInvariants()
		})
	}
}

// u32 formats a sequence number computed with wrap-around, for rows that
// need one: u32(1001 - 65536) is the number just older than a 64 KiB window.
func u32(v int64) string { return fmt.Sprint(uint32(v)) }

// expectAt checks that nothing is sent for d less a nanosecond and that
// exactly want is sent at d: a timer firing at exactly that moment.
func (h *harness) expectAt(d time.Duration, why string, want ...string) {
	h.t.Helper()
	h.advance(d - time.Nanosecond)
	h.wantNone(why + " (not yet)")
	h.advance(time.Nanosecond)
	h.wantOut(why, want...)
}

// wantErr checks the error the connection ended with.
func (h *harness) wantErr(want error) {
	h.t.Helper()
	if err := h.c.Err(); err != want {
		h.t.Fatalf("Err() = %v, want %v", err, want)
	}
}

// wantCause checks the cause of the most recent state change.
func (h *harness) wantCause(want Cause) {
	h.t.Helper()
	if got := h.lastCause(); got != want {
		h.t.Fatalf("cause %q, want %q", got, want)
	}
}

// wantTimers checks exactly which timers are armed.
func (h *harness) wantTimers(want ...Timer) {
	h.t.Helper()
	var got []Timer
	for tm := Timer(0); tm < numTimers; tm++ {
		if _, ok := h.c.Deadline(tm); ok {
			got = append(got, tm)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		h.t.Fatalf("armed timers %v, want %v", got, want)
	}
}

// send queues p and checks that all of it was taken.
func (h *harness) send(p []byte) {
	h.t.Helper()
	n, err := h.c.Send(h.now, p)
	if err != nil || n != len(p) {
		h.t.Fatalf("Send(%d bytes) = %d, %v", len(p), n, err)
	}
}

// read reads everything readable and returns it.
func (h *harness) read() ([]byte, error) {
	var out []byte
	buf := make([]byte, 1<<16)
	for {
		n, err := h.c.Receive(h.now, buf)
		out = append(out, buf[:n]...)
		if err != nil || n == 0 {
			return out, err
		}
	}
}

// synReceivedActive reaches SYN-RECEIVED by a simultaneous open: our SYN
// crosses the peer's.
func (h *harness) synReceivedActive() *harness {
	h.t.Helper()
	h.synSent()
	h.in("S 5000:5000(0) win 65535 <mss 1460>")
	h.wantOut("a SYN in SYN-SENT is answered by SYN+ACK with our ISS", "S. 1000:1000(0) ack 5001 <mss 1460>")
	h.wantState(StateSynReceived)
	return h
}

// bytesN returns n bytes of recognisable payload.
func bytesN(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('A' + i%26)
	}
	return p
}
