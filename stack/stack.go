package stack

import (
	"errors"
	"net/netip"
	"syscall"
	"time"

	"github.com/synack/synack/internal/copies"
	"github.com/synack/synack/internal/ip"
	"github.com/synack/synack/link"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// Observer receives a stack's events, for traces. Segments are valid only
// during the call.
type Observer interface {
	SegmentSent(now time.Time, id ID, s *wire.Segment, why tcp.Cause)
	SegmentReceived(now time.Time, id ID, s *wire.Segment)
	PacketDropped(now time.Time, reason Drop, err error)
	ConnEvent(now time.Time, id ID, e *tcp.Event)
}

// Notifier is told that a connection or listener changed: data to read,
// room to write, a new state, a connection to accept. It is called on the
// stack's goroutine and must not call back into the stack.
type Notifier interface {
	Notify()
}

// NotifyFunc adapts a function to Notifier.
type NotifyFunc func()

// Notify calls f.
func (f NotifyFunc) Notify() { f() }

// nic is one link with its addresses.
type nic struct {
	ep    link.Endpoint
	ann   link.Annotated // ep, when it takes what sent each packet
	off   link.Offloader // ep, when it completes checksums and cuts super-segments
	gso   int            // the payload a super-segment may carry on off; 0: none
	addrs []netip.Prefix
}

// maxHeaders is the most an IPv6 header and a TCP header with options
// take, so a super-segment's packet stays within the link's GSOMax.
const maxHeaders = wire.IPv6HeaderLen + 60

// Stack is a TCP/IP host: links, listeners and connections. See the
// package documentation for the threading rule.
type Stack struct {
	cfg  Config
	keys secrets
	nics []*nic

	local     map[netip.Addr]*nic // our addresses
	conns     map[tuple]*Conn
	half      map[tuple]*halfOpen
	tw        twTable // compact TIME-WAIT records, in expiry order
	listeners map[listenKey]*Listener
	bound     map[listenKey]int // local addr:port in use, for EADDRINUSE
	timers    timerHeap
	fwd       *forwarder

	scratch       tcp.Conn // half-open and TIME-WAIT records run here
	scratchT      tuple
	scratchCookie bool

	reasm ip.Reassembler // IP fragments awaiting their datagram
	pmtu  ip.PMTUCache   // learnt path MTUs (RFC 1191, RFC 8201)

	buf        []byte
	io         tcp.Scratch // shared by every TCB of the stack (initTCB)
	pkt        wire.Packet // the packet Deliver is parsing
	delivering int         // Deliver calls in progress
	nextEphem  uint32
	stats      Counters

	group   *Group // the shards this stack is one of; nil alone
	shard   int    // its index in group
	handoff func(shard int, pkt []byte)
}

// New returns a stack with no links.
func New(cfg Config) *Stack {
	s := &Stack{
		cfg:       cfg.withDefaults(),
		local:     make(map[netip.Addr]*nic),
		conns:     make(map[tuple]*Conn),
		half:      make(map[tuple]*halfOpen),
		listeners: make(map[listenKey]*Listener),
		bound:     make(map[listenKey]int),
		timers:    newTimerHeap(),
	}
	s.keys = newSecrets(s.cfg.Seed)
	s.reasm.Init(s.cfg.ReasmMaxBytes, s.cfg.ReasmTimeout)
	return s
}

// Config returns the stack's settings with defaults applied.
func (s *Stack) Config() Config { return s.cfg }

// AddLink attaches a link with its local addresses. The caller connects
// the link's receive side to Deliver (the simulator and netconn do).
func (s *Stack) AddLink(ep link.Endpoint, addrs ...netip.Prefix) error {
	n := &nic{ep: ep, addrs: addrs}
	n.ann, _ = ep.(link.Annotated)
	if off, ok := ep.(link.Offloader); ok && n.ann == nil && off.GSOMax() > 0 {
		n.off = off
		if g := off.GSOMax() - maxHeaders; g >= 2*ip.MSSFor(netip.IPv6Unspecified(), ep.MTU()) {
			n.gso = g
		}
	}
	for _, a := range addrs {
		if !a.IsValid() {
			return errors.New("stack: invalid address")
		}
		s.local[a.Addr()] = n
	}
	s.nics = append(s.nics, n)
	return nil
}

// Addrs returns the stack's local addresses.
func (s *Stack) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, n := range s.nics {
		for _, p := range n.addrs {
			out = append(out, p.Addr())
		}
	}
	return out
}

// sourceFor picks the local address to reach dst: one whose prefix holds
// dst, else the first of the same family.
func (s *Stack) sourceFor(dst netip.Addr) (netip.Addr, bool) {
	var first netip.Addr
	for _, n := range s.nics {
		for _, p := range n.addrs {
			if p.Addr().Is4() != dst.Is4() {
				continue
			}
			if p.Contains(dst) {
				return p.Addr(), true
			}
			if !first.IsValid() {
				first = p.Addr()
			}
		}
	}
	return first, first.IsValid()
}

// send serializes a segment and writes it to the link that owns the
// local address.
func (s *Stack) send(now time.Time, t *tuple, seg *wire.Segment, why tcp.Cause) {
	src, dst := addrOf(t.laddr), addrOf(t.raddr)
	n := s.nicFor(src)
	if n == nil {
		s.stats.drop(DropNoRoute)
		return
	}
	s.stats.OutSegs++
	copies.Add(copies.Packet, len(seg.Payload))
	if seg.Flags&wire.FlagRST != 0 {
		s.stats.OutRsts++
	}
	if why.Retransmission() {
		s.stats.RetransSegs++
	}
	if o := s.cfg.Observer; o != nil {
		o.SegmentSent(now, t.id(), seg, why)
	}
	switch {
	case n.off != nil:
		// The link sums the data (and cuts a super-segment): one pass
		// over the bytes fewer.
		s.buf = wire.AppendPacketPartial(s.buf[:0], src, dst, seg, 0)
		n.off.WriteOffload(s.buf, int(seg.GSOSize))
	case n.ann != nil:
		s.buf = wire.AppendPacket(s.buf[:0], src, dst, seg, 0)
		n.ann.WriteAnnotated(s.buf, why)
	default:
		s.buf = wire.AppendPacket(s.buf[:0], src, dst, seg, 0)
		n.ep.WritePacket(s.buf)
	}
}

// nicFor is the link that sends from src: the one owning it, or for the
// forwarder, which answers for any address, the first.
func (s *Stack) nicFor(src netip.Addr) *nic {
	if n := s.local[src]; n != nil {
		return n
	}
	if s.fwd == nil || len(s.nics) == 0 {
		return nil
	}
	return s.nics[0]
}

// Deliver processes one IP packet that arrived on a link.
func (s *Stack) Deliver(now time.Time, pkt []byte) { s.deliver(now, pkt, false) }

// DeliverTrusted is Deliver for a packet whose TCP checksum the link
// vouches for (link.BatchReceiver's trusted): it is not summed again.
func (s *Stack) DeliverTrusted(now time.Time, pkt []byte) { s.deliver(now, pkt, true) }

func (s *Stack) deliver(now time.Time, pkt []byte, trusted bool) {
	// The stack's own Packet keeps the parse off the heap; a Deliver
	// nested in another (a reassembled datagram, or a link that loops
	// back at once) parses into one of its own.
	p := &s.pkt
	if s.delivering > 0 {
		p = new(wire.Packet)
	}
	s.delivering++
	defer func() { s.delivering-- }()
	var err error
	if trusted {
		*p, err = wire.ParsePacketTrusted(pkt)
	} else {
		*p, err = wire.ParsePacket(pkt)
	}
	if err != nil {
		switch {
		case errors.Is(err, wire.ErrFragment) && s.local[p.Dst] != nil:
			s.fragment(now, pkt, p)
		case errors.Is(err, wire.ErrFragment):
			s.dropPacket(now, DropNotOurs, err)
		case errors.Is(err, wire.ErrNotTCP) && s.local[p.Dst] != nil &&
			(p.Version == 4 && p.Protocol == wire.ProtoICMP || p.Version == 6 && p.Protocol == wire.ProtoICMPv6):
			s.icmpArrive(now, p)
		case errors.Is(err, wire.ErrNotTCP):
			s.dropPacket(now, DropNotTCP, err)
		default:
			s.stats.InErrs++
			s.dropPacket(now, DropMalformed, err)
		}
		return
	}
	s.stats.InSegs++
	if s.local[p.Dst] == nil && s.fwd == nil {
		s.stats.drop(DropNotOurs)
		return
	}
	seg := &p.Segment
	t := tuple{laddr: p.Dst.As16(), raddr: p.Src.As16(), lport: seg.DstPort, rport: seg.SrcPort}
	if o := s.cfg.Observer; o != nil {
		o.SegmentReceived(now, t.id(), seg)
	}
	s.arrive(now, t, seg)
}

func (s *Stack) arrive(now time.Time, t tuple, seg *wire.Segment) {
	if c := s.conns[t]; c != nil {
		var tw tcp.TimeWait
		if c.tcp.State() == tcp.StateTimeWait {
			tw = c.tcp.SaveTimeWait()
			c.tcp.SetNoReopen(!s.canReopen(&t))
		}
		reopen := c.tcp.SegmentArrives(now, seg)
		s.after(now, c)
		if reopen {
			s.listenArrive(now, t, seg, tw.SndNxt, true)
		}
		return
	}
	if h := s.half[t]; h != nil {
		s.halfArrive(now, h, seg)
		return
	}
	if rec, ok := s.tw.get(&t); ok {
		if s.twArrive(now, t, rec, seg) {
			s.listenArrive(now, t, seg, rec.SndNxt, true)
		}
		return
	}
	s.listenArrive(now, t, seg, 0, false)
}

// canReopen says whether a SYN for t would find a listener (or the
// forwarder): only then may it end a TIME-WAIT and open a new connection.
func (s *Stack) canReopen(t *tuple) bool { return s.fwd != nil || s.findListener(t) != nil }

// listenArrive hands a segment that matches no connection to a listener
// (or the forwarder); failing both, it answers with RST (§3.10.7.1).
// After a TIME-WAIT reopen, oldSndNxt is the old connection's SND.NXT.
func (s *Stack) listenArrive(now time.Time, t tuple, seg *wire.Segment, oldSndNxt seq.Num, reopen bool) {
	if l := s.findListener(&t); l != nil {
		l.arrive(now, t, seg, oldSndNxt, reopen)
		return
	}
	if s.fwd != nil && s.fwdArrive(now, t, seg) {
		return
	}
	s.noConn(now, &t, seg)
}

// dropPacket counts a packet dropped before it reached TCP and tells the
// observer.
func (s *Stack) dropPacket(now time.Time, d Drop, err error) {
	s.stats.drop(d)
	if o := s.cfg.Observer; o != nil {
		o.PacketDropped(now, d, err)
	}
}

// segDrop counts a dropped segment and tells the observer which rule
// dropped it.
func (s *Stack) segDrop(now time.Time, t *tuple, seg *wire.Segment, d Drop) {
	s.stats.drop(d)
	if o := s.cfg.Observer; o != nil {
		o.ConnEvent(now, t.id(), &tcp.Event{Kind: tcp.EventDrop, Seg: seg, Cause: dropCauses[d]})
	}
}

// noConn answers a segment for which no connection exists (RFC 9293
// §3.10.7.1): RST, unless it is a RST.
func (s *Stack) noConn(now time.Time, t *tuple, seg *wire.Segment) {
	r, ok := tcp.ResetFor(seg)
	if !ok {
		s.segDrop(now, t, seg, DropRSTNoConn)
		return
	}
	s.segDrop(now, t, seg, DropNoConn)
	s.send(now, t, &r, tcp.CauseNoTCB)
}

// Tick fires everything due at now.
func (s *Stack) Tick(now time.Time) {
	n := now.UnixNano()
	for range 1 << 20 {
		x, ok := s.timers.peek()
		if !ok || x.when() > n {
			break
		}
		switch x := x.(type) {
		case *Conn:
			x.tcp.Tick(now)
			s.after(now, x)
			if x.slotIdx >= 0 && x.when() <= n {
				// A timer re-armed for this very instant: fire it next round.
				x.at = n + 1
				s.timers.update(x)
			}
		case *halfOpen:
			s.halfTick(now, x)
		case *ForwarderRequest:
			s.fwdExpire(x)
		}
	}
	if x, ok := s.reasm.Next(); ok && x <= n {
		s.stats.ReasmTimeouts += uint64(s.reasm.Expire(now, s.reasmTimeExceeded))
	}
	for range 1 << 20 {
		t, rec, ok := s.tw.due(n)
		if !ok {
			break
		}
		sc := s.restoreTimeWait(now, t, &rec)
		sc.Tick(now)
		s.settleTimeWait(t, sc)
	}
}

// NextDeadline returns when Tick must next be called.
func (s *Stack) NextDeadline() (time.Time, bool) {
	var at int64
	if x, ok := s.timers.peek(); ok {
		at = x.when()
	}
	if x, ok := s.tw.next(); ok && (at == 0 || x < at) {
		at = x
	}
	if x, ok := s.reasm.Next(); ok && (at == 0 || x < at) {
		at = x
	}
	if at == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, at), true
}

// Shutdown closes every connection the way a process exit does: each is
// released (FIN, or RST where received data was never read) and every
// listener closed.
func (s *Stack) Shutdown(now time.Time) {
	for _, l := range s.listenersSorted() {
		l.Close(now)
	}
	for _, c := range s.connsSorted() {
		c.Close(now)
	}
}

// errAddrInUse is what binding a used address:port returns, as the kernel.
var (
	errAddrInUse    = syscall.EADDRINUSE
	errAddrNotAvail = syscall.EADDRNOTAVAIL
)
