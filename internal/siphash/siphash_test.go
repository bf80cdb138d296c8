package siphash

import "testing"

// The reference vectors of the SipHash paper (appendix A and the
// reference code's table): key 00 01 … 0f, message 00 01 … (n−1).
var vectors = map[int]uint64{
	0:  0x726fdb47dd0e0e31,
	1:  0x74f839c593dc67fd,
	2:  0x0d6c8009d9a94f5a,
	7:  0xab0200f58b01d137,
	8:  0x93f5f5799a932462,
	9:  0x9e0082df0ba9e4b0,
	15: 0xa129ca6149be45e5,
	16: 0x3f2acc7f57c29bdb,
	31: 0x32d892fad841c342,
	40: 0x0e3ea96b5304a7d0,
	63: 0x958a324ceb064572,
}

func TestVectors(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, want := range vectors {
		if got := Sum64(&key, msg[:n]); got != want {
			t.Errorf("SipHash-2-4 of %d bytes = %#016x, want %#016x", n, got, want)
		}
	}
}

func BenchmarkSum64Tuple(b *testing.B) {
	var key [16]byte
	msg := make([]byte, 40) // a 4-tuple of IPv6 addresses, the ports and a word
	for b.Loop() {
		Sum64(&key, msg)
	}
}
