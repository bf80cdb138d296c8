package link

import (
	"math/bits"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synack/synack/internal/heap"
)

// Direction says which way through a Faulty its faults apply.
type Direction uint8

const (
	Outgoing Direction = iota // packets written (the default)
	Incoming                  // packets arriving for the receiver
	Both                      // both, from the one PRNG
)

// DefaultReorderHold is how much later a reordered packet arrives when
// Faults.ReorderHold is zero.
const DefaultReorderHold = 10 * time.Millisecond

// Faults configures a Faulty. Probabilities are per packet, from 0 to 1.
type Faults struct {
	Loss    float64 // drop the packet
	Dup     float64 // send it twice
	Reorder float64 // deliver it ReorderHold late, so later packets overtake it
	Corrupt float64 // change one byte that a checksum covers

	Delay  time.Duration // added to every packet
	Jitter time.Duration // plus a uniform random extra in [0, Jitter)

	// ReorderHold is how much later a reordered packet arrives; 0 means
	// DefaultReorderHold.
	ReorderHold time.Duration

	// Drop, if set, drops every packet for which it returns true: scripted
	// faults ("lose the second FIN"). It is called with the Faulty's lock
	// held, so calls are serialized; it must not call the Faulty's
	// methods other than Stats.
	Drop func(pkt []byte) bool

	Dir Direction
}

// Stats counts what a Faulty did, over both directions.
type Stats struct {
	Packets    uint64 // packets that entered the faults
	Sent       uint64 // packets passed on, duplicates included
	Dropped    uint64 // by Loss or Drop
	Duplicated uint64
	Reordered  uint64
	Corrupted  uint64
}

// Faulty is an Endpoint that loses, duplicates, reorders, corrupts and
// delays packets on their way through. Every random decision comes from
// one PCG seeded at construction, and every packet consumes the same
// number of draws whatever the faults, so a seed and a packet sequence
// give the same decisions each run, and enabling one fault does not change
// which packets another one hits. Delays use the runtime's timers, which
// are virtual inside a testing/synctest bubble.
type Faulty struct {
	inner Endpoint

	mu     sync.Mutex
	rng    *rand.PCG
	faults Faults
	closed bool
	out    stage
	in     stage

	recv atomic.Pointer[receiverBox]

	packets, sent, dropped, duplicated, reordered, corrupted atomic.Uint64
}

// NewFaulty wraps inner with faults f, drawing decisions from seed.
func NewFaulty(inner Endpoint, f Faults, seed uint64) *Faulty {
	x := &Faulty{
		inner:  inner,
		rng:    NewFaultRNG(seed),
		faults: f,
	}
	x.out = stage{f: x, out: true, q: heap.New(entryBefore, nil)}
	x.in = stage{f: x, q: heap.New(entryBefore, nil)}
	return x
}

// SetFaults replaces the faults from the next packet on. Packets already
// held or delayed keep their fate.
func (x *Faulty) SetFaults(f Faults) {
	x.mu.Lock()
	x.faults = f
	x.mu.Unlock()
}

// MTU returns the inner link's MTU.
func (x *Faulty) MTU() int { return x.inner.MTU() }

// WritePacket passes pkt through the faults to the inner link. It returns
// the inner link's error when the packet goes out at once, nil when it is
// dropped or delayed, and net.ErrClosed after Close.
func (x *Faulty) WritePacket(pkt []byte) error { return x.out.process(pkt) }

// Attach sets the receiver; arrivals pass through the faults first when
// Dir is Incoming or Both.
func (x *Faulty) Attach(r Receiver) {
	if r == nil {
		x.recv.Store(nil)
		x.inner.Attach(nil)
		return
	}
	x.recv.Store(&receiverBox{r})
	x.inner.Attach(&x.in)
}

// Close drops held and delayed packets, stops the timers and closes the
// inner link.
func (x *Faulty) Close() error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	x.closed = true
	x.out.discard()
	x.in.discard()
	x.mu.Unlock()
	return x.inner.Close()
}

// Stats returns the counters.
func (x *Faulty) Stats() Stats {
	return Stats{
		Packets:    x.packets.Load(),
		Sent:       x.sent.Load(),
		Dropped:    x.dropped.Load(),
		Duplicated: x.duplicated.Load(),
		Reordered:  x.reordered.Load(),
		Corrupted:  x.corrupted.Load(),
	}
}

// stage is one direction's faults: the held (reordered) packet and the
// delay line. Its fields are guarded by Faulty.mu.
type stage struct {
	f   *Faulty
	out bool

	q          heap.Heap[entry] // the delay line (internal/heap: no boxing)
	seq        uint64
	delayTimer *time.Timer
	draining   bool
	batch      []entry
}

// entry is a packet on its way: buf nil means the caller's packet, not yet
// copied.
type entry struct {
	at    time.Time
	seq   uint64
	buf   *[]byte
	delay time.Duration
	n     int // copies to send
}

func (s *stage) applies(d Direction) bool {
	if s.out {
		return d != Incoming
	}
	return d != Outgoing
}

// DeliverPacket is the incoming side, attached to the inner link.
func (s *stage) DeliverPacket(pkt []byte) { s.process(pkt) }

func (s *stage) process(pkt []byte) error {
	f := s.f
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return net.ErrClosed
	}
	c := &f.faults
	if !s.applies(c.Dir) {
		f.mu.Unlock()
		return s.emit(pkt)
	}
	ft := c.Decide(f.rng, len(pkt))
	f.packets.Add(1)
	if (c.Drop != nil && c.Drop(pkt)) || ft.Drop {
		f.dropped.Add(1)
		f.mu.Unlock()
		return nil
	}
	e := entry{n: ft.Copies, delay: max(c.Delay, 0) + ft.Extra}
	if ft.Copies > 1 {
		f.duplicated.Add(1)
	}
	if ft.Reorder {
		f.reordered.Add(1)
	}
	if ft.Corrupt {
		e.buf = getBuf(pkt)
		ft.CorruptIn(*e.buf)
		f.corrupted.Add(1)
	}
	if e.delay > 0 {
		if e.buf == nil {
			e.buf = getBuf(pkt)
		}
		s.push(e, time.Now())
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()
	return s.send(e, pkt)
}

// send emits e.n copies of e (pkt if e holds no buffer) and frees e's
// buffer. Called without the lock.
func (s *stage) send(e entry, pkt []byte) error {
	if e.buf != nil {
		pkt = *e.buf
	}
	var err error
	s.f.sent.Add(uint64(e.n))
	for range e.n {
		if x := s.emit(pkt); err == nil {
			err = x
		}
	}
	if e.buf != nil {
		putBuf(e.buf)
	}
	return err
}

func (s *stage) emit(pkt []byte) error {
	if s.out {
		return s.f.inner.WritePacket(pkt)
	}
	if b := s.f.recv.Load(); b != nil {
		b.r.DeliverPacket(pkt)
	}
	return nil
}

// push puts e on the delay line, due at now+e.delay. Ties leave in
// arrival order.
func (s *stage) push(e entry, now time.Time) {
	e.at = now.Add(e.delay)
	e.seq = s.seq
	s.seq++
	s.q.Push(e)
	if first, _ := s.q.Peek(); first.seq != e.seq || s.draining {
		return // the timer is already due earlier, or the drainer re-arms
	}
	if s.delayTimer == nil {
		s.delayTimer = time.AfterFunc(e.delay, s.delayExpired)
	} else {
		s.delayTimer.Reset(e.delay)
	}
}

// delayExpired sends every packet that is due, in order. One run drains
// at a time, so packets leave in deadline order even while the timer
// fires again during a send.
func (s *stage) delayExpired() {
	f := s.f
	f.mu.Lock()
	if f.closed || s.draining {
		f.mu.Unlock()
		return
	}
	s.draining = true
	for {
		now := time.Now()
		batch := s.batch[:0]
		for first, ok := s.q.Peek(); ok && !first.at.After(now); first, ok = s.q.Peek() {
			batch = append(batch, s.q.Pop())
		}
		s.batch = batch
		if len(batch) == 0 {
			if first, ok := s.q.Peek(); ok {
				s.delayTimer.Reset(first.at.Sub(now))
			}
			s.draining = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		for i := range batch {
			s.send(batch[i], nil)
			batch[i] = entry{}
		}
		f.mu.Lock()
		if f.closed {
			s.draining = false
			f.mu.Unlock()
			return
		}
	}
}

// discard drops everything held and stops the timers; under the lock.
func (s *stage) discard() {
	if s.delayTimer != nil {
		s.delayTimer.Stop()
	}
	s.q.Clear(func(e entry) { putBuf(e.buf) })
}

// hit reports whether a draw falls under probability p.
func hit(r uint64, p float64) bool {
	return float64(r>>11)*0x1p-53 < p
}

// below maps a draw to [0, n) by the high half of a 128-bit product
// (Lemire), uniform enough for faults.
func below(r, n uint64) uint64 {
	hi, _ := bits.Mul64(r, n)
	return hi
}

// corrupt changes one byte of an IP packet to another value, choosing
// among bytes some checksum covers so that the receiver must notice: all
// of IPv4 (header checksum, then the transport checksum), and IPv6 from
// the addresses on (the pseudo-header and the transport checksum); the
// first IPv6 word and the hop limit are covered by nothing.
func corrupt(pkt []byte, where, what uint64) {
	start := 0
	if pkt[0]>>4 == 6 && len(pkt) > 8 {
		start = 8
	}
	i := start + int(below(where, uint64(len(pkt)-start)))
	pkt[i] ^= byte(1 + below(what, 255))
}

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 2048)
	return &b
}}

func getBuf(pkt []byte) *[]byte {
	bp := bufPool.Get().(*[]byte)
	*bp = append((*bp)[:0], pkt...)
	return bp
}

func putBuf(bp *[]byte) { bufPool.Put(bp) }

// entryBefore orders the delay line: by due time, then arrival order.
func entryBefore(a, b entry) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.seq < b.seq
}
