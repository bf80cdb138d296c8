package heap

import (
	"math/rand/v2"
	"slices"
	"testing"
)

type item struct {
	key, idx int
}

// Random pushes, pops, fixes and removes against a sorted reference: the
// least always comes out first and every index told is where the element
// is.
func TestHeapAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := New(func(a, b *item) bool { return a.key < b.key }, func(x *item, i int) { x.idx = i })
	var ref []*item
	check := func() {
		for i, x := range h.items {
			if x.idx != i {
				t.Fatalf("element at %d thinks it is at %d", i, x.idx)
			}
		}
	}
	for range 20000 {
		switch op := r.IntN(4); {
		case op < 2 || len(ref) == 0:
			x := &item{key: r.IntN(1000)}
			h.Push(x)
			ref = append(ref, x)
		case op == 2:
			x := h.Pop()
			slices.SortStableFunc(ref, func(a, b *item) int { return a.key - b.key })
			if x.key != ref[0].key || x.idx != -1 {
				t.Fatalf("popped %d (index %d), want the least, %d", x.key, x.idx, ref[0].key)
			}
			ref = slices.DeleteFunc(ref, func(y *item) bool { return y == x })
		default:
			x := ref[r.IntN(len(ref))]
			if r.IntN(2) == 0 {
				x.key = r.IntN(1000)
				h.Fix(x.idx)
			} else {
				h.Remove(x.idx)
				ref = slices.DeleteFunc(ref, func(y *item) bool { return y == x })
			}
		}
		check()
		if h.Len() != len(ref) {
			t.Fatalf("%d elements, want %d", h.Len(), len(ref))
		}
	}
}
