package netconn

import (
	"sync"
	"sync/atomic"

	"github.com/synack/synack/internal/copies"
)

// backlogMax bounds the packets queued while the lock is held; more are
// dropped and counted, as a socket's backlog is bounded in Linux
// (sk_add_backlog) and a NIC's queue is (netdev_max_backlog, 1000).
const backlogMax = 4096

// spareMax bounds the buffers kept for reuse.
const spareMax = 256

// ownedMax bounds the links' buffers the backlog holds at once
// (DeliverOwned): beyond it, packets are copied.
const ownedMax = 64

// ownedMin is the smallest packet whose link buffer the backlog keeps
// rather than copying it. A link's buffer is as large as its largest
// packet (64 KiB for a TUN with offloads), so keeping it for a SYN or a
// bare ACK would hold 64 KiB for a few dozen bytes, and make the link
// allocate another; while many connections open at once (the handshakes
// of 10,000 idle ones) that churn grows the heap and the RSS that stays
// after it. A copy of so few bytes costs less than the buffer.
const ownedMin = 512

// lock is the Stack's mutex with Linux's socket backlog: a packet that
// arrives while an application call (or the timer) holds the lock is
// queued instead of waited for, and whoever holds the lock delivers the
// queue before letting go, as release_sock does. So a link's reader never
// waits behind applications: with many goroutines dialling, a reader
// queued behind them on a fair mutex let the link's own queue overflow
// and SYN+ACKs were lost (a 1 s retransmission each).
type lock struct {
	mu sync.Mutex
	s  *shard

	qmu     sync.Mutex
	q       []queued // packets waiting for the lock, copies
	spare   [][]byte // buffers of delivered packets, for reuse
	pending atomic.Bool
	owned   int // links' buffers in q, guarded by qmu
	drops   atomic.Uint64
	batch   [][]byte  // scratch for drain, guarded by mu
	one     [1][]byte // scratch for deliverOwned, guarded by mu
}

type queued struct {
	b       []byte
	trusted bool
	release func([]byte) // b is a link's buffer, handed back through release
}

func (l *lock) Lock() { l.mu.Lock() }

// Unlock delivers what arrived while the lock was held, then unlocks; if
// more arrived meanwhile and nobody took the lock, it takes it again.
func (l *lock) Unlock() {
	for {
		if l.pending.Load() {
			l.drain()
		}
		l.mu.Unlock()
		// A packet queued after the drain by a goroutine whose TryLock
		// failed is ours to deliver: that failure happened before this
		// Unlock, so its pending flag is visible here.
		if !l.pending.Load() || !l.mu.TryLock() {
			return
		}
	}
}

// deliver hands pkts to the stack now if the lock is free, or queues
// copies of them for its holder.
func (l *lock) deliver(pkts [][]byte, trusted bool) {
	if l.mu.TryLock() {
		// What this link queued before goes first: the queue may
		// still hold its earlier packets if the holder left before
		// draining them.
		if l.pending.Load() {
			l.drain()
		}
		l.s.deliverLocked(pkts, trusted)
		l.Unlock()
		return
	}
	l.qmu.Lock()
	for _, p := range pkts {
		if len(l.q) >= backlogMax {
			l.drops.Add(1)
			continue
		}
		var b []byte
		if n := len(l.spare); n > 0 {
			b, l.spare = l.spare[n-1][:0], l.spare[:n-1]
		}
		l.q = append(l.q, queued{append(b, p...), trusted, nil})
		copies.Add(copies.Backlog, len(p))
	}
	l.pending.Store(true)
	l.qmu.Unlock()
	// The holder may have left between the TryLock and the queueing.
	if l.mu.TryLock() {
		l.Unlock()
	}
}

// deliverOwned is deliver for a link that can leave its buffer with the
// backlog rather than have it copied; it reports whether it was kept.
func (l *lock) deliverOwned(pkt []byte, trusted bool, release func([]byte)) bool {
	if l.mu.TryLock() {
		if l.pending.Load() {
			l.drain()
		}
		l.one[0] = pkt
		l.s.deliverLocked(l.one[:], trusted)
		l.one[0] = nil
		l.Unlock()
		return false
	}
	if len(pkt) < ownedMin {
		l.deliver([][]byte{pkt}, trusted) // copied: see ownedMin
		return false
	}
	l.qmu.Lock()
	if l.owned >= ownedMax || len(l.q) >= backlogMax {
		l.qmu.Unlock()
		l.deliver([][]byte{pkt}, trusted) // copied, or dropped
		return false
	}
	l.q = append(l.q, queued{pkt, trusted, release})
	l.owned++
	l.pending.Store(true)
	l.qmu.Unlock()
	if l.mu.TryLock() {
		l.Unlock()
	}
	return true
}

// drain delivers the queued packets in order, runs of the same trust in
// one call; the lock is held.
func (l *lock) drain() {
	l.qmu.Lock()
	q := l.q
	l.q = nil
	l.pending.Store(false)
	l.qmu.Unlock()
	if len(q) == 0 {
		return
	}
	for i := 0; i < len(q); {
		j := i
		l.batch = l.batch[:0]
		for ; j < len(q) && q[j].trusted == q[i].trusted; j++ {
			l.batch = append(l.batch, q[j].b)
		}
		l.s.deliverLocked(l.batch, q[i].trusted)
		i = j
	}
	clear(l.batch)
	l.qmu.Lock()
	for i := range q {
		switch {
		case q[i].release != nil:
			l.owned--
			q[i].release(q[i].b) // the link's pool: it never calls back
		case len(l.spare) < spareMax:
			l.spare = append(l.spare, q[i].b)
		}
		q[i] = queued{}
	}
	if l.q == nil {
		l.q = q[:0] // keep the slice for the next queue
	}
	l.qmu.Unlock()
}
