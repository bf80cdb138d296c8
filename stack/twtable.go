package stack

import (
	"container/heap"
	"hash/maphash"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/tcp"
)

// twTable holds the compact TIME-WAIT records: 80 bytes each in a log of
// fixed-size chunks, plus a 4-byte slot or two in an open-addressing
// index — about 91 bytes a record at 100,000 records, the timer included,
// against a Go map's ~190 (DESIGN.md asks for at most 128).
//
// The log is in insertion order, and since every record lives 2MSL from
// when it is written, that is deadline order: the head of the log is the
// next to expire and no timer heap is needed. A record that moves (2MSL
// restarted by a retransmitted FIN) is written again at the tail and its
// old slot left dead until the head passes it. The rare record written
// with a deadline earlier than the tail's (a connection that entered
// TIME-WAIT before its application let go of it) goes in a small heap.
type twTable struct {
	chunks []*twChunk // chunks[0] holds log positions [base, base+twChunkLen)
	base   uint64
	head   uint64 // first position not yet freed
	tail   uint64 // next position to write
	maxDL  int64  // latest in-order deadline written

	index []uint32 // open addressing, linear probing: 0 empty, else uint32(pos)+1
	n     int      // live records
	seed  maphash.Seed

	late lateHeap // positions of records written out of deadline order
}

const twChunkLen = 1024

type twChunk [twChunkLen]twEntry

// twEntry is one record: 80 bytes. deadline 0 marks a dead slot.
type twEntry struct {
	t                       tuple // 36 bytes
	shift, flags            uint8
	late                    bool // in the late heap, not in log order
	sndNxt, rcvNxt          seq.Num
	rcvWnd, tsOff, tsRecent uint32
	deadline, lastChallenge int64
}

func (tt *twTable) len() int { return tt.n }

// at returns the entry at log position pos.
func (tt *twTable) at(pos uint64) *twEntry {
	i := pos - tt.base
	return &tt.chunks[i/twChunkLen][i%twChunkLen]
}

// posOf widens an index value back to a log position: live positions lie
// in [head, tail), a window far narrower than 2^32.
func (tt *twTable) posOf(v uint32) uint64 {
	return tt.head + uint64(v-1-uint32(tt.head))
}

func (tt *twTable) hash(t *tuple) uint64 { return maphash.Comparable(tt.seed, *t) }

// find returns the index slot holding t, or -1.
func (tt *twTable) find(t *tuple) int {
	if tt.n == 0 {
		return -1
	}
	mask := len(tt.index) - 1
	for i := int(tt.hash(t)) & mask; ; i = (i + 1) & mask {
		v := tt.index[i]
		if v == 0 {
			return -1
		}
		if tt.at(tt.posOf(v)).t == *t {
			return i
		}
	}
}

// get returns t's record.
func (tt *twTable) get(t *tuple) (tcp.TimeWait, bool) {
	i := tt.find(t)
	if i < 0 {
		return tcp.TimeWait{}, false
	}
	return tt.at(tt.posOf(tt.index[i])).record(), true
}

func (e *twEntry) record() tcp.TimeWait {
	return tcp.TimeWait{SndNxt: e.sndNxt, RcvNxt: e.rcvNxt, RcvWnd: e.rcvWnd, TSOffset: e.tsOff, TSRecent: e.tsRecent,
		Deadline: e.deadline, LastChallenge: e.lastChallenge, LocalPort: e.t.lport, RemotePort: e.t.rport,
		RcvShift: e.shift, Flags: e.flags}
}

// put stores t's record. A record whose deadline is unchanged is updated
// where it is; otherwise it is written anew at the tail.
func (tt *twTable) put(t tuple, rec *tcp.TimeWait) {
	if i := tt.find(&t); i >= 0 {
		e := tt.at(tt.posOf(tt.index[i]))
		if e.deadline == rec.Deadline {
			e.set(t, rec)
			return
		}
		tt.remove(i)
	}
	if 2*(tt.n+1) > len(tt.index) {
		tt.rehash(max(1024, 4*(tt.n+1)))
	}
	pos := tt.tail
	if pos-tt.base == uint64(len(tt.chunks))*twChunkLen {
		tt.chunks = append(tt.chunks, new(twChunk))
	}
	tt.tail++
	e := tt.at(pos)
	e.set(t, rec)
	if rec.Deadline < tt.maxDL {
		e.late = true
		heap.Push(&tt.late, lateItem{pos, rec.Deadline})
	} else {
		tt.maxDL = rec.Deadline
	}
	tt.insert(&t, pos)
	tt.n++
}

func (e *twEntry) set(t tuple, r *tcp.TimeWait) {
	*e = twEntry{t: t, shift: r.RcvShift, flags: r.Flags, late: e.late, sndNxt: r.SndNxt, rcvNxt: r.RcvNxt,
		rcvWnd: r.RcvWnd, tsOff: r.TSOffset, tsRecent: r.TSRecent, deadline: r.Deadline, lastChallenge: r.LastChallenge}
	if e.deadline == 0 {
		e.deadline = 1 // 0 marks a dead slot
	}
}

// insert adds pos to the index under t.
func (tt *twTable) insert(t *tuple, pos uint64) {
	mask := len(tt.index) - 1
	i := int(tt.hash(t)) & mask
	for tt.index[i] != 0 {
		i = (i + 1) & mask
	}
	tt.index[i] = uint32(pos) + 1
}

// del forgets t's record and reports whether there was one.
func (tt *twTable) del(t *tuple) bool {
	i := tt.find(t)
	if i >= 0 {
		tt.remove(i)
	}
	return i >= 0
}

// remove frees the record in index slot i: the slot is closed up by
// backward shifting (linear probing needs no tombstones) and the log slot
// marked dead, then the head moves past dead slots and frees whole chunks.
func (tt *twTable) remove(i int) {
	e := tt.at(tt.posOf(tt.index[i]))
	e.deadline, e.late = 0, false
	tt.n--
	mask := len(tt.index) - 1
	for j := (i + 1) & mask; tt.index[j] != 0; j = (j + 1) & mask {
		home := int(tt.hash(&tt.at(tt.posOf(tt.index[j])).t)) & mask
		// Move j back to i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			tt.index[i] = tt.index[j]
			i = j
		}
	}
	tt.index[i] = 0
	tt.advance()
}

// advance moves the head past dead slots and releases drained chunks.
func (tt *twTable) advance() {
	for tt.head < tt.tail && tt.at(tt.head).deadline == 0 {
		tt.head++
		if tt.head-tt.base == twChunkLen {
			tt.chunks[0] = nil
			tt.chunks = tt.chunks[1:]
			tt.base += twChunkLen
		}
	}
	if tt.head == tt.tail {
		// Empty: start the log afresh in the chunk already held.
		if len(tt.chunks) > 0 {
			*tt.chunks[0] = twChunk{}
			tt.chunks = tt.chunks[:1:1]
		}
		tt.base, tt.head = tt.tail, tt.tail
	}
	if len(tt.index) > 1024 && 8*tt.n < len(tt.index) {
		tt.rehash(max(1024, 4*tt.n))
	}
}

// rehash rebuilds the index with at least size slots (a power of two).
func (tt *twTable) rehash(size int) {
	n := 1024
	for n < size {
		n *= 2
	}
	if n == len(tt.index) {
		return
	}
	if tt.index == nil {
		tt.seed = maphash.MakeSeed()
	}
	tt.index = make([]uint32, n)
	for pos := tt.head; pos < tt.tail; pos++ {
		if e := tt.at(pos); e.deadline != 0 {
			tt.insert(&e.t, pos)
		}
	}
}

// next returns the earliest deadline held.
func (tt *twTable) next() (int64, bool) {
	at, ok := int64(0), false
	for tt.late.Len() > 0 {
		x := tt.late[0]
		if x.pos >= tt.head {
			if e := tt.at(x.pos); e.deadline == x.deadline && e.late {
				at, ok = x.deadline, true
				break
			}
		}
		heap.Pop(&tt.late) // freed or rewritten since
	}
	for pos := tt.head; pos < tt.tail; pos++ {
		if e := tt.at(pos); e.deadline != 0 && !e.late {
			if !ok || e.deadline < at {
				at, ok = e.deadline, true
			}
			break
		}
	}
	return at, ok
}

// due returns a record whose deadline is at or before now.
func (tt *twTable) due(now int64) (tuple, tcp.TimeWait, bool) {
	at, ok := tt.next()
	if !ok || at > now {
		return tuple{}, tcp.TimeWait{}, false
	}
	if tt.late.Len() > 0 && tt.late[0].deadline == at {
		e := tt.at(tt.late[0].pos)
		return e.t, e.record(), true
	}
	for pos := tt.head; ; pos++ {
		if e := tt.at(pos); e.deadline != 0 && !e.late {
			return e.t, e.record(), true
		}
	}
}

// each calls f for every record, in log order.
func (tt *twTable) each(f func(t tuple, rec tcp.TimeWait)) {
	for pos := tt.head; pos < tt.tail; pos++ {
		if e := tt.at(pos); e.deadline != 0 {
			f(e.t, e.record())
		}
	}
}

type lateItem struct {
	pos      uint64
	deadline int64
}

// lateHeap orders out-of-order records by deadline, then position.
type lateHeap []lateItem

func (h lateHeap) Len() int { return len(h) }
func (h lateHeap) Less(i, j int) bool {
	if h[i].deadline != h[j].deadline {
		return h[i].deadline < h[j].deadline
	}
	return h[i].pos < h[j].pos
}
func (h lateHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *lateHeap) Push(x any)   { *h = append(*h, x.(lateItem)) }
func (h *lateHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
