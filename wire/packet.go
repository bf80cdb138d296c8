package wire

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// Packet is a parsed IP packet carrying, normally, a TCP segment.
type Packet struct {
	Version    int // 4 or 6
	Src, Dst   netip.Addr
	Protocol   uint8 // upper-layer protocol (IPv6: after extension headers)
	TTL        uint8 // IPv4 TTL or IPv6 hop limit
	TOS        uint8 // IPv4 TOS or IPv6 traffic class; ECN in the low 2 bits
	IsFragment bool
	// For a fragment: the identification (IPv4's 16 bits, IPv6's 32), the
	// offset of its data in bytes and the more-fragments flag.
	FragID        uint32
	FragOffset    uint16
	MoreFragments bool
	Payload       []byte  // IP payload (upper-layer packet or fragment data); aliases the input
	Segment       Segment // valid only when ParsePacket returns nil
}

// ParsePacket parses a raw IPv4 or IPv6 packet, chosen by its first nibble,
// and the TCP segment it carries, verifying the IPv4 header checksum and the
// TCP checksum. It allocates nothing; the Segment's payload aliases b.
//
// For a fragment it returns ErrFragment and for another protocol ErrNotTCP;
// in both cases the IP fields of the Packet are filled in, so that the
// caller can count or otherwise handle the packet.
func ParsePacket(b []byte) (Packet, error) { return parsePacket(b, false) }

// ParsePacketTrusted is ParsePacket for a packet whose TCP checksum the
// link vouches for: a virtio-net header's DATA_VALID (the kernel checked
// it) or NEEDS_CSUM (the kernel's own packet, checksummed only when it
// leaves a machine). It does not verify the TCP checksum; the IPv4 header
// checksum is still verified.
func ParsePacketTrusted(b []byte) (Packet, error) { return parsePacket(b, true) }

func parsePacket(b []byte, trusted bool) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrTruncated
	}
	var p Packet
	switch b[0] >> 4 {
	case 4:
		// The view is read directly, sparing an IPv4Header copy.
		v := IPv4(b)
		if err := v.Validate(); err != nil {
			return Packet{}, err
		}
		p.Version, p.Src, p.Dst, p.Protocol = 4, v.Src(), v.Dst(), v.Protocol()
		p.TTL, p.TOS, p.Payload = v.TTL(), v.TOS(), v.Payload()
		p.FragID, p.FragOffset, p.MoreFragments = uint32(v.ID()), v.FragOffset(), v.MoreFragments()
		p.IsFragment = p.MoreFragments || p.FragOffset != 0
	case 6:
		var h IPv6Header
		if err := parseIPv6(b, &h); err != nil {
			return Packet{}, err
		}
		p.Version, p.Src, p.Dst, p.Protocol = 6, h.Src, h.Dst, h.NextHeader
		p.TTL, p.TOS, p.Payload, p.IsFragment = h.HopLimit, h.TrafficClass, h.Payload, h.Fragment
		p.FragID, p.FragOffset, p.MoreFragments = h.FragID, h.FragOffset, h.MoreFragments
	default:
		return Packet{}, ErrBadVersion
	}
	if p.IsFragment {
		// The TCP checksum covers the whole reassembled segment, so a
		// fragment cannot be checked, let alone parsed.
		return p, ErrFragment
	}
	if p.Protocol != ProtoTCP {
		return p, ErrNotTCP
	}
	// The checksum comes first so that corruption is reported as such
	// rather than as whatever malformation it happens to produce.
	if !trusted && !VerifyTCPChecksum(p.Payload, Pseudo{p.Src, p.Dst}) {
		return Packet{}, ErrBadChecksum
	}
	if err := parseTCP(p.Payload, &p.Segment); err != nil {
		return Packet{}, err
	}
	return p, nil
}

// PacketLen returns the length of the packet AppendPacket writes.
func PacketLen(src netip.Addr, s *Segment) int {
	n := TCPHeaderLen(&s.Opts) + len(s.Payload)
	if src.Is4() {
		return IPv4MinHeaderLen + n
	}
	return IPv6HeaderLen + n
}

// AppendPacket appends a complete IPv4 (if src and dst are IPv4 addresses)
// or IPv6 packet carrying s from src to dst, with all checksums filled in,
// and returns the extended slice. A ttl of 0 means DefaultTTL. IPv4 packets
// have DF set, since TCP does path-MTU discovery (RFC 1191), and ID 0,
// which RFC 6864 §4.1 allows for atomic datagrams. It allocates only when b
// lacks capacity. It panics if src and dst are of different families or the
// packet would exceed 65535 bytes.
func AppendPacket(b []byte, src, dst netip.Addr, s *Segment, ttl uint8) []byte {
	return appendPacket(b, src, dst, s, ttl, false)
}

// AppendPacketPartial is AppendPacket for a link that completes the TCP
// checksum (a TUN device with checksum offload: virtio NEEDS_CSUM, as
// Linux's CHECKSUM_PARTIAL): the checksum field holds only the sum of the
// pseudo-header, so the data is never summed here. The IPv4 header
// checksum is complete.
func AppendPacketPartial(b []byte, src, dst netip.Addr, s *Segment, ttl uint8) []byte {
	return appendPacket(b, src, dst, s, ttl, true)
}

func appendPacket(b []byte, src, dst netip.Addr, s *Segment, ttl uint8, partial bool) []byte {
	tcpLen := TCPHeaderLen(&s.Opts) + len(s.Payload)
	// One reservation up front, so the appends below never reallocate.
	b = slices.Grow(b, PacketLen(src, s))
	if src.Is4() {
		b = AppendIPv4(b, &IPv4Header{Src: src, Dst: dst, Protocol: ProtoTCP, TTL: ttl, DontFragment: true}, tcpLen)
	} else {
		b = AppendIPv6(b, &IPv6Header{Src: src, Dst: dst, NextHeader: ProtoTCP, HopLimit: ttl}, tcpLen)
	}
	return appendTCP(b, s, Pseudo{src, dst}, partial)
}

// CompleteTCPChecksum writes the full TCP checksum into pkt, an IPv4 or
// IPv6 packet carrying TCP directly (no IPv6 extension headers), whatever
// its checksum field held: for a capture of packets whose checksum a link
// left partial or vouched for, which should show as on a wire.
func CompleteTCPChecksum(pkt []byte) error {
	if len(pkt) == 0 {
		return ErrTruncated
	}
	var ph Pseudo
	var tcp []byte
	switch pkt[0] >> 4 {
	case 4:
		v := IPv4(pkt)
		if err := v.Validate(); err != nil {
			return err
		}
		if v.Protocol() != ProtoTCP {
			return ErrNotTCP
		}
		ph, tcp = Pseudo{v.Src(), v.Dst()}, v.Payload()
	case 6:
		if len(pkt) < IPv6HeaderLen {
			return ErrTruncated
		}
		v := IPv6(pkt)
		if v.NextHeader() != ProtoTCP {
			return ErrNotTCP
		}
		end := IPv6HeaderLen + int(v.PayloadLen())
		if end > len(pkt) {
			return ErrTruncated
		}
		ph, tcp = Pseudo{v.Src(), v.Dst()}, pkt[IPv6HeaderLen:end]
	default:
		return ErrBadVersion
	}
	if len(tcp) < TCPMinHeaderLen {
		return ErrTruncated
	}
	tcp[16], tcp[17] = 0, 0
	binary.BigEndian.PutUint16(tcp[16:], ^Checksum(tcp, ph.Sum(ProtoTCP, uint32(len(tcp)))))
	return nil
}
