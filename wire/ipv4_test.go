package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func TestParseIPv4Captured(t *testing.T) {
	b := unhex(t, capturedSYN4)
	h, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	want := IPv4Header{Src: a4src, Dst: a4dst, Protocol: ProtoTCP, TTL: 64, ID: 0x1c46, DontFragment: true,
		TotalLen: 60, HeaderLen: 20}
	got := h
	got.Payload = nil
	if got.Src != want.Src || got.Dst != want.Dst || got.Protocol != want.Protocol || got.TTL != want.TTL ||
		got.ID != want.ID || got.DontFragment != want.DontFragment || got.MoreFragments || got.Fragment ||
		got.FragOffset != 0 || got.TotalLen != want.TotalLen || got.HeaderLen != want.HeaderLen ||
		got.Options != nil || got.TOS != 0 {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if !bytes.Equal(h.Payload, b[20:]) {
		t.Fatalf("Payload = %x", h.Payload)
	}
	if p := IPv4(b); p.Checksum() != 0x9d22 || p.Version() != 4 {
		t.Fatalf("Checksum = %#x, Version = %d", p.Checksum(), p.Version())
	}
}

func TestParseIPv4Malformed(t *testing.T) {
	good := func() []byte { return ipv4Packet(ProtoTCP, 0, make([]byte, 20)) }
	mod := func(f func(b []byte) []byte) []byte { return f(good()) }
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"nil", nil, ErrTruncated},
		{"19 bytes", good()[:19], ErrTruncated},
		{"version 6", mod(func(b []byte) []byte { b[0] = 0x65; fixIPv4Checksum(b); return b }), ErrBadVersion},
		{"version 0", mod(func(b []byte) []byte { b[0] = 0x05; return b }), ErrBadVersion},
		{"IHL 0", mod(func(b []byte) []byte { b[0] = 0x40; return b }), ErrBadHeaderLength},
		{"IHL 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), ErrBadHeaderLength},
		{"total length < IHL*4", mod(func(b []byte) []byte { b[0] = 0x46; b[2], b[3] = 0, 20; fixIPv4Checksum(b); return b }), ErrBadTotalLength},
		{"total length 0", mod(func(b []byte) []byte { b[2], b[3] = 0, 0; fixIPv4Checksum(b); return b }), ErrBadTotalLength},
		{"total length > buffer", mod(func(b []byte) []byte { b[3]++; fixIPv4Checksum(b); return b }), ErrBadTotalLength},
		{"truncated after header", good()[:39], ErrBadTotalLength},
		// IHL 15 promises 60 header bytes; total length 40 cannot hold them,
		// though the buffer could.
		{"IHL past total length", func() []byte {
			b := ipv4Packet(ProtoTCP, 0, make([]byte, 40))
			b[0], b[3] = 0x4f, 40
			fixIPv4Checksum(b)
			return b
		}(), ErrBadTotalLength},
		{"bad checksum", mod(func(b []byte) []byte { b[11] ^= 1; return b }), ErrBadChecksum},
		{"corrupt address", mod(func(b []byte) []byte { b[15] ^= 0x80; return b }), ErrBadChecksum},
	}
	for _, c := range cases {
		h, err := ParseIPv4(c.b)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
		if h.Src.IsValid() || h.Payload != nil {
			t.Errorf("%s: a failed parse returned %+v", c.name, h)
		}
	}
}

func TestParseIPv4OptionsAndPadding(t *testing.T) {
	// IHL 6: four bytes of options (NOP, NOP, NOP, EOL) are skipped, and
	// Ethernet padding past the total length is not payload.
	b := ipv4Packet(17, 0, []byte("data"))
	b = append(b[:20], append([]byte{1, 1, 1, 0}, b[20:]...)...)
	b[0] = 0x46
	b[3] += 4
	fixIPv4Checksum(b)
	b = append(b, 0, 0, 0, 0, 0, 0)
	h, err := ParseIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.HeaderLen != 24 || !bytes.Equal(h.Options, []byte{1, 1, 1, 0}) || string(h.Payload) != "data" || h.Protocol != 17 {
		t.Fatalf("got %+v", h)
	}
	if cap(h.Payload) != 4 {
		t.Fatalf("Payload capacity %d reaches past the total length", cap(h.Payload))
	}
}

func TestParseIPv4Fragments(t *testing.T) {
	cases := []struct {
		name     string
		ff       uint16
		frag, df bool
		mf       bool
		off      uint16
	}{
		{"whole", 0, false, false, false, 0},
		{"DF only", 0x4000, false, true, false, 0},
		{"first fragment", 0x2000, true, false, true, 0},
		{"middle fragment", 0x2000 | 185, true, false, true, 1480},
		{"last fragment", 185, true, false, false, 1480},
		{"largest offset", 0x1fff, true, false, false, 65528},
	}
	for _, c := range cases {
		h, err := ParseIPv4(ipv4Packet(ProtoTCP, c.ff, []byte("frag")))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if h.Fragment != c.frag || h.DontFragment != c.df || h.MoreFragments != c.mf || h.FragOffset != c.off {
			t.Errorf("%s: Fragment %v DF %v MF %v offset %d, want %v %v %v %d", c.name,
				h.Fragment, h.DontFragment, h.MoreFragments, h.FragOffset, c.frag, c.df, c.mf, c.off)
		}
	}
}

func TestAppendIPv4(t *testing.T) {
	// Reproduce the captured header from its fields.
	b := unhex(t, capturedSYN4)
	h := IPv4Header{Src: a4src, Dst: a4dst, Protocol: ProtoTCP, TTL: 64, ID: 0x1c46, DontFragment: true}
	if got := AppendIPv4(nil, &h, 40); !bytes.Equal(got, b[:20]) {
		t.Fatalf("AppendIPv4 = %x\nwant         %x", got, b[:20])
	}

	in := IPv4Header{Src: netip.MustParseAddr("10.1.2.3"), Dst: netip.MustParseAddr("255.255.255.255"),
		Protocol: 17, TOS: 0xb9, ID: 0xfffe, MoreFragments: true, FragOffset: 8 * 8191}
	out := AppendIPv4([]byte("pre"), &in, 5)
	out = append(out, "hello"...)
	got, err := ParseIPv4(out[3:])
	if err != nil {
		t.Fatal(err)
	}
	if got.Src != in.Src || got.Dst != in.Dst || got.Protocol != 17 || got.TOS != 0xb9 || got.ID != 0xfffe ||
		!got.MoreFragments || got.DontFragment || got.FragOffset != 65528 || !got.Fragment ||
		got.TTL != DefaultTTL || got.TotalLen != 25 || string(got.Payload) != "hello" {
		t.Fatalf("round trip: %+v", got)
	}

	mustPanic(t, "AppendIPv4 with IPv6 source", func() { AppendIPv4(nil, &IPv4Header{Src: a6src, Dst: a4dst}, 0) })
	mustPanic(t, "AppendIPv4 with zero destination", func() { AppendIPv4(nil, &IPv4Header{Src: a4src}, 0) })
	mustPanic(t, "AppendIPv4 with 65516-byte payload", func() { AppendIPv4(nil, &IPv4Header{Src: a4src, Dst: a4dst}, 65516) })
	mustPanic(t, "AppendIPv4 with negative payload", func() { AppendIPv4(nil, &IPv4Header{Src: a4src, Dst: a4dst}, -1) })
	if n := len(AppendIPv4(nil, &IPv4Header{Src: a4src, Dst: a4dst}, 65515)); n != 20 {
		t.Fatalf("largest payload: wrote %d bytes", n)
	}
}

func TestIPv4Allocs(t *testing.T) {
	b := unhex(t, capturedSYN4)
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseIPv4(b) }); n != 0 {
		t.Errorf("ParseIPv4 allocates %v times", n)
	}
	h := IPv4Header{Src: a4src, Dst: a4dst}
	buf := make([]byte, 0, 20)
	if n := testing.AllocsPerRun(100, func() { AppendIPv4(buf, &h, 0) }); n != 0 {
		t.Errorf("AppendIPv4 allocates %v times", n)
	}
}
