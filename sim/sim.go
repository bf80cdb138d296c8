package sim

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/synack/synack/internal/heap"
	"github.com/synack/synack/link"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace/record"
	"github.com/synack/synack/wire"
)

// Epoch is virtual time zero. A fixed date keeps timestamps (TSval, pcap)
// identical from run to run.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Network is a simulated network in virtual time. It is not safe for
// concurrent use: one goroutine runs it.
type Network struct {
	now    time.Time
	seq    uint64
	events heap.Heap[event]
	rng    *rand.Rand
	seed   uint64
	hosts  []*Host
	links  []*Link
	rules  []*Rule
	obs    Observer
	pcap   *pcap.Writer
	pcapAt string // the host whose link is captured; "" is every sender
	steps  uint64
	pktID  uint64
}

// New returns an empty network whose random decisions all come from seed.
func New(seed uint64) *Network {
	return &Network{now: Epoch, seed: seed, events: newEventQueue(), rng: rand.New(rand.NewPCG(seed, 0x73796e61636b))}
}

// Seed returns the network's seed.
func (n *Network) Seed() uint64 { return n.seed }

// Rand returns the network's random source, for workloads that must stay
// reproducible by seed.
func (n *Network) Rand() *rand.Rand { return n.rng }

// Now returns the virtual time.
func (n *Network) Now() time.Time { return n.now }

// Elapsed returns the virtual time since the start.
func (n *Network) Elapsed() time.Duration { return n.now.Sub(Epoch) }

// SetCapture records every packet as its sender puts it on a link, with
// virtual timestamps, as a capture on each sender's interface would: a
// packet lost on the way is in the file, its duplicate is not.
func (n *Network) SetCapture(w *pcap.Writer) { n.pcap, n.pcapAt = w, "" }

// SetCaptureAt records what tcpdump on the named host's links would see:
// the packets it sends as they leave it, before the link's faults, and
// the packets that reach it, after them — a packet lost on the way is
// absent from the receiver's capture, a duplicate is there twice, a
// delayed one is stamped when it arrives. A crashed host captures
// nothing. A packet put on the link with Host.Send (a forgery, a replayed
// stale segment, a spoofed SYN) did not come from the host's stack: it
// is left out of the sender's capture, as tcpdump on a host does not see
// an attacker's packets elsewhere on the path, and is in the receiver's.
func (n *Network) SetCaptureAt(w *pcap.Writer, host string) { n.pcap, n.pcapAt = w, host }

// SetObserver sets who sees packets and connection events.
func (n *Network) SetObserver(o Observer) { n.obs = o }

// Hosts returns the hosts in the order they were added.
func (n *Network) Hosts() []*Host { return n.hosts }

// Host returns the host with the given name, or nil.
func (n *Network) Host(name string) *Host {
	for _, h := range n.hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// At runs f at virtual time Epoch+d (or now, if that has passed).
func (n *Network) At(d time.Duration, f func()) { n.schedule(Epoch.Add(d), f) }

// After runs f d after now.
func (n *Network) After(d time.Duration, f func()) { n.schedule(n.now.Add(d), f) }

func (n *Network) schedule(at time.Time, f func()) {
	if at.Before(n.now) {
		at = n.now
	}
	n.seq++
	n.events.Push(event{at: at, seq: n.seq, f: f})
}

// Step runs the next event or due timers; it reports false when nothing
// is left to do at all.
func (n *Network) Step() bool {
	var th time.Time
	for _, h := range n.hosts {
		if d, ok := h.deadline(); ok && (th.IsZero() || d.Before(th)) {
			th = d
		}
	}
	e, ok := n.events.Peek()
	switch {
	case ok && (th.IsZero() || !e.at.After(th)):
		n.events.Pop()
		n.now = e.at
		n.steps++
		e.f()
	case !th.IsZero():
		if th.After(n.now) {
			n.now = th
		}
		n.steps++
		for _, h := range n.hosts {
			if d, ok := h.deadline(); ok && !d.After(n.now) {
				h.Stack.Tick(n.now)
			}
		}
	default:
		return false
	}
	return true
}

// Next returns when the next event or timer is due.
func (n *Network) Next() (time.Time, bool) {
	var next time.Time
	for _, h := range n.hosts {
		if d, ok := h.deadline(); ok && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	if e, ok := n.events.Peek(); ok && (next.IsZero() || e.at.Before(next)) {
		next = e.at
	}
	return next, !next.IsZero()
}

// RunFor runs the network for d of virtual time.
func (n *Network) RunFor(d time.Duration) { n.RunUntil(n.now.Add(d)) }

// RunUntil runs until virtual time t.
func (n *Network) RunUntil(t time.Time) {
	for {
		next, ok := n.Next()
		if !ok || next.After(t) {
			break
		}
		n.Step()
	}
	if n.now.Before(t) {
		n.now = t
	}
}

// RunUntilIdle runs until nothing is scheduled and no timer is armed
// (quiescence), or until limit of virtual time has passed. It reports
// whether the network went idle.
func (n *Network) RunUntilIdle(limit time.Duration) bool {
	end := n.now.Add(limit)
	for {
		next, ok := n.Next()
		if !ok {
			return true
		}
		if next.After(end) {
			n.now = end
			return false
		}
		n.Step()
	}
}

// Steps returns how many events and timer rounds have run.
func (n *Network) Steps() uint64 { return n.steps }

// Host is a simulated machine running a real stack.
type Host struct {
	Name  string
	Addrs []netip.Addr
	Stack *stack.Stack

	net     *Network
	cfg     stack.Config
	eps     []*endpoint
	crashed bool
	boots   int
}

// AddHost adds a host with addresses and stack settings. The host's stack
// gets a seed derived from the network's, so runs are reproducible.
func (n *Network) AddHost(name string, addr netip.Addr, cfg stack.Config, more ...netip.Addr) *Host {
	h := &Host{Name: name, Addrs: append([]netip.Addr{addr}, more...), net: n, cfg: cfg}
	n.hosts = append(n.hosts, h)
	h.boot()
	return h
}

func (h *Host) boot() {
	cfg := h.cfg
	if cfg.Seed == 0 {
		cfg.Seed = h.net.seed*1_000_003 + uint64(len(h.Name))*7919 + uint64(h.boots)*104729 + uint64(h.Name[0]) + 1
	}
	cfg.Observer = hostObserver{h}
	h.Stack = stack.New(cfg)
	h.boots++
	for _, ep := range h.eps {
		h.attach(ep)
	}
}

func (h *Host) attach(ep *endpoint) {
	var prefixes []netip.Prefix
	for _, a := range h.Addrs {
		bits := 24
		if a.Is6() {
			bits = 64
		}
		prefixes = append(prefixes, netip.PrefixFrom(a, bits))
	}
	h.Stack.AddLink(ep, prefixes...)
}

func (h *Host) deadline() (time.Time, bool) {
	if h.crashed {
		return time.Time{}, false
	}
	return h.Stack.NextDeadline()
}

// Crashed reports whether the host is down.
func (h *Host) Crashed() bool { return h.crashed }

// Crash stops the host silently: every connection and timer is lost, no
// segment is sent, and packets to it vanish until Restart.
func (h *Host) Crash() {
	h.crashed = true
	if o := h.net.obs; o != nil {
		o.HostEvent(h.net.now, h, "crash")
	}
}

// Restart boots the host again with an empty stack (and a new ISN key, as a
// rebooted kernel has).
func (h *Host) Restart() {
	h.crashed = false
	h.boot()
	if o := h.net.obs; o != nil {
		o.HostEvent(h.net.now, h, "restart")
	}
}

// Addr returns the host's first address.
func (h *Host) Addr() netip.Addr { return h.Addrs[0] }

// Observer sees what happens in the network.
type Observer interface {
	// Packet reports a packet sent, delivered, dropped, duplicated or
	// corrupted on a link. Every packet is first sent; then each of its
	// copies (two when duplicated) is delivered, dropped or corrupted.
	// pkt is valid only during the call.
	Packet(now time.Time, e *PacketEvent)
	// Conn reports a connection event of a host's stack.
	Conn(now time.Time, h *Host, id stack.ID, e *tcp.Event)
	// HostEvent reports a crash or restart.
	HostEvent(now time.Time, h *Host, what string)
}

// PacketKind says what happened to a packet: the recorder's kinds.
type PacketKind = record.PacketKind

// Packet kinds.
const (
	PacketSent       = record.Sent       // left its sender, whatever happens next
	PacketDelivered  = record.Delivered  // a copy reached the receiver's stack
	PacketDropped    = record.Dropped    // a copy was lost: Why is the fault
	PacketDuplicated = record.Duplicated // the link made a second copy
	PacketCorrupted  = record.Corrupted  // a copy arrived damaged: its checksum fails
)

// PacketEvent is one packet's fate.
type PacketEvent struct {
	ID       uint64 // the packet's number, shared by all its events (a duplicate too)
	Kind     PacketKind
	From, To *Host
	Pkt      []byte
	Seg      *wire.Segment // parsed, when the packet is a valid TCP segment
	Src, Dst netip.Addr    // its addresses, from the same parse
	Why      string        // the rule that sent it, or the fault that dropped it
	Cause    tcp.Cause     // the TCP rule that sent it; CauseNone for a packet Send wrote
	Fault    link.Fault    // for a drop, duplicate or corruption: the fault (FaultScript: Why names the rule)
	Rule     *Rule         // for FaultScript: the rule that acted
	Delay    time.Duration // for PacketSent: when it will arrive
}

// words is a note as a fmt.Stringer.
type words string

func (w words) String() string { return string(w) }

// hostObserver forwards a stack's events to the network's observer.
type hostObserver struct{ h *Host }

func (o hostObserver) SegmentSent(time.Time, stack.ID, *wire.Segment, tcp.Cause) {}
func (o hostObserver) SegmentReceived(time.Time, stack.ID, *wire.Segment)        {}
func (o hostObserver) PacketDropped(time.Time, stack.Drop, error)                {}
func (o hostObserver) ConnEvent(now time.Time, id stack.ID, e *tcp.Event) {
	if ob := o.h.net.obs; ob != nil {
		ob.Conn(now, o.h, id, e)
	}
}

func (h *Host) String() string { return fmt.Sprintf("%s(%v)", h.Name, h.Addr()) }

var _ link.Endpoint = (*endpoint)(nil)

// Send puts a raw IP packet on the host's first link as if its stack had
// sent it: an attacker forging segments, a stale segment replayed, a SYN
// from a spoofed address. The stack never sees it.
func (h *Host) Send(pkt []byte, why string) error {
	if len(h.eps) == 0 {
		return net.ErrClosed
	}
	return h.eps[0].WriteAnnotated(pkt, words(why))
}
