package tun

import (
	"encoding/binary"
	"errors"

	"github.com/synack/synack/wire"
)

// The virtio-net header a TUN device opened with IFF_VNET_HDR puts before
// every packet (virtio spec 1.2 §5.1.6, struct virtio_net_hdr in
// linux/virtio_net.h; TUN uses the 10-byte form, without num_buffers).
// Its fields are in the host's byte order unless TUNSETVNETLE/BE says
// otherwise; this package runs on little-endian Linux hosts only (amd64,
// arm64), so little-endian.
const vnetHdrLen = 10

const (
	vnetNeedsCsum = 1 // VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum at csum_start+csum_offset holds only the pseudo-header's sum
	vnetDataValid = 2 // VIRTIO_NET_HDR_F_DATA_VALID: the kernel has verified the checksum

	gsoNone  = 0    // VIRTIO_NET_HDR_GSO_NONE
	gsoTCPv4 = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	gsoTCPv6 = 4    // VIRTIO_NET_HDR_GSO_TCPV6
	gsoECN   = 0x80 // VIRTIO_NET_HDR_GSO_ECN: the first segment carries CWR
)

// vnetHdr is a decoded virtio_net_hdr.
type vnetHdr struct {
	flags      uint8
	gsoType    uint8
	hdrLen     uint16 // the headers' length (Ethernet/IP/TCP) of a GSO packet
	gsoSize    uint16 // the payload of each segment
	csumStart  uint16 // where the checksum's sum starts
	csumOffset uint16 // where, from csumStart, the checksum goes
}

func (h *vnetHdr) decode(b []byte) {
	h.flags, h.gsoType = b[0], b[1]
	h.hdrLen = binary.LittleEndian.Uint16(b[2:])
	h.gsoSize = binary.LittleEndian.Uint16(b[4:])
	h.csumStart = binary.LittleEndian.Uint16(b[6:])
	h.csumOffset = binary.LittleEndian.Uint16(b[8:])
}

func (h *vnetHdr) encode(b []byte) {
	b[0], b[1] = h.flags, h.gsoType
	binary.LittleEndian.PutUint16(b[2:], h.hdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.gsoSize)
	binary.LittleEndian.PutUint16(b[6:], h.csumStart)
	binary.LittleEndian.PutUint16(b[8:], h.csumOffset)
}

var (
	errVnetMalformed = errors.New("tun: malformed virtio-net header or packet")
	errVnetGSOType   = errors.New("tun: GSO type other than TCP")
)

// tcpHeaders returns the length of pkt's IP header and of its TCP header,
// for an IPv4 or IPv6 packet carrying TCP directly (a GSO packet from the
// kernel has no extension headers).
func tcpHeaders(pkt []byte) (iphl, thl int, ok bool) {
	if len(pkt) < 1 {
		return 0, 0, false
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < wire.IPv4MinHeaderLen || pkt[9] != wire.ProtoTCP {
			return 0, 0, false
		}
		iphl = int(pkt[0]&0x0f) * 4
	case 6:
		if len(pkt) < wire.IPv6HeaderLen || pkt[6] != wire.ProtoTCP {
			return 0, 0, false
		}
		iphl = wire.IPv6HeaderLen
	default:
		return 0, 0, false
	}
	if iphl < wire.IPv4MinHeaderLen || len(pkt) < iphl+wire.TCPMinHeaderLen {
		return 0, 0, false
	}
	thl = int(pkt[iphl+12]>>4) * 4
	if thl < wire.TCPMinHeaderLen || len(pkt) < iphl+thl {
		return 0, 0, false
	}
	return iphl, thl, true
}

// completeChecksum finishes a checksum the kernel left partial (NEEDS_CSUM):
// the field at csum_start+csum_offset holds the pseudo-header's sum; the
// sum from csum_start to the end, that field included, complemented, is
// the checksum (virtio spec §5.1.6.2.1, as skb_checksum_help).
func completeChecksum(pkt []byte, h *vnetHdr) error {
	start, at := int(h.csumStart), int(h.csumStart)+int(h.csumOffset)
	if start >= len(pkt) || at+2 > len(pkt) {
		return errVnetMalformed
	}
	binary.BigEndian.PutUint16(pkt[at:], ^wire.Checksum(pkt[start:], 0))
	return nil
}

// segment cuts the GSO packet pkt into the TCP segments it stands for,
// appended to out's backing array as whole IP packets with every
// checksum computed: gsoSize bytes of payload each, sequence numbers
// advanced, IPv4 identification incremented, FIN and PSH on the last
// segment only, CWR on the first only (Linux tcp_gso_segment). It returns
// the packets, sharing buf's storage, and buf grown.
func segment(pkt []byte, h *vnetHdr, buf []byte, out [][]byte) ([][]byte, []byte, error) {
	switch h.gsoType &^ gsoECN {
	case gsoTCPv4, gsoTCPv6:
	default:
		return out, buf, errVnetGSOType
	}
	iphl, thl, ok := tcpHeaders(pkt)
	if !ok || h.gsoSize == 0 {
		return out, buf, errVnetMalformed
	}
	v4 := pkt[0]>>4 == 4
	if v4 != (h.gsoType&^gsoECN == gsoTCPv4) {
		return out, buf, errVnetMalformed
	}
	hl := iphl + thl
	// The IP length says where the data ends (a GSO packet's length
	// fields cover it whole).
	end := int(binary.BigEndian.Uint16(pkt[2:]))
	if !v4 {
		end = wire.IPv6HeaderLen + int(binary.BigEndian.Uint16(pkt[4:]))
	}
	if end < hl || end > len(pkt) {
		return out, buf, errVnetMalformed
	}
	payload := pkt[hl:end]
	mss := int(h.gsoSize)
	n := (len(payload) + mss - 1) / mss
	need := len(payload) + n*hl
	buf = buf[:0]
	if cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	var ph wire.Pseudo
	if v4 {
		p := wire.IPv4(pkt)
		ph = wire.Pseudo{Src: p.Src(), Dst: p.Dst()}
	} else {
		p := wire.IPv6(pkt)
		ph = wire.Pseudo{Src: p.Src(), Dst: p.Dst()}
	}
	seq0 := binary.BigEndian.Uint32(pkt[iphl+4:])
	id0 := binary.BigEndian.Uint16(pkt[4:])
	flags := pkt[iphl+13]
	for i := 0; i < n; i++ {
		off := i * mss
		chunk := payload[off:min(off+mss, len(payload))]
		start := len(buf)
		buf = append(buf, pkt[:hl]...)
		buf = append(buf, chunk...)
		s := buf[start:]
		if v4 {
			binary.BigEndian.PutUint16(s[2:], uint16(len(s)))
			binary.BigEndian.PutUint16(s[4:], id0+uint16(i))
			s[10], s[11] = 0, 0
			binary.BigEndian.PutUint16(s[10:], ^wire.Checksum(s[:iphl], 0))
		} else {
			binary.BigEndian.PutUint16(s[4:], uint16(len(s)-wire.IPv6HeaderLen))
		}
		t := s[iphl:]
		binary.BigEndian.PutUint32(t[4:], seq0+uint32(off))
		f := flags
		if i < n-1 {
			f &^= byte(wire.FlagFIN | wire.FlagPSH)
		}
		if i > 0 {
			f &^= byte(wire.FlagCWR)
		}
		t[13] = f
		t[16], t[17] = 0, 0
		binary.BigEndian.PutUint16(t[16:], ^wire.Checksum(t, ph.Sum(wire.ProtoTCP, uint32(len(t)))))
		out = append(out, s)
	}
	return out, buf, nil
}
