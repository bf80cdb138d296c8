package link_test

import (
	"net/netip"
	"testing"

	"github.com/synack/synack/link"
	"github.com/synack/synack/wire"
)

// plainReceiver takes packets one by one and checks them as a stack does.
type plainReceiver struct{ ok, bad int }

func (r *plainReceiver) DeliverPacket(pkt []byte) {
	if _, err := wire.ParsePacket(pkt); err != nil {
		r.bad++
		return
	}
	r.ok++
}

// A trusted packet with the kernel's partial checksum (offload's
// NEEDS_CSUM) reaches a receiver that verifies checksums, one by one,
// with its checksum completed: a pcap tap over an offloading TUN hands its
// batches to a fault injector this way.
func TestDeliverAllCompletesTrustedChecksums(t *testing.T) {
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	seg := &wire.Segment{SrcPort: 40000, DstPort: 80, Seq: 1, Flags: wire.FlagSYN, Wnd: 65535}
	partial := func() []byte { return wire.AppendPacketPartial(nil, src, dst, seg, 64) }
	if _, err := wire.ParsePacket(partial()); err == nil {
		t.Fatal("a partial checksum verifies: the test proves nothing")
	}
	for _, trusted := range []bool{true, false} {
		r := &plainReceiver{}
		link.DeliverAll(r, [][]byte{partial(), wire.AppendPacket(nil, src, dst, seg, 64)}, trusted)
		want := 1 // untrusted: the partial checksum is refused, as it must be
		if trusted {
			want = 2
		}
		if r.ok != want {
			t.Errorf("trusted %v: %d of 2 packets verified, want %d", trusted, r.ok, want)
		}
	}
}
