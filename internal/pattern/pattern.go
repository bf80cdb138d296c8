// Package pattern gives every test byte stream its own content: a window
// into one random table, starting at a place that depends on the stream's
// key. A byte delivered twice, out of place, or to the wrong connection
// differs from the expected one with probability 255/256, and filling or
// checking a buffer is a memory copy or compare.
package pattern

import "bytes"

const bits = 20

var table = func() []byte {
	t := make([]byte, 1<<bits)
	x := uint64(0x243f6a8885a308d3)
	for i := range t {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		t[i] = byte(x >> 24)
	}
	return t
}()

// at returns the longest run of stream key's bytes from position i that
// does not wrap the table.
func at(key uint64, i int) []byte {
	return table[int((key*2654435761+uint64(i))&(1<<bits-1)):]
}

// Fill writes stream key's bytes from position i into dst.
func Fill(dst []byte, key uint64, i int) {
	for len(dst) > 0 {
		k := copy(dst, at(key, i))
		dst, i = dst[k:], i+k
	}
}

// Match reports whether src is stream key's bytes from position i.
func Match(src []byte, key uint64, i int) bool {
	for len(src) > 0 {
		p := at(key, i)
		k := min(len(p), len(src))
		if !bytes.Equal(src[:k], p[:k]) {
			return false
		}
		src, i = src[k:], i+k
	}
	return true
}
