package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseIPv6Captured(t *testing.T) {
	b := unhex(t, capturedSYN6)
	h, err := ParseIPv6(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Src != a6src || h.Dst != a6dst || h.NextHeader != ProtoTCP || h.HopLimit != 64 ||
		h.TrafficClass != 0 || h.FlowLabel != 0xa3b1c || h.PayloadLen != 40 || h.Fragment {
		t.Fatalf("got %+v", h)
	}
	if !bytes.Equal(h.Payload, b[40:]) {
		t.Fatalf("Payload = %x", h.Payload)
	}
	if v := IPv6(b); v.Version() != 6 || v.NextHeader() != ProtoTCP {
		t.Fatalf("view: version %d next header %d", v.Version(), v.NextHeader())
	}
}

func TestIPv6TrafficClass(t *testing.T) {
	b := ipv6Packet(59, nil)
	b[0], b[1], b[2], b[3] = 0x6b, 0x8f, 0xff, 0xff // TC 0xb8, flow label 0xfffff
	h, err := ParseIPv6(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.TrafficClass != 0xb8 || h.FlowLabel != 0xfffff || h.NextHeader != 59 || h.Payload != nil {
		t.Fatalf("got %+v", h)
	}
}

// ext builds an extension header of the given type-specific length.
func ext(nh byte, units int) []byte {
	b := make([]byte, (units+1)*8)
	b[0], b[1] = nh, byte(units)
	return b
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func TestParseIPv6Extensions(t *testing.T) {
	tcp := tcpRaw(FlagACK, nil, nil)
	frag := func(nh byte, off uint16, m bool, id uint32) []byte {
		b := []byte{nh, 0, byte(off >> 8), byte(off), byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
		if m {
			b[3] |= 1
		}
		return b
	}
	cases := []struct {
		name    string
		nh      byte
		payload []byte
		wantNH  byte
		payLen  int // length of the upper-layer payload found
		frag    bool
		off     uint16
		mf      bool
		id      uint32
	}{
		{"hop-by-hop", 0, cat(ext(6, 0), tcp), 6, 20, false, 0, false, 0},
		{"hop-by-hop, routing, destination options", 0, cat(ext(43, 1), ext(60, 0), ext(6, 2), tcp), 6, 20, false, 0, false, 0},
		{"destination options, no next header", 60, cat(ext(59, 0), []byte("ignored!")), 59, 8, false, 0, false, 0},
		{"first fragment", 44, cat(frag(6, 0, true, 0xdeadbeef), tcp), 6, 20, true, 0, true, 0xdeadbeef},
		{"later fragment", 0, cat(ext(44, 0), frag(6, 1448, false, 7), []byte("data")), 6, 4, true, 1448, false, 7},
		// The fragment header's next header may itself be an extension
		// header; the walk stops at the fragment anyway.
		{"fragment before destination options", 44, cat(frag(60, 8, true, 1), ext(6, 0)), 60, 8, true, 8, true, 1},
		// RFC 6946: an atomic fragment is parsed through.
		{"atomic fragment", 44, cat(frag(60, 0, false, 9), ext(6, 0), tcp), 6, 20, false, 0, false, 0},
		{"UDP", 17, []byte("udp!"), 17, 4, false, 0, false, 0},
	}
	for _, c := range cases {
		h, err := ParseIPv6(ipv6Packet(c.nh, c.payload))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if h.NextHeader != c.wantNH || len(h.Payload) != c.payLen || h.Fragment != c.frag ||
			h.FragOffset != c.off || h.MoreFragments != c.mf || h.FragID != c.id {
			t.Errorf("%s: got next header %d, %d payload bytes, fragment %v offset %d M %v id %#x",
				c.name, h.NextHeader, len(h.Payload), h.Fragment, h.FragOffset, h.MoreFragments, h.FragID)
		}
		if !bytes.Equal(h.Payload, c.payload[len(c.payload)-c.payLen:]) {
			t.Errorf("%s: Payload is not the tail of the packet", c.name)
		}
	}
}

func TestParseIPv6Malformed(t *testing.T) {
	good := func() []byte { return ipv6Packet(ProtoTCP, tcpRaw(FlagACK, nil, nil)) }
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"nil", nil, ErrTruncated},
		{"39 bytes", good()[:39], ErrTruncated},
		{"version 4", func() []byte { b := good(); b[0] = 0x40; return b }(), ErrBadVersion},
		{"version 7", func() []byte { b := good(); b[0] = 0x70; return b }(), ErrBadVersion},
		{"payload length past buffer", good()[:59], ErrBadPayloadLength},
		{"payload length 65535", func() []byte { b := good(); b[4], b[5] = 0xff, 0xff; return b }(), ErrBadPayloadLength},
		{"hop-by-hop not first", ipv6Packet(60, cat(ext(0, 0), ext(6, 0))), ErrBadExtensionHeader},
		{"routing header with segments left", ipv6Packet(43, func() []byte { b := ext(6, 0); b[3] = 1; return cat(b, tcpRaw(FlagACK, nil, nil)) }()), ErrBadExtensionHeader},
		{"extension header under 8 bytes", ipv6Packet(43, []byte{6, 0, 0, 0}), ErrBadExtensionHeader},
		{"buffer cut inside extension header", ipv6Packet(60, cat(ext(6, 0), []byte{}))[:47], ErrBadPayloadLength},
		{"extension length past payload", ipv6Packet(60, []byte{6, 1, 0, 0, 0, 0, 0, 0, 0, 0}), ErrBadExtensionHeader},
		{"no room for extension header", ipv6Packet(0, nil), ErrBadExtensionHeader},
		{"fragment header truncated", ipv6Packet(44, []byte{6, 0, 0, 1}), ErrBadExtensionHeader},
	}
	for _, c := range cases {
		h, err := ParseIPv6(c.b)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
		if h.Src.IsValid() || h.Payload != nil {
			t.Errorf("%s: a failed parse returned %+v", c.name, h)
		}
	}
}

func TestAppendIPv6(t *testing.T) {
	b := unhex(t, capturedSYN6)
	h := IPv6Header{Src: a6src, Dst: a6dst, NextHeader: ProtoTCP, HopLimit: 64, FlowLabel: 0xa3b1c}
	if got := AppendIPv6(nil, &h, 40); !bytes.Equal(got, b[:40]) {
		t.Fatalf("AppendIPv6 = %x\nwant         %x", got, b[:40])
	}
	// Out-of-range flow label bits are masked off; HopLimit 0 is defaulted.
	in := IPv6Header{Src: a6dst, Dst: a6src, NextHeader: 17, TrafficClass: 0xff, FlowLabel: 0xfff12345}
	out := append(AppendIPv6([]byte{1}, &in, 3), "abc"...)
	got, err := ParseIPv6(out[1:])
	if err != nil {
		t.Fatal(err)
	}
	if got.Src != a6dst || got.Dst != a6src || got.NextHeader != 17 || got.TrafficClass != 0xff ||
		got.FlowLabel != 0x12345 || got.HopLimit != DefaultTTL || string(got.Payload) != "abc" {
		t.Fatalf("round trip: %+v", got)
	}
	mustPanic(t, "AppendIPv6 with IPv4 source", func() { AppendIPv6(nil, &IPv6Header{Src: a4src, Dst: a6dst}, 0) })
	mustPanic(t, "AppendIPv6 with jumbo payload", func() { AppendIPv6(nil, &IPv6Header{Src: a6src, Dst: a6dst}, 65536) })
}

func TestIPv6Allocs(t *testing.T) {
	b := ipv6Packet(0, cat(ext(43, 1), ext(60, 0), ext(6, 2), tcpRaw(FlagACK, nil, nil)))
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseIPv6(b) }); n != 0 {
		t.Errorf("ParseIPv6 allocates %v times", n)
	}
	h := IPv6Header{Src: a6src, Dst: a6dst}
	buf := make([]byte, 0, 40)
	if n := testing.AllocsPerRun(100, func() { AppendIPv6(buf, &h, 0) }); n != 0 {
		t.Errorf("AppendIPv6 allocates %v times", n)
	}
}
