package netconn

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
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
	if s.closed.Load() {
		return fail(tcpAddr(ap), net.ErrClosed)
	}
	l := &Listener{
		s:       s,
		parts:   make([]*stack.Listener, len(s.shards)),
		network: network,
		lc:      *lc,
		sig:     make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	// Every shard listens: shard 0 first, so that it alone decides
	// whether the port is free (every shard has the same listeners) and
	// picks port 0's; a later shard that fails undoes the earlier ones.
	for i, sh := range s.shards {
		sh.mu.Lock()
		var sl *stack.Listener
		switch {
		case sh.closed:
			err = net.ErrClosed
		case ap.Port() != 0:
			sl, err = sh.st.Listen(sh.now(), ap, lc.Backlog)
		default:
			sl, ap, err = sh.listenAnyPort(ap, lc.Backlog)
		}
		if err != nil {
			sh.mu.Unlock()
			l.closeParts(s.shards[:i])
			return fail(tcpAddr(ap), err)
		}
		l.parts[i] = sl
		sl.SetNotifier((*listenerNotifier)(l))
		sh.lns[l] = struct{}{}
		sh.mu.Unlock()
	}
	l.addr = net.TCPAddrFromAddrPort(ap)
	return l, nil
}

// listenAnyPort listens on the first free port of the stack's ephemeral
// range, searching on from where the last search stopped. Under the
// shard's mu.
func (s *shard) listenAnyPort(ap netip.AddrPort, backlog int) (*stack.Listener, netip.AddrPort, error) {
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

// Listener is a TCP listener of a Stack; it implements net.Listener. In a
// sharded Stack it has a part in every shard, and Accept takes from any.
type Listener struct {
	s       *Stack
	parts   []*stack.Listener // parts[i] in shard i, guarded by its mu
	network string
	addr    *net.TCPAddr
	lc      ListenConfig
	next    atomic.Uint32 // the shard the next Accept looks in first

	sig  chan struct{} // capacity 1: poked when a connection can be accepted
	done chan struct{} // closed by markClosed or Close

	closed    atomic.Bool
	closeOnce sync.Once
}

type listenerNotifier Listener

// Notify is called by the stack, under a shard's mu: it must not block.
func (n *listenerNotifier) Notify() { poke(n.sig) }

// markClosed closes l for its users and lets go of its part in sh; under
// sh's mu.
func (l *Listener) markClosed(sh *shard) {
	l.closed.Store(true)
	l.closeOnce.Do(func() { close(l.done) })
	l.parts[sh.st.Shard()].SetNotifier(nil)
	delete(sh.lns, l)
}

// closeParts closes l's parts in shards, those not closed already.
func (l *Listener) closeParts(shards []*shard) {
	for _, sh := range shards {
		sh.mu.Lock()
		if _, open := sh.lns[l]; open {
			l.parts[sh.st.Shard()].Close(sh.now())
			l.markClosed(sh)
			sh.rearm()
		}
		sh.mu.Unlock()
	}
}

// Accept waits for the next established connection and returns it, a
// *Conn configured with the ListenConfig's keepalive and no-delay on.
// After Close it returns a *net.OpError wrapping net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	n := len(l.parts)
	for {
		if l.closed.Load() {
			return nil, &net.OpError{Op: "accept", Net: l.network, Addr: l.addr, Err: net.ErrClosed}
		}
		// Shards in turn, from where the last Accept found one.
		start := int(l.next.Load())
		for k := range n {
			i := (start + k) % n
			if c := l.acceptFrom(i); c != nil {
				l.next.Store(uint32(i + 1))
				return c, nil
			}
		}
		select {
		case <-l.sig:
		case <-l.done:
		}
	}
}

// acceptFrom takes a connection from shard i's part, if it has one.
func (l *Listener) acceptFrom(i int) *Conn {
	sh := l.s.shards[i]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l.closed.Load() {
		return nil
	}
	sc := l.parts[i].Accept()
	if sc == nil {
		return nil
	}
	c := sh.newConn(sc, l.network)
	c.applyKeepAlive(l.lc.KeepAlive, l.lc.KeepAliveConfig)
	sh.rearm()
	// For another Accept waiting: one poke stands for any number of
	// arrivals, so pass it on while this shard has more, or, with shards,
	// always (another shard may have some; a waiter looks and waits again).
	if _, more := l.parts[i].Pending(); more > 0 || len(l.parts) > 1 {
		poke(l.sig)
	}
	return c
}

// Close stops listening: blocked and later Accepts return net.ErrClosed;
// connections not yet accepted are released as close(2) would (FIN, or
// RST with unread data) and half-open ones dropped; later SYNs are
// answered with RST.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: l.network, Addr: l.addr, Err: net.ErrClosed}
	}
	l.closeParts(l.s.shards)
	return nil
}

// Addr returns the listener's address, a *net.TCPAddr; with port 0 asked,
// the port chosen.
func (l *Listener) Addr() net.Addr { return l.addr }
