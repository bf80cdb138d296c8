// Package pkttest builds and checks IPv4/IPv6 TCP packets by hand for the
// link tests, so that they do not depend on package wire (written
// alongside) and so that a bug there cannot hide one here.
package pkttest

import (
	"encoding/binary"
	"net/netip"
)

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// Segment describes one TCP segment in an IP packet. Src and Dst must be
// of one family, which picks IPv4 or IPv6.
type Segment struct {
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    uint8
	Window   uint16
	Options  []byte // padded with zeros (end of options) to 4 bytes
	Payload  []byte
}

// SynOptions are the options of a typical SYN: MSS, SACK-permitted,
// timestamps and window scale, in Linux's order.
func SynOptions(mss uint16, tsval, tsecr uint32, wscale uint8) []byte {
	o := []byte{2, 4, byte(mss >> 8), byte(mss), 4, 2, 8, 10}
	o = binary.BigEndian.AppendUint32(o, tsval)
	o = binary.BigEndian.AppendUint32(o, tsecr)
	return append(o, 1, 3, 3, wscale)
}

// Build returns the packet with correct lengths and checksums.
func (s Segment) Build() []byte {
	src, dst := s.Src.Addr().Unmap(), s.Dst.Addr().Unmap()
	opts := s.Options
	for len(opts)%4 != 0 {
		opts = append(opts[:len(opts):len(opts)], 0)
	}
	tcpLen := 20 + len(opts) + len(s.Payload)
	t := make([]byte, 20, tcpLen)
	be := binary.BigEndian
	be.PutUint16(t[0:], s.Src.Port())
	be.PutUint16(t[2:], s.Dst.Port())
	be.PutUint32(t[4:], s.Seq)
	be.PutUint32(t[8:], s.Ack)
	t[12] = byte((20+len(opts))/4) << 4
	t[13] = s.Flags
	be.PutUint16(t[14:], s.Window)
	t = append(t, opts...)
	t = append(t, s.Payload...)
	be.PutUint16(t[16:], ^fold(pseudo(src, dst, tcpLen)+sum(t)))

	var ip []byte
	if src.Is4() {
		ip = make([]byte, 20, 20+tcpLen)
		ip[0] = 0x45
		be.PutUint16(ip[2:], uint16(20+tcpLen))
		ip[6] = 0x40 // DF
		ip[8] = 64
		ip[9] = 6
		a, b := src.As4(), dst.As4()
		copy(ip[12:], a[:])
		copy(ip[16:], b[:])
		be.PutUint16(ip[10:], ^fold(sum(ip)))
	} else {
		ip = make([]byte, 40, 40+tcpLen)
		ip[0] = 0x60
		be.PutUint16(ip[4:], uint16(tcpLen))
		ip[6] = 6
		ip[7] = 64
		a, b := src.As16(), dst.As16()
		copy(ip[8:], a[:])
		copy(ip[24:], b[:])
	}
	return append(ip, t...)
}

// Valid reports whether pkt is a well-formed IPv4 or IPv6 TCP packet whose
// checksums are right: what a receiver checks before it believes a byte.
func Valid(pkt []byte) bool {
	be := binary.BigEndian
	if len(pkt) < 1 {
		return false
	}
	var src, dst netip.Addr
	var t []byte
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return false
		}
		ihl := int(pkt[0]&0x0f) * 4
		n := int(be.Uint16(pkt[2:]))
		if ihl < 20 || n < ihl || n != len(pkt) || pkt[9] != 6 || fold(sum(pkt[:ihl])) != 0xffff {
			return false
		}
		src = netip.AddrFrom4([4]byte(pkt[12:16]))
		dst = netip.AddrFrom4([4]byte(pkt[16:20]))
		t = pkt[ihl:n]
	case 6:
		if len(pkt) < 40 || pkt[6] != 6 || int(be.Uint16(pkt[4:]))+40 != len(pkt) {
			return false
		}
		src = netip.AddrFrom16([16]byte(pkt[8:24]))
		dst = netip.AddrFrom16([16]byte(pkt[24:40]))
		t = pkt[40:]
	default:
		return false
	}
	if len(t) < 20 || int(t[12]>>4)*4 < 20 || int(t[12]>>4)*4 > len(t) {
		return false
	}
	return fold(pseudo(src, dst, len(t))+sum(t)) == 0xffff
}

// pseudo sums the TCP pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1).
func pseudo(src, dst netip.Addr, tcpLen int) uint64 {
	s := sum(src.AsSlice()) + sum(dst.AsSlice()) + 6
	return s + uint64(tcpLen)
}

// sum adds b as big-endian 16-bit words (RFC 1071), odd byte padded.
func sum(b []byte) uint64 {
	var s uint64
	for len(b) >= 2 {
		s += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

func fold(s uint64) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
