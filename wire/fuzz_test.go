package wire

import (
	"bytes"
	"errors"
	"testing"
)

type seed struct {
	name string
	b    []byte
}

// The seeds below are also stored in testdata/fuzz/<FuzzName>/, so that
// `go test` replays them without -fuzz and the fuzzer starts from them.

func tcpSeeds() []seed {
	syn := mustUnhex(capturedSYN4)[20:]
	doff := func(b []byte, w byte) []byte { b = bytes.Clone(b); b[12] = w << 4; return b }
	return []seed{
		{"syn-all-options", syn},
		{"synack-no-timestamps", tcpRaw(FlagSYN|FlagACK, mustUnhex("020405b4 01010402 01030307"), nil)},
		{"data-ts-sack", tcpRaw(FlagACK|FlagPSH, mustUnhex("0101080a 00000005 00000006 01010512 00000001 00000002 00000003 00000004"), []byte("hello"))},
		{"packed-ts-wscale-3sack", tcpRaw(FlagACK, mustUnhex("080a 00000000 00000000 030303 051a 00000001 00000002 00000003 00000004 00000005 00000006 00"), nil)},
		{"sack-4-blocks", tcpRaw(FlagACK, mustUnhex("01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008"), nil)},
		{"unknown-option-then-mss", tcpRaw(FlagSYN, mustUnhex("1e060000 00000204 02180000"), nil)},
		{"wscale-15", tcpRaw(FlagSYN, mustUnhex("0103030f"), nil)},
		{"eol-then-junk", tcpRaw(FlagSYN, mustUnhex("020405b4 00ffffff"), nil)},
		{"truncated-19", syn[:19]},
		{"data-offset-4", doff(syn, 4)},
		{"data-offset-past-end", doff(syn[:24], 15)},
		{"option-length-0", tcpRaw(FlagSYN, mustUnhex("02000000"), nil)},
		{"option-length-1", tcpRaw(FlagSYN, mustUnhex("02010000"), nil)},
		{"mss-length-3", tcpRaw(FlagSYN, mustUnhex("02030501"), nil)},
		{"sack-length-9", tcpRaw(FlagACK, mustUnhex("05090000 00010000 00020000"), nil)},
		{"option-past-header-end", tcpRaw(FlagACK, mustUnhex("0101080a"), []byte("payload"))},
	}
}

func ipv4Seeds() []seed {
	syn := mustUnhex(capturedSYN4)
	fix := func(f func(b []byte)) []byte { b := bytes.Clone(syn); f(b); fixIPv4Checksum(b); return b }
	opts := ipv4Packet(17, 0, []byte("data"))
	opts = append(opts[:20], append([]byte{1, 1, 1, 0}, opts[20:]...)...)
	opts[0], opts[3] = 0x46, opts[3]+4
	fixIPv4Checksum(opts)
	return []seed{
		{"syn", syn},
		{"syn-ethernet-padding", append(bytes.Clone(syn), 0, 0, 0, 0, 0, 0)},
		{"with-options", opts},
		{"fragment-mf", ipv4Packet(ProtoTCP, 0x2000, syn[20:])},
		{"fragment-offset", ipv4Packet(ProtoTCP, 185, []byte("rest of it"))},
		{"truncated-19", syn[:19]},
		{"version-6", fix(func(b []byte) { b[0] = 0x65 })},
		{"ihl-4", fix(func(b []byte) { b[0] = 0x44 })},
		{"total-length-short", fix(func(b []byte) { b[3] = 10 })},
		{"total-length-long", fix(func(b []byte) { b[3] = 61 })},
		{"bad-checksum", func() []byte { b := bytes.Clone(syn); b[10] ^= 0xff; return b }()},
	}
}

func ipv6Seeds() []seed {
	syn := mustUnhex(capturedSYN6)
	tcp := syn[40:]
	return []seed{
		{"syn", syn},
		{"ext-chain", ipv6Packet(0, cat(ext(43, 1), ext(60, 0), ext(6, 2), tcp))},
		{"fragment", ipv6Packet(44, cat([]byte{6, 0, 0, 1, 0, 0, 0, 42}, tcp))},
		{"fragment-later", ipv6Packet(44, []byte{6, 0, 5, 0xa8, 0, 0, 0, 42, 'd', 'a', 't', 'a'})},
		{"atomic-fragment", ipv6Packet(44, cat([]byte{6, 0, 0, 0, 0, 0, 0, 42}, tcp))},
		{"truncated-39", syn[:39]},
		{"version-4", func() []byte { b := bytes.Clone(syn); b[0] = 0x40; return b }()},
		{"payload-length-long", syn[:79]},
		{"hop-by-hop-not-first", ipv6Packet(60, cat(ext(0, 0), ext(6, 0), tcp))},
		{"ext-past-payload", ipv6Packet(43, []byte{6, 3, 0, 0, 0, 0, 0, 0})},
		{"routing-segments-left", ipv6Packet(43, cat([]byte{6, 0, 0, 1, 0, 0, 0, 0}, tcp))},
	}
}

func packetSeeds() []seed {
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	syn4, syn6 := mustUnhex(capturedSYN4), mustUnhex(capturedSYN6)
	data := Segment{SrcPort: 80, DstPort: 40000, Seq: 1, Ack: 2, Flags: FlagACK | FlagPSH, Wnd: 501,
		Opts:    Options{HasTimestamp: true, TSVal: 3, TSEcr: 4, NumSACK: 2, SACK: [4]SACKBlock{{5, 6}, {7, 8}}},
		Payload: []byte("GET / HTTP/1.1\r\n\r\n")}
	badOff := tcpRaw(FlagACK, nil, nil)
	badOff[12] = 0x40
	fixTCPChecksum(badOff, a4src, a4dst)
	return []seed{
		{"syn4", syn4},
		{"syn6", syn6},
		{"data4-sack", AppendPacket(nil, a4src, a4dst, &data, 64)},
		{"data6-sack", AppendPacket(nil, a6src, a6dst, &data, 64)},
		{"fragment4", ipv4Packet(ProtoTCP, 0x2000, syn4[20:])},
		{"fragment6", ipv6Packet(44, cat([]byte{6, 0, 0, 1, 0, 0, 0, 42}, syn6[40:]))},
		{"udp4", ipv4Packet(17, 0, []byte{0, 53, 0, 53, 0, 8, 0, 0})},
		{"bad-tcp-checksum", flip(syn4, 37)},
		{"tcp-data-offset-4", ipv4Packet(ProtoTCP, 0, badOff)},
		{"empty", nil},
		{"version-5", []byte{0x50}},
	}
}

func addSeeds(f *testing.F, seeds []seed) {
	for _, s := range seeds {
		f.Add(s.b)
	}
}

func FuzzParseTCP(f *testing.F) {
	addSeeds(f, tcpSeeds())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseTCP(b)
		if err != nil {
			if !segEqual(s, Segment{}) {
				t.Fatalf("error %v with a non-zero Segment %v", err, s)
			}
			return
		}
		checkTCPRoundTrip(t, s, ph6)
	})
}

// checkTCPRoundTrip serializes a parsed segment and parses it again: the
// options may move and lose their padding or unknown kinds, but the
// Segment must come back equal.
func checkTCPRoundTrip(t *testing.T, s Segment, ph Pseudo) {
	t.Helper()
	out := AppendTCP(nil, &s, ph)
	if len(out) != TCPHeaderLen(&s.Opts)+len(s.Payload) || TCPHeaderLen(&s.Opts) > 60 {
		t.Fatalf("AppendTCP wrote %d bytes for a %d-byte header and %d-byte payload", len(out), TCPHeaderLen(&s.Opts), len(s.Payload))
	}
	if !VerifyTCPChecksum(out, ph) {
		t.Fatalf("AppendTCP wrote a bad checksum: %x", out)
	}
	s2, err := ParseTCP(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%v\n%x", err, s, out)
	}
	if !segEqual(s, s2) {
		t.Fatalf("round trip changed the segment:\n was %v\n now %v\n%x", s, s2, out)
	}
}

func FuzzParseIPv4(f *testing.F) {
	addSeeds(f, ipv4Seeds())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseIPv4(b)
		if err != nil {
			return
		}
		if len(h.Payload) != int(h.TotalLen)-h.HeaderLen || h.HeaderLen < 20 || len(h.Options) != h.HeaderLen-20 {
			t.Fatalf("inconsistent lengths: %+v", h)
		}
		out := append(AppendIPv4(nil, &h, len(h.Payload)), h.Payload...)
		h2, err := ParseIPv4(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		wantTTL := h.TTL
		if wantTTL == 0 {
			wantTTL = DefaultTTL
		}
		if h2.Src != h.Src || h2.Dst != h.Dst || h2.Protocol != h.Protocol || h2.TTL != wantTTL ||
			h2.TOS != h.TOS || h2.ID != h.ID || h2.DontFragment != h.DontFragment ||
			h2.MoreFragments != h.MoreFragments || h2.FragOffset != h.FragOffset ||
			h2.Fragment != h.Fragment || !bytes.Equal(h2.Payload, h.Payload) {
			t.Fatalf("round trip changed the header:\n was %+v\n now %+v", h, h2)
		}
	})
}

func FuzzParseIPv6(f *testing.F) {
	addSeeds(f, ipv6Seeds())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseIPv6(b)
		if err != nil {
			return
		}
		if len(h.Payload) > int(h.PayloadLen) {
			t.Fatalf("payload %d bytes longer than the payload length %d", len(h.Payload), h.PayloadLen)
		}
		out := append(AppendIPv6(nil, &h, len(h.Payload)), h.Payload...)
		h2, err := ParseIPv6(out)
		if h.Fragment {
			// A fragment header's next header may be an extension header,
			// which the re-parse would walk: only require no panic.
			return
		}
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		wantHL := h.HopLimit
		if wantHL == 0 {
			wantHL = DefaultTTL
		}
		if h2.Src != h.Src || h2.Dst != h.Dst || h2.NextHeader != h.NextHeader || h2.HopLimit != wantHL ||
			h2.TrafficClass != h.TrafficClass || h2.FlowLabel != h.FlowLabel || h2.Fragment ||
			!bytes.Equal(h2.Payload, h.Payload) {
			t.Fatalf("round trip changed the header:\n was %+v\n now %+v", h, h2)
		}
	})
}

func FuzzParsePacket(f *testing.F) {
	addSeeds(f, packetSeeds())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		switch {
		case errors.Is(err, ErrFragment) || errors.Is(err, ErrNotTCP):
			if p.Version == 0 || !p.Src.IsValid() || p.IsFragment != errors.Is(err, ErrFragment) {
				t.Fatalf("%v without IP fields: %+v", err, p)
			}
			return
		case err != nil:
			if p.Version != 0 || p.Payload != nil || !segEqual(p.Segment, Segment{}) {
				t.Fatalf("%v with a non-zero Packet: %+v", err, p)
			}
			return
		}
		out := AppendPacket(nil, p.Src, p.Dst, &p.Segment, p.TTL)
		p2, err := ParsePacket(out)
		if err != nil {
			t.Fatalf("re-parse: %v\n%x", err, out)
		}
		wantTTL := p.TTL
		if wantTTL == 0 {
			wantTTL = DefaultTTL
		}
		if p2.Version != p.Version || p2.Src != p.Src || p2.Dst != p.Dst || p2.TTL != wantTTL ||
			!segEqual(p2.Segment, p.Segment) {
			t.Fatalf("round trip changed the packet:\n was %+v\n now %+v", p, p2)
		}
	})
}
