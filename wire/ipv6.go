package wire

import (
	"encoding/binary"
	"net/netip"
)

// IPv6HeaderLen is the length of the fixed IPv6 header (RFC 8200 §3).
const IPv6HeaderLen = 40

// Extension header types ParseIPv6 understands (RFC 8200 §4).
const (
	ipv6HopByHop = 0
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipv6DestOpts = 60
)

// IPv6 is a view of an IPv6 packet (RFC 8200 §3). The fixed-header accessors
// need at least 40 bytes; Payload needs a payload length within the buffer.
// Validate checks both. Accessors on a view that fails Validate may panic.
type IPv6 []byte

// Validate checks the fixed header's version and payload length. It does
// not walk the extension headers; ParseIPv6 does.
func (p IPv6) Validate() error {
	if len(p) < IPv6HeaderLen {
		return ErrTruncated
	}
	if p.Version() != 6 {
		return ErrBadVersion
	}
	if IPv6HeaderLen+int(p.PayloadLen()) > len(p) {
		return ErrBadPayloadLength
	}
	return nil
}

// Version returns the version nibble.
func (p IPv6) Version() int { return int(p[0] >> 4) }

// TrafficClass returns the traffic class: DSCP and, in the low two bits, ECN
// (RFC 3168 §5).
func (p IPv6) TrafficClass() uint8 { return uint8(binary.BigEndian.Uint16(p[0:]) >> 4) }

// FlowLabel returns the 20-bit flow label.
func (p IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(p[0:]) & 0xfffff }

// PayloadLen returns the payload length field: everything after the fixed
// header, extension headers included.
func (p IPv6) PayloadLen() uint16 { return binary.BigEndian.Uint16(p[4:]) }

// NextHeader returns the type of the header after the fixed header.
func (p IPv6) NextHeader() uint8 { return p[6] }

// HopLimit returns the hop limit.
func (p IPv6) HopLimit() uint8 { return p[7] }

// Src returns the source address.
func (p IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(p[8:24])) }

// Dst returns the destination address.
func (p IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(p[24:40])) }

// Payload returns the bytes after the fixed header, extension headers
// included, bounded by the payload length.
func (p IPv6) Payload() []byte { return sub(p, IPv6HeaderLen, IPv6HeaderLen+int(p.PayloadLen())) }

// IPv6Header is a parsed IPv6 header with its extension headers walked.
type IPv6Header struct {
	Src, Dst     netip.Addr
	TrafficClass uint8  // DSCP and ECN (RFC 3168 §5)
	FlowLabel    uint32 // 20 bits
	HopLimit     uint8
	// NextHeader is the upper-layer protocol: the first header that is not
	// a hop-by-hop, routing, destination options or atomic fragment header
	// (for a fragment, the fragment header's next header).
	NextHeader uint8
	PayloadLen uint16 // raw field, extension headers included
	// Fragment is set when a fragment header with a nonzero offset or the M
	// flag is present (RFC 8200 §4.5). Payload is then the fragment's data;
	// reassembly is the caller's business.
	Fragment      bool
	FragOffset    uint16 // in bytes
	MoreFragments bool
	FragID        uint32
	Payload       []byte // upper-layer data after extension headers; aliases the packet
}

// ParseIPv6 parses the IPv6 packet b. It skips hop-by-hop, routing (with no
// segments left) and destination options headers by their length and stops
// at the first other header, or at a fragment header, which it reports. The returned Payload
// aliases b and is bounded by the payload length. It allocates nothing.
func ParseIPv6(b []byte) (IPv6Header, error) {
	var h IPv6Header
	if err := parseIPv6(b, &h); err != nil {
		return IPv6Header{}, err
	}
	return h, nil
}

// parseIPv6 is ParseIPv6 writing into a zeroed *h, which spares ParsePacket
// a copy. On error *h is left partly filled.
func parseIPv6(b []byte, h *IPv6Header) error {
	p := IPv6(b)
	if err := p.Validate(); err != nil {
		return err
	}
	h.Src, h.Dst = p.Src(), p.Dst()
	h.TrafficClass, h.FlowLabel = p.TrafficClass(), p.FlowLabel()
	h.HopLimit, h.PayloadLen = p.HopLimit(), p.PayloadLen()
	nh, rest := p.NextHeader(), p.Payload()
	// Every extension header is at least 8 bytes, so the walk ends.
	for first := true; ; first = false {
		switch nh {
		case ipv6HopByHop, ipv6Routing, ipv6DestOpts:
			// RFC 8200 §4.1: hop-by-hop may only follow the fixed header.
			if nh == ipv6HopByHop && !first {
				return ErrBadExtensionHeader
			}
			// RFC 8200 §4.3, §4.4, §4.6: length in 8-byte units, not
			// counting the first 8.
			if len(rest) < 8 {
				return ErrBadExtensionHeader
			}
			// RFC 8200 §4.4: with segments left, this node is not the final
			// destination, and §8.1's pseudo-header would need an address
			// from the routing header. An end host has no use for it.
			if nh == ipv6Routing && rest[3] != 0 {
				return ErrBadExtensionHeader
			}
			l := (int(rest[1]) + 1) * 8
			if l > len(rest) {
				return ErrBadExtensionHeader
			}
			nh, rest = rest[0], sub(rest, l, len(rest))
			continue
		case ipv6Fragment:
			// RFC 8200 §4.5: next header, reserved, offset (13 bits, 8-byte
			// units), 2 reserved bits, M, identification.
			if len(rest) < 8 {
				return ErrBadExtensionHeader
			}
			offM := binary.BigEndian.Uint16(rest[2:])
			off, more := offM&^7, offM&1 != 0
			id := binary.BigEndian.Uint32(rest[4:])
			nh, rest = rest[0], sub(rest, 8, len(rest))
			if off == 0 && !more {
				// RFC 6946 §4: an atomic fragment is processed in isolation,
				// as if it had no fragment header.
				continue
			}
			h.Fragment, h.FragOffset, h.MoreFragments, h.FragID = true, off, more, id
		}
		break
	}
	h.NextHeader, h.Payload = nh, rest
	return nil
}

// AppendIPv6 appends a 40-byte IPv6 header, without extension headers, for
// a payload of payloadLen bytes and returns the extended slice; the caller
// appends the payload. Src, Dst, TrafficClass, FlowLabel and NextHeader are
// written as given, HopLimit 0 becomes DefaultTTL; the other fields are
// ignored. Src and Dst must be IPv6 addresses (IPv4-mapped ones included)
// and payloadLen must not exceed 65535; otherwise AppendIPv6 panics.
func AppendIPv6(dst []byte, h *IPv6Header, payloadLen int) []byte {
	if !h.Src.Is6() || !h.Dst.Is6() {
		panic("wire: AppendIPv6 with a non-IPv6 address")
	}
	if payloadLen < 0 || payloadLen > 0xffff {
		// Jumbograms (RFC 2675) are out of scope.
		panic("wire: AppendIPv6 payload length out of range")
	}
	n := len(dst)
	dst = grow(dst, IPv6HeaderLen)
	b := dst[n:]
	binary.BigEndian.PutUint32(b[0:], 6<<28|uint32(h.TrafficClass)<<20|h.FlowLabel&0xfffff)
	binary.BigEndian.PutUint16(b[4:], uint16(payloadLen))
	b[6] = h.NextHeader
	b[7] = h.HopLimit
	if b[7] == 0 {
		b[7] = DefaultTTL
	}
	s, d := h.Src.As16(), h.Dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	return dst
}
