package pcap

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/wire"
)

// Tap returns an Endpoint that records to w every packet written to inner
// and every packet inner delivers, stamped by clk (nil means the wall
// clock). A packet is recorded before it is passed on, so a capture shared
// by both ends of a link is in causal order. Capture errors do not fail
// the link; see Writer.Err.
func Tap(inner link.Endpoint, w *Writer, clk link.Clock) link.Endpoint {
	if clk == nil {
		clk = wallClock{}
	}
	return &tap{inner: inner, w: w, clk: clk}
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

type tap struct {
	inner link.Endpoint
	w     *Writer
	clk   link.Clock

	closed atomic.Bool
}

func (t *tap) MTU() int { return t.inner.MTU() }

func (t *tap) WritePacket(pkt []byte) error {
	if t.closed.Load() {
		return net.ErrClosed // not recorded: it never left
	}
	t.w.WritePacket(t.clk.Now(), pkt)
	return t.inner.WritePacket(pkt)
}

func (t *tap) Attach(r link.Receiver) {
	if r == nil {
		t.inner.Attach(nil)
		return
	}
	t.inner.Attach(&tapReceiver{t: t, r: r})
}

func (t *tap) Close() error {
	t.closed.Store(true)
	return t.inner.Close()
}

type tapReceiver struct {
	t       *tap
	r       link.Receiver
	scratch []byte // a trusted packet with its checksum completed, for the capture
}

func (tr *tapReceiver) DeliverPacket(pkt []byte) {
	tr.t.w.WritePacket(tr.t.clk.Now(), pkt)
	tr.r.DeliverPacket(pkt)
}

// DeliverBatch records the batch and passes it on whole. Packets whose
// checksum the link vouches for may hold a partial one (the kernel's
// own, with offload); the capture shows them as on a wire, completed.
func (tr *tapReceiver) DeliverBatch(pkts [][]byte, trusted bool) {
	now := tr.t.clk.Now()
	for _, p := range pkts {
		if trusted {
			tr.scratch = append(tr.scratch[:0], p...)
			if wire.CompleteTCPChecksum(tr.scratch) == nil {
				p = tr.scratch
			}
		}
		tr.t.w.WritePacket(now, p)
	}
	link.DeliverAll(tr.r, pkts, trusted)
}
