package netconn

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/synack/synack/stack"
)

// ListenConfig holds options for listening, as net.ListenConfig does.
type ListenConfig struct {
	// Stack is the stack to listen on; required.
	Stack *Stack

	// KeepAlive applies to accepted connections as net.ListenConfig's
	// does: zero means keepalive on with Go's default idle time of
	// 15 s, negative means off unless KeepAliveConfig.Enable is set. It
	// is ignored if KeepAliveConfig.Enable is true.
	KeepAlive time.Duration

	// KeepAliveConfig configures keepalive of accepted connections, as
	// Conn.SetKeepAliveConfig does, when Enable is true.
	KeepAliveConfig net.KeepAliveConfig

	// Backlog bounds the accept queue (connections established and not
	// yet accepted); ≤ 0 means the stack's stack.Config.Backlog, or
	// DefaultBacklog (4096, as Go's net.Listen on Linux) if that is zero.
	Backlog int
}

// Listen listens on address with a zero ListenConfig; see
// ListenConfig.Listen.
func (s *Stack) Listen(network, address string) (net.Listener, error) {
	lc := ListenConfig{Stack: s}
	return lc.Listen(context.Background(), network, address)
}

// Listen listens for connections on address, for network "tcp", "tcp4"
// or "tcp6". The host must be one of the stack's IP addresses, or empty or
// unspecified for all of them (of either family: the stack keeps no
// per-family wildcard); port 0 picks a free port from the stack's
// ephemeral range. It returns a *Listener. ctx is only checked before
// listening, as no step of listening blocks.
//
// Errors are *net.OpError with Op "listen" wrapping syscall.EADDRINUSE,
// syscall.EADDRNOTAVAIL, net.ErrClosed (the Stack is closed),
// *net.AddrError or net.UnknownNetworkError.
func (lc *ListenConfig) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	fail := func(addr net.Addr, err error) (net.Listener, error) {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addr, Err: err}
	}
	s := lc.Stack
	if s == nil {
		return fail(nil, errors.New("netconn: ListenConfig.Stack is nil"))
	}
	ap, err := parseAddr(network, address, true)
	if err != nil {
		return fail(nil, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(tcpAddr(ap), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fail(tcpAddr(ap), net.ErrClosed)
	}
	var sl *stack.Listener
	if ap.Port() != 0 {
		sl, err = s.st.Listen(s.now(), ap, lc.Backlog)
	} else {
		sl, ap, err = s.listenAnyPort(ap, lc.Backlog)
	}
	if err != nil {
		return fail(tcpAddr(ap), err)
	}
	l := &Listener{
		s:       s,
		sl:      sl,
		network: network,
		addr:    net.TCPAddrFromAddrPort(ap),
		lc:      *lc,
		sig:     make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	sl.SetNotifier((*listenerNotifier)(l))
	s.lns[l] = struct{}{}
	return l, nil
}

// listenAnyPort listens on the first free port of the stack's ephemeral
// range, searching on from where the last search stopped. Under Stack.mu.
func (s *Stack) listenAnyPort(ap netip.AddrPort, backlog int) (*stack.Listener, netip.AddrPort, error) {
	cfg := s.st.Config()
	lo, hi := uint32(cfg.EphemeralLow), uint32(cfg.EphemeralHigh)
	n := hi - lo + 1
	for i := range n {
		p := uint16(lo + (s.nextLP+i)%n)
		a := netip.AddrPortFrom(ap.Addr(), p)
		sl, err := s.st.Listen(s.now(), a, backlog)
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return nil, ap, err
		}
		s.nextLP += i + 1
		return sl, a, nil
	}
	return nil, ap, syscall.EADDRINUSE
}

// Listener is a TCP listener of a Stack; it implements net.Listener.
type Listener struct {
	s       *Stack
	sl      *stack.Listener // guarded by Stack.mu
	network string
	addr    *net.TCPAddr
	lc      ListenConfig

	sig  chan struct{} // capacity 1: poked when a connection can be accepted
	done chan struct{} // closed by Close

	closed bool // guarded by Stack.mu
}

type listenerNotifier Listener

// Notify is called by the stack, under Stack.mu: it must not block.
func (n *listenerNotifier) Notify() { poke(n.sig) }

// markClosed closes l for its users; under Stack.mu.
func (l *Listener) markClosed() {
	l.closed = true
	close(l.done)
	l.sl.SetNotifier(nil)
	delete(l.s.lns, l)
}

// Accept waits for the next established connection and returns it, a
// *Conn configured with the ListenConfig's keepalive and no-delay on.
// After Close it returns a *net.OpError wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	s := l.s
	for {
		s.mu.Lock()
		if l.closed {
			s.mu.Unlock()
			return nil, &net.OpError{Op: "accept", Net: l.network, Addr: l.addr, Err: net.ErrClosed}
		}
		if sc := l.sl.Accept(); sc != nil {
			c := s.newConn(sc, l.network)
			c.applyKeepAlive(l.lc.KeepAlive, l.lc.KeepAliveConfig)
			s.rearm()
			if _, n := l.sl.Pending(); n > 0 {
				poke(l.sig) // for another Accept waiting
			}
			s.mu.Unlock()
			return c, nil
		}
		s.mu.Unlock()
		select {
		case <-l.sig:
		case <-l.done:
		}
	}
}

// Close stops listening: blocked and later Accepts return net.ErrClosed;
// connections not yet accepted are released as close(2) would (FIN, or
// RST with unread data) and half-open ones dropped; later SYNs are
// answered with RST.
func (l *Listener) Close() error {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.closed {
		return &net.OpError{Op: "close", Net: l.network, Addr: l.addr, Err: net.ErrClosed}
	}
	l.sl.Close(s.now())
	l.markClosed()
	s.rearm()
	return nil
}

// Addr returns the listener's address, a *net.TCPAddr; with port 0 asked,
// the port chosen.
func (l *Listener) Addr() net.Addr { return l.addr }
