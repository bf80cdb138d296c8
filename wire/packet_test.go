package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func TestParsePacketCaptured(t *testing.T) {
	cases := []struct {
		name, pkt string
		want      Packet
	}{
		{"v4", capturedSYN4, Packet{Version: 4, Src: a4src, Dst: a4dst, Protocol: ProtoTCP, TTL: 64,
			Segment: Segment{SrcPort: 41668, DstPort: 80, Seq: 1059810334, Flags: FlagSYN, Wnd: 64240,
				Opts: Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 6958913, HasWScale: true, WScale: 7}}}},
		{"v6", capturedSYN6, Packet{Version: 6, Src: a6src, Dst: a6dst, Protocol: ProtoTCP, TTL: 64,
			Segment: Segment{SrcPort: 41668, DstPort: 80, Seq: 1059810334, Flags: FlagSYN, Wnd: 64800,
				Opts: Options{HasMSS: true, MSS: 1440, SACKPermitted: true, HasTimestamp: true, TSVal: 2602319361, HasWScale: true, WScale: 7}}}},
	}
	for _, c := range cases {
		b := unhex(t, c.pkt)
		p, err := ParsePacket(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !packetEqual(p, c.want) {
			t.Errorf("%s: got %+v\nwant %+v", c.name, p, c.want)
		}
		if !bytes.Equal(p.Payload, b[len(b)-40:]) {
			t.Errorf("%s: Payload is not the TCP segment", c.name)
		}
		if got, want := p.Segment.String(), "S 1059810334:1059810334(0) win "; got[:len(want)] != want {
			t.Errorf("%s: String = %q", c.name, got)
		}
		// AppendPacket rebuilds the capture exactly, except for the fields
		// it does not take (IPv4 ID, IPv6 flow label).
		out := AppendPacket(nil, p.Src, p.Dst, &p.Segment, p.TTL)
		if c.name == "v4" {
			out[4], out[5] = 0x1c, 0x46
			fixIPv4Checksum(out)
		} else {
			out[1], out[2], out[3] = 0x0a, 0x3b, 0x1c
		}
		if !bytes.Equal(out, b) {
			t.Errorf("%s: AppendPacket = %x\nwant           %x", c.name, out, b)
		}
	}
}

func packetEqual(a, b Packet) bool {
	return a.Version == b.Version && a.Src == b.Src && a.Dst == b.Dst && a.Protocol == b.Protocol &&
		a.TTL == b.TTL && a.TOS == b.TOS && a.IsFragment == b.IsFragment && segEqual(a.Segment, b.Segment)
}

func TestParsePacketErrors(t *testing.T) {
	syn4, syn6 := unhex(t, capturedSYN4), unhex(t, capturedSYN6)
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		return c
	}
	// A TCP header with data offset 4 and a checksum that verifies: the
	// error must be the structural one.
	badOff := tcpRaw(FlagACK, nil, nil)
	badOff[12] = 0x40
	fixTCPChecksum(badOff, a4src, a4dst)
	// A segment too short for a header, whose last word makes the checksum
	// verify.
	short := []byte{0, 80, 0, 81, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(short[8:], ^refSum(append(refPseudo(a6src, a6dst, ProtoTCP, len(short)), short...)))
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrTruncated},
		{"version 5", []byte{0x50, 0, 0, 0}, ErrBadVersion},
		{"IPv4 truncated", syn4[:10], ErrTruncated},
		{"IPv4 bad header checksum", flip(syn4, 10), ErrBadChecksum},
		{"IPv4 bad total length", syn4[:59], ErrBadTotalLength},
		{"IPv6 truncated", syn6[:39], ErrTruncated},
		{"IPv6 bad payload length", syn6[:79], ErrBadPayloadLength},
		{"IPv6 bad extension header", ipv6Packet(0, []byte{6, 0}), ErrBadExtensionHeader},
		{"IPv4 bad TCP checksum", flip(syn4, 50), ErrBadChecksum},
		{"IPv6 bad TCP checksum", flip(syn6, 60), ErrBadChecksum},
		{"IPv6 pseudo-header address changed", flip(syn6, 39), ErrBadChecksum},
		{"TCP bad data offset", ipv4Packet(ProtoTCP, 0, badOff), ErrBadDataOffset},
		{"TCP truncated", ipv6Packet(ProtoTCP, short), ErrTruncated},
	}
	for _, c := range cases {
		p, err := ParsePacket(c.b)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
		if p.Version != 0 || p.Payload != nil {
			t.Errorf("%s: a failed parse returned %+v", c.name, p)
		}
	}
}

func TestParsePacketFragmentsAndOtherProtocols(t *testing.T) {
	cases := []struct {
		name    string
		b       []byte
		err     error
		version int
		proto   uint8
		frag    bool
	}{
		{"IPv4 first fragment", ipv4Packet(ProtoTCP, 0x2000, tcpRaw(FlagACK, nil, nil)), ErrFragment, 4, ProtoTCP, true},
		{"IPv4 last fragment", ipv4Packet(ProtoTCP, 3, []byte("tail")), ErrFragment, 4, ProtoTCP, true},
		{"IPv6 fragment", ipv6Packet(44, []byte{6, 0, 0, 9, 0, 0, 0, 1, 'x'}), ErrFragment, 6, ProtoTCP, true},
		{"IPv4 UDP", ipv4Packet(17, 0, []byte("udp")), ErrNotTCP, 4, 17, false},
		{"ICMPv6", ipv6Packet(58, []byte{128, 0, 0, 0}), ErrNotTCP, 6, 58, false},
	}
	for _, c := range cases {
		p, err := ParsePacket(c.b)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
		if p.Version != c.version || p.Protocol != c.proto || p.IsFragment != c.frag || !p.Src.IsValid() ||
			p.TTL != 64 || len(p.Payload) == 0 {
			t.Errorf("%s: IP fields not filled in: %+v", c.name, p)
		}
	}
}

func TestParsePacketEthernetPadding(t *testing.T) {
	// A 40-byte IPv4 ACK padded to Ethernet's 46-byte minimum payload: the
	// padding must not reach the TCP checksum or the payload.
	s := Segment{SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: FlagACK, Wnd: 5}
	b := append(AppendPacket(nil, a4src, a4dst, &s, 0), 0, 0, 0, 0, 0, 0)
	p, err := ParsePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	if !segEqual(p.Segment, s) || len(p.Payload) != 20 {
		t.Fatalf("got %+v", p)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	addrs := []struct{ src, dst netip.Addr }{
		{a4src, a4dst},
		{a6src, a6dst},
		{netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("fe80::1")},
	}
	payloads := [][]byte{nil, []byte("odd"), bytes.Repeat([]byte{0xff}, 1400)}
	for _, a := range addrs {
		for _, o := range roundTripOptions() {
			for _, pl := range payloads {
				for _, ttl := range []uint8{0, 1, 255} {
					s := Segment{SrcPort: 80, DstPort: 65535, Seq: 1, Ack: 0xffffffff, Flags: FlagACK | FlagFIN,
						Wnd: 65535, Opts: o, Payload: pl}
					b := AppendPacket(nil, a.src, a.dst, &s, ttl)
					if len(b) != PacketLen(a.src, &s) {
						t.Fatalf("wrote %d bytes, PacketLen says %d", len(b), PacketLen(a.src, &s))
					}
					p, err := ParsePacket(b)
					if err != nil {
						t.Fatalf("%v→%v %v: %v", a.src, a.dst, s, err)
					}
					want := s
					want.Opts.NumSACK = fittingSACK(o)
					want.Opts.SACK = [4]SACKBlock{}
					copy(want.Opts.SACK[:want.Opts.NumSACK], o.SACK[:])
					wantTTL := ttl
					if ttl == 0 {
						wantTTL = DefaultTTL
					}
					if p.Src != a.src || p.Dst != a.dst || p.TTL != wantTTL || !segEqual(p.Segment, want) {
						t.Fatalf("round trip %v→%v:\n got %+v\nwant %v", a.src, a.dst, p, want)
					}
					if a.src.Is4() && !IPv4(b).DontFragment() {
						t.Fatal("IPv4 packet without DF")
					}
				}
			}
		}
	}
}

func TestAppendPacketPanics(t *testing.T) {
	s := Segment{}
	mustPanic(t, "v4 src, v6 dst", func() { AppendPacket(nil, a4src, a6dst, &s, 0) })
	mustPanic(t, "v6 src, v4 dst", func() { AppendPacket(nil, a6src, a4dst, &s, 0) })
	mustPanic(t, "zero addresses", func() { AppendPacket(nil, netip.Addr{}, netip.Addr{}, &s, 0) })
	big := Segment{Payload: make([]byte, 65536-40)}
	mustPanic(t, "oversized IPv4", func() { AppendPacket(nil, a4src, a4dst, &big, 0) })
}

func TestPacketAllocs(t *testing.T) {
	for _, c := range []struct {
		name     string
		src, dst netip.Addr
	}{{"v4", a4src, a4dst}, {"v6", a6src, a6dst}} {
		s := Segment{SrcPort: 1, DstPort: 2, Flags: FlagACK, Payload: make([]byte, 1000),
			Opts: Options{HasTimestamp: true, NumSACK: 2}}
		buf := make([]byte, 0, 1500)
		if n := testing.AllocsPerRun(100, func() { AppendPacket(buf, c.src, c.dst, &s, 64) }); n != 0 {
			t.Errorf("%s: AppendPacket with capacity allocates %v times", c.name, n)
		}
		pkt := AppendPacket(nil, c.src, c.dst, &s, 64)
		var err error
		if n := testing.AllocsPerRun(100, func() { _, err = ParsePacket(pkt) }); n != 0 || err != nil {
			t.Errorf("%s: ParsePacket allocates %v times (err %v)", c.name, n, err)
		}
	}
}

func BenchmarkParsePacket(b *testing.B) {
	for _, c := range []struct {
		name string
		pkt  []byte
	}{
		{"v4-syn", unhex(b, capturedSYN4)},
		{"v6-syn", unhex(b, capturedSYN6)},
		{"v4-1448", AppendPacket(nil, a4src, a4dst, &Segment{Flags: FlagACK, Opts: Options{HasTimestamp: true}, Payload: make([]byte, 1448)}, 64)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.pkt)))
			for b.Loop() {
				if _, err := ParsePacket(c.pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendPacket(b *testing.B) {
	for _, c := range []struct {
		name     string
		src, dst netip.Addr
		s        Segment
	}{
		{"v4-syn", a4src, a4dst, Segment{Flags: FlagSYN, Opts: Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, HasWScale: true, WScale: 7}}},
		{"v6-syn", a6src, a6dst, Segment{Flags: FlagSYN, Opts: Options{HasMSS: true, MSS: 1440, SACKPermitted: true, HasTimestamp: true, HasWScale: true, WScale: 7}}},
		{"v4-1448", a4src, a4dst, Segment{Flags: FlagACK, Opts: Options{HasTimestamp: true}, Payload: make([]byte, 1448)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 1600)
			b.ReportAllocs()
			b.SetBytes(int64(PacketLen(c.src, &c.s)))
			for b.Loop() {
				AppendPacket(buf, c.src, c.dst, &c.s, 64)
			}
		})
	}
}

// A partial checksum completed as a link does it (sum from the TCP header
// on, the field included, complemented) is the full checksum; a trusted
// parse skips only the TCP checksum.
func TestPartialChecksum(t *testing.T) {
	for _, fam := range []struct{ src, dst string }{{"192.0.2.1", "192.0.2.2"}, {"2001:db8::1", "2001:db8::2"}} {
		src, dst := netip.MustParseAddr(fam.src), netip.MustParseAddr(fam.dst)
		s := Segment{SrcPort: 40000, DstPort: 80, Seq: 7, Ack: 9, Flags: FlagACK | FlagPSH, Wnd: 512,
			Opts: Options{HasTimestamp: true, TSVal: 1, TSEcr: 2}, Payload: []byte("partial checksums, completed by the link")}
		full := AppendPacket(nil, src, dst, &s, 64)
		part := AppendPacketPartial(nil, src, dst, &s, 64)
		hl := IPv4MinHeaderLen
		if src.Is6() {
			hl = IPv6HeaderLen
		}
		if !bytes.Equal(full[:hl+16], part[:hl+16]) || !bytes.Equal(full[hl+18:], part[hl+18:]) {
			t.Fatalf("%s: partial packet differs beyond the TCP checksum field", fam.src)
		}
		if _, err := ParsePacket(part); !errors.Is(err, ErrBadChecksum) {
			t.Fatalf("%s: ParsePacket(partial) = %v, want ErrBadChecksum", fam.src, err)
		}
		if p, err := ParsePacketTrusted(part); err != nil || string(p.Segment.Payload) != string(s.Payload) {
			t.Fatalf("%s: ParsePacketTrusted(partial) = %v", fam.src, err)
		}
		again := bytes.Clone(part)
		if err := CompleteTCPChecksum(again); err != nil || !bytes.Equal(again, full) {
			t.Fatalf("%s: CompleteTCPChecksum = %v, or differs from AppendPacket", fam.src, err)
		}
		done := bytes.Clone(part)
		binary.BigEndian.PutUint16(done[hl+16:], ^Checksum(done[hl:], 0))
		if !bytes.Equal(done, full) {
			t.Fatalf("%s: the completed checksum %#04x, AppendPacket's %#04x", fam.src,
				binary.BigEndian.Uint16(done[hl+16:]), binary.BigEndian.Uint16(full[hl+16:]))
		}
	}
}
