package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/synack/synack/seq"
)

// A SYN as the quoted packet: what a router puts in an ICMP error is the
// offending packet's IP header and at least eight bytes of its payload.
func quotedSYN(t *testing.T, v6 bool) []byte {
	t.Helper()
	if v6 {
		return unhex(t, capturedSYN6)
	}
	return unhex(t, capturedSYN4)
}

// refICMPChecksumOK sums the message the slow way, with the IPv6
// pseudo-header written out byte by byte (RFC 4443 §2.3, RFC 8200 §8.1).
func refICMPChecksumOK(b []byte, src, dst netip.Addr) bool {
	var whole []byte
	if src.Is6() {
		s, d := src.As16(), dst.As16()
		whole = append(whole, s[:]...)
		whole = append(whole, d[:]...)
		whole = binary.BigEndian.AppendUint32(whole, uint32(len(b)))
		whole = append(whole, 0, 0, 0, ProtoICMPv6)
	}
	whole = append(whole, b...)
	return refSum(whole) == 0xffff
}

func TestICMPRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		src, dst := a4dst, a4src
		m := ICMP{Type: ICMPv4Unreachable, Code: ICMPv4CodeFragNeeded, Rest: 1400}
		if v6 {
			src, dst = a6dst, a6src
			m = ICMP{Type: ICMPv6PacketTooBig, Rest: 1280}
		}
		m.Body = quotedSYN(t, v6)
		pkt := AppendICMPPacket(nil, src, dst, &m)
		p, err := ParsePacket(pkt)
		wantProto := uint8(ProtoICMP)
		if v6 {
			wantProto = ProtoICMPv6
		}
		if !errors.Is(err, ErrNotTCP) || p.Protocol != wantProto || p.Src != src || p.Dst != dst {
			t.Fatalf("v6=%v: ParsePacket = %+v, %v", v6, p, err)
		}
		if !refICMPChecksumOK(p.Payload, src, dst) {
			t.Fatalf("v6=%v: checksum fails the reference sum", v6)
		}
		got, err := ParseICMP(p.Payload, src, dst)
		if err != nil || got.Type != m.Type || got.Code != m.Code || got.Rest != m.Rest || !bytes.Equal(got.Body, m.Body) {
			t.Fatalf("v6=%v: ParseICMP = %+v, %v", v6, got, err)
		}
		if !got.IsError(v6) {
			t.Fatalf("v6=%v: type %d not an error", v6, got.Type)
		}
		q, err := ParseQuoted(got.Body)
		if err != nil || q.Protocol != ProtoTCP || q.SrcPort != 41668 || q.DstPort != 80 || q.Seq != seq.Num(1059810334) {
			t.Fatalf("v6=%v: ParseQuoted = %+v, %v", v6, q, err)
		}
		if q.Src != dst || q.Dst != src {
			t.Fatalf("v6=%v: quoted addresses %v → %v, want %v → %v", v6, q.Src, q.Dst, dst, src)
		}
		// One flipped bit anywhere fails the checksum; for ICMPv6 so does
		// a different pseudo-header.
		bad := append([]byte(nil), p.Payload...)
		bad[len(bad)-1] ^= 1
		if _, err := ParseICMP(bad, src, dst); !errors.Is(err, ErrBadChecksum) {
			t.Fatalf("v6=%v: corrupted message: %v", v6, err)
		}
		if v6 {
			if _, err := ParseICMP(p.Payload, a6src, dst); !errors.Is(err, ErrBadChecksum) {
				t.Fatalf("ICMPv6 from another source verified: %v", err)
			}
		}
	}
}

func TestICMPIsError(t *testing.T) {
	for _, tc := range []struct {
		typ  uint8
		v6   bool
		want bool
	}{
		{ICMPv4EchoReply, false, false}, {ICMPv4Unreachable, false, true}, {4, false, true}, {5, false, true},
		{ICMPv4Echo, false, false}, {ICMPv4TimeExceeded, false, true}, {ICMPv4ParamProblem, false, true}, {13, false, false},
		{ICMPv6Unreachable, true, true}, {ICMPv6PacketTooBig, true, true}, {ICMPv6TimeExceeded, true, true},
		{ICMPv6ParamProblem, true, true}, {ICMPv6EchoRequest, true, false}, {135, true, false},
	} {
		m := ICMP{Type: tc.typ}
		if got := m.IsError(tc.v6); got != tc.want {
			t.Errorf("type %d v6=%v: IsError %v, want %v", tc.typ, tc.v6, got, tc.want)
		}
	}
}

func TestParseICMPTruncated(t *testing.T) {
	if _, err := ParseICMP(make([]byte, 7), a4src, a4dst); !errors.Is(err, ErrTruncated) {
		t.Fatalf("7 bytes: %v", err)
	}
}

func TestParseQuotedMalformed(t *testing.T) {
	syn4 := unhex(t, capturedSYN4)
	withOpts := append([]byte(nil), syn4[:20]...)
	withOpts[0] = 0x46 // IHL 6: four bytes of options before TCP
	withOpts = append(withOpts, 1, 1, 1, 0)
	withOpts = append(withOpts, syn4[20:]...)
	if q, err := ParseQuoted(withOpts); err != nil || q.SrcPort != 41668 || q.Seq != 1059810334 {
		t.Fatalf("quote with IPv4 options: %+v, %v", q, err)
	}
	udp := append([]byte(nil), syn4...)
	udp[9] = 17
	if q, err := ParseQuoted(udp); !errors.Is(err, ErrNotTCP) || q.Protocol != 17 || q.Src != a4src {
		t.Fatalf("quoted UDP: %+v, %v", q, err)
	}
	frag := append([]byte(nil), syn4...)
	frag[6], frag[7] = 0, 10 // offset 80 bytes: no TCP header here
	ihl3 := append([]byte(nil), syn4...)
	ihl3[0] = 0x43
	ihl15 := append([]byte(nil), syn4[:24]...)
	ihl15[0] = 0x4f
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short IPv4 header", syn4[:19], ErrTruncated},
		{"seven bytes of TCP", syn4[:27], ErrTruncated},
		{"seven bytes of TCP after IPv6", unhex(t, capturedSYN6)[:47], ErrTruncated},
		{"short IPv6 header", unhex(t, capturedSYN6)[:39], ErrTruncated},
		{"version 5", append([]byte{0x50}, syn4[1:]...), ErrBadVersion},
		{"IHL below 5", ihl3, ErrBadHeaderLength},
		{"IHL past the quote", ihl15, ErrBadHeaderLength},
		{"a later fragment", frag, ErrFragment},
	} {
		if _, err := ParseQuoted(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzParseICMP(f *testing.F) {
	f.Add(AppendICMP(nil, a4dst, a4src, &ICMP{Type: 3, Code: 3, Body: mustUnhex(capturedSYN4)}), false)
	f.Add(AppendICMP(nil, a6dst, a6src, &ICMP{Type: 2, Rest: 1280, Body: mustUnhex(capturedSYN6)}), true)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		src, dst := a4dst, a4src
		if v6 {
			src, dst = a6dst, a6src
		}
		m, err := ParseICMP(b, src, dst)
		if err != nil {
			return
		}
		// Only the checksum field may differ (0x0000 and 0xffff both
		// verify); it must verify by the reference sum.
		out := AppendICMP(nil, src, dst, &m)
		if !refICMPChecksumOK(out, src, dst) || !bytes.Equal(out[:2], b[:2]) || !bytes.Equal(out[4:], b[4:]) {
			t.Fatalf("round trip of %x gave %x", b, out)
		}
		q, err := ParseQuoted(m.Body)
		if err == nil && (q.Protocol != ProtoTCP || !q.Src.IsValid()) {
			t.Fatalf("quote parsed without TCP fields: %+v", q)
		}
	})
}
