// Package seq implements TCP sequence-number arithmetic modulo 2^32
// (RFC 9293 §3.4). Nothing in synack compares sequence numbers any other way:
// a plain `<` on two sequence numbers is wrong as soon as the space wraps.
package seq

// Num is a TCP sequence number.
type Num uint32

// Size is a length in sequence space (bytes plus SYN and FIN).
type Size uint32

// LessThan reports whether n comes before m (n < m modulo 2^32).
func (n Num) LessThan(m Num) bool { return int32(n-m) < 0 }

// LessThanEq reports whether n ≤ m modulo 2^32.
func (n Num) LessThanEq(m Num) bool { return int32(n-m) <= 0 }

// GreaterThan reports whether n comes after m.
func (n Num) GreaterThan(m Num) bool { return int32(n-m) > 0 }

// GreaterThanEq reports whether n ≥ m modulo 2^32.
func (n Num) GreaterThanEq(m Num) bool { return int32(n-m) >= 0 }

// InRange reports whether a ≤ n < b.
func (n Num) InRange(a, b Num) bool { return n-a < b-a }

// InWindow reports whether first ≤ n < first+size.
func (n Num) InWindow(first Num, size Size) bool { return n.InRange(first, first.Add(size)) }

// Add returns n+s.
func (n Num) Add(s Size) Num { return n + Num(s) }

// Size returns the distance from n to m (m-n), which must not be negative.
func (n Num) Size(m Num) Size { return Size(m - n) }

// Diff returns m-n as a signed distance.
func (n Num) Diff(m Num) int32 { return int32(m - n) }

// Max returns the later of n and m.
func Max(n, m Num) Num {
	if n.LessThan(m) {
		return m
	}
	return n
}

// Min returns the earlier of n and m.
func Min(n, m Num) Num {
	if n.LessThan(m) {
		return n
	}
	return m
}
