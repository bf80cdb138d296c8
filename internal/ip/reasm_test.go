package ip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/synack/synack/wire"
)

// Documentation addresses (RFC 5737, RFC 3849).
var (
	reasmSrc4  = netip.MustParseAddr("192.0.2.1")
	reasmSrc4b = netip.MustParseAddr("192.0.2.3")
	reasmDst4  = netip.MustParseAddr("192.0.2.2")
	reasmSrc6  = netip.MustParseAddr("2001:db8::1")
	reasmSrc6b = netip.MustParseAddr("2001:db8::3")
	reasmDst6  = netip.MustParseAddr("2001:db8::2")
)

var reasmT0 = time.Unix(1_700_000_000, 0)

const reasmTimeout = 30 * time.Second

type reasmFamily struct {
	name           string
	src, src2, dst netip.Addr
}

var reasmFamilies = []reasmFamily{
	{"v4", reasmSrc4, reasmSrc4b, reasmDst4},
	{"v6", reasmSrc6, reasmSrc6b, reasmDst6},
}

// reasmTCPPacket returns an unfragmented TCP packet carrying n bytes of data
// derived from seed, and the data.
func reasmTCPPacket(src, dst netip.Addr, n int, seed byte) (pkt, data []byte) {
	data = make([]byte, n)
	for i := range data {
		data[i] = byte(i*7) + seed
	}
	seg := wire.Segment{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 1, Flags: wire.FlagACK | wire.FlagPSH, Wnd: 65535, Payload: data}
	return wire.AppendPacket(nil, src, dst, &seg, 57), data
}

// reasmFeed parses a fragment as the stack would and files it.
func reasmFeed(t testing.TB, r *Reassembler, now time.Time, pkt []byte) ([]byte, Result) {
	t.Helper()
	p, err := wire.ParsePacket(pkt)
	if !errors.Is(err, wire.ErrFragment) {
		t.Fatalf("ParsePacket(fragment) = %v, want ErrFragment", err)
	}
	whole, res := r.Add(now, pkt, &p)
	if (res == Done) != (whole != nil) {
		t.Fatalf("add = %d bytes, result %d", len(whole), res)
	}
	return whole, res
}

// reasmFeedAll files frags and returns the result of the last, failing if an
// earlier one was not pending.
func reasmFeedAll(t testing.TB, r *Reassembler, frags [][]byte) ([]byte, Result) {
	t.Helper()
	for i, f := range frags[:len(frags)-1] {
		if _, res := reasmFeed(t, r, reasmT0, f); res != Pending {
			t.Fatalf("fragment %d: result %d, want pending", i, res)
		}
	}
	return reasmFeed(t, r, reasmT0, frags[len(frags)-1])
}

// reasmCheckWhole parses a reassembled packet and checks that it carries data
// from src to dst.
func reasmCheckWhole(t testing.TB, whole []byte, src, dst netip.Addr, data []byte) wire.Packet {
	t.Helper()
	p, err := wire.ParsePacket(whole)
	if err != nil {
		t.Fatalf("ParsePacket(reassembled) = %v", err)
	}
	if p.Src != src || p.Dst != dst || p.IsFragment {
		t.Fatalf("reassembled %v -> %v fragment=%v, want %v -> %v whole", p.Src, p.Dst, p.IsFragment, src, dst)
	}
	if !bytes.Equal(p.Segment.Payload, data) {
		t.Fatalf("reassembled payload differs (%d bytes, want %d)", len(p.Segment.Payload), len(data))
	}
	if p.Segment.SrcPort != 40000 || p.Segment.DstPort != 80 {
		t.Fatalf("ports %d -> %d", p.Segment.SrcPort, p.Segment.DstPort)
	}
	return p
}

func newReasm(maxBytes int) *Reassembler {
	r := new(Reassembler)
	r.Init(maxBytes, reasmTimeout)
	return r
}

func reasmCheckEmpty(t testing.TB, r *Reassembler) {
	t.Helper()
	if b, n := r.Held(); b != 0 || n != 0 {
		t.Fatalf("held() = %d bytes, %d datagrams; want none", b, n)
	}
	if d, ok := r.Next(); ok {
		t.Fatalf("next() = %d, true; want nothing pending", d)
	}
}

func TestReasmOrders(t *testing.T) {
	orders := []struct {
		name  string
		order func(n int) []int
	}{
		{"in-order", func(n int) []int {
			o := make([]int, n)
			for i := range o {
				o[i] = i
			}
			return o
		}},
		{"reverse", func(n int) []int {
			o := make([]int, n)
			for i := range o {
				o[i] = n - 1 - i
			}
			return o
		}},
		{"shuffled", func(n int) []int { return rand.New(rand.NewPCG(1, 2)).Perm(n) }},
	}
	for _, fam := range reasmFamilies {
		for _, o := range orders {
			t.Run(fam.name+"/"+o.name, func(t *testing.T) {
				r := newReasm(1 << 20)
				pkt, data := reasmTCPPacket(fam.src, fam.dst, 3000, 1)
				frags := Fragment(pkt, 512, 0x1234)
				if len(frags) != 6 {
					t.Fatalf("%d fragments, want 6", len(frags))
				}
				var in [][]byte
				for _, i := range o.order(len(frags)) {
					in = append(in, frags[i])
				}
				whole, res := reasmFeedAll(t, r, in)
				if res != Done {
					t.Fatalf("last fragment: result %d, want done", res)
				}
				p := reasmCheckWhole(t, whole, fam.src, fam.dst, data)
				if p.TTL != 57 {
					t.Errorf("TTL %d, want 57", p.TTL)
				}
				if fam.name == "v4" {
					h := wire.IPv4(whole)
					if h.HeaderLen() != 20 || int(h.TotalLen()) != len(whole) || h.ID() != 0x1234 ||
						h.DontFragment() || h.MoreFragments() || h.FragOffset() != 0 {
						t.Errorf("IPv4 header % x", whole[:20])
					}
				} else {
					h := wire.IPv6(whole)
					if h.NextHeader() != wire.ProtoTCP || int(h.PayloadLen()) != len(whole)-40 {
						t.Errorf("IPv6 header % x", whole[:40])
					}
				}
				if orig, _ := wire.ParsePacket(pkt); !bytes.Equal(p.Payload, orig.Payload) {
					t.Error("reassembled IP payload differs from the original")
				}
				reasmCheckEmpty(t, r)
			})
		}
	}
}

func TestReasmInterleaved(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			r := newReasm(1 << 20)
			pa, da := reasmTCPPacket(fam.src, fam.dst, 3000, 1)
			pb, db := reasmTCPPacket(fam.src2, fam.dst, 3000, 2)
			// Same identification, different sources: two datagrams
			// (RFC 791 §3.2, RFC 8200 §4.5).
			fa, fb := Fragment(pa, 1024, 7), Fragment(pb, 1024, 7)
			for i := range fa[:len(fa)-1] {
				for _, f := range [][]byte{fa[i], fb[i]} {
					if _, res := reasmFeed(t, r, reasmT0, f); res != Pending {
						t.Fatalf("fragment %d: result %d, want pending", i, res)
					}
				}
			}
			if _, n := r.Held(); n != 2 {
				t.Fatalf("%d datagrams in progress, want 2", n)
			}
			whole, res := reasmFeed(t, r, reasmT0, fb[len(fb)-1])
			if res != Done {
				t.Fatalf("result %d, want done", res)
			}
			reasmCheckWhole(t, whole, fam.src2, fam.dst, db)
			whole, res = reasmFeed(t, r, reasmT0, fa[len(fa)-1])
			if res != Done {
				t.Fatalf("result %d, want done", res)
			}
			reasmCheckWhole(t, whole, fam.src, fam.dst, da)
			reasmCheckEmpty(t, r)
		})
	}
}

func TestReasmDuplicate(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			r := newReasm(1 << 20)
			pkt, data := reasmTCPPacket(fam.src, fam.dst, 3000, 3)
			frags := Fragment(pkt, 1024, 9)
			reasmFeed(t, r, reasmT0, frags[0])
			reasmFeed(t, r, reasmT0, frags[2])
			b0, n0 := r.Held()
			for _, f := range [][]byte{frags[0], frags[2]} {
				if _, res := reasmFeed(t, r, reasmT0, f); res != Duplicate {
					t.Fatalf("duplicate: result %d, want duplicate", res)
				}
			}
			if b, n := r.Held(); b != b0 || n != n0 {
				t.Fatalf("held() after duplicates = %d, %d; want %d, %d", b, n, b0, n0)
			}
			whole, res := reasmFeed(t, r, reasmT0, frags[1])
			if res != Done {
				t.Fatalf("result %d, want done", res)
			}
			reasmCheckWhole(t, whole, fam.src, fam.dst, data)
		})
	}
}

func TestReasmOverlap(t *testing.T) {
	for _, fam := range reasmFamilies {
		for _, tc := range []struct {
			name      string
			off, size int
		}{
			// Held: [0, 1024) and the last, [2048, 3020).
			{"straddles-prev", 512, 1024}, // [512, 1536)
			{"same-start", 0, 512},        // [0, 512)
			{"inside", 8, 16},             // [8, 24)
			{"into-next", 1536, 1024},     // [1536, 2560)
			{"covers-next", 1024, 1992},   // [1024, 3016)
			{"same-start-next", 2048, 8},  // [2048, 2056)
		} {
			t.Run(fam.name+"/"+tc.name, func(t *testing.T) {
				r := newReasm(1 << 20)
				pkt, _ := reasmTCPPacket(fam.src, fam.dst, 3000, 4)
				frags := Fragment(pkt, 1024, 5)
				reasmFeed(t, r, reasmT0, frags[0])
				reasmFeed(t, r, reasmT0, frags[2])
				bad := fragSpec{src: fam.src, dst: fam.dst, proto: wire.ProtoTCP, id: 5, off: tc.off, more: true}
				if _, res := reasmFeed(t, r, reasmT0, bad.build(make([]byte, tc.size))); res != Discarded {
					t.Fatalf("overlap: result %d, want discarded", res)
				}
				reasmCheckEmpty(t, r)
				// RFC 5722 §4: everything held went; the missing fragment
				// starts a new datagram, which cannot complete.
				if _, res := reasmFeed(t, r, reasmT0, frags[1]); res != Pending {
					t.Fatalf("after the discard: result %d, want pending", res)
				}
			})
		}
	}
}

func TestReasmConflictingEnd(t *testing.T) {
	for _, fam := range reasmFamilies {
		spec := fragSpec{src: fam.src, dst: fam.dst, proto: wire.ProtoTCP, id: 11}
		at := func(off int, more bool, n int) []byte {
			s := spec
			s.off, s.more = off, more
			return s.build(make([]byte, n))
		}
		for _, tc := range []struct {
			name  string
			held  [][]byte
			final []byte
		}{
			// The last fragment fixes the end: another last one that
			// disagrees, data beyond it, a last one below data held, or
			// the same range with MF flipped, discard the datagram.
			{"second-last", [][]byte{at(0, true, 64), at(128, false, 16)}, at(192, false, 8)},
			{"past-end", [][]byte{at(0, true, 64), at(128, false, 16)}, at(144, true, 8)},
			{"past-end-last-first", [][]byte{at(64, false, 16)}, at(72, true, 16)},
			{"end-below-held", [][]byte{at(64, true, 64)}, at(32, false, 8)},
			{"mf-flipped", [][]byte{at(64, false, 16)}, at(64, true, 16)},
			{"last-flipped", [][]byte{at(64, true, 16)}, at(64, false, 16)},
		} {
			t.Run(fam.name+"/"+tc.name, func(t *testing.T) {
				r := newReasm(1 << 20)
				for _, f := range tc.held {
					if _, res := reasmFeed(t, r, reasmT0, f); res != Pending {
						t.Fatalf("result %d, want pending", res)
					}
				}
				if _, res := reasmFeed(t, r, reasmT0, tc.final); res != Discarded {
					t.Fatalf("result %d, want discarded", res)
				}
				reasmCheckEmpty(t, r)
			})
		}
	}
}

func TestReasmLengthBound(t *testing.T) {
	for _, tc := range []struct {
		fam  reasmFamily
		max  int // largest data a datagram may carry
		size int
	}{
		{reasmFamilies[0], 65535 - 20, 8192},
		{reasmFamilies[1], 65535, 8192},
	} {
		t.Run(tc.fam.name, func(t *testing.T) {
			spec := fragSpec{src: tc.fam.src, dst: tc.fam.dst, proto: 17, id: 3}
			lastOff := tc.max &^ 7
			// The largest datagram completes: total length 65535 (IPv4),
			// payload length 65535 (IPv6).
			r := newReasm(1 << 20)
			data := make([]byte, tc.max)
			for i := range data {
				data[i] = byte(i / 3)
			}
			var whole []byte
			for off := 0; off < tc.max; off += tc.size {
				s := spec
				s.off, s.more = off, off+tc.size < tc.max
				var res Result
				whole, res = reasmFeed(t, r, reasmT0, s.build(data[off:min(off+tc.size, tc.max)]))
				if want := map[bool]Result{true: Pending, false: Done}[s.more]; res != want {
					t.Fatalf("offset %d: result %d, want %d", off, res, want)
				}
			}
			p, err := wire.ParsePacket(whole)
			if !errors.Is(err, wire.ErrNotTCP) || !bytes.Equal(p.Payload, data) {
				t.Fatalf("largest datagram: %v, %d bytes of payload", err, len(p.Payload))
			}
			if tc.fam.name == "v4" && wire.IPv4(whole).TotalLen() != 65535 {
				t.Fatalf("total length %d", wire.IPv4(whole).TotalLen())
			}
			// One byte more is the ping of death: the datagram goes.
			s := spec
			s.more = true
			reasmFeed(t, r, reasmT0, s.build(make([]byte, 64)))
			s.off, s.more = lastOff, false
			if _, res := reasmFeed(t, r, reasmT0, s.build(make([]byte, tc.max-lastOff+1))); res != Discarded {
				t.Fatalf("past 65535: result %d, want discarded", res)
			}
			reasmCheckEmpty(t, r)
			// Also when it is the first fragment to arrive.
			if _, res := reasmFeed(t, r, reasmT0, s.build(make([]byte, tc.max-lastOff+1))); res != Discarded {
				t.Fatalf("past 65535 alone: result %d, want discarded", res)
			}
			reasmCheckEmpty(t, r)
		})
	}
}

func TestReasmBadFragment(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			r := newReasm(1 << 20)
			pkt, data := reasmTCPPacket(fam.src, fam.dst, 3000, 5)
			frags := Fragment(pkt, 1024, 21)
			reasmFeed(t, r, reasmT0, frags[0])
			b0, n0 := r.Held()
			spec := fragSpec{src: fam.src, dst: fam.dst, proto: wire.ProtoTCP, id: 21, off: 1024, more: true}
			// RFC 8200 §4.5: a non-last fragment must be a multiple of 8
			// bytes; an empty one is useless.
			for _, n := range []int{100, 0, 1} {
				if _, res := reasmFeed(t, r, reasmT0, spec.build(make([]byte, n))); res != BadFragment {
					t.Fatalf("%d-byte non-last fragment: result %d, want bad", n, res)
				}
			}
			if b, n := r.Held(); b != b0 || n != n0 {
				t.Fatalf("held() = %d, %d; want %d, %d", b, n, b0, n0)
			}
			whole, res := reasmFeedAll(t, r, frags[1:])
			if res != Done {
				t.Fatalf("result %d, want done", res)
			}
			reasmCheckWhole(t, whole, fam.src, fam.dst, data)
		})
	}
}

// TestReasmInconsistent files Packets that ParsePacket would not return:
// add must neither panic nor keep them.
func TestReasmInconsistent(t *testing.T) {
	pkt := fragSpec{src: reasmSrc4, dst: reasmDst4, proto: wire.ProtoTCP, id: 1, more: true}.build(make([]byte, 256))
	good, err := wire.ParsePacket(pkt)
	if !errors.Is(err, wire.ErrFragment) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(p *wire.Packet)
	}{
		{"version", func(p *wire.Packet) { p.Version = 5 }},
		{"v4-with-v6-src", func(p *wire.Packet) { p.Src = reasmSrc6 }},
		{"v6-with-v4-dst", func(p *wire.Packet) { p.Version = 6 }},
		{"zero-addr", func(p *wire.Packet) { p.Dst = netip.Addr{} }},
		{"v4-id-32-bit", func(p *wire.Packet) { p.FragID = 1 << 16 }},
		{"not-a-fragment", func(p *wire.Packet) { p.MoreFragments = false }},
		{"odd-offset", func(p *wire.Packet) { p.FragOffset = 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReasm(1 << 20)
			p := good
			tc.edit(&p)
			if whole, res := r.Add(reasmT0, pkt, &p); res != BadFragment || whole != nil {
				t.Fatalf("result %d, %d bytes; want bad", res, len(whole))
			}
			reasmCheckEmpty(t, r)
		})
	}
	// A zero Reassembler has no room, but does not panic.
	var r Reassembler
	if _, res := r.Add(reasmT0, pkt, &good); res != NoRoom {
		t.Fatalf("zero Reassembler: result %d, want no room", res)
	}
	// A Payload that does not alias pkt, and an empty pkt, are filed; the
	// quote falls back on the fixed header.
	for _, raw := range [][]byte{pkt, nil} {
		r := newReasm(1 << 20)
		p := good
		p.Payload = bytes.Clone(good.Payload)
		if _, res := r.Add(reasmT0, raw, &p); res != Pending {
			t.Fatalf("copied payload: result %d, want pending", res)
		}
		var quoted []byte
		r.Expire(reasmT0.Add(reasmTimeout), func(q []byte) { quoted = bytes.Clone(q) })
		if want := raw[:min(len(raw), 20+64)]; len(raw) > 0 && !bytes.Equal(quoted, want) {
			t.Fatalf("quote = % x, want % x", quoted, want)
		}
		if len(raw) == 0 && quoted != nil {
			t.Fatalf("quote of an empty packet = % x", quoted)
		}
	}
}

func TestReasmTooManyFragments(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			spec := fragSpec{src: fam.src, dst: fam.dst, proto: 17, id: 77}
			build := func(i int, more bool) []byte {
				s := spec
				s.off, s.more = i*8, more
				return s.build([]byte{byte(i), 1, 2, 3, 4, 5, 6, 7})
			}
			// 128 fragments are allowed.
			r := newReasm(1 << 20)
			for i := range 127 {
				if _, res := reasmFeed(t, r, reasmT0, build(i, true)); res != Pending {
					t.Fatalf("fragment %d: result %d, want pending", i, res)
				}
			}
			whole, res := reasmFeed(t, r, reasmT0, build(127, false))
			if res != Done {
				t.Fatalf("128th fragment: result %d, want done", res)
			}
			if p, err := wire.ParsePacket(whole); !errors.Is(err, wire.ErrNotTCP) || len(p.Payload) != 128*8 || p.Payload[127*8] != 127 {
				t.Fatalf("reassembled: %v, %d bytes", err, len(p.Payload))
			}
			// The 129th discards the datagram.
			for i := range 128 {
				reasmFeed(t, r, reasmT0, build(i, true))
			}
			if _, res := reasmFeed(t, r, reasmT0, build(128, false)); res != Discarded {
				t.Fatalf("129th fragment: result %d, want discarded", res)
			}
			reasmCheckEmpty(t, r)
		})
	}
}

func TestReasmTimeout(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			r := newReasm(1 << 20)
			pa, _ := reasmTCPPacket(fam.src, fam.dst, 3000, 6)
			pb, _ := reasmTCPPacket(fam.src2, fam.dst, 3000, 7)
			fa, fb := Fragment(pa, 1024, 1), Fragment(pb, 1024, 2)
			// A has its first fragment; B never gets it.
			reasmFeed(t, r, reasmT0, fa[0])
			reasmFeed(t, r, reasmT0.Add(time.Second), fa[1]) // does not move A's deadline
			reasmFeed(t, r, reasmT0.Add(time.Second), fb[1])
			reasmFeed(t, r, reasmT0.Add(2*time.Second), fb[2])
			if d, ok := r.Next(); !ok || d != reasmT0.Add(reasmTimeout).UnixNano() {
				t.Fatalf("next() = %d, %v; want A's deadline", d, ok)
			}
			var quotes [][]byte
			quote := func(q []byte) { quotes = append(quotes, bytes.Clone(q)) }
			if n := r.Expire(reasmT0.Add(reasmTimeout-1), quote); n != 0 || len(quotes) != 0 {
				t.Fatalf("before the deadline: expired %d, quoted %d", n, len(quotes))
			}
			if n := r.Expire(reasmT0.Add(reasmTimeout), quote); n != 1 || len(quotes) != 1 {
				t.Fatalf("at A's deadline: expired %d, quoted %d; want 1, 1", n, len(quotes))
			}
			// The quote is fa[0] from its IP header on: version, source,
			// and the TCP ports in the 8 bytes after the header.
			q := quotes[0]
			hl := 20
			if fam.name == "v6" {
				hl = 48 // fixed header and fragment header
			}
			if int(q[0]>>4) != map[string]int{"v4": 4, "v6": 6}[fam.name] {
				t.Fatalf("quote version %d", q[0]>>4)
			}
			src := q[12:16]
			if fam.name == "v6" {
				src = q[8:24]
			}
			if !bytes.Equal(src, fam.src.AsSlice()) {
				t.Fatalf("quote source % x", src)
			}
			if sp, dp := binary.BigEndian.Uint16(q[hl:]), binary.BigEndian.Uint16(q[hl+2:]); sp != 40000 || dp != 80 {
				t.Fatalf("quoted ports %d -> %d", sp, dp)
			}
			if len(q) != hl+64 || !bytes.Equal(q, fa[0][:hl+64]) {
				t.Fatalf("quote is %d bytes, want the first %d of the first fragment", len(q), hl+64)
			}
			if d, ok := r.Next(); !ok || d != reasmT0.Add(time.Second+reasmTimeout).UnixNano() {
				t.Fatalf("next() = %d, %v; want B's deadline", d, ok)
			}
			// B expires without a quote (RFC 8200 §4.5: only if the first
			// fragment came).
			if n := r.Expire(reasmT0.Add(time.Hour), quote); n != 1 || len(quotes) != 1 {
				t.Fatalf("at B's deadline: expired %d, quoted %d; want 1, 1 in all", n, len(quotes))
			}
			reasmCheckEmpty(t, r)
			// The rest of A starts anew and cannot complete.
			if _, res := reasmFeed(t, r, reasmT0.Add(time.Hour), fa[2]); res != Pending {
				t.Fatalf("after expiry: result %d, want pending", res)
			}
			if r.Expire(reasmT0.Add(time.Hour), nil) != 0 {
				t.Fatal("a fresh datagram expired")
			}
		})
	}
}

// TestReasmHeldBytes checks the accounting: each fragment's data and
// overhead, and for a first fragment the quote kept for ICMP.
func TestReasmHeldBytes(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			r := newReasm(1 << 20)
			pkt, _ := reasmTCPPacket(fam.src, fam.dst, 3000, 13)
			frags := Fragment(pkt, 1024, 2)
			hl := map[string]int{"v4": 20, "v6": 48}[fam.name]
			reasmFeed(t, r, reasmT0, frags[1])
			if b, n := r.Held(); b != 1024+reasmFragOverhead || n != 1 {
				t.Fatalf("held() = %d, %d; want %d, 1", b, n, 1024+reasmFragOverhead)
			}
			reasmFeed(t, r, reasmT0, frags[0])
			want := 2*(1024+reasmFragOverhead) + hl + reasmQuoteData
			if b, n := r.Held(); b != want || n != 1 {
				t.Fatalf("held() = %d, %d; want %d, 1", b, n, want)
			}
			reasmFeed(t, r, reasmT0, frags[2])
			reasmCheckEmpty(t, r)
		})
	}
}

func TestReasmMemoryBound(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			const maxBytes = 8192
			r := newReasm(maxBytes)
			spec := fragSpec{src: fam.src2, dst: fam.dst, proto: wire.ProtoTCP, more: true}
			const flood = 200
			for i := range flood {
				s := spec
				s.id, s.off = uint32(i), 512*(i%2) // half carry a quote
				if _, res := reasmFeed(t, r, reasmT0.Add(time.Duration(i)), s.build(make([]byte, 512))); res != Pending {
					t.Fatalf("flood %d: result %d, want pending", i, res)
				}
				if b, _ := r.Held(); b > maxBytes {
					t.Fatalf("flood %d: held %d bytes > %d", i, b, maxBytes)
				}
			}
			_, n := r.Held()
			if n == 0 || r.evicted != flood-n {
				t.Fatalf("%d datagrams held, %d evicted; want %d in all", n, r.evicted, flood)
			}
			// The oldest went first: the newest can still complete, the
			// oldest cannot.
			last := spec
			last.id, last.off, last.more = flood-1, 1024, false
			if _, res := reasmFeed(t, r, reasmT0, last.build(make([]byte, 8))); res != Pending {
				t.Fatalf("newest: result %d, want pending", res)
			}
			first := spec
			first.id, first.off = flood-1, 0
			if _, res := reasmFeed(t, r, reasmT0, first.build(make([]byte, 512))); res != Done {
				t.Fatalf("newest: result %d, want done", res)
			}
			// Datagram 0 held [0, 512): its end would have completed it.
			oldest := spec
			oldest.id, oldest.off, oldest.more = 0, 512, false
			if _, res := reasmFeed(t, r, reasmT0, oldest.build(make([]byte, 8))); res != Pending {
				t.Fatalf("oldest: result %d, want pending", res)
			}
			// A legitimate datagram arriving afterwards completes.
			pkt, data := reasmTCPPacket(fam.src, fam.dst, 3000, 8)
			whole, res := reasmFeedAll(t, r, Fragment(pkt, 512, 99))
			if res != Done {
				t.Fatalf("legitimate datagram: result %d, want done", res)
			}
			reasmCheckWhole(t, whole, fam.src, fam.dst, data)
			if b, _ := r.Held(); b > maxBytes {
				t.Fatalf("held %d bytes > %d", b, maxBytes)
			}
			// A datagram that must evict others to grow is not evicted
			// itself, even when it is the oldest.
			r2 := newReasm(maxBytes)
			own := spec
			own.id, own.proto = 500, 17
			reasmFeed(t, r2, reasmT0, own.build(make([]byte, 2048)))
			for i := range 8 {
				s := spec
				s.id, s.off = uint32(600+i), 512
				reasmFeed(t, r2, reasmT0, s.build(make([]byte, 512)))
			}
			own.off, own.more = 2048, false
			whole, res = reasmFeed(t, r2, reasmT0, own.build(make([]byte, 2048)))
			if res != Done || len(whole) < 4096 {
				t.Fatalf("oldest datagram growing: result %d, %d bytes; want done", res, len(whole))
			}
			if p, _ := wire.ParsePacket(whole); len(p.Payload) != 4096 {
				t.Fatalf("reassembled %d bytes, want 4096", len(p.Payload))
			}
			// A fragment that cannot fit even alone is refused without
			// evicting anything.
			_, n = r.Held()
			ev := r.evicted
			big := spec
			big.id = 1000
			if _, res := reasmFeed(t, r, reasmT0, big.build(make([]byte, maxBytes))); res != NoRoom {
				t.Fatalf("oversized fragment: result %d, want no room", res)
			}
			if _, n2 := r.Held(); n2 != n || r.evicted != ev {
				t.Fatalf("oversized fragment evicted: %d datagrams, was %d", n2, n)
			}
			// Nor one whose datagram would outgrow the bound: the datagram
			// stays, the others too.
			big.off = 4096
			reasmFeed(t, r, reasmT0, big.build(make([]byte, 4096)))
			_, n = r.Held()
			big.off = 0
			if _, res := reasmFeed(t, r, reasmT0, big.build(make([]byte, 4096))); res != NoRoom {
				t.Fatalf("datagram outgrowing the bound: result %d, want no room", res)
			}
			if _, n2 := r.Held(); n2 != n {
				t.Fatalf("%d datagrams, want %d", n2, n)
			}
		})
	}
}

func TestReasmECN(t *testing.T) {
	for _, fam := range reasmFamilies {
		for _, tc := range []struct {
			name string
			tos  [3]uint8
			want int // TOS/traffic class, or -1 for discarded
		}{
			{"ect0", [3]uint8{0xb8 | 2, 0xb8 | 2, 0xb8 | 2}, 0xb8 | 2},
			{"ce-kept", [3]uint8{0xb8 | 2, 0xb8 | 3, 0xb8 | 2}, 0xb8 | 3},
			{"ce-and-not-ect", [3]uint8{0xb8 | 3, 0xb8, 0xb8 | 2}, -1},
		} {
			t.Run(fam.name+"/"+tc.name, func(t *testing.T) {
				r := newReasm(1 << 20)
				pkt, data := reasmTCPPacket(fam.src, fam.dst, 2000, 9)
				spec := fragSpec{src: fam.src, dst: fam.dst, proto: wire.ProtoTCP, id: 4}
				p, _ := wire.ParsePacket(pkt)
				var whole []byte
				var res Result
				bounds := []int{0, 1024, 2016, len(p.Payload)}
				for i := range 3 {
					s := spec
					s.off, s.more, s.tos = bounds[i], i < 2, tc.tos[i]
					whole, res = reasmFeed(t, r, reasmT0, s.build(p.Payload[bounds[i]:bounds[i+1]]))
				}
				if tc.want < 0 {
					if res != Discarded {
						t.Fatalf("result %d, want discarded (RFC 3168 §5.3)", res)
					}
					reasmCheckEmpty(t, r)
					return
				}
				if res != Done {
					t.Fatalf("result %d, want done", res)
				}
				if got := reasmCheckWhole(t, whole, fam.src, fam.dst, data); int(got.TOS) != tc.want {
					t.Fatalf("TOS %#x, want %#x", got.TOS, tc.want)
				}
			})
		}
	}
}

// TestReasmProtocol checks the keys' protocol rules: for IPv4 the protocol
// tells datagrams apart (RFC 791 §3.2); for IPv6 the next header of the
// offset-0 fragment is the datagram's, whatever the others say (RFC 8200
// §4.5).
func TestReasmProtocol(t *testing.T) {
	pkt, data := reasmTCPPacket(reasmSrc6, reasmDst6, 2000, 10)
	frags := Fragment(pkt, 1024, 8)
	p, _ := wire.ParsePacket(frags[1])
	odd := fragSpec{src: reasmSrc6, dst: reasmDst6, proto: 17, id: 8, off: int(p.FragOffset), more: p.MoreFragments}
	r := newReasm(1 << 20)
	reasmFeed(t, r, reasmT0, odd.build(p.Payload))
	whole, res := reasmFeed(t, r, reasmT0, frags[0])
	if res != Done {
		t.Fatalf("v6: result %d, want done", res)
	}
	reasmCheckWhole(t, whole, reasmSrc6, reasmDst6, data)

	pkt, data = reasmTCPPacket(reasmSrc4, reasmDst4, 2000, 11)
	frags = Fragment(pkt, 1024, 8)
	p, _ = wire.ParsePacket(frags[1])
	odd = fragSpec{src: reasmSrc4, dst: reasmDst4, proto: 17, id: 8, off: int(p.FragOffset), more: p.MoreFragments}
	reasmFeed(t, r, reasmT0, odd.build(p.Payload))
	if _, res := reasmFeed(t, r, reasmT0, frags[0]); res != Pending {
		t.Fatalf("v4, other protocol: result %d, want pending", res)
	}
	whole, res = reasmFeed(t, r, reasmT0, frags[1])
	if res != Done {
		t.Fatalf("v4: result %d, want done", res)
	}
	reasmCheckWhole(t, whole, reasmSrc4, reasmDst4, data)
	if _, n := r.Held(); n != 1 {
		t.Fatalf("%d datagrams, want the UDP one", n)
	}
}

// TestReasmEmptyLast: a last fragment may carry no data (RFC 791 allows
// it); it only fixes the end.
func TestReasmEmptyLast(t *testing.T) {
	for _, fam := range reasmFamilies {
		t.Run(fam.name, func(t *testing.T) {
			r := newReasm(1 << 20)
			pkt, data := reasmTCPPacket(fam.src, fam.dst, 1004, 12) // 1024 bytes of TCP
			p, _ := wire.ParsePacket(pkt)
			s := fragSpec{src: fam.src, dst: fam.dst, proto: wire.ProtoTCP, id: 6, off: 1024}
			reasmFeed(t, r, reasmT0, s.build(nil))
			if _, res := reasmFeed(t, r, reasmT0, s.build(nil)); res != Duplicate {
				t.Fatalf("second empty last: result %d, want duplicate", res)
			}
			first := s
			first.off, first.more = 0, true
			whole, res := reasmFeed(t, r, reasmT0, first.build(p.Payload))
			if res != Done {
				t.Fatalf("result %d, want done", res)
			}
			reasmCheckWhole(t, whole, fam.src, fam.dst, data)
		})
	}
}

// TestReasmFIFO checks that datagrams completing out of arrival order do
// not let the FIFO grow, and that expiry still goes by arrival.
func TestReasmFIFO(t *testing.T) {
	r := newReasm(1 << 20)
	spec := fragSpec{src: reasmSrc4, dst: reasmDst4, proto: 17}
	const n = 300
	for i := range n {
		s := spec
		s.id, s.more = uint32(i), true
		reasmFeed(t, r, reasmT0.Add(time.Duration(i)*time.Millisecond), s.build(make([]byte, 8)))
	}
	// Complete all but the oldest, newest first.
	for i := n - 1; i > 0; i-- {
		s := spec
		s.id, s.off = uint32(i), 8
		if _, res := reasmFeed(t, r, reasmT0, s.build(make([]byte, 8))); res != Done {
			t.Fatalf("datagram %d: result %d, want done", i, res)
		}
		if live := len(r.fifo) - r.head - r.dead; live != i || len(r.fifo)-r.head > 2*live+32 {
			t.Fatalf("FIFO of %d entries for %d datagrams", len(r.fifo)-r.head, live)
		}
	}
	if d, ok := r.Next(); !ok || d != reasmT0.Add(reasmTimeout).UnixNano() {
		t.Fatalf("next() = %d, %v; want the oldest's deadline", d, ok)
	}
	if r.Expire(reasmT0.Add(reasmTimeout), nil) != 1 {
		t.Fatal("the oldest did not expire")
	}
	reasmCheckEmpty(t, r)
}

// FuzzReassembler files fragments of small datagrams derived from the
// input: whatever comes, add must not panic, the memory bound must hold,
// and what it reassembles must be a well-formed packet whose data sits at
// the offsets it came from.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{0, 0x01, 0, 64, 0, 0x00, 8, 16, 0}) // IPv4 [0, 64) then [64, 80): done
	f.Add([]byte{0, 0x03, 0, 64, 0, 0x02, 8, 16, 0}) // IPv6, the same
	f.Add([]byte{0, 0x31, 0, 64, 0, 0x00, 8, 16, 0}) // CE with Not-ECT
	f.Add([]byte{0, 0x01, 0, 64, 0, 0x03, 8, 16, 0})
	f.Add([]byte{5, 0x80, 0, 64, 0, 0x83, 8, 16, 0, 0x80, 0, 64, 0})
	f.Add([]byte{1, 0x01, 2, 8, 0, 0x01, 0, 16, 0, 0x01, 4, 8, 0, 0x00, 6, 5, 0x91})
	f.Add([]byte{255, 0x41, 0, 200, 0x20, 0x47, 3, 9, 0x33, 0xc5, 200, 255, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		maxBytes := 256 + int(in[0])*16
		r := newReasm(maxBytes)
		now := reasmT0
		srcs := [2][2]netip.Addr{{reasmSrc4, reasmSrc4b}, {reasmSrc6, reasmSrc6b}}
		dsts := [2]netip.Addr{reasmDst4, reasmDst6}
		corrupt := false
		for in = in[1:]; len(in) >= 4; in = in[4:] {
			// in[0]: bit 0 MF, 1 family, 2 source, 3 ID, 4-5 ECN, 6
			// protocol; in[1]: offset/8, or near 65535 from 0xf0;
			// in[2]: length; in[3]: bits 4-7 clock step, 3 a Packet
			// inconsistent with pkt, 2 expire.
			fam := int(in[0]>>1) & 1
			s := fragSpec{src: srcs[fam][in[0]>>2&1], dst: dsts[fam], proto: 17 + in[0]>>6&1,
				id: uint32(in[0] >> 3 & 1), off: int(in[1]) * 8, more: in[0]&1 != 0, tos: in[0] >> 4 & 3, ttl: 9}
			if in[1] >= 0xf0 {
				s.off = 65535 - 16 + int(in[1]&0x0f) // near the bound
			}
			data := make([]byte, int(in[2]))
			for i := range data {
				data[i] = byte((s.off &^ 7) + i) // content tells its offset
			}
			pkt := s.build(data)
			p, err := wire.ParsePacket(pkt)
			if !errors.Is(err, wire.ErrFragment) {
				continue // offset 0 without MF: not a fragment
			}
			if in[3]&0x08 != 0 {
				// Fields inconsistent with pkt.
				p.FragOffset ^= uint16(in[3]) << (in[1] & 7)
				p.Payload = p.Payload[:len(p.Payload)/2]
				corrupt = true
			}
			whole, res := r.Add(now, pkt, &p)
			if (res == Done) != (whole != nil) || res > NoRoom {
				t.Fatalf("add = %d bytes, result %d", len(whole), res)
			}
			if b, n := r.Held(); b > maxBytes || b < 0 || n < 0 || (b == 0) != (n == 0) {
				t.Fatalf("held() = %d bytes, %d datagrams; bound %d", b, n, maxBytes)
			}
			if whole != nil {
				reasmCheckFuzz(t, whole, p.Version, !corrupt)
			}
			now = now.Add(time.Duration(in[3]>>4) * 3 * time.Second)
			if in[3]&0x04 != 0 {
				r.Expire(now, func(q []byte) {
					if len(q) == 0 || int(q[0]>>4) != 4 && int(q[0]>>4) != 6 {
						t.Fatalf("quote % x", q)
					}
				})
				if d, ok := r.Next(); ok && d <= now.UnixNano() {
					t.Fatalf("next() = %d, not after the expiry at %d", d, now.UnixNano())
				}
			}
		}
	})
}

// reasmCheckFuzz checks a reassembled packet: the right version, a length
// field matching its length, no fragment, and each byte the one the
// fuzzer put at its offset.
func reasmCheckFuzz(t *testing.T, whole []byte, version int, content bool) {
	t.Helper()
	var data []byte
	switch version {
	case 4:
		h, err := wire.ParseIPv4(whole)
		if err != nil || int(h.TotalLen) != len(whole) || h.Fragment || h.HeaderLen != 20 {
			t.Fatalf("reassembled IPv4: %v, % x", err, whole[:min(len(whole), 20)])
		}
		data = h.Payload
	case 6:
		h, err := wire.ParseIPv6(whole)
		if err != nil || int(h.PayloadLen)+40 != len(whole) || h.Fragment {
			t.Fatalf("reassembled IPv6: %v, % x", err, whole[:min(len(whole), 40)])
		}
		data = h.Payload
	default:
		t.Fatalf("reassembled version %d", version)
	}
	if _, err := wire.ParsePacket(whole); errors.Is(err, wire.ErrFragment) {
		t.Fatal("reassembled packet parses as a fragment")
	}
	for i, c := range data {
		if content && c != byte(i) {
			t.Fatalf("reassembled byte %d is %d, from offset %d", i, c, c)
		}
	}
}
