package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Link types a capture reader decodes (tcpdump.org/linktypes.html).
const (
	LinkTypeEthernet  = 1
	LinkTypeLinuxSLL  = 113 // Linux cooked capture v1 (tcpdump -i any)
	LinkTypeIPv4      = 228
	LinkTypeIPv6      = 229
	LinkTypeLinuxSLL2 = 276 // Linux cooked capture v2 (tcpdump -i any, libpcap ≥ 1.10)
)

// Errors of IPPayload. ErrNotIP is a packet of another protocol (ARP,
// LLDP): ordinary traffic to count and skip.
var (
	ErrUnknownLinkType = errors.New("pcap: unknown link type")
	ErrNotIP           = errors.New("pcap: not an IP packet")
	ErrShortFrame      = errors.New("pcap: frame shorter than its link header")
)

const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86DD
	etherVLAN = 0x8100 // IEEE 802.1Q
	etherQinQ = 0x88A8 // IEEE 802.1ad
	ether9100 = 0x9100 // pre-standard QinQ
	maxVLANs  = 8
)

// IPPayload strips the link-layer header of a packet of the given link
// type and returns the IP packet it carries (aliasing data).
func IPPayload(linkType uint32, data []byte) ([]byte, error) {
	switch linkType {
	case LinkTypeRaw, LinkTypeIPv4, LinkTypeIPv6:
		if len(data) == 0 {
			return nil, ErrShortFrame
		}
		return data, nil
	case LinkTypeEthernet:
		if len(data) < 14 {
			return nil, ErrShortFrame
		}
		et, rest := binary.BigEndian.Uint16(data[12:]), data[14:]
		// 802.1Q and 802.1ad tags: a TCI, then the next EtherType.
		for n := 0; et == etherVLAN || et == etherQinQ || et == ether9100; n++ {
			if n == maxVLANs || len(rest) < 4 {
				return nil, ErrShortFrame
			}
			et, rest = binary.BigEndian.Uint16(rest[2:]), rest[4:]
		}
		return ipByEtherType(et, rest)
	case LinkTypeLinuxSLL:
		// packet type, ARPHRD type, address length, 8 bytes of address,
		// protocol (EtherType).
		if len(data) < 16 {
			return nil, ErrShortFrame
		}
		return ipByEtherType(binary.BigEndian.Uint16(data[14:]), data[16:])
	case LinkTypeLinuxSLL2:
		// protocol, reserved, interface index, ARPHRD type, packet type,
		// address length, 8 bytes of address.
		if len(data) < 20 {
			return nil, ErrShortFrame
		}
		return ipByEtherType(binary.BigEndian.Uint16(data[0:]), data[20:])
	}
	return nil, fmt.Errorf("%w %d", ErrUnknownLinkType, linkType)
}

func ipByEtherType(et uint16, b []byte) ([]byte, error) {
	switch et {
	case etherIPv4, etherIPv6:
		if len(b) == 0 {
			return nil, ErrShortFrame
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: EtherType %#04x", ErrNotIP, et)
}
