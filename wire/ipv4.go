package wire

import (
	"encoding/binary"
	"net/netip"
)

// IPv4MinHeaderLen is the length of an IPv4 header without options.
const IPv4MinHeaderLen = 20

// DefaultTTL is the TTL or hop limit written when the caller gives 0
// (Linux's net.ipv4.ip_default_ttl).
const DefaultTTL = 64

// IPv4 flag bits in the flags/fragment-offset word (RFC 791 §3.1).
const (
	ipv4DF         = 0x4000
	ipv4MF         = 0x2000
	ipv4OffsetMask = 0x1fff
)

// IPv4 is a view of an IPv4 packet (RFC 791 §3.1). The fixed-header
// accessors need at least 20 bytes; Options and Payload need a valid IHL and
// total length. Validate checks everything. Accessors on a view that fails
// Validate may panic.
type IPv4 []byte

// Validate checks the header's structure and checksum.
func (p IPv4) Validate() error {
	if len(p) < IPv4MinHeaderLen {
		return ErrTruncated
	}
	if p.Version() != 4 {
		return ErrBadVersion
	}
	hl := p.HeaderLen()
	if hl < IPv4MinHeaderLen {
		return ErrBadHeaderLength
	}
	// hl <= total <= len(p) also ensures the options lie within p.
	if tl := int(p.TotalLen()); tl < hl || tl > len(p) {
		return ErrBadTotalLength
	}
	if Checksum(p[:hl], 0) != 0xffff {
		return ErrBadChecksum
	}
	return nil
}

// Version returns the version nibble.
func (p IPv4) Version() int { return int(p[0] >> 4) }

// HeaderLen returns the header length in bytes (IHL × 4).
func (p IPv4) HeaderLen() int { return int(p[0]&0x0f) * 4 }

// TOS returns the type-of-service byte: DSCP and, in the low two bits, ECN
// (RFC 3168 §5).
func (p IPv4) TOS() uint8 { return p[1] }

// TotalLen returns the total length field: header plus payload.
func (p IPv4) TotalLen() uint16 { return binary.BigEndian.Uint16(p[2:]) }

// ID returns the identification field.
func (p IPv4) ID() uint16 { return binary.BigEndian.Uint16(p[4:]) }

// DontFragment reports whether DF is set.
func (p IPv4) DontFragment() bool { return p[6]&(ipv4DF>>8) != 0 }

// MoreFragments reports whether MF is set.
func (p IPv4) MoreFragments() bool { return p[6]&(ipv4MF>>8) != 0 }

// FragOffset returns the fragment offset in bytes (the field counts 8-byte
// units).
func (p IPv4) FragOffset() uint16 {
	return (binary.BigEndian.Uint16(p[6:]) & ipv4OffsetMask) * 8
}

// TTL returns the time-to-live.
func (p IPv4) TTL() uint8 { return p[8] }

// Protocol returns the upper-layer protocol number.
func (p IPv4) Protocol() uint8 { return p[9] }

// Checksum returns the header checksum field.
func (p IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(p[10:]) }

// Src returns the source address.
func (p IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(p[12:16])) }

// Dst returns the destination address.
func (p IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(p[16:20])) }

// Options returns the raw IPv4 options, if any.
func (p IPv4) Options() []byte { return sub(p, IPv4MinHeaderLen, p.HeaderLen()) }

// Payload returns the payload, bounded by the total length: bytes past it
// (such as Ethernet padding) are not part of the packet.
func (p IPv4) Payload() []byte { return sub(p, p.HeaderLen(), int(p.TotalLen())) }

// IPv4Header is a parsed IPv4 header.
type IPv4Header struct {
	Src, Dst      netip.Addr
	Protocol      uint8
	TTL           uint8
	TOS           uint8 // DSCP and ECN (RFC 3168 §5)
	ID            uint16
	DontFragment  bool
	MoreFragments bool
	FragOffset    uint16 // in bytes
	// Fragment is set when the packet is a fragment (MF set or a nonzero
	// offset, RFC 791 §3.1). Its payload is then not a whole upper-layer
	// packet; reassembly is the caller's business.
	Fragment  bool
	TotalLen  uint16
	HeaderLen int    // bytes, options included
	Options   []byte // raw options, skipped by ParseIPv4; aliases the packet
	Payload   []byte // bounded by TotalLen; aliases the packet
}

// ParseIPv4 parses the IPv4 packet b, verifying its header checksum. Options
// are skipped. The returned Payload aliases b and stops at the total length.
// It allocates nothing.
func ParseIPv4(b []byte) (IPv4Header, error) {
	p := IPv4(b)
	if err := p.Validate(); err != nil {
		return IPv4Header{}, err
	}
	h := IPv4Header{
		Src:           p.Src(),
		Dst:           p.Dst(),
		Protocol:      p.Protocol(),
		TTL:           p.TTL(),
		TOS:           p.TOS(),
		ID:            p.ID(),
		DontFragment:  p.DontFragment(),
		MoreFragments: p.MoreFragments(),
		FragOffset:    p.FragOffset(),
		TotalLen:      p.TotalLen(),
		HeaderLen:     p.HeaderLen(),
		Options:       p.Options(),
		Payload:       p.Payload(),
	}
	h.Fragment = h.MoreFragments || h.FragOffset != 0
	return h, nil
}

// AppendIPv4 appends a 20-byte IPv4 header for a payload of payloadLen bytes
// and returns the extended slice; the caller appends the payload. Src, Dst,
// Protocol, TOS, ID, DontFragment, MoreFragments and FragOffset are written
// as given (FragOffset rounded down to a multiple of 8), TTL 0 becomes
// DefaultTTL, and the checksum is computed. HeaderLen, TotalLen, Options,
// Payload and Fragment are ignored. Src and Dst must be IPv4 addresses and
// 20+payloadLen must not exceed 65535; otherwise AppendIPv4 panics.
func AppendIPv4(dst []byte, h *IPv4Header, payloadLen int) []byte {
	if !h.Src.Is4() || !h.Dst.Is4() {
		panic("wire: AppendIPv4 with a non-IPv4 address")
	}
	if payloadLen < 0 || payloadLen > 0xffff-IPv4MinHeaderLen {
		panic("wire: AppendIPv4 payload length out of range")
	}
	n := len(dst)
	dst = grow(dst, IPv4MinHeaderLen)
	b := dst[n:]
	b[0] = 4<<4 | IPv4MinHeaderLen/4
	b[1] = h.TOS
	binary.BigEndian.PutUint16(b[2:], uint16(IPv4MinHeaderLen+payloadLen))
	binary.BigEndian.PutUint16(b[4:], h.ID)
	ff := h.FragOffset / 8
	if h.DontFragment {
		ff |= ipv4DF
	}
	if h.MoreFragments {
		ff |= ipv4MF
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	b[8] = h.TTL
	if b[8] == 0 {
		b[8] = DefaultTTL
	}
	b[9] = h.Protocol
	b[10], b[11] = 0, 0
	s, d := h.Src.As4(), h.Dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	// RFC 791 §3.1: the complement of the ones'-complement sum of the
	// header, computed with the checksum field zeroed.
	binary.BigEndian.PutUint16(b[10:], ^Checksum(b[:IPv4MinHeaderLen], 0))
	return dst
}
