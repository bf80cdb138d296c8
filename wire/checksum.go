package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Checksum returns the 16-bit ones'-complement sum (RFC 1071) of b added to
// initial, folded but not complemented. A checksum field holds the complement
// of this value; a region that includes a correct checksum field sums to
// 0xffff. initial is typically a pseudo-header sum (Pseudo.Sum) or a
// previous Checksum result, which lets a sum be built in pieces as long as
// every piece but the last has even length.
func Checksum(b []byte, initial uint32) uint16 {
	return fold(sum(b, uint64(initial)))
}

// sum adds b to acc as 64-bit words with end-around carry. RFC 1071 §2(C):
// the sum may be computed in a wider word and folded at the end, because
// 2^64 ≡ 2^16 ≡ 1 (mod 2^16-1); big-endian loads keep the byte order of the
// 16-bit words, so no final swap is needed.
func sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[0:8]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:16]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:24]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:32]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	// The tail starts on a 16-bit boundary, so a short word keeps its place.
	var tail uint64
	switch len(b) {
	case 7:
		tail = uint64(binary.BigEndian.Uint32(b))<<32 | uint64(binary.BigEndian.Uint16(b[4:]))<<16 | uint64(b[6])<<8
	case 6:
		tail = uint64(binary.BigEndian.Uint32(b))<<32 | uint64(binary.BigEndian.Uint16(b[4:]))<<16
	case 5:
		tail = uint64(binary.BigEndian.Uint32(b))<<32 | uint64(b[4])<<24
	case 4:
		tail = uint64(binary.BigEndian.Uint32(b)) << 32
	case 3:
		tail = uint64(binary.BigEndian.Uint16(b))<<48 | uint64(b[2])<<40
	case 2:
		tail = uint64(binary.BigEndian.Uint16(b)) << 48
	case 1:
		// RFC 1071 §4.1: an odd byte is padded with a zero on the right.
		tail = uint64(b[0]) << 56
	}
	acc, c = bits.Add64(acc, tail, c)
	acc, c = bits.Add64(acc, c, 0)
	return acc + c // cannot carry again: acc is 0 whenever c is 1
}

// fold reduces a 64-bit end-around-carry sum to 16 bits. A nonzero sum never
// folds to 0, only to 0xffff, which is what checksum verification relies on.
func fold(acc uint64) uint16 {
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	return uint16(acc)
}

// Pseudo identifies the pseudo-header that upper-layer checksums cover: the
// source and destination addresses of the enclosing IP packet. Both IPv4
// addresses select the IPv4 layout; otherwise the IPv6 layout is used, with
// IPv4 addresses in their IPv4-mapped form.
type Pseudo struct{ Src, Dst netip.Addr }

// Sum returns the ones'-complement sum of the pseudo-header for an
// upper-layer packet of the given protocol and length, for use as
// Checksum's initial value.
//
// RFC 9293 §3.1 (IPv4): src, dst, zero, protocol, 16-bit TCP length.
// RFC 8200 §8.1 (IPv6): src, dst, 32-bit upper-layer length, three zero
// bytes, next header. Zero bytes add nothing and the field order does not
// change a ones'-complement sum, so both reduce to addresses + protocol +
// length.
func (p Pseudo) Sum(proto uint8, length uint32) uint32 {
	acc := uint64(proto) + uint64(length)
	var c uint64
	if p.Src.Is4() && p.Dst.Is4() {
		s, d := p.Src.As4(), p.Dst.As4()
		acc += uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
	} else {
		s, d := p.Src.As16(), p.Dst.As16()
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(s[:8]), 0)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(s[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(d[:8]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(d[8:]), c)
		acc, c = bits.Add64(acc, c, 0)
		acc += c
	}
	return uint32(fold(acc))
}

// VerifyTCPChecksum reports whether the TCP segment b (header and payload)
// carries a correct checksum for the pseudo-header ph.
func VerifyTCPChecksum(b []byte, ph Pseudo) bool {
	return Checksum(b, ph.Sum(ProtoTCP, uint32(len(b)))) == 0xffff
}
