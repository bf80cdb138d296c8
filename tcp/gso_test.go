package tcp

import (
	"testing"

	"github.com/synack/synack/wire"
)

// piece is one segment as it goes on the wire.
type piece struct {
	seq, ack uint32
	n        int
	flags    wire.Flags
	wnd      uint16
}

// cut splits what a connection sent into the segments on the wire, as a
// TSO link does: GSOSize-byte pieces, FIN and PSH on the last one only.
func cut(t *testing.T, out []sent) (ps []piece, supers int) {
	t.Helper()
	for _, o := range out {
		s := o.seg
		g := int(s.GSOSize)
		if g == 0 {
			ps = append(ps, piece{uint32(s.Seq), uint32(s.Ack), len(s.Payload), s.Flags, s.Wnd})
			continue
		}
		supers++
		if len(s.Payload) <= g || len(s.Payload)%g != 0 {
			t.Fatalf("super-segment of %d bytes with GSOSize %d: not whole segments", len(s.Payload), g)
		}
		for off := 0; off < len(s.Payload); off += g {
			f := s.Flags
			if off+g < len(s.Payload) {
				f &^= wire.FlagFIN | wire.FlagPSH
			}
			ps = append(ps, piece{uint32(s.Seq) + uint32(off), uint32(s.Ack), g, f, s.Wnd})
		}
	}
	return ps, supers
}

// With TSO a sender hands out super-segments, and the pieces the link cuts
// them into are exactly the segments it would have sent one by one: the
// same sequence numbers, lengths and flags, the sub-MSS tail still under
// Nagle, the FIN on the last piece.
func TestGSOPiecesAreTheSegments(t *testing.T) {
	run := func(gso int) ([]piece, int) {
		h := newHarness(t, func(c *Config) { c.SndBuf = 200000 })
		h.c.SetGSOMax(gso) // before the OPEN, which must keep it, as the stack sets it
		h.established()
		h.c.SetNoDelay(h.now, false) // Nagle on: the tail waits
		var all []sent
		write := func(n int) {
			if k, err := h.c.Send(h.now, make([]byte, n)); err != nil || k != n {
				t.Fatalf("Send(%d) = %d, %v", n, k, err)
			}
		}
		write(10*1460 + 700) // IW10 full segments, then a tail Nagle holds
		all = append(all, h.out...)
		h.out = nil
		h.in(". 5001:5001(0) ack " + u32(1001+10*1460) + " win 65535")
		write(30000)
		h.c.Close(h.now)
		for range 10 {
			all = append(all, h.out...)
			h.out = nil
			una := h.c.sndMax
			h.in(". 5001:5001(0) ack " + u32(int64(una)) + " win 65535")
		}
		all = append(all, h.out...)
		h.out = nil
		return cut(t, all)
	}
	plain, n0 := run(0)
	tso, supers := run(65000)
	if n0 != 0 {
		t.Fatalf("%d super-segments with TSO off", n0)
	}
	if supers == 0 {
		t.Fatal("no super-segment with TSO on")
	}
	if len(plain) != len(tso) {
		t.Fatalf("TSO on: %d pieces on the wire, off: %d segments", len(tso), len(plain))
	}
	for i := range plain {
		if plain[i] != tso[i] {
			t.Fatalf("piece %d is %+v with TSO, %+v without", i, tso[i], plain[i])
		}
	}
	if last := plain[len(plain)-1]; last.flags&wire.FlagFIN == 0 {
		t.Fatalf("the last segment %+v carries no FIN", last)
	}
	t.Logf("%d segments on the wire, sent as %d super-segments and the rest one by one", len(plain), supers)
}

// A segment larger than the MSS we announced — the kernel's GRO hands a
// TUN reader coalesced segments of up to 64 KB — is taken whole and
// acknowledged like the segments it was made of (RFC 9293 §3.10.7.4
// bounds a segment by the window, not by the MSS).
func TestGROSegmentTakenWhole(t *testing.T) {
	h := newHarness(t)
	h.established()
	h.in(". 5001:15001(10000) ack 1001 win 65535")
	if got := h.c.Readable(); got != 10000 {
		t.Fatalf("readable %d bytes after a 10000-byte segment, want 10000", got)
	}
	h.advance(h.cfg.DelayedACK)
	h.wantOut("the coalesced segment is acknowledged", ". 1001:1001(0) ack 15001")
}
