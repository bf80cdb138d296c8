package tun

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

var families = []struct{ name, src, dst string }{
	{"v4", "192.0.2.1", "192.0.2.2"},
	{"v6", "2001:db8::1", "2001:db8::2"},
}

func superSegment(t *testing.T, src, dst string, payload int, flags wire.Flags) ([]byte, wire.Segment) {
	t.Helper()
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i * 7)
	}
	s := wire.Segment{SrcPort: 40000, DstPort: 80, Seq: 0xfffff000, Ack: 5, Flags: flags, Wnd: 1000,
		Opts: wire.Options{HasTimestamp: true, TSVal: 9, TSEcr: 8}, Payload: data}
	return wire.AppendPacketPartial(nil, netip.MustParseAddr(src), netip.MustParseAddr(dst), &s, 64), s
}

// A GSO packet is cut into the segments it stands for, each a valid packet
// (checksums verified by wire.ParsePacket), with sequence numbers
// advancing (across the wrap), FIN and PSH on the last and CWR on the
// first only, and IPv4 identifications counting up.
func TestSegment(t *testing.T) {
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			pkt, orig := superSegment(t, f.src, f.dst, 10*1000+300, wire.FlagACK|wire.FlagPSH|wire.FlagFIN|wire.FlagCWR)
			h := vnetHdr{flags: vnetNeedsCsum, gsoType: gsoTCPv4 | gsoECN, gsoSize: 1000}
			if f.name == "v6" {
				h.gsoType = gsoTCPv6 | gsoECN
			}
			segs, _, err := segment(pkt, &h, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != 11 {
				t.Fatalf("%d segments, want 11", len(segs))
			}
			var got []byte
			var id uint16
			for i, b := range segs {
				p, err := wire.ParsePacket(b)
				if err != nil {
					t.Fatalf("segment %d: %v", i, err)
				}
				s := p.Segment
				if want := orig.Seq.Add(seq.Size(i * 1000)); s.Seq != want {
					t.Errorf("segment %d: seq %d, want %d", i, s.Seq, want)
				}
				last, first := i == len(segs)-1, i == 0
				if (s.Flags&wire.FlagFIN != 0) != last || (s.Flags&wire.FlagPSH != 0) != last || (s.Flags&wire.FlagCWR != 0) != first {
					t.Errorf("segment %d: flags %v", i, s.Flags)
				}
				if s.Opts != orig.Opts || s.Ack != orig.Ack || s.Wnd != orig.Wnd {
					t.Errorf("segment %d: header differs: %v", i, s)
				}
				if f.name == "v4" {
					if i > 0 && wire.IPv4(b).ID() != id+1 {
						t.Errorf("segment %d: IPv4 ID %d after %d", i, wire.IPv4(b).ID(), id)
					}
					id = wire.IPv4(b).ID()
				}
				got = append(got, s.Payload...)
			}
			if !bytes.Equal(got, orig.Payload) {
				t.Fatal("the segments' data is not the packet's")
			}
		})
	}
}

// A partial checksum completed as the kernel would is the full checksum.
func TestCompleteChecksum(t *testing.T) {
	for _, f := range families {
		pkt, s := superSegment(t, f.src, f.dst, 700, wire.FlagACK)
		iphl, _, _ := tcpHeaders(pkt)
		h := vnetHdr{flags: vnetNeedsCsum, csumStart: uint16(iphl), csumOffset: 16}
		if err := completeChecksum(pkt, &h); err != nil {
			t.Fatal(err)
		}
		full := wire.AppendPacket(nil, netip.MustParseAddr(f.src), netip.MustParseAddr(f.dst), &s, 64)
		if !bytes.Equal(pkt, full) {
			t.Errorf("%s: completed packet differs from AppendPacket's", f.name)
		}
	}
}

// Malformed input is refused, never a panic.
func TestSegmentMalformed(t *testing.T) {
	pkt, _ := superSegment(t, "192.0.2.1", "192.0.2.2", 3000, wire.FlagACK)
	for _, c := range []struct {
		name string
		pkt  []byte
		h    vnetHdr
	}{
		{"zero gso size", pkt, vnetHdr{gsoType: gsoTCPv4}},
		{"UDP gso", pkt, vnetHdr{gsoType: 3, gsoSize: 1000}},
		{"v6 type on v4", pkt, vnetHdr{gsoType: gsoTCPv6, gsoSize: 1000}},
		{"truncated", pkt[:30], vnetHdr{gsoType: gsoTCPv4, gsoSize: 1000}},
		{"empty", nil, vnetHdr{gsoType: gsoTCPv4, gsoSize: 1000}},
	} {
		if _, _, err := segment(c.pkt, &c.h, nil, nil); err == nil {
			t.Errorf("%s: segment accepted it", c.name)
		}
	}
	if completeChecksum(pkt[:10], &vnetHdr{csumStart: 20, csumOffset: 16}) == nil {
		t.Error("completeChecksum past the end accepted")
	}
}

func FuzzVnet(f *testing.F) {
	pkt, _ := superSegment(&testing.T{}, "192.0.2.1", "192.0.2.2", 3000, wire.FlagACK)
	hdr := make([]byte, vnetHdrLen)
	(&vnetHdr{flags: vnetNeedsCsum, gsoType: gsoTCPv4, gsoSize: 1000, csumStart: 20, csumOffset: 16}).encode(hdr)
	f.Add(append(hdr, pkt...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < vnetHdrLen {
			return
		}
		var h vnetHdr
		h.decode(b)
		p := b[vnetHdrLen:]
		if h.gsoType != gsoNone {
			segs, _, err := segment(p, &h, nil, nil)
			for _, s := range segs {
				if err == nil && len(s) > len(p) {
					t.Fatalf("a segment longer than its packet")
				}
			}
			return
		}
		completeChecksum(p, &h)
	})
}
