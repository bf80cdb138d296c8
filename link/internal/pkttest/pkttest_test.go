package pkttest

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// A header from RFC 1071's usual worked example (Wikipedia's IPv4 header
// checksum example), checksum 0xb861.
func TestSumKnownHeader(t *testing.T) {
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := fold(sum(h)); got != 0xffff {
		t.Fatalf("sum with checksum = %#04x, want 0xffff", got)
	}
	h[10], h[11] = 0, 0
	if got := ^fold(sum(h)); got != 0xb861 {
		t.Fatalf("checksum = %#04x, want 0xb861", got)
	}
}

func segs() []Segment {
	return []Segment{
		{
			Src: netip.MustParseAddrPort("192.0.2.1:40000"), Dst: netip.MustParseAddrPort("198.51.100.1:7"),
			Seq: 1, Flags: SYN, Window: 65535, Options: SynOptions(1460, 1, 0, 7),
		},
		{
			Src: netip.MustParseAddrPort("[2001:db8::1]:40000"), Dst: netip.MustParseAddrPort("[2001:db8::2]:7"),
			Seq: 1, Ack: 2, Flags: PSH | ACK, Window: 512, Payload: []byte("odd"),
		},
	}
}

func TestBuildValid(t *testing.T) {
	for _, s := range segs() {
		p := s.Build()
		if !Valid(p) {
			t.Fatalf("%v: built packet not valid", s.Src)
		}
		be := binary.BigEndian
		if p[0]>>4 == 4 {
			if int(be.Uint16(p[2:])) != len(p) || p[9] != 6 {
				t.Fatalf("bad IPv4 header % x", p[:20])
			}
			if got := p[20+12] >> 4; got != 10 { // 20 + 20 bytes of options
				t.Fatalf("data offset %d, want 10", got)
			}
		} else if int(be.Uint16(p[4:]))+40 != len(p) || p[6] != 6 {
			t.Fatalf("bad IPv6 header % x", p[:40])
		}
	}
}

// Every byte a checksum covers must matter to Valid: IPv4 all of it, IPv6
// from the addresses on (hop limit and the first word are not covered).
func TestValidCatchesEveryCoveredByte(t *testing.T) {
	for _, s := range segs() {
		p := s.Build()
		start := 0
		if p[0]>>4 == 6 {
			start = 8
		}
		for i := start; i < len(p); i++ {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				p[i] ^= x
				if Valid(p) {
					t.Fatalf("%v: byte %d ^ %#x still valid", s.Src, i, x)
				}
				p[i] ^= x
			}
		}
		if !Valid(p) {
			t.Fatal("restored packet invalid")
		}
	}
}

func TestValidRejectsMalformed(t *testing.T) {
	v4, v6 := segs()[0].Build(), segs()[1].Build()
	bad := map[string][]byte{
		"empty":       nil,
		"version 5":   {0x50},
		"short v4":    v4[:19],
		"short v6":    v6[:39],
		"trunc v4":    v4[:len(v4)-1],
		"trunc v6":    v6[:len(v6)-1],
		"short tcp 4": segs4hdr(v4),
	}
	for name, p := range bad {
		if Valid(p) {
			t.Errorf("%s: valid", name)
		}
	}
}

// segs4hdr returns an IPv4 header claiming a 10-byte TCP header.
func segs4hdr(v4 []byte) []byte {
	p := append([]byte(nil), v4[:30]...)
	binary.BigEndian.PutUint16(p[2:], 30)
	p[10], p[11] = 0, 0
	binary.BigEndian.PutUint16(p[10:], ^fold(sum(p[:20])))
	return p
}
