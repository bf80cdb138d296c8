package bench

import (
	"sync/atomic"
	"testing"
	"time"
)

// A burst larger than the queue loses what does not fit (tail drop), and
// what fits arrives after its serialisation behind the others plus the
// propagation delay, in order.
func TestShaperQueueAndDelay(t *testing.T) {
	b := bottleneck{rate: 100e6, rtt: 20 * time.Millisecond, queue: 250_000}
	var got atomic.Int64
	var last atomic.Int64
	order := true
	s := newShaper(b, func(p []byte) {
		n := int64(p[0])<<8 | int64(p[1])
		if n <= last.Load() && got.Load() > 0 {
			order = false
		}
		last.Store(n)
		got.Add(1)
	})
	defer s.close()
	start := time.Now()
	s.now = func() time.Time { return start } // the burst is instantaneous
	pkt := make([]byte, 1500)
	for i := range 1000 {
		pkt[0], pkt[1] = byte(i>>8), byte(i)
		s.send(pkt)
	}
	sent := 1000 - int(s.queueDrops.Load())
	// 250,000 bytes hold 166 packets of 1500.
	if sent != 166 {
		t.Fatalf("%d of a burst of 1000 packets of 1500 bytes queued, want the 166 a 250,000-byte queue holds", sent)
	}
	for got.Load() < int64(sent) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%d of %d packets delivered after 5 s", got.Load(), sent)
		}
		time.Sleep(time.Millisecond)
	}
	// The last of them left the queue at sent×120 µs and arrived 10 ms later.
	if el, min := time.Since(start), time.Duration(sent)*120*time.Microsecond+10*time.Millisecond; el < min {
		t.Fatalf("%d packets delivered in %v, before the %v rate and delay allow", sent, el, min)
	}
	if !order {
		t.Fatal("packets reordered")
	}
}
