package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// Packets as Linux 6.x emits them, with checksums computed independently of
// this package (by a short script doing the RFC 1071 sum over the explicit
// pseudo-header bytes).
const (
	// 192.168.0.2:41668 → 192.168.0.1:80, SYN, seq 1059810334, win 64240,
	// <mss 1460,sackOK,TS val 6958913 ecr 0,nop,wscale 7>, ID 0x1c46, DF,
	// TTL 64.
	capturedSYN4 = "4500003c1c46400040069d22c0a80002c0a80001" +
		"a2c400503f2b6c1e00000000a002faf04db20000" +
		"020405b40402080a006a2f410000000001030307"
	// [2001:db8::2]:41668 → [2001:db8::1]:80, SYN, seq 1059810334, win
	// 64800, <mss 1440,sackOK,TS val 2602319361 ecr 0,nop,wscale 7>,
	// traffic class 0, flow label 0xa3b1c, hop limit 64.
	capturedSYN6 = "600a3b1c0028064020010db8000000000000000000000002" +
		"20010db8000000000000000000000001" +
		"a2c400503f2b6c1e00000000a002fd20c8020000" +
		"020405a00402080a9b1c3e010000000001030307"
)

var (
	a4src = netip.MustParseAddr("192.168.0.2")
	a4dst = netip.MustParseAddr("192.168.0.1")
	a6src = netip.MustParseAddr("2001:db8::2")
	a6dst = netip.MustParseAddr("2001:db8::1")
	ph4   = Pseudo{a4src, a4dst}
	ph6   = Pseudo{a6src, a6dst}
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mustUnhex is unhex for package-level seed tables.
func mustUnhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// refSum is RFC 1071 done the slow, obvious way: 16-bit words, 32-bit
// accumulator, carries folded at the end. Not complemented.
func refSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// refPseudo lays out the pseudo-header bytes as RFC 9293 §3.1 (IPv4) and
// RFC 8200 §8.1 (IPv6) draw them.
func refPseudo(src, dst netip.Addr, proto uint8, n int) []byte {
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		b := append(s[:], d[:]...)
		return append(b, 0, proto, byte(n>>8), byte(n))
	}
	s, d := src.As16(), dst.As16()
	b := append(s[:], d[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, 0, 0, 0, proto)
}

// fixIPv4Checksum recomputes an IPv4 header checksum with refSum, so that a
// deliberately malformed header fails for the intended reason.
func fixIPv4Checksum(b []byte) {
	hl := int(b[0]&0xf) * 4
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], ^refSum(b[:hl]))
}

// fixTCPChecksum recomputes the checksum of the TCP segment t with refSum.
func fixTCPChecksum(t []byte, src, dst netip.Addr) {
	t[16], t[17] = 0, 0
	all := append(refPseudo(src, dst, ProtoTCP, len(t)), t...)
	binary.BigEndian.PutUint16(t[16:], ^refSum(all))
}

// ipv4Packet builds an IPv4 packet with a correct header checksum.
func ipv4Packet(proto uint8, flagsFrag uint16, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	binary.BigEndian.PutUint16(b[6:], flagsFrag)
	b[8] = 64
	b[9] = proto
	s, d := a4src.As4(), a4dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	fixIPv4Checksum(b)
	return append(b, payload...)
}

// ipv6Packet builds an IPv6 packet whose payload (extension headers
// included) is payload.
func ipv6Packet(nh uint8, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = nh
	b[7] = 64
	s, d := a6src.As16(), a6dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return append(b, payload...)
}

// tcpRaw builds a TCP header with the given raw options (a multiple of 4
// bytes) and payload, checksum left zero.
func tcpRaw(flags Flags, opts, payload []byte) []byte {
	if len(opts)%4 != 0 {
		panic("tcpRaw: options must be a multiple of 4 bytes")
	}
	b := make([]byte, 20, 20+len(opts)+len(payload))
	binary.BigEndian.PutUint16(b[0:], 1234)
	binary.BigEndian.PutUint16(b[2:], 80)
	binary.BigEndian.PutUint32(b[4:], 1000)
	binary.BigEndian.PutUint32(b[8:], 2000)
	b[12] = byte((20+len(opts))/4) << 4
	b[13] = byte(flags)
	binary.BigEndian.PutUint16(b[14:], 65535)
	b = append(b, opts...)
	return append(b, payload...)
}

func segEqual(a, b Segment) bool {
	pa, pb := a.Payload, b.Payload
	a.Payload, b.Payload = nil, nil
	return a.SrcPort == b.SrcPort && a.DstPort == b.DstPort && a.Seq == b.Seq &&
		a.Ack == b.Ack && a.Flags == b.Flags && a.Wnd == b.Wnd &&
		a.Urgent == b.Urgent && a.Opts == b.Opts && bytes.Equal(pa, pb)
}

// mustPanic fails the test unless f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	f()
}
