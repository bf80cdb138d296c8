package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// LinkConfig describes a point-to-point link; faults apply to each
// direction independently.
type LinkConfig struct {
	Delay     time.Duration // one-way propagation delay
	Jitter    time.Duration // extra delay, uniform in [0, Jitter)
	Bandwidth int64         // bytes per second; 0 = unlimited
	Queue     time.Duration // most a packet may wait to be sent; 0 = unlimited
	MTU       int           // default DefaultMTU

	// The random faults, per packet and per direction, with the meanings
	// of link.Fault, decided by link.Faults.Decide as link.Faulty decides
	// them on a TUN.
	Loss    float64 // probability a packet is lost
	Dup     float64 // probability a packet is delivered twice
	Reorder float64 // probability a packet arrives ReorderHold late
	Corrupt float64 // probability a byte a checksum covers is changed

	ReorderHold time.Duration // default 3×Delay+1 ms

	// Seed seeds the faults' PRNG of the direction from the first host
	// (Seed+1 the other way), as link.NewFaulty(…, Seed) would; 0 derives
	// it from the network's seed and the link's number.
	Seed uint64
}

// faults is the link's random faults in link's terms.
func (c *LinkConfig) faults() link.Faults {
	return link.Faults{Loss: c.Loss, Dup: c.Dup, Reorder: c.Reorder, Corrupt: c.Corrupt, Jitter: c.Jitter, ReorderHold: c.ReorderHold}
}

// Link joins two hosts.
type Link struct {
	net        *Network
	cfg        LinkConfig
	ends       [2]*endpoint
	partitions []window
}

type window struct{ from, to time.Time }

// endpoint is one host's side of a Link.
type endpoint struct {
	link   *Link
	host   *Host
	side   int
	txFree time.Time // when the sender's queue drains (bandwidth)
	rng    *rand.PCG // this direction's faults
}

// DefaultMTU is a link's MTU unless its LinkConfig says otherwise.
const DefaultMTU = 1500

// Connect joins a and b with a link.
func (n *Network) Connect(a, b *Host, cfg LinkConfig) *Link {
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.ReorderHold == 0 {
		cfg.ReorderHold = 3*cfg.Delay + time.Millisecond
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = n.seed*0x9e3779b97f4a7c15 + 2*uint64(len(n.links)) + 1
	}
	l := &Link{net: n, cfg: cfg}
	l.ends[0] = &endpoint{link: l, host: a, side: 0, rng: link.NewFaultRNG(seed)}
	l.ends[1] = &endpoint{link: l, host: b, side: 1, rng: link.NewFaultRNG(seed + 1)}
	n.links = append(n.links, l)
	a.eps = append(a.eps, l.ends[0])
	b.eps = append(b.eps, l.ends[1])
	a.attach(l.ends[0])
	b.attach(l.ends[1])
	return l
}

// Config returns the link's settings; SetConfig changes them (faults can
// be switched on and off during a run).
func (l *Link) Config() LinkConfig { return l.cfg }

// SetConfig replaces the link's settings.
func (l *Link) SetConfig(c LinkConfig) {
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.ReorderHold == 0 {
		c.ReorderHold = 3*c.Delay + time.Millisecond
	}
	l.cfg = c
}

// Partition cuts the link from virtual time Epoch+from to Epoch+to: every
// packet sent in between is lost.
func (l *Link) Partition(from, to time.Duration) {
	l.partitions = append(l.partitions, window{Epoch.Add(from), Epoch.Add(to)})
}

func (l *Link) partitioned(t time.Time) bool {
	for _, w := range l.partitions {
		if !t.Before(w.from) && t.Before(w.to) {
			return true
		}
	}
	return false
}

func (e *endpoint) MTU() int             { return e.link.cfg.MTU }
func (e *endpoint) Attach(link.Receiver) {} // the network delivers to the host's stack
func (e *endpoint) Close() error         { return nil }
func (e *endpoint) peer() *endpoint      { return e.link.ends[1-e.side] }
func (e *endpoint) net() *Network        { return e.link.net }

// WritePacket puts a packet on the link, deciding its fate: scripted rules
// first, then partitions, then the random faults. Whatever the fate, the
// packet has left its sender: it is captured and reported sent, and a
// packet the link loses is then reported dropped, with the fault.
func (e *endpoint) WritePacket(pkt []byte) error { return e.WriteAnnotated(pkt, nil) }

// WriteAnnotated is WritePacket with what sent the packet: a TCP rule
// (tcp.Cause) from the host's stack, or Host.Send's words.
func (e *endpoint) WriteAnnotated(pkt []byte, why fmt.Stringer) error {
	n := e.net()
	if e.host.crashed {
		return net.ErrClosed
	}
	p := append([]byte(nil), pkt...)
	_, forged := why.(words) // Host.Send: not the host's stack
	if n.pcap != nil && (n.pcapAt == "" || n.pcapAt == e.host.Name && !forged) {
		n.pcap.WritePacket(n.now, p)
	}
	n.pktID++
	ev := &PacketEvent{ID: n.pktID, From: e.host, To: e.peer().host, Pkt: p}
	if why != nil {
		ev.Why = why.String()
		ev.Cause, _ = why.(tcp.Cause)
	}
	if pp, err := wire.ParsePacket(p); err == nil { // the one parse of the packet
		ev.Seg, ev.Src, ev.Dst = &pp.Segment, pp.Src, pp.Dst
	}
	cfg := &e.link.cfg
	// Every packet draws its fate, whatever decides it in the end, so
	// that a script, a partition or the MTU does not shift the random
	// faults of the packets after it.
	faults := cfg.faults()
	fate := faults.Decide(e.rng, len(p))
	if len(p) > cfg.MTU {
		return e.lose(ev, link.FaultMTU, nil)
	}
	delay := cfg.Delay
	// Bandwidth: the packet waits behind those sent before it.
	depart := n.now
	if cfg.Bandwidth > 0 {
		if e.txFree.After(depart) {
			depart = e.txFree
		}
		if cfg.Queue > 0 && depart.Sub(n.now) > cfg.Queue {
			return e.lose(ev, link.FaultQueue, nil)
		}
		e.txFree = depart.Add(time.Duration(int64(len(p)) * int64(time.Second) / cfg.Bandwidth))
		depart = e.txFree
	}
	copies := 1
	extra, gap := time.Duration(0), time.Microsecond
	dupFault, dupRule := link.FaultDup, (*Rule)(nil)
	corrupted := false
	if r := n.match(ev); r != nil {
		dupFault, dupRule = link.FaultScript, r
		switch r.Action {
		case ActDrop:
			return e.lose(ev, link.FaultScript, r)
		case ActDelay:
			extra = r.Delay
		case ActDup:
			copies = 2
		case ActDupLate:
			copies, gap = 2, r.Delay
		}
	} else {
		switch {
		case e.link.partitioned(n.now):
			return e.lose(ev, link.FaultPartition, nil)
		case fate.Drop:
			return e.lose(ev, link.FaultLoss, nil)
		}
		copies, extra = fate.Copies, fate.Extra
		if fate.Corrupt {
			fate.CorruptIn(p) // after the capture: the sender sent it intact
			corrupted = true
		}
	}
	at := depart.Add(delay + extra)
	ev.Delay = at.Sub(n.now)
	e.report(ev, PacketSent, ev.Why)
	for i := 0; i < copies; i++ {
		if i == 1 {
			e.reportFault(ev, PacketDuplicated, dupFault, dupRule)
		}
		dst := e.peer()
		n.schedule(at.Add(time.Duration(i)*gap), func() { dst.receive(p, ev, corrupted) })
	}
	return nil
}

// lose reports a packet the link will not deliver: sent (a capture at the
// sender shows it leave), then dropped on the way by fault (a script's
// fault by its rule).
func (e *endpoint) lose(ev *PacketEvent, fault link.Fault, r *Rule) error {
	e.report(ev, PacketSent, ev.Why)
	e.reportFault(ev, PacketDropped, fault, r)
	return nil
}

// reportFault reports what a fault did to a packet: Why is the script's
// rule name, or the fault's; Rule is the script's rule.
func (e *endpoint) reportFault(ev *PacketEvent, k PacketKind, fault link.Fault, r *Rule) {
	name := fault.String()
	if r != nil {
		name = r.Name
	}
	c := *ev
	c.Fault, c.Rule = fault, r
	e.report(&c, k, name)
}

func (e *endpoint) report(ev *PacketEvent, k PacketKind, why string) {
	if o := e.net().obs; o != nil {
		c := *ev
		c.Kind, c.Why = k, why
		o.Packet(e.net().now, &c)
	}
}

// receive hands an arriving packet to the host's stack. A corrupted
// packet is reported lost to its corruption when no checksum still holds
// (a flip in a field no checksum covers, an IPv6 flow label, arrives);
// the stack gets it all the same and makes up its own mind.
func (e *endpoint) receive(p []byte, sent *PacketEvent, corrupted bool) {
	if e.host.crashed {
		e.reportFault(sent, PacketDropped, link.FaultHostDown, nil)
		return
	}
	if n := e.net(); n.pcap != nil && n.pcapAt == e.host.Name {
		n.pcap.WritePacket(n.now, p)
	}
	if corrupted && !intact(p) {
		e.reportFault(sent, PacketCorrupted, link.FaultCorrupt, nil)
	} else {
		e.report(sent, PacketDelivered, "")
	}
	e.host.Stack.Deliver(e.net().now, p)
}

// intact reports whether a corrupted packet still passes every checksum
// the receiver applies (a fragment's TCP checksum waits for reassembly).
func intact(p []byte) bool {
	_, err := wire.ParsePacket(p)
	return err == nil || errors.Is(err, wire.ErrFragment)
}
