// Package link moves raw IP packets (IPv4 or IPv6, no link-layer header)
// between a stack and the world: an in-memory pipe, a Linux TUN device, a
// pcap tap, and fault-injecting decorators.
package link

import (
	"fmt"
	"time"

	"github.com/synack/synack/wire"
)

// Endpoint is one side of a link.
type Endpoint interface {
	// MTU is the largest IP packet the link carries.
	MTU() int
	// WritePacket sends one IP packet. The link must not keep pkt after
	// returning: it copies what it needs.
	WritePacket(pkt []byte) error
	// Attach sets the receiver of arriving packets. Packets arriving
	// before Attach are dropped.
	Attach(r Receiver)
	// Close releases the link; further writes fail with net.ErrClosed.
	Close() error
}

// Annotated is an Endpoint that takes, with each packet, what sent it:
// the simulator draws it in its traces. A stack writes through it when
// the link has it, so the rule travels with its packet and not through
// shared state.
type Annotated interface {
	Endpoint
	WriteAnnotated(pkt []byte, why fmt.Stringer) error
}

// Receiver takes packets arriving on a link. pkt is valid only during the
// call.
type Receiver interface {
	DeliverPacket(pkt []byte)
}

// BatchReceiver is a Receiver that takes the packets a link has at hand
// in one call, so that its stack takes its lock, re-arms its timer and
// wakes its applications once per batch rather than once per packet (a
// lock contended by many dialers would otherwise let the link's queue
// overflow). trusted says the link vouches for the packets' TCP
// checksums (wire.ParsePacketTrusted), so the stack need not sum them.
// pkts and the packets are valid only during the call.
type BatchReceiver interface {
	Receiver
	DeliverBatch(pkts [][]byte, trusted bool)
}

// DeliverAll hands pkts to r: in one call if r takes batches, else one by
// one (and then r verifies every checksum). A trusted packet's checksum
// may be partial (the kernel's own, with offload: only the pseudo-header
// sum), so for a receiver that verifies it is completed first, in place:
// a pcap tap over an offloading TUN, with a fault injector above it, would
// otherwise hand on packets that every check refuses.
func DeliverAll(r Receiver, pkts [][]byte, trusted bool) {
	if b, ok := r.(BatchReceiver); ok {
		b.DeliverBatch(pkts, trusted)
		return
	}
	for _, p := range pkts {
		if trusted {
			wire.CompleteTCPChecksum(p) // not TCP: left as it came, for r to judge
		}
		r.DeliverPacket(p)
	}
}

// OwningReceiver is a BatchReceiver that, when it cannot take a packet at
// once, may keep the link's buffer instead of copying it, and hands it
// back through release once done; the link then reads into another. It
// reports whether it kept pkt (the link must not touch it until release).
type OwningReceiver interface {
	BatchReceiver
	DeliverOwned(pkt []byte, trusted bool, release func(pkt []byte)) (kept bool)
}

// Offloader is an Endpoint that completes TCP checksums and cuts TSO
// super-segments itself: a TUN device opened with offloads, whose kernel
// does both (virtio-net NEEDS_CSUM and GSO).
type Offloader interface {
	Endpoint
	// GSOMax is the largest IP packet WriteOffload takes, above the MTU
	// when it segments; 0 when the link offloads nothing.
	GSOMax() int
	// WriteOffload sends a TCP packet whose checksum field holds only the
	// pseudo-header's sum (wire.AppendPacketPartial). gsoSize, if not 0,
	// is the payload of each segment the link cuts it into
	// (wire.Segment.GSOSize).
	WriteOffload(pkt []byte, gsoSize int) error
}

// ReceiverFunc adapts a function to Receiver.
type ReceiverFunc func(pkt []byte)

// DeliverPacket calls f(pkt).
func (f ReceiverFunc) DeliverPacket(pkt []byte) { f(pkt) }

// Clock tells the time for timestamps; links that record packets (pcap)
// take one so that simulated runs carry virtual time.
type Clock interface {
	Now() time.Time
}
