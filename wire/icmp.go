package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/synack/synack/seq"
)

// IP protocol numbers of ICMP and ICMPv6.
const (
	ProtoICMP   = 1
	ProtoICMPv6 = 58
)

// ICMPv4 types (RFC 792) and destination-unreachable codes (RFC 792,
// RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1) that a TCP host acts on.
const (
	ICMPv4EchoReply      = 0
	ICMPv4Unreachable    = 3
	ICMPv4Echo           = 8
	ICMPv4TimeExceeded   = 11
	ICMPv4ParamProblem   = 12
	ICMPv4CodeFragNeeded = 4 // with Unreachable: the next-hop MTU is in the header (RFC 1191 §4)
	ICMPv4CodeReasmTime  = 1 // with TimeExceeded: fragment reassembly time exceeded
)

// ICMPv6 types (RFC 4443).
const (
	ICMPv6Unreachable  = 1
	ICMPv6PacketTooBig = 2
	ICMPv6TimeExceeded = 3
	ICMPv6ParamProblem = 4
	ICMPv6EchoRequest  = 128
	ICMPv6EchoReply    = 129
	ICMPv6CodeReasm    = 1 // with TimeExceeded: fragment reassembly time exceeded
)

// ICMPHeaderLen is the length of the fixed ICMP and ICMPv6 header: type,
// code, checksum and four type-specific bytes.
const ICMPHeaderLen = 8

// ICMP is a parsed ICMP or ICMPv6 message.
type ICMP struct {
	Type, Code uint8
	// Rest is the four type-specific bytes after the checksum: the echo
	// identifier and sequence, or for an ICMPv4 Fragmentation Needed the
	// next-hop MTU in its low 16 bits (RFC 1191 §4), or for an ICMPv6
	// Packet Too Big the MTU (RFC 4443 §3.2).
	Rest uint32
	Body []byte // after the fixed header; aliases the packet
}

// IsError reports whether the message is an error message, which quotes
// the packet that caused it: RFC 4443 §2.1 gives ICMPv6 errors types below
// 128; ICMPv4 errors are the unreachable, source quench, redirect, time
// exceeded and parameter problem types (RFC 792).
func (m *ICMP) IsError(v6 bool) bool {
	if v6 {
		return m.Type < 128
	}
	switch m.Type {
	case ICMPv4Unreachable, 4, 5, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ParseICMP parses the ICMP (IPv4) or ICMPv6 message b carried from src to
// dst, verifying its checksum: ICMPv4's covers the message alone (RFC 792),
// ICMPv6's also a pseudo-header (RFC 4443 §2.3). It allocates nothing.
func ParseICMP(b []byte, src, dst netip.Addr) (ICMP, error) {
	if len(b) < ICMPHeaderLen {
		return ICMP{}, ErrTruncated
	}
	var initial uint32
	if !src.Is4() {
		initial = Pseudo{src, dst}.Sum(ProtoICMPv6, uint32(len(b)))
	}
	if Checksum(b, initial) != 0xffff {
		return ICMP{}, ErrBadChecksum
	}
	return ICMP{Type: b[0], Code: b[1], Rest: binary.BigEndian.Uint32(b[4:]), Body: b[ICMPHeaderLen:]}, nil
}

// AppendICMP appends an ICMP message, or an ICMPv6 one when src and dst
// are IPv6 addresses, with its checksum, and returns the extended slice.
// The caller has written the IP header.
func AppendICMP(b []byte, src, dst netip.Addr, m *ICMP) []byte {
	n := len(b)
	b = append(b, m.Type, m.Code, 0, 0)
	b = binary.BigEndian.AppendUint32(b, m.Rest)
	b = append(b, m.Body...)
	var initial uint32
	if !src.Is4() {
		initial = Pseudo{src, dst}.Sum(ProtoICMPv6, uint32(len(b)-n))
	}
	binary.BigEndian.PutUint16(b[n+2:], ^Checksum(b[n:], initial))
	return b
}

// AppendICMPPacket appends a whole IPv4 or IPv6 packet carrying m.
func AppendICMPPacket(b []byte, src, dst netip.Addr, m *ICMP) []byte {
	l := ICMPHeaderLen + len(m.Body)
	if src.Is4() {
		b = AppendIPv4(b, &IPv4Header{Src: src, Dst: dst, Protocol: ProtoICMP}, l)
	} else {
		b = AppendIPv6(b, &IPv6Header{Src: src, Dst: dst, NextHeader: ProtoICMPv6, HopLimit: 255}, l)
	}
	return AppendICMP(b, src, dst, m)
}

// Quoted is the start of the packet an ICMP error quotes: its IP header and
// the first eight bytes of its TCP header, which hold the ports and the
// sequence number (RFC 792; RFC 1812 §4.3.2.3 and RFC 4443 §2.4 quote more).
type Quoted struct {
	Src, Dst         netip.Addr
	Protocol         uint8
	SrcPort, DstPort uint16
	Seq              seq.Num
}

// ParseQuoted parses the packet quoted in an ICMP error's body. The quote
// is usually truncated, so lengths and checksums are not checked; only what
// identifies the connection is read. For a protocol other than TCP it
// returns ErrNotTCP with the addresses and protocol filled in.
func ParseQuoted(b []byte) (Quoted, error) {
	var q Quoted
	var rest []byte
	switch {
	case len(b) >= IPv4MinHeaderLen && b[0]>>4 == 4:
		p := IPv4(b)
		hl := p.HeaderLen()
		if hl < IPv4MinHeaderLen || hl > len(b) {
			return Quoted{}, ErrBadHeaderLength
		}
		if p.FragOffset() != 0 {
			return Quoted{}, ErrFragment // not the fragment with the ports
		}
		q.Src, q.Dst, q.Protocol, rest = p.Src(), p.Dst(), p.Protocol(), b[hl:]
	case len(b) >= IPv6HeaderLen && b[0]>>4 == 6:
		p := IPv6(b)
		q.Src, q.Dst, q.Protocol, rest = p.Src(), p.Dst(), p.NextHeader(), b[IPv6HeaderLen:]
	case len(b) > 0 && b[0]>>4 != 4 && b[0]>>4 != 6:
		return Quoted{}, ErrBadVersion
	default:
		return Quoted{}, ErrTruncated
	}
	if q.Protocol != ProtoTCP {
		return q, ErrNotTCP
	}
	if len(rest) < 8 {
		return Quoted{}, ErrTruncated
	}
	q.SrcPort = binary.BigEndian.Uint16(rest)
	q.DstPort = binary.BigEndian.Uint16(rest[2:])
	q.Seq = seq.Num(binary.BigEndian.Uint32(rest[4:]))
	return q, nil
}
