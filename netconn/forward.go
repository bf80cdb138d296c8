package netconn

import (
	"net"
	"sync"
	"syscall"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// ForwardRequest is a SYN for an address the stack does not own and no
// listener holds, offered to a Forward handler: the tun2socks and VPN
// case, where every connection the kernel routes into the TUN device is
// served whatever its destination. The handler answers once: Accept
// completes the handshake as the destination, Refuse answers RST as a
// closed port would; a request left unanswered lapses and the client's
// SYN retries go unanswered (a black-holed destination).
type ForwardRequest struct {
	s      *shard
	r      *stack.ForwarderRequest
	local  *net.TCPAddr // the destination the client asked for
	remote *net.TCPAddr
	once   sync.Once
}

// Forward hands every such SYN to handler, each on a goroutine of its
// own, so that it may dial an upstream before answering. nil turns
// forwarding off.
func (s *Stack) Forward(handler func(*ForwardRequest)) {
	for _, sh := range s.shards {
		sh.mu.Lock()
		if handler == nil {
			sh.st.SetForwarder(nil)
		} else {
			sh.st.SetForwarder(func(r *stack.ForwarderRequest) {
				id := r.ID()
				req := &ForwardRequest{s: sh, r: r, local: net.TCPAddrFromAddrPort(id.Local), remote: net.TCPAddrFromAddrPort(id.Remote)}
				go handler(req)
			})
		}
		sh.mu.Unlock()
	}
}

// LocalAddr is the address the client connected to.
func (r *ForwardRequest) LocalAddr() net.Addr { return r.local }

// RemoteAddr is the client's address.
func (r *ForwardRequest) RemoteAddr() net.Addr { return r.remote }

// Accept answers the SYN with SYN+ACK, as the destination, and returns the
// connection once the handshake has completed.
func (r *ForwardRequest) Accept() (net.Conn, error) {
	var err error = syscall.EALREADY // a second answer
	var c *Conn
	s := r.s
	r.once.Do(func() {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			err = net.ErrClosed
			return
		}
		var sc *stack.Conn
		sc, err = r.r.Complete(s.now())
		if err == nil {
			c = s.newConn(sc, "tcp")
		}
		s.rearm()
		s.mu.Unlock()
	})
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Source: r.local, Addr: r.remote, Err: err}
	}
	for {
		s.mu.Lock()
		st, closed := c.sc.State(), c.closed
		sig := c.writeSig()
		s.mu.Unlock()
		switch {
		case closed:
			return nil, &net.OpError{Op: "accept", Net: "tcp", Source: r.local, Addr: r.remote, Err: net.ErrClosed}
		case st == tcp.StateClosed:
			c.Close()
			return nil, &net.OpError{Op: "accept", Net: "tcp", Source: r.local, Addr: r.remote, Err: syscall.ECONNABORTED}
		case st.Synchronized():
			return c, nil
		}
		<-sig
	}
}

// Refuse answers the SYN with RST, as a closed port would.
func (r *ForwardRequest) Refuse() {
	r.once.Do(func() {
		r.s.mu.Lock()
		r.r.Refuse(r.s.now())
		r.s.rearm()
		r.s.mu.Unlock()
	})
}
