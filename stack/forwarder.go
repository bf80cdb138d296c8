package stack

import (
	"errors"
	"time"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// forwarderTimeout bounds how long a SYN handed to the forwarder may wait
// for the application's answer before it is forgotten.
const forwarderTimeout = 30 * time.Second

// ForwarderRequest is a SYN to an address and port nobody listens on,
// handed to the application (the tun2socks / VPN case, like gVisor's
// tcp.Forwarder). The application completes the handshake or refuses,
// typically after trying its upstream; until it does, further SYNs of the
// same 4-tuple are ignored.
type ForwarderRequest struct {
	s       *Stack
	t       tuple
	syn     wire.Segment
	at      int64
	slotIdx int
	done    bool
}

func (r *ForwarderRequest) when() int64 { return r.at }
func (r *ForwarderRequest) slot() *int  { return &r.slotIdx }

// ID returns the 4-tuple the SYN asks for (Local is the address the peer
// wanted to reach).
func (r *ForwarderRequest) ID() ID { return r.t.id() }

type forwarder struct {
	handler  func(*ForwarderRequest)
	pending  map[tuple]*ForwarderRequest
	inFlight int
}

// SetForwarder hands every SYN that matches no listener, to any address,
// to handler (on the stack's goroutine). nil turns the forwarder off.
func (s *Stack) SetForwarder(handler func(*ForwarderRequest)) {
	if handler == nil {
		s.fwd = nil
		return
	}
	s.fwd = &forwarder{handler: handler, pending: make(map[tuple]*ForwarderRequest)}
}

// ForwarderInFlight returns the handshakes handed out and not finished.
func (s *Stack) ForwarderInFlight() int {
	if s.fwd == nil {
		return 0
	}
	return s.fwd.inFlight
}

// errRequestDone is returned when a request was already answered.
var errRequestDone = errors.New("stack: forwarder request already answered")

// fwdArrive offers a SYN to the forwarder; it reports whether the segment
// was taken.
func (s *Stack) fwdArrive(now time.Time, t tuple, seg *wire.Segment) bool {
	f := s.fwd
	if act, _ := tcp.ListenDecide(seg); act != tcp.ListenOpen {
		return false // not a SYN LISTEN would take: as a closed port
	}
	if f.pending[t] != nil {
		return true // the peer retransmitted its SYN; the application is still deciding
	}
	if f.inFlight >= s.cfg.ForwarderMaxInFlight {
		s.segDrop(now, &t, seg, DropForwarderFull)
		return true
	}
	r := &ForwarderRequest{s: s, t: t, syn: *seg, slotIdx: -1, at: now.Add(forwarderTimeout).UnixNano()}
	r.syn.Payload = nil
	f.pending[t] = r
	f.inFlight++
	s.timers.update(r)
	f.handler(r)
	return true
}

func (s *Stack) fwdRelease(r *ForwarderRequest) {
	r.done = true
	delete(s.fwd.pending, r.t)
	r.at = 0
	s.timers.remove(r)
}

// Complete accepts the SYN: the connection answers SYN+ACK and is
// returned in SYN-RECEIVED; Notify says when it is established or failed.
func (r *ForwarderRequest) Complete(now time.Time) (*Conn, error) {
	s := r.s
	if r.done || s.fwd == nil {
		return nil, errRequestDone
	}
	s.fwdRelease(r)
	c := s.newConn(r.t)
	c.fwdSlot = true
	s.addConn(c)
	c.tcp.ListenArrive(now, tcp.OpenOptions{LocalPort: r.t.lport, ISS: s.isn(&r.t, now), TSOffset: s.tsOffset(&r.t), MSS: s.routeMSS(now, &r.t)}, &r.syn)
	s.settle(now, c)
	return c, nil
}

// Refuse answers the SYN with RST, as a closed port would.
func (r *ForwarderRequest) Refuse(now time.Time) {
	s := r.s
	if r.done || s.fwd == nil {
		return
	}
	s.fwdRelease(r)
	s.fwd.inFlight--
	s.noConn(now, &r.t, &r.syn)
}

// expire forgets a request the application never answered.
func (s *Stack) fwdExpire(r *ForwarderRequest) {
	s.fwdRelease(r)
	s.fwd.inFlight--
}
