package tcp

import (
	"math/bits"

	"github.com/synack/synack/internal/copies"
	"github.com/synack/synack/seq"
)

// ring is a byte ring buffer that grows lazily up to max, so that a
// connection holds no buffer memory until it moves data, and hands its
// memory back to the pool once drained (release). Bytes at logical
// offsets [0, n) are readable; a receiver may also write ahead of n
// (out-of-order data) as long as it stays below max.
type ring struct {
	buf  []byte
	head int // physical index of logical offset 0
	n    int // readable bytes
	max  int
}

// room returns how many more bytes write accepts.
func (r *ring) room() int { return r.max - r.n }

// ensure grows the buffer so that logical offsets [0, size) are addressable,
// keeping every byte already stored (including those written ahead). The
// new buffer comes from p if it has one large enough, and the old one goes
// back to p.
func (r *ring) ensure(p *bufPool, size int) {
	if size <= len(r.buf) {
		return
	}
	c := max(len(r.buf)*2, minPooled)
	for c < size {
		c *= 2
	}
	c = min(c, r.max)
	nb := p.get(size, c, r.max)
	if len(r.buf) > 0 {
		k := copy(nb, r.buf[r.head:])
		copy(nb[k:], r.buf[:r.head])
		copies.Add(copies.Grow, len(r.buf))
		p.put(r.buf)
	}
	r.buf, r.head = nb, 0
}

// writeAt stores b at logical offset off; off+len(b) must not exceed max.
func (r *ring) writeAt(p *bufPool, off int, b []byte) {
	r.ensure(p, off+len(b))
	pos := (r.head + off) % len(r.buf)
	k := copy(r.buf[pos:], b)
	copy(r.buf, b[k:])
}

// write appends as much of b as fits and returns the count.
func (r *ring) write(p *bufPool, b []byte) int {
	b = b[:min(len(b), r.room())]
	if len(b) == 0 {
		return 0
	}
	r.writeAt(p, r.n, b)
	r.n += len(b)
	return len(b)
}

// peek returns the bytes at logical [off, off+k) as up to two slices.
func (r *ring) peek(off, k int) (a, b []byte) {
	if k == 0 {
		return nil, nil
	}
	pos := (r.head + off) % len(r.buf)
	if pos+k <= len(r.buf) {
		return r.buf[pos : pos+k], nil
	}
	return r.buf[pos:], r.buf[:k-(len(r.buf)-pos)]
}

// read copies readable bytes into b and consumes them.
func (r *ring) read(b []byte) int {
	k := min(len(b), r.n)
	x, y := r.peek(0, k)
	copy(b[copy(b, x):], y)
	r.discard(k)
	return k
}

// discard consumes k readable bytes.
func (r *ring) discard(k int) {
	r.n -= k
	if len(r.buf) > 0 {
		r.head = (r.head + k) % len(r.buf)
	}
}

// release hands the memory back to p (nil: to the collector) and empties
// the ring; the caller knows nothing stored is still wanted (none
// readable, none written ahead).
func (r *ring) release(p *bufPool) {
	if r.buf != nil {
		p.put(r.buf)
	}
	r.buf, r.head, r.n = nil, 0, 0
}

// Buffer sizes the pool keeps: minPooled << k for the classes k, the
// smallest also the least a ring grows to.
const (
	minPooled   = 4 << 10
	poolClasses = 9 // 4 KiB … 1 MiB
)

// PoolMax bounds the bytes of free buffers a pool keeps (a stack's, or a
// shard's: one per Scratch). Enough for a few bulk connections' buffers to
// go round without the collector, and little enough that a stack whose
// connections have gone idle does not hoard: it holds at most this much
// more than the buffers in use.
const PoolMax = 1 << 20

// bufPool is the free send and receive buffers of the connections that
// share a Scratch. A connection takes a buffer when it first has bytes to
// hold and gives it back when its ring drains, so that an idle connection
// holds none, and a busy one reuses another's instead of allocating: the
// steady state allocates nothing. It has no lock: the connections sharing
// a Scratch are driven from one goroutine at a time (the stack's, under
// netconn's shard lock). A nil *bufPool keeps nothing.
type bufPool struct {
	free [poolClasses][][]byte // by class: cap in [minPooled<<k, minPooled<<(k+1))
	held int                   // bytes in free
}

// class returns the pool class of a buffer of capacity c (floor), or -1 if
// the pool does not keep that size.
func class(c int) int {
	if c < minPooled {
		return -1
	}
	k := bits.Len(uint(c/minPooled)) - 1
	if k >= poolClasses {
		return -1
	}
	return k
}

// get returns a buffer with room for at least need bytes and no more than
// limit (the ring's max): the largest free one (a ring that found a large
// buffer need not grow, and copy, again), else a new one of size bytes.
func (p *bufPool) get(need, size, limit int) []byte {
	if p != nil {
		lo := bits.Len(uint((need - 1) / minPooled)) // every buffer of class ≥ lo holds need
		for k := min(class(max(limit, minPooled)), poolClasses-1); k >= lo; k-- {
			if n := len(p.free[k]); n > 0 {
				b := p.free[k][n-1]
				p.free[k][n-1] = nil
				p.free[k] = p.free[k][:n-1]
				p.held -= cap(b)
				return b[:min(cap(b), limit)]
			}
		}
	}
	return make([]byte, size)
}

// put keeps b for another connection, unless the pool is full or b's size
// is not one it keeps (the collector then has it).
func (p *bufPool) put(b []byte) {
	if p == nil {
		return
	}
	k := class(cap(b))
	if k < 0 || p.held+cap(b) > PoolMax {
		return
	}
	p.free[k] = append(p.free[k], b[:cap(b)])
	p.held += cap(b)
}

// span is an out-of-order range [start, end) held ahead of RCV.NXT.
type span struct{ start, end seq.Num }

// addSpan records [s, e) in the sorted, disjoint list, merging neighbours.
// It reports false when the list would exceed limit ranges.
func addSpan(list []span, s, e seq.Num, limit int) ([]span, bool) {
	i := 0
	for i < len(list) && list[i].end.LessThan(s) {
		i++
	}
	j := i
	for j < len(list) && list[j].start.LessThanEq(e) {
		s = seq.Min(s, list[j].start)
		e = seq.Max(e, list[j].end)
		j++
	}
	if i == j { // no overlap: insert
		if len(list) >= limit {
			return list, false
		}
		list = append(list, span{})
		copy(list[i+1:], list[i:])
		list[i] = span{s, e}
		return list, true
	}
	list[i] = span{s, e}
	list = append(list[:i+1], list[j:]...)
	return list, true
}
