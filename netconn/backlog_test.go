package netconn

import (
	"net/netip"
	"testing"
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/wire"
)

// A packet arriving while the lock is held does not wait for it: the
// link's reader returns at once, and the packet is delivered when the
// holder lets go (Linux's socket backlog, release_sock).
func TestBacklogDeliversOnUnlock(t *testing.T) {
	h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
	s := h.b.shards[0]
	in := func() uint64 {
		var n uint64
		h.b.Do(func(st *stack.Stack, _ time.Time) { n = st.Counters().InSegs })
		return n
	}
	before := in()
	// A SYN to a closed port: counted as a segment in, answered by RST.
	seg := wire.Segment{SrcPort: 40000, DstPort: 9, Seq: 1, Flags: wire.FlagSYN, Wnd: 65535}
	pkt := wire.AppendPacket(nil, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), &seg, 64)

	s.mu.Lock()
	done := make(chan struct{})
	go func() {
		receiver{s}.DeliverBatch([][]byte{pkt, pkt}, false)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the link's reader waited for the lock")
	}
	pkt[len(pkt)-1] ^= 0xff // the backlog holds copies
	s.mu.Unlock()
	if got := in() - before; got != 2 {
		t.Fatalf("InSegs grew by %d after Unlock, want 2", got)
	}
	if d := h.b.BacklogDrops(); d != 0 {
		t.Errorf("BacklogDrops = %d", d)
	}
}

// A link's buffer is kept by the backlog (DeliverOwned) only for a packet
// large enough to be worth it: a SYN is copied, so its link reads the next
// packet into the same buffer, while a full-sized segment's buffer is kept
// and handed back once delivered.
func TestBacklogKeepsOnlyLargeBuffers(t *testing.T) {
	h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
	s := h.b.shards[0]
	in := func() uint64 {
		var n uint64
		h.b.Do(func(st *stack.Stack, _ time.Time) { n = st.Counters().InSegs })
		return n
	}
	before := in()
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	syn := wire.Segment{SrcPort: 40000, DstPort: 9, Seq: 1, Flags: wire.FlagSYN, Wnd: 65535}
	small := wire.AppendPacket(make([]byte, 0, 65535), src, dst, &syn, 64)
	data := wire.Segment{SrcPort: 40001, DstPort: 9, Seq: 1, Flags: wire.FlagACK, Wnd: 65535, Payload: make([]byte, 1400)}
	large := wire.AppendPacket(make([]byte, 0, 65535), src, dst, &data, 64)
	released := make(chan []byte, 2)
	release := func(b []byte) { released <- b }

	s.mu.Lock()
	keptSmall := receiver{s}.DeliverOwned(small, false, release)
	keptLarge := receiver{s}.DeliverOwned(large, false, release)
	if keptSmall {
		t.Errorf("DeliverOwned kept the buffer of a %d-byte packet", len(small))
	}
	if !keptLarge {
		t.Errorf("DeliverOwned copied a %d-byte packet", len(large))
	}
	small[len(small)-1] ^= 0xff // the link reuses its buffer: the backlog holds a copy
	s.mu.Unlock()
	if got := in() - before; got != 2 {
		t.Fatalf("InSegs grew by %d after Unlock, want 2", got)
	}
	select {
	case b := <-released:
		if &b[0] != &large[0] {
			t.Error("released a buffer that was not the large packet's")
		}
	default:
		t.Error("the large packet's buffer was not handed back")
	}
	if len(released) != 0 {
		t.Error("a buffer was handed back twice, or the small packet's too")
	}
}
