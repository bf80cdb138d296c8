package netconn

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// Dialer holds options for connecting, as net.Dialer does. The zero value
// with Stack set dials as Stack.Dial does.
type Dialer struct {
	// Stack is the stack to dial from; required.
	Stack *Stack

	// Timeout bounds the whole dial, as net.Dialer's: zero means no
	// timeout other than the context's and Deadline, and the stack's own
	// SYN give-up (tcp.Config.SynRetries; ETIMEDOUT).
	Timeout time.Duration

	// Deadline is an absolute time after which the dial fails; zero
	// means none. The earliest of Timeout, Deadline and the context's
	// deadline applies.
	Deadline time.Time

	// LocalAddr is the local address to dial from, a *net.TCPAddr; nil,
	// or an unspecified IP or port, lets the stack choose (RFC 6056
	// ephemeral ports).
	LocalAddr net.Addr

	// KeepAlive is the idle time before keepalive probes start, as in
	// net.Dialer: zero means keepalive on with Go's default of 15 s,
	// negative means off unless KeepAliveConfig.Enable is set. It is
	// ignored if KeepAliveConfig.Enable is true.
	KeepAlive time.Duration

	// KeepAliveConfig configures keepalive, as in net.Dialer: when
	// Enable is true it applies as Conn.SetKeepAliveConfig does (zero
	// fields take Go's defaults of 15 s, 15 s and 9 probes; negative ones
	// keep the stack's tcp.Config values).
	KeepAliveConfig net.KeepAliveConfig
}

// Dial connects to address on network ("tcp", "tcp4" or "tcp6"; the host
// must be an IP address) with a zero Dialer: keepalive on with Go's
// defaults, no timeout but the stack's SYN give-up.
func (s *Stack) Dial(network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context; see Dialer.DialContext.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := Dialer{Stack: s}
	return d.DialContext(ctx, network, address)
}

// Dial connects to address on network; see DialContext.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to address on network ("tcp", "tcp4" or "tcp6";
// the host must be an IP address, as netconn does no name resolution).
// It sends a SYN and blocks until the connection is established, and
// returns a *Conn.
//
// Errors are *net.OpError with Op "dial" wrapping: syscall.ECONNREFUSED
// when the peer answers with RST; syscall.ETIMEDOUT when the SYN
// retransmissions are exhausted (tcp.Config.SynRetries); the context's
// error when ctx is done or Timeout or Deadline pass first, after which
// the attempt is aborted (RFC 9293 ABORT: the connection is forgotten,
// and a RST sent if the peer already holds state); net.ErrClosed when the
// Stack is closed; the stack's syscall errors (EADDRINUSE,
// EADDRNOTAVAIL, ENETUNREACH) and *net.AddrError or
// net.UnknownNetworkError for bad arguments.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var laddr net.Addr // the OpError's Source: d.LocalAddr, as net's
	var local netip.AddrPort
	switch a := d.LocalAddr.(type) {
	case nil:
	case *net.TCPAddr:
		if a != nil {
			laddr = a
			local = a.AddrPort()
			local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
		}
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Source: a, Err: &net.AddrError{Err: "mismatched local address type", Addr: a.String()}}
	}
	fail := func(raddr net.Addr, err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Source: laddr, Addr: raddr, Err: err}
	}
	s := d.Stack
	if s == nil {
		return fail(nil, errors.New("netconn: Dialer.Stack is nil"))
	}
	remote, err := parseAddr(network, address, false)
	if err != nil {
		return fail(nil, err)
	}
	raddr := tcpAddr(remote)

	if dl, ok := d.deadline(time.Now()); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return fail(raddr, err)
	}

	sh, c, err := s.open(local, remote, network)
	if err != nil {
		return fail(raddr, err)
	}
	c.applyKeepAlive(d.KeepAlive, d.KeepAliveConfig)
	sh.rearm()
	sc := c.sc
	sh.mu.Unlock()

	for {
		sh.mu.Lock()
		if c.closed { // Stack.Close
			sh.mu.Unlock()
			return fail(raddr, net.ErrClosed)
		}
		switch st := sc.State(); {
		case st == tcp.StateClosed:
			err := sc.Err()
			if err == nil {
				err = syscall.ECONNABORTED // closed without a reason: not expected
			}
			c.markClosed()
			sh.mu.Unlock()
			return fail(raddr, err)
		case st.Synchronized():
			// The channel the handshake was waited on goes: an idle
			// connection need not keep it, and a Write that waits makes
			// it again. Nothing else holds it yet (c is not returned).
			c.wsig = nil
			sh.mu.Unlock()
			return c, nil
		}
		sig := c.writeSig()
		sh.mu.Unlock()
		select {
		case <-sig:
		case <-ctx.Done():
			sh.mu.Lock()
			if !c.closed {
				sc.Abort(sh.now())
				c.markClosed()
				sh.rearm()
			}
			sh.mu.Unlock()
			return fail(raddr, ctx.Err())
		}
	}
}

// open starts the connection in the shard it belongs to, and returns
// with that shard's lock held: a given local port in the home shard of
// its tuple, once no shard has the port bound; an ephemeral one in the
// next shard round, or the others in turn when that one's share of the
// ports is used.
func (s *Stack) open(local, remote netip.AddrPort, network string) (*shard, *Conn, error) {
	try := func(sh *shard) (*Conn, error) {
		sh.mu.Lock()
		if sh.closed {
			sh.mu.Unlock()
			return nil, net.ErrClosed
		}
		sc, err := sh.st.Dial(sh.now(), local, remote)
		if err != nil {
			sh.mu.Unlock()
			return nil, err
		}
		return sh.newConn(sc, network), nil
	}
	if len(s.shards) == 1 {
		c, err := try(s.shards[0])
		return s.shards[0], c, err
	}
	if local.Port() == 0 {
		start := int(s.next.Add(1))
		var err error
		for k := range s.shards {
			sh := s.shards[(start+k)%len(s.shards)]
			var c *Conn
			if c, err = try(sh); err == nil {
				return sh, c, nil
			}
			if !errors.Is(err, syscall.EADDRNOTAVAIL) {
				break
			}
		}
		return nil, nil, err
	}
	laddr := local.Addr()
	if !laddr.IsValid() || laddr.IsUnspecified() {
		sh := s.shards[0]
		sh.mu.Lock()
		a, ok := sh.st.SourceFor(remote.Addr())
		sh.mu.Unlock()
		if !ok {
			return nil, nil, syscall.ENETUNREACH
		}
		laddr = a
	}
	local = netip.AddrPortFrom(laddr, local.Port())
	home := s.shards[s.group.Home(stack.ID{Local: local, Remote: remote})]
	// A port another shard has bound is in use here too: ask them all,
	// and let no other Dial from a given port in between.
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	for _, sh := range s.shards {
		if sh == home {
			continue
		}
		sh.mu.Lock()
		bound := sh.st.PortBound(local)
		sh.mu.Unlock()
		if bound {
			return nil, nil, syscall.EADDRINUSE
		}
	}
	c, err := try(home)
	return home, c, err
}

// deadline returns the earliest of the Timeout and Deadline limits, as
// net.Dialer's.
func (d *Dialer) deadline(now time.Time) (time.Time, bool) {
	var dl time.Time
	if d.Timeout != 0 {
		dl = now.Add(d.Timeout)
	}
	if !d.Deadline.IsZero() && (dl.IsZero() || d.Deadline.Before(dl)) {
		dl = d.Deadline
	}
	return dl, !dl.IsZero()
}
