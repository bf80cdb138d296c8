package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/synack/synack/link"
)

// shaper is one direction of a bottleneck link: a FIFO queue drained at
// rate (a serialisation delay per packet of its size), holding at most
// limit bytes (a packet that would overflow it is dropped: tail drop), then
// a propagation delay. Both stacks' links use it, so they meet the same
// bottleneck. Departure times are computed, not slept: a late goroutine
// delivers late but does not lose the link's capacity.
type shaper struct {
	bytesPerSec float64
	limit       int
	delay       time.Duration
	deliver     func(pkt []byte)
	now         func() time.Time // time.Now; a test's clock

	mu        sync.Mutex
	busyUntil time.Time // when the last packet queued has left the queue
	q         chan shaped
	pool      sync.Pool
	closed    chan struct{}
	wg        sync.WaitGroup

	queueDrops, sentBytes atomic.Uint64
}

type shaped struct {
	at  time.Time
	buf *[]byte
}

// bottleneck describes the rate-limited link: rate bit/s each way, rtt the
// round trip of the propagation delays, queue bytes of queue each way.
type bottleneck struct {
	rate  float64
	rtt   time.Duration
	queue int
}

func newShaper(b bottleneck, deliver func([]byte)) *shaper {
	s := &shaper{
		bytesPerSec: b.rate / 8, limit: b.queue, delay: b.rtt / 2, deliver: deliver,
		now:    time.Now,
		q:      make(chan shaped, 16384),
		closed: make(chan struct{}),
	}
	s.pool.New = func() any { b := make([]byte, 0, 65536); return &b }
	s.wg.Add(1)
	go s.run()
	return s
}

// send queues a copy of pkt, or drops it if the queue is full.
func (s *shaper) send(pkt []byte) {
	now := s.now()
	s.mu.Lock()
	start := s.busyUntil
	if start.Before(now) {
		start = now
	}
	backlog := start.Sub(now).Seconds() * s.bytesPerSec // bytes still waiting ahead of pkt
	if int(backlog)+len(pkt) > s.limit {
		s.mu.Unlock()
		s.queueDrops.Add(1)
		return
	}
	s.busyUntil = start.Add(time.Duration(float64(len(pkt)) / s.bytesPerSec * 1e9))
	at := s.busyUntil.Add(s.delay)
	bp := s.pool.Get().(*[]byte)
	*bp = append((*bp)[:0], pkt...)
	select {
	case s.q <- shaped{at, bp}:
		s.sentBytes.Add(uint64(len(pkt)))
	default: // the delay line is full: never with these rates
		s.queueDrops.Add(1)
	}
	s.mu.Unlock()
}

func (s *shaper) run() {
	defer s.wg.Done()
	for {
		select {
		case <-s.closed:
			return
		case p := <-s.q:
			if d := time.Until(p.at); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-s.closed:
					t.Stop()
					return
				case <-t.C:
				}
			}
			s.deliver(*p.buf)
			s.pool.Put(p.buf)
		}
	}
}

func (s *shaper) close() {
	close(s.closed)
	s.wg.Wait()
}

// shapedEndpoint sends what its stack writes through a shaper into the
// inner link.
type shapedEndpoint struct {
	link.Endpoint
	s *shaper
}

func newShapedEndpoint(inner link.Endpoint, b bottleneck) *shapedEndpoint {
	return &shapedEndpoint{Endpoint: inner, s: newShaper(b, func(p []byte) { inner.WritePacket(p) })}
}

func (e *shapedEndpoint) WritePacket(pkt []byte) error {
	e.s.send(pkt)
	return nil
}

func (e *shapedEndpoint) Close() error {
	e.s.close()
	return e.Endpoint.Close()
}
