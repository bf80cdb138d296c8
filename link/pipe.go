package link

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/synack/synack/internal/copies"
)

// PipeQueueLen is how many packets each direction of a Pipe buffers before
// it drops, like a NIC's ring.
const PipeQueueLen = 1024

// Pipe returns the two ends of an in-memory link carrying packets of at
// most mtu bytes. A packet written on one end is copied and handed to the
// other end's Receiver on that end's own goroutine, never on the writer's
// stack: a stack whose loop both writes and receives cannot deadlock on
// itself. Writes never block; a full queue drops, as a NIC does.
//
// The ends are *PipeEndpoint; assert to it for Stats.
func Pipe(mtu int) (a, b Endpoint) { return PipeQueue(mtu, PipeQueueLen) }

// PipeQueue is Pipe with queue packets buffered each way instead of
// PipeQueueLen.
func PipeQueue(mtu, queue int) (a, b Endpoint) {
	if mtu <= 0 || queue <= 0 {
		panic("link: Pipe with non-positive MTU or queue")
	}
	x, y := newPipeEnd(mtu, queue), newPipeEnd(mtu, queue)
	x.peer, y.peer = y, x
	go x.run()
	go y.run()
	return x, y
}

// PipeEndpoint is one end of a Pipe.
type PipeEndpoint struct {
	mtu  int
	peer *PipeEndpoint

	// in carries packets to this end's receiver; free returns their
	// buffers to whoever writes to this end next, so that a steady flow
	// allocates nothing.
	in   chan *[]byte
	free chan *[]byte
	recv atomic.Pointer[receiverBox]

	closed    atomic.Bool
	closing   chan struct{}
	done      chan struct{} // closed when the delivery goroutine has exited
	closeOnce sync.Once

	sent, delivered, tooBig, queueFull, peerClosed, noReceiver atomic.Uint64
}

// receiverBox lets an interface value live behind an atomic.Pointer.
type receiverBox struct{ r Receiver }

// PipeStats counts one end's packets. The drop counters say why a packet
// was lost; a packet is counted once.
type PipeStats struct {
	Sent       uint64 // written here and queued for the peer
	Delivered  uint64 // handed to this end's Receiver
	TooBig     uint64 // written here, larger than the MTU
	QueueFull  uint64 // written here, the peer's queue was full
	PeerClosed uint64 // written here after the peer closed
	NoReceiver uint64 // arrived here before Attach
}

func newPipeEnd(mtu, queue int) *PipeEndpoint {
	return &PipeEndpoint{
		mtu:     mtu,
		in:      make(chan *[]byte, queue),
		free:    make(chan *[]byte, queue+1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// MTU returns the link's MTU.
func (e *PipeEndpoint) MTU() int { return e.mtu }

// Attach sets the receiver of packets arriving at this end; nil detaches.
func (e *PipeEndpoint) Attach(r Receiver) {
	if r == nil {
		e.recv.Store(nil)
		return
	}
	e.recv.Store(&receiverBox{r})
}

// WritePacket queues a copy of pkt for the peer. It fails only once this
// end is closed; packets the link loses (too big, queue full, peer closed)
// are counted, not reported, as on a real wire.
func (e *PipeEndpoint) WritePacket(pkt []byte) error {
	if e.closed.Load() {
		return net.ErrClosed
	}
	if len(pkt) > e.mtu {
		e.tooBig.Add(1)
		return nil
	}
	p := e.peer
	if p.closed.Load() {
		e.peerClosed.Add(1)
		return nil
	}
	var bp *[]byte
	select {
	case bp = <-p.free:
	default:
		bp = new([]byte)
	}
	*bp = append((*bp)[:0], pkt...)
	copies.Add(copies.Pipe, len(pkt))
	select {
	case p.in <- bp:
		e.sent.Add(1)
	default:
		e.queueFull.Add(1)
		p.recycle(bp)
	}
	return nil
}

func (e *PipeEndpoint) recycle(bp *[]byte) {
	select {
	case e.free <- bp:
	default:
	}
}

// pipeBatch bounds the packets run hands over at once.
const pipeBatch = PipeQueueLen

// run delivers this end's arrivals until Close, as many as are queued
// (up to pipeBatch) in each call to the receiver.
func (e *PipeEndpoint) run() {
	defer close(e.done)
	var (
		bufs [pipeBatch]*[]byte
		pkts [pipeBatch][]byte
	)
	for {
		select {
		case <-e.closing:
			return
		case bp := <-e.in:
			n := 1
			bufs[0] = bp
		drain:
			for n < pipeBatch {
				select {
				case bp := <-e.in:
					bufs[n] = bp
					n++
				default:
					break drain
				}
			}
			// select picks at random among ready cases: look again so
			// that no delivery starts once Close has returned.
			if e.closed.Load() {
				return
			}
			if b := e.recv.Load(); b == nil {
				e.noReceiver.Add(uint64(n))
			} else if br, ok := b.r.(BatchReceiver); ok {
				for i := range n {
					pkts[i] = *bufs[i]
				}
				e.delivered.Add(uint64(n))
				br.DeliverBatch(pkts[:n], false)
				clear(pkts[:n])
			} else {
				// One by one, stopping if a delivery closed this end.
				for i := 0; i < n && !e.closed.Load(); i++ {
					e.delivered.Add(1)
					b.r.DeliverPacket(*bufs[i])
				}
			}
			for i := range n {
				e.recycle(bufs[i])
				bufs[i] = nil
			}
		}
	}
}

// Close closes this end: writes on it fail with net.ErrClosed, packets
// queued for it are discarded, and its delivery goroutine exits. Close
// does not wait for a delivery already in progress, since the receiver
// may itself be the caller. The peer stays open; what it writes is lost.
func (e *PipeEndpoint) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		close(e.closing)
	})
	return nil
}

// Stats returns this end's counters.
func (e *PipeEndpoint) Stats() PipeStats {
	return PipeStats{
		Sent:       e.sent.Load(),
		Delivered:  e.delivered.Load(),
		TooBig:     e.tooBig.Load(),
		QueueFull:  e.queueFull.Load(),
		PeerClosed: e.peerClosed.Load(),
		NoReceiver: e.noReceiver.Load(),
	}
}
