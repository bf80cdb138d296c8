package stack_test

import (
	"net/netip"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// packet builds a raw IPv4/IPv6 TCP packet.
func packet(src, dst netip.AddrPort, flags wire.Flags, sq, ack seq.Num, opts wire.Options, payload []byte) []byte {
	s := wire.Segment{SrcPort: src.Port(), DstPort: dst.Port(), Seq: sq, Ack: ack, Flags: flags, Wnd: 65535, Opts: opts, Payload: payload}
	return wire.AppendPacket(nil, src.Addr(), dst.Addr(), &s, 0)
}

func synOpts() wire.Options {
	return wire.Options{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 7, SACKPermitted: true, HasTimestamp: true, TSVal: 1000}
}

// capture is a link endpoint that keeps what the stack sends.
type capture struct {
	pkts [][]byte
	keep bool
	n    int
}

func (c *capture) MTU() int { return 1500 }
func (c *capture) WritePacket(p []byte) error {
	c.n++
	if c.keep {
		c.pkts = append(c.pkts, append([]byte(nil), p...))
	}
	return nil
}
func (c *capture) Attach(link.Receiver) {}
func (c *capture) Close() error         { return nil }

// segs parses what the stack sent and clears the capture.
func (c *capture) segs() []wire.Segment {
	var out []wire.Segment
	for _, p := range c.pkts {
		pp, err := wire.ParsePacket(p)
		if err != nil {
			panic(err)
		}
		s := pp.Segment
		s.Payload = append([]byte(nil), s.Payload...)
		out = append(out, s)
	}
	c.pkts = nil
	return out
}

// lone is a stack with one captured link, driven by hand.
type lone struct {
	s   *stack.Stack
	cap *capture
	now time.Time
}

func newLone(cfg stack.Config, addr netip.Addr) *lone {
	l := &lone{s: stack.New(cfg), cap: &capture{keep: true}, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	bits := 24
	if addr.Is6() {
		bits = 64
	}
	if err := l.s.AddLink(l.cap, netip.PrefixFrom(addr, bits)); err != nil {
		panic(err)
	}
	return l
}

func (l *lone) deliver(p []byte) { l.s.Deliver(l.now, p) }

// advance moves time on, firing timers as they fall due.
func (l *lone) advance(d time.Duration) {
	end := l.now.Add(d)
	for i := 0; i < 1_000_000; i++ {
		next, ok := l.s.NextDeadline()
		if !ok || next.After(end) {
			break
		}
		l.now = next
		l.s.Tick(l.now)
	}
	l.now = end
}

// states lists the states the observer saw for each connection.
type stateLog struct{ byID map[stack.ID][]tcp.State }

func (o *stateLog) SegmentSent(time.Time, stack.ID, *wire.Segment, tcp.Cause) {}
func (o *stateLog) SegmentReceived(time.Time, stack.ID, *wire.Segment)        {}
func (o *stateLog) PacketDropped(time.Time, stack.Drop, error)                {}
func (o *stateLog) ConnEvent(_ time.Time, id stack.ID, e *tcp.Event) {
	if e.Kind == tcp.EventState {
		if o.byID == nil {
			o.byID = map[stack.ID][]tcp.State{}
		}
		if len(o.byID[id]) == 0 {
			o.byID[id] = append(o.byID[id], e.From)
		}
		o.byID[id] = append(o.byID[id], e.To)
	}
}
