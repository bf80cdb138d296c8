package record

import (
	"net/netip"
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// StackObserver returns a stack.Observer that records the stack of host,
// which owns addrs: every segment it sends is a send with a packet number
// of its own, and a segment it receives is the recv of the send another
// observed stack of this recorder made of it (the same segment, the same
// way), or, from a peer nobody records, a recv alone. Set it as the
// stack's Config.Observer, on a TUN, behind netconn or on a pipe.
func (r *Recorder) StackObserver(host string, addrs ...netip.Addr) stack.Observer {
	r.mu.Lock()
	for _, a := range addrs {
		r.names[a.Unmap()] = host
	}
	r.mu.Unlock()
	return &stackObserver{r: r, host: host}
}

type stackObserver struct {
	r    *Recorder
	host string
}

// segKey identifies a segment on its way from one stack to another.
type segKey struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    wire.Flags
	length   int
}

func keyOf(src, dst netip.AddrPort, s *wire.Segment) segKey {
	return segKey{src: src, dst: dst, seq: uint32(s.Seq), ack: uint32(s.Ack), flags: s.Flags, length: len(s.Payload)}
}

// name is the host that owns a, or a itself.
func (r *Recorder) name(a netip.Addr) string {
	if n, ok := r.names[a.Unmap()]; ok {
		return n
	}
	return a.Unmap().String()
}

func (o *stackObserver) SegmentSent(now time.Time, id stack.ID, s *wire.Segment, why tcp.Cause) {
	r := o.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	if !r.Live {
		// Another observed stack's receive of it takes this number.
		k := keyOf(id.Local, id.Remote, s)
		r.inFlight[k] = append(r.inFlight[k], r.nextID)
	}
	seg := *s
	seg.Payload = make([]byte, len(s.Payload)) // only its length is drawn
	r.packet(now, &Packet{ID: r.nextID, Kind: Sent, From: o.host, To: r.name(id.Remote.Addr()),
		Src: id.Local.Addr(), Dst: id.Remote.Addr(), Seg: &seg, Why: why.String(), Cause: why})
}

func (o *stackObserver) SegmentReceived(now time.Time, id stack.ID, s *wire.Segment) {
	r := o.r
	r.mu.Lock()
	defer r.mu.Unlock()
	k := keyOf(id.Remote, id.Local, s)
	var pid uint64
	if q := r.inFlight[k]; len(q) > 0 {
		pid = q[0]
		if len(q) == 1 {
			delete(r.inFlight, k)
		} else {
			r.inFlight[k] = q[1:]
		}
	} else {
		r.nextID++
		pid = r.nextID
	}
	seg := *s
	seg.Payload = make([]byte, len(s.Payload))
	r.packet(now, &Packet{ID: pid, Kind: Delivered, From: r.name(id.Remote.Addr()), To: o.host,
		Src: id.Remote.Addr(), Dst: id.Local.Addr(), Seg: &seg})
}

func (o *stackObserver) PacketDropped(time.Time, stack.Drop, error) {}

func (o *stackObserver) ConnEvent(now time.Time, id stack.ID, e *tcp.Event) {
	o.r.Conn(now, o.host, id, e)
}
