package sim

import (
	"errors"
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

	Loss    float64 // probability a packet is lost
	Dup     float64 // probability a packet is delivered twice
	Reorder float64 // probability a packet is held back by ReorderDelay
	Corrupt float64 // probability a byte is flipped (the checksum then fails)

	ReorderDelay time.Duration // default 3×Delay+1 ms
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
}

// DefaultMTU is a link's MTU unless its LinkConfig says otherwise.
const DefaultMTU = 1500

// Connect joins a and b with a link.
func (n *Network) Connect(a, b *Host, cfg LinkConfig) *Link {
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if cfg.ReorderDelay == 0 {
		cfg.ReorderDelay = 3*cfg.Delay + time.Millisecond
	}
	l := &Link{net: n, cfg: cfg}
	l.ends[0] = &endpoint{link: l, host: a, side: 0}
	l.ends[1] = &endpoint{link: l, host: b, side: 1}
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
	if c.ReorderDelay == 0 {
		c.ReorderDelay = 3*c.Delay + time.Millisecond
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

func (e *endpoint) MTU() int              { return e.link.cfg.MTU }
func (e *endpoint) Attach(link.Receiver)  {} // the network delivers to the host's stack
func (e *endpoint) Close() error          { return nil }
func (e *endpoint) peer() *endpoint       { return e.link.ends[1-e.side] }
func (e *endpoint) net() *Network         { return e.link.net }
func (e *endpoint) rand() float64         { return e.net().rng.Float64() }
func (e *endpoint) chance(p float64) bool { return p > 0 && e.rand() < p }

// WritePacket puts a packet on the link, deciding its fate: scripted rules
// first, then partitions, then the random faults. Whatever the fate, the
// packet has left its sender: it is captured and reported sent, and a
// packet the link loses is then reported dropped, with the fault.
func (e *endpoint) WritePacket(pkt []byte) error {
	n := e.net()
	if e.host.crashed {
		return net.ErrClosed
	}
	p := append([]byte(nil), pkt...)
	if n.pcap != nil {
		n.pcap.WritePacket(n.now, p)
	}
	n.pktID++
	ev := &PacketEvent{ID: n.pktID, From: e.host, To: e.peer().host, Pkt: p, Why: e.host.lastWhy, Cause: e.host.lastCause}
	if pp, err := wire.ParsePacket(p); err == nil {
		ev.Seg = &pp.Segment
	}
	e.host.lastWhy, e.host.lastCause = "", tcp.CauseNone
	cfg := &e.link.cfg
	if len(p) > cfg.MTU {
		return e.lose(ev, "larger than the link MTU")
	}
	delay := cfg.Delay
	if cfg.Jitter > 0 {
		delay += time.Duration(e.rand() * float64(cfg.Jitter))
	}
	// Bandwidth: the packet waits behind those sent before it.
	depart := n.now
	if cfg.Bandwidth > 0 {
		if e.txFree.After(depart) {
			depart = e.txFree
		}
		if cfg.Queue > 0 && depart.Sub(n.now) > cfg.Queue {
			return e.lose(ev, "link queue full")
		}
		e.txFree = depart.Add(time.Duration(int64(len(p)) * int64(time.Second) / cfg.Bandwidth))
		depart = e.txFree
	}
	copies := 1
	extra, gap := time.Duration(0), time.Microsecond
	dupWhy := "duplicated"
	corrupted := false
	if r := n.match(ev); r != nil {
		dupWhy = r.Name
		switch r.Action {
		case ActDrop:
			return e.lose(ev, r.Name)
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
			return e.lose(ev, "partition")
		case e.chance(cfg.Loss):
			return e.lose(ev, "random loss")
		}
		if e.chance(cfg.Dup) {
			copies = 2
		}
		if e.chance(cfg.Reorder) {
			extra = cfg.ReorderDelay
		}
		if e.chance(cfg.Corrupt) && len(p) > 0 {
			i := int(e.rand() * float64(len(p)))
			p[i] ^= 0x5a // after the capture: the sender sent it intact
			corrupted = true
		}
	}
	at := depart.Add(delay + extra)
	ev.Delay = at.Sub(n.now)
	e.report(ev, PacketSent, ev.Why)
	for i := 0; i < copies; i++ {
		if i == 1 {
			e.report(ev, PacketDuplicated, dupWhy)
		}
		dst := e.peer()
		n.schedule(at.Add(time.Duration(i)*gap), func() { dst.receive(p, ev, corrupted) })
	}
	return nil
}

// lose reports a packet the link will not deliver: sent (a capture at the
// sender shows it leave), then dropped on the way by fault.
func (e *endpoint) lose(ev *PacketEvent, fault string) error {
	e.report(ev, PacketSent, ev.Why)
	e.report(ev, PacketDropped, fault)
	return nil
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
		e.report(sent, PacketDropped, "host down")
		return
	}
	if corrupted && !intact(p) {
		e.report(sent, PacketCorrupted, "random corruption")
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
