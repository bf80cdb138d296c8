package tcp

import (
	"github.com/synack/synack/internal/copies"
	"github.com/synack/synack/seq"
)

// ring is a byte ring buffer that grows lazily up to max, so that a
// connection holds no buffer memory until it moves data. Bytes at logical
// offsets [0, n) are readable; a receiver may also write ahead of n (out-of-
// order data) as long as it stays below max.
type ring struct {
	buf  []byte
	head int // physical index of logical offset 0
	n    int // readable bytes
	max  int
}

// room returns how many more bytes write accepts.
func (r *ring) room() int { return r.max - r.n }

// ensure grows the buffer so that logical offsets [0, size) are addressable,
// keeping every byte already stored (including those written ahead).
func (r *ring) ensure(size int) {
	if size <= len(r.buf) {
		return
	}
	c := max(len(r.buf)*2, 4096)
	for c < size {
		c *= 2
	}
	c = min(c, r.max)
	nb := make([]byte, c)
	if len(r.buf) > 0 {
		k := copy(nb, r.buf[r.head:])
		copy(nb[k:], r.buf[:r.head])
		copies.Add(copies.Grow, len(r.buf))
	}
	r.buf, r.head = nb, 0
}

// writeAt stores p at logical offset off; off+len(p) must not exceed max.
func (r *ring) writeAt(off int, p []byte) {
	r.ensure(off + len(p))
	pos := (r.head + off) % len(r.buf)
	k := copy(r.buf[pos:], p)
	copy(r.buf, p[k:])
}

// write appends as much of p as fits and returns the count.
func (r *ring) write(p []byte) int {
	p = p[:min(len(p), r.room())]
	if len(p) == 0 {
		return 0
	}
	r.writeAt(r.n, p)
	r.n += len(p)
	return len(p)
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

// read copies readable bytes into p and consumes them.
func (r *ring) read(p []byte) int {
	k := min(len(p), r.n)
	a, b := r.peek(0, k)
	copy(p[copy(p, a):], b)
	r.discard(k)
	return k
}

// discard consumes k readable bytes, releasing the buffer when empty.
func (r *ring) discard(k int) {
	r.n -= k
	if len(r.buf) > 0 {
		r.head = (r.head + k) % len(r.buf)
	}
}

// release frees the memory if nothing is stored.
func (r *ring) release() {
	r.buf, r.head, r.n = nil, 0, 0
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
