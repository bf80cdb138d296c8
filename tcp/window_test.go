package tcp

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/wire"
)

// zeroWindow is ESTABLISHED with the peer's window closed and 100 bytes
// waiting to be sent.
func zeroWindow(h *harness) {
	h.t.Helper()
	h.established()
	h.in(". 5001:5001(0) ack 1001 win 0")
	h.send(bytesN(100))
	h.wantNone("nothing fits a zero window")
	h.wantTimers(TimerPersist)
}

// RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17: with data waiting behind a zero
// window the persist timer probes, backing off like the RTO. The probe is
// Linux's: an empty segment at SND.UNA-1 that the peer must answer with its
// window. When the window opens, the data goes at once.
func TestPersistProbes(t *testing.T) {
	h := newHarness(t)
	zeroWindow(h)
	for _, d := range backoffSchedule(200*time.Millisecond, time.Minute, 4) {
		h.expectAt(d, "zero-window probe", ". 1000:1000(0) ack 5001")
		h.in(". 5001:5001(0) ack 1001 win 0")
		h.wantNone("the answer keeps the window closed")
	}
	h.in(". 5001:5001(0) ack 1001 win 65535")
	h.wantOut("the window opened: the data goes at once", "P. 1001:1101(100) ack 5001")
	h.wantTimers(TimerRetransmit)
}

// RFC 1122 §4.2.2.17: "As long as the receiving TCP continues to send
// acknowledgments in response to the probe segments, the sending TCP MUST
// allow the connection to stay open": answered probes never give up, even
// past Retries; unanswered ones do.
func TestPersistAnsweredNeverGivesUp(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Retries = 2; c.RTOMax = time.Second })
	zeroWindow(h)
	next := func() {
		d, _ := h.c.NextDeadline()
		h.advance(d.Sub(h.now))
	}
	for i := 0; i < 10; i++ {
		next()
		h.wantOut("a probe", ". 1000:1000(0) ack 5001")
		h.in(". 5001:5001(0) ack 1001 win 0")
	}
	h.wantState(StateEstablished)
	next()
	next()
	h.wantOut("two unanswered probes", ". 1000:1000(0) ack 5001", ". 1000:1000(0) ack 5001")
	next()
	h.wantNone("Retries = 2 unanswered: give up")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
}

// Config.ZeroWindowProbeData: the probe is one byte of new data. While the
// peer refuses it the byte is retransmitted with the RTO back-off; once
// accepted, probing goes on with the next byte; the window opening sends
// the rest.
func TestPersistDataProbes(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ZeroWindowProbeData = true })
	zeroWindow(h)
	h.expectAt(200*time.Millisecond, "a one-byte probe", ". 1001:1002(1) ack 5001")
	h.in(". 5001:5001(0) ack 1001 win 0")
	h.wantNone("refused")
	h.expectAt(200*time.Millisecond, "the byte is retransmitted into the zero window", ". 1001:1002(1) ack 5001")
	h.in(". 5001:5001(0) ack 1001 win 0")
	h.expectAt(400*time.Millisecond, "again, backed off", ". 1001:1002(1) ack 5001")
	h.in(". 5001:5001(0) ack 1002 win 0")
	h.wantNone("accepted, window still zero")
	h.expectAt(200*time.Millisecond, "probing goes on with the next byte", ". 1002:1003(1) ack 5001")
	h.in(". 5001:5001(0) ack 1003 win 1000")
	h.wantOut("the window opened: the rest", "P. 1003:1101(98) ack 5001")
	h.in(". 5001:5001(0) ack 1101 win 1000")
	h.wantTimers()
}

// RFC 9293 §3.8.6.1: "the sending TCP peer must regularly retransmit to
// the receiving TCP peer even when the window is zero". A peer that shrinks
// its window to zero with data in flight still gets the retransmissions
// (Linux: the head segment becomes the probe), and answering them keeps
// the connection open past Retries.
func TestRetransmitIntoZeroWindow(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Retries = 2 }).established()
	h.send(bytesN(100))
	h.wantOut("data", "P. 1001:1101(100) ack 5001")
	h.in(". 5001:5001(0) ack 1001 win 0")
	for i, d := range backoffSchedule(200*time.Millisecond, time.Minute, 5) {
		h.expectAt(d, "the head segment is retransmitted despite the zero window "+u32(int64(i)), ". 1001:1101(100) ack 5001")
		h.in(". 5001:5001(0) ack 1001 win 0")
	}
	h.wantState(StateEstablished)
	h.in(". 5001:5001(0) ack 1101 win 0")
	h.wantTimers()
	h.wantState(StateEstablished)
}

// Reading opens a closed receive window and sends a window update at once
// (RFC 9293 §3.8.6.2.2), as Linux does (tcp_cleanup_rbuf): only when the
// advertised window had fallen to half the buffer or less and at least
// doubles, by at least one MSS.
func TestWindowUpdateAfterRead(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RcvBuf = 4000; c.MSS = 1000 }).established()
	h.in("P. 5001:6001(1000) ack 1001")
	h.in("P. 6001:7001(1000) ack 1001")
	h.wantOut("second full segment", ". 1001:1001(0) ack 7001 win 2000")
	h.c.Receive(h.now, make([]byte, 1000))
	h.wantNone("3000 free is not twice the 2000 advertised")
	h.in("P. 7001:8001(1000) ack 1001")
	h.in("P. 8001:9001(1000) ack 1001")
	h.wantOut("full", ". 1001:1001(0) ack 9001 win 1000")
	h.c.Receive(h.now, make([]byte, 500))
	h.wantNone("1500 free is not twice the 1000 advertised")
	h.c.Receive(h.now, make([]byte, 1500))
	h.wantOut("3000 free: more than twice, by more than an MSS: update", ". 1001:1001(0) ack 9001 win 3000")
	h.c.Receive(h.now, make([]byte, 1000))
	h.wantNone("a window above half the buffer needs no update")
}

// Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): the right edge moves only
// by at least min(RCV.BUFF/2, MSS); it never moves left.
func TestReceiverSWSAvoidance(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RcvBuf = 4000; c.MSS = 1000 }).established()
	h.in("P. 5001:9001(4000) ack 1001")
	h.expectAt(40*time.Millisecond, "full buffer", ". 1001:1001(0) ack 9001 win 0")
	h.c.Receive(h.now, make([]byte, 100))
	h.wantNone("100 bytes free: no update")
	h.in("S 9500:9500(0)")
	h.wantOut("challenge ACK: 100 bytes free is below min(RCV.BUFF/2, MSS), the window stays shut", ". 1001:1001(0) ack 9001 win 0")
	h.c.Receive(h.now, make([]byte, 400))
	h.wantNone("500 free: still below")
	h.advance(time.Second)
	h.in("S 9500:9500(0)")
	h.wantOut("the window stays shut at 500 free", ". 1001:1001(0) ack 9001 win 0")
	h.c.Receive(h.now, make([]byte, 500))
	h.wantOut("1000 free: one MSS, the window opens and is announced", ". 1001:1001(0) ack 9001 win 1000")
	h.advance(time.Second)
	h.in("P. 9001:9501(500) ack 1001")
	h.advance(time.Second)
	h.wantOut("the delayed ACK: the right edge did not move left", ". 1001:1001(0) ack 9501 win 500")
}

// Nagle (RFC 896) holds small segments while data is unacknowledged;
// NoDelay turns that off; sender SWS avoidance holds a small segment that
// only a small window allows.
func TestNagleAndSenderSWS(t *testing.T) {
	t.Run("Nagle", func(t *testing.T) {
		h := newHarness(t).established()
		h.send([]byte("a"))
		h.send([]byte("b"))
		h.send([]byte("c"))
		h.wantOut("one small segment in flight at a time", "P. 1001:1002(1) ack 5001")
		h.in(". 5001:5001(0) ack 1002")
		h.wantOut("the ACK releases the rest", "P. 1002:1004(2) ack 5001")
	})
	t.Run("NoDelay", func(t *testing.T) {
		h := newHarness(t).established()
		h.c.SetNoDelay(h.now, true)
		h.send([]byte("a"))
		h.send([]byte("b"))
		h.wantOut("each small write goes at once", "P. 1001:1002(1) ack 5001", "P. 1002:1003(1) ack 5001")
	})
	t.Run("sender SWS", func(t *testing.T) {
		h := newHarness(t).established()
		h.in(". 5001:5001(0) ack 1001 win 100")
		h.send(bytesN(3000))
		h.wantNone("a 100-byte window is less than half the largest window seen: wait")
		h.in(". 5001:5001(0) ack 1001 win 65535")
		h.wantOut("the window opened: full segments; Nagle holds the small rest", ". 1001:2461(1460) ack 5001", ". 2461:3921(1460) ack 5001")
		h.in(". 5001:5001(0) ack 3921")
		h.wantOut("all acknowledged: the rest", "P. 3921:4001(80) ack 5001")
	})
}

// An orphan's zero-window probes all count, answered or not: it gives up
// after OrphanRetries, as Linux times out dead sockets stuck on a zero
// window.
func TestPersistOrphanGivesUp(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OrphanRetries = 2 })
	zeroWindow(h)
	h.c.Detach(h.now)
	h.wantNone("the FIN waits behind the data")
	h.wantState(StateFinWait1)
	for _, d := range backoffSchedule(200*time.Millisecond, time.Minute, 2) {
		h.expectAt(d, "probe", ". 1000:1000(0) ack 5001")
		h.in(". 5001:5001(0) ack 1001 win 0")
	}
	h.advance(800 * time.Millisecond)
	h.wantNone("given up")
	h.wantState(StateClosed)
	h.wantErr(syscall.ETIMEDOUT)
}

// RFC 9293 §3.8.6.2.1: sender SWS avoidance holds a segment that only a
// small window allows, but an override timeout (the persist timer) sends it
// when nothing else would move the connection on, e.g. after the peer's
// window update was lost.
func TestSWSOverride(t *testing.T) {
	h := newHarness(t).established()
	h.in(". 5001:5001(0) ack 1001 win 100")
	h.send(bytesN(3000))
	h.wantNone("100 bytes is less than half the largest window: held")
	h.wantTimers(TimerPersist)
	h.expectAt(200*time.Millisecond, "the override timeout sends what fits", ". 1001:1101(100) ack 5001")
	h.in(". 5001:5001(0) ack 1101 win 100")
	h.wantNone("held again")
	h.expectAt(200*time.Millisecond, "and again", ". 1101:1201(100) ack 5001")
	h.in(". 5001:5001(0) ack 1201 win 65535")
	h.wantOut("the window opened: a full segment; Nagle holds the small rest", ". 1201:2661(1460) ack 5001")
	h.wantTimers(TimerRetransmit)
}

// Small buffers both ways, a slow reader and one segment in eight lost:
// every byte arrives, in order, whatever is lost (window updates, probes,
// retransmissions), in both zero-window probe forms.
func TestPairSmallWindowsLossy(t *testing.T) {
	for seed := int64(1); seed <= 60; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := newTestRand(seed)
			cfgA := Config{ZeroWindowProbeData: seed%2 == 0, RcvBuf: 3000 + rng.Intn(5000), SndBuf: 4000}
			cfgB := Config{RcvBuf: 2000 + rng.Intn(3000), Timestamps: switchOf(seed%3 != 0)}
			p := newPair(t, cfgA, cfgB)
			p.open()
			p.drop = func(string, *wire.Segment) bool { return rng.Intn(8) == 0 }
			msg := make([]byte, 50_000)
			for i := range msg {
				msg[i] = byte(rng.Intn(256))
			}
			var got []byte
			sent := 0
			for i := 0; i < 100000 && len(got) < len(msg); i++ {
				if sent < len(msg) {
					n, err := p.a.Send(p.now, msg[sent:])
					if err != nil {
						t.Fatal(err)
					}
					sent += n
				}
				p.run(time.Duration(1+rng.Intn(50)) * time.Millisecond)
				if rng.Intn(3) == 0 {
					b, err := readAll(p.b, p.now)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, b...)
				}
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("B read %d bytes, want %d\n%s", len(got), len(msg), strings.Join(p.log[max(0, len(p.log)-30):], "\n"))
			}
		})
	}
}

// A peer whose buffer filled may shrink its window below data already in
// flight; our ACKs then carry the window's right edge, not SND.MAX, or the
// peer would refuse them as beyond its window and never learn that its own
// data arrived (Linux tcp_acceptable_seq). Found against the Linux kernel:
// both sides backed off for minutes.
func TestAckSeqWithinShrunkenWindow(t *testing.T) {
	h := newHarness(t).established()
	h.c.SetNoDelay(h.now, true)
	if n, err := h.c.Send(h.now, make([]byte, 3000)); n != 3000 || err != nil {
		t.Fatalf("send: %d, %v", n, err)
	}
	h.out = nil // the data segments, up to SND.MAX = 4001
	h.in(". 5001:5001(0) ack 1001 win 100")
	h.in(". 5001:5011(10) ack 1001 win 100")
	h.advance(h.cfg.DelayedACK)
	h.wantOut("the ACK of the peer's data lies at the right edge of the window it offers", ". 1101:1101(0) ack 5011")
	h.checkInvariants()
}

// Turning Nagle's algorithm off sends what it was holding back at once, as
// Linux's TCP_NODELAY does, instead of waiting for the next ACK.
func TestNoDelayPushesHeldData(t *testing.T) {
	h := newHarness(t).established()
	h.c.Send(h.now, make([]byte, 1000))
	h.wantOut("the first write goes out: nothing is in flight", "P. 1001:2001(1000) ack 5001")
	h.c.Send(h.now, make([]byte, 10))
	h.wantNone("Nagle holds a small segment while data is unacknowledged (RFC 896)")
	h.c.SetNoDelay(h.now, true)
	h.wantOut("TCP_NODELAY pushes it", "P. 2001:2011(10) ack 5001")
	h.checkInvariants()
}
