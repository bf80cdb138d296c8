package ip

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/synack/synack/wire"
)

// fragSpec describes one fragment to build.
type fragSpec struct {
	src, dst netip.Addr
	proto    uint8
	id       uint32
	off      int
	more     bool
	tos, ttl uint8
}

// build returns the fragment carrying data: an IPv4 packet with MF and the
// offset set, or an IPv6 packet with a fragment header (RFC 8200 §4.5).
func (f fragSpec) build(data []byte) []byte {
	if f.src.Is4() {
		b := wire.AppendIPv4(nil, &wire.IPv4Header{Src: f.src, Dst: f.dst, Protocol: f.proto, TTL: f.ttl, TOS: f.tos,
			ID: uint16(f.id), MoreFragments: f.more, FragOffset: uint16(f.off)}, len(data))
		return append(b, data...)
	}
	b := wire.AppendIPv6(nil, &wire.IPv6Header{Src: f.src, Dst: f.dst, NextHeader: 44, HopLimit: f.ttl, TrafficClass: f.tos}, 8+len(data))
	om := uint16(f.off) &^ 7
	if f.more {
		om |= 1
	}
	b = append(b, f.proto, 0)
	b = binary.BigEndian.AppendUint16(b, om)
	b = binary.BigEndian.AppendUint32(b, f.id)
	return append(b, data...)
}

// Fragment splits pkt's IP payload into fragments of size bytes (a
// multiple of 8), the last one shorter, all with identification id, as a
// router or sender would (RFC 791 §3.2, RFC 8200 §4.5); IPv4 options and
// IPv6 extension headers are not kept. The tests and the simulator use it;
// synack itself never fragments. It returns nil for a packet it cannot
// parse or a size that is not a positive multiple of 8.
func Fragment(pkt []byte, size int, id uint32) [][]byte {
	p, err := wire.ParsePacket(pkt)
	if err != nil && !errors.Is(err, wire.ErrNotTCP) || size <= 0 || size%8 != 0 {
		return nil
	}
	spec := fragSpec{src: p.Src, dst: p.Dst, proto: p.Protocol, id: id, tos: p.TOS, ttl: p.TTL}
	var frags [][]byte
	for off := 0; off < len(p.Payload); off += size {
		e := min(off+size, len(p.Payload))
		spec.off, spec.more = off, e < len(p.Payload)
		frags = append(frags, spec.build(p.Payload[off:e]))
	}
	return frags
}
