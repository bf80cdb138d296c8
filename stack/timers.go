package stack

// timed is anything with one deadline in the stack's timer queue: a
// connection (its tcp.Conn's earliest timer) or a half-open record.
type timed interface {
	when() int64
	slot() *int // index in the heap, -1 when absent
}

// timerHeap is a binary min-heap of deadlines: one entry per connection
// however many of its timers are armed, no runtime timer and no goroutine
// per connection. Ties keep no particular order, so the stack fires
// everything due at one instant before looking again.
type timerHeap []timed

func (h *timerHeap) less(i, j int) bool { return (*h)[i].when() < (*h)[j].when() }

func (h *timerHeap) swap(i, j int) {
	a := *h
	a[i], a[j] = a[j], a[i]
	*a[i].slot() = i
	*a[j].slot() = j
}

func (h *timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *timerHeap) down(i int) {
	n := len(*h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// update inserts, moves or removes x after its deadline changed (0 = none).
func (h *timerHeap) update(x timed) {
	i := *x.slot()
	switch {
	case x.when() == 0 && i >= 0:
		h.remove(x)
	case x.when() == 0:
	case i < 0:
		*h = append(*h, x)
		*x.slot() = len(*h) - 1
		h.up(len(*h) - 1)
	default:
		h.up(i)
		h.down(*x.slot())
	}
}

func (h *timerHeap) remove(x timed) {
	i := *x.slot()
	if i < 0 {
		return
	}
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	*x.slot() = -1
	if i != last {
		y := (*h)[i]
		h.up(i)
		h.down(*y.slot())
	}
}

func (h timerHeap) peek() (timed, bool) {
	if len(h) == 0 {
		return nil, false
	}
	return h[0], true
}
