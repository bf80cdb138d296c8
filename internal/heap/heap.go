// Package heap is the one binary min-heap of the project: the stack's
// timers, the simulator's events and link.Faulty's delay line are each a
// Heap, on a reused slice (container/heap would box every element).
package heap

// Heap is a binary min-heap of T by less. If moved is set, it is told the
// new index of every element that moves (and -1 for one removed), so that
// an element can be fixed or removed where it is.
type Heap[T any] struct {
	items []T
	less  func(a, b T) bool
	moved func(x T, i int)
}

// New returns an empty heap ordered by less.
func New[T any](less func(a, b T) bool, moved func(x T, i int)) Heap[T] {
	return Heap[T]{less: less, moved: moved}
}

// Len is the number of elements.
func (h *Heap[T]) Len() int { return len(h.items) }

// Peek returns the least element, and false when the heap is empty.
func (h *Heap[T]) Peek() (T, bool) {
	if len(h.items) == 0 {
		var zero T
		return zero, false
	}
	return h.items[0], true
}

// Push adds x.
func (h *Heap[T]) Push(x T) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	h.tell(i)
	h.up(i)
}

// Pop removes and returns the least element; the heap must not be empty.
func (h *Heap[T]) Pop() T { return h.Remove(0) }

// Remove removes and returns the element at index i.
func (h *Heap[T]) Remove(i int) T {
	x := h.items[i]
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	var zero T
	h.items[last] = zero
	h.items = h.items[:last]
	if h.moved != nil {
		h.moved(x, -1)
	}
	if i != last {
		h.Fix(i)
	}
	return x
}

// Fix restores the order after the element at index i changed.
func (h *Heap[T]) Fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// Clear removes every element, keeping the slice.
func (h *Heap[T]) Clear(each func(T)) {
	for i, x := range h.items {
		if each != nil {
			each(x)
		}
		var zero T
		h.items[i] = zero
	}
	h.items = h.items[:0]
}

func (h *Heap[T]) tell(i int) {
	if h.moved != nil {
		h.moved(h.items[i], i)
	}
}

func (h *Heap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.tell(i)
	h.tell(j)
}

func (h *Heap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sinks the element at i and reports whether it moved.
func (h *Heap[T]) down(i int) bool {
	start, n := i, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(h.items[r], h.items[l]) {
			m = r
		}
		if !h.less(h.items[m], h.items[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
