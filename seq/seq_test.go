package seq

import "testing"

func TestCompareAcrossWrap(t *testing.T) {
	cases := []struct {
		a, b Num
		less bool
	}{
		{0, 1, true},
		{1, 0, false},
		{0xffffffff, 0, true}, // 2^32-1 precedes 0 after the wrap
		{0, 0xffffffff, false},
		{0x7fffffff, 0x80000000, true},
		{5, 5, false},
	}
	for _, c := range cases {
		if got := c.a.LessThan(c.b); got != c.less {
			t.Errorf("%d.LessThan(%d) = %v, want %v", c.a, c.b, got, c.less)
		}
		if got := c.b.GreaterThan(c.a); got != c.less {
			t.Errorf("%d.GreaterThan(%d) = %v, want %v", c.b, c.a, got, c.less)
		}
	}
	if !Num(5).LessThanEq(5) || !Num(5).GreaterThanEq(5) {
		t.Error("equal numbers must satisfy ≤ and ≥")
	}
}

func TestInWindow(t *testing.T) {
	cases := []struct {
		n, first Num
		size     Size
		in       bool
	}{
		{100, 100, 10, true},
		{109, 100, 10, true},
		{110, 100, 10, false},
		{99, 100, 10, false},
		{2, 0xfffffffe, 8, true}, // window straddles the wrap
		{0xfffffffd, 0xfffffffe, 8, false},
		{100, 100, 0, false}, // an empty window holds nothing
	}
	for _, c := range cases {
		if got := c.n.InWindow(c.first, c.size); got != c.in {
			t.Errorf("%d.InWindow(%d, %d) = %v, want %v", c.n, c.first, c.size, got, c.in)
		}
	}
}

func TestArithmetic(t *testing.T) {
	if got := Num(0xfffffff0).Add(0x20); got != 0x10 {
		t.Errorf("Add across wrap = %#x, want 0x10", got)
	}
	if got := Num(0xfffffff0).Size(0x10); got != 0x20 {
		t.Errorf("Size across wrap = %#x, want 0x20", got)
	}
	if got := Num(10).Diff(5); got != -5 {
		t.Errorf("Diff = %d, want -5", got)
	}
	if Max(0xffffffff, 1) != 1 || Min(0xffffffff, 1) != 0xffffffff {
		t.Error("Max/Min must follow sequence order, not integer order")
	}
}
