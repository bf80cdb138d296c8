package stack

import "github.com/synack/synack/internal/heap"

// timed is anything with one deadline in the stack's timer queue: a
// connection (its tcp.Conn's earliest timer) or a half-open record.
type timed interface {
	when() int64
	slot() *int // index in the heap, -1 when absent
}

// timerHeap is a binary min-heap of deadlines (internal/heap): one entry
// per connection however many of its timers are armed, no runtime timer
// and no goroutine per connection. Ties keep no particular order, so the
// stack fires everything due at one instant before looking again.
type timerHeap struct{ h heap.Heap[timed] }

func newTimerHeap() timerHeap {
	return timerHeap{heap.New(func(a, b timed) bool { return a.when() < b.when() }, func(x timed, i int) { *x.slot() = i })}
}

// update inserts, moves or removes x after its deadline changed (0 = none).
func (t *timerHeap) update(x timed) {
	i := *x.slot()
	switch {
	case x.when() == 0 && i >= 0:
		t.h.Remove(i)
	case x.when() == 0:
	case i < 0:
		t.h.Push(x)
	default:
		t.h.Fix(i)
	}
}

func (t *timerHeap) remove(x timed) {
	if i := *x.slot(); i >= 0 {
		t.h.Remove(i)
	}
}

func (t *timerHeap) peek() (timed, bool) { return t.h.Peek() }
