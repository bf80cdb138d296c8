package stack

import (
	"net/netip"
	"syscall"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// Conn is one connection of the stack. Its methods, like the stack's, run
// on the stack's goroutine and never block: Read returns (0, nil) when
// nothing is there yet, and Notify says when to try again.
type Conn struct {
	tcp     tcp.Conn
	t       tuple
	inTable bool // beside t, in its padding: Conn is 768 bytes, a 768-byte size class (TestTCBSizeClass)
	fwdSlot bool // holds a forwarder in-flight slot until the handshake ends
	s       *Stack
	l       *Listener // accept queue holding it, until Accept
	at      int64     // earliest timer, Unix ns; 0 = none
	slotIdx int
	notify  Notifier

	// User is free for the code that drives the stack (netconn, the
	// simulator's applications).
	User any
}

func (c *Conn) when() int64 { return c.at }
func (c *Conn) slot() *int  { return &c.slotIdx }

// hooks is the Conn seen by its tcp.Conn: Output and Observer.
type hooks Conn

func (h *hooks) Segment(now time.Time, _ *tcp.Conn, seg *wire.Segment, why tcp.Cause) {
	c := (*Conn)(h)
	c.s.send(now, &c.t, seg, why)
}

func (h *hooks) Event(now time.Time, _ *tcp.Conn, e *tcp.Event) {
	c := (*Conn)(h)
	c.s.connEvent(now, &c.t, e)
}

// scratchHooks routes the scratch TCB's output to the record in hand.
type scratchHooks Stack

func (h *scratchHooks) Segment(now time.Time, _ *tcp.Conn, seg *wire.Segment, why tcp.Cause) {
	s := (*Stack)(h)
	if s.scratchCookie {
		why = tcp.CauseCookieSent
	}
	s.send(now, &s.scratchT, seg, why)
}

func (h *scratchHooks) Event(now time.Time, _ *tcp.Conn, e *tcp.Event) {
	s := (*Stack)(h)
	if s.scratchCookie {
		return // a cookie is no connection: nothing to trace
	}
	s.connEvent(now, &s.scratchT, e)
}

// connEvent keeps the RFC 4022 counters and forwards to the observer.
func (s *Stack) connEvent(now time.Time, t *tuple, e *tcp.Event) {
	if e.Kind == tcp.EventState {
		s.stats.transition(e.From, e.To)
	}
	if o := s.cfg.Observer; o != nil {
		o.ConnEvent(now, t.id(), e)
	}
}

// initTCB resets a TCB for this stack: its settings, its hooks, and the
// one Scratch all of the stack's TCBs hand segments and events out of
// (the stack drives them from one goroutine, one at a time).
func (s *Stack) initTCB(c *tcp.Conn, out tcp.Output, obs tcp.Observer) {
	c.Init(&s.cfg.TCP, out, obs)
	c.SetScratch(&s.io)
}

func (s *Stack) newConn(t tuple) *Conn {
	c := &Conn{s: s, t: t, slotIdx: -1}
	s.initTCB(&c.tcp, (*hooks)(c), (*hooks)(c))
	return c
}

func (s *Stack) addConn(c *Conn) {
	if n := s.nicFor(addrOf(c.t.laddr)); n != nil && n.gso > 0 {
		c.tcp.SetGSOMax(n.gso)
	}
	s.conns[c.t] = c
	c.inTable = true
	s.bound[listenKey{addr: c.t.laddr, port: c.t.lport}]++
}

func (s *Stack) removeConn(c *Conn) {
	if !c.inTable {
		return
	}
	delete(s.conns, c.t)
	c.inTable = false
	k := listenKey{addr: c.t.laddr, port: c.t.lport}
	if s.bound[k]--; s.bound[k] <= 0 {
		delete(s.bound, k)
	}
	c.at = 0
	s.timers.remove(c)
}

// after runs once a segment or a timer has been through c's TCB: settle
// it, then tell whoever waits on it. The application's own calls settle
// without notifying: the caller knows what it did, and a notification
// answering every call would let an application that reacts to
// notifications spin forever.
func (s *Stack) after(now time.Time, c *Conn) {
	s.settle(now, c)
	if c.notify != nil {
		c.notify.Notify()
	}
	if c.l != nil && c.l.notify != nil {
		c.l.notify.Notify()
	}
}

// settle frees a CLOSED connection, compacts an orphan in TIME-WAIT and
// reschedules the connection's timers.
func (s *Stack) settle(now time.Time, c *Conn) {
	if c.fwdSlot && c.tcp.State() != tcp.StateSynReceived {
		c.fwdSlot = false
		if s.fwd != nil {
			s.fwd.inFlight--
		}
	}
	switch c.tcp.State() {
	case tcp.StateClosed, tcp.StateListen:
		// CLOSED, or a passive connection reset back to LISTEN (Note 3):
		// its listener, if any, lives on without it.
		s.removeConn(c)
	case tcp.StateTimeWait:
		if c.tcp.Orphaned() && c.inTable {
			s.compactTimeWait(now, c)
		}
	}
	if c.inTable {
		c.at = 0
		if d, ok := c.tcp.NextDeadline(); ok {
			c.at = d.UnixNano()
		}
		s.timers.update(c)
	}
}

// Dial opens a connection (active OPEN) from local (the zero value picks
// an address and an ephemeral port) to remote. The connection is returned
// in SYN-SENT; Notify reports when it is established or has failed.
func (s *Stack) Dial(now time.Time, local, remote netip.AddrPort) (*Conn, error) {
	if !remote.IsValid() || remote.Port() == 0 {
		return nil, syscall.EINVAL
	}
	laddr := local.Addr()
	if !laddr.IsValid() || laddr.IsUnspecified() {
		a, ok := s.sourceFor(remote.Addr())
		if !ok {
			return nil, syscall.ENETUNREACH
		}
		laddr = a
	} else if s.local[laddr] == nil {
		return nil, syscall.EADDRNOTAVAIL
	}
	if laddr.Is4() != remote.Addr().Is4() {
		return nil, syscall.EAFNOSUPPORT
	}
	t := makeTuple(netip.AddrPortFrom(laddr, local.Port()), remote)
	var iss uint32
	reuse := false
	if local.Port() != 0 {
		if !s.atHome(&t) {
			return nil, errNotHome
		}
		if s.bound[listenKey{addr: t.laddr, port: t.lport}] > 0 || s.listenerOn(t.laddr, t.lport) {
			return nil, errAddrInUse
		}
		if _, ok := s.tw.get(&t); ok {
			if !s.twReusable(now, &t) {
				return nil, errAddrInUse
			}
			reuse = true
		}
	} else {
		var ok bool
		if t.lport, reuse, ok = s.ephemeralPort(now, &t); !ok {
			return nil, syscall.EADDRNOTAVAIL
		}
	}
	iss = uint32(s.isn(&t, now))
	o := tcp.OpenOptions{LocalPort: t.lport, RemotePort: t.rport, TSOffset: s.tsOffset(&t), MSS: s.routeMSS(now, &t)}
	if reuse {
		// Linux tcp_twsk_unique: the new ISN lies beyond anything the old
		// incarnation sent, so its stray segments cannot be mistaken, and
		// its TS.Recent carries over for PAWS.
		rec, _ := s.tw.get(&t)
		if min := uint32(rec.SndNxt) + 65535 + 2; int32(iss-min) < 0 {
			iss = min
		}
		o.TSRecent, o.HasTSRecent = rec.TSRecent, rec.Timestamps()
		s.dropTimeWait(now, t, tcp.CauseTWReuse)
	}
	o.ISS = seq.Num(iss)
	c := s.newConn(t)
	s.addConn(c)
	c.tcp.OpenActive(now, o)
	s.settle(now, c)
	return c, nil
}

// ID returns the connection's 4-tuple.
func (c *Conn) ID() ID { return c.t.id() }

// LocalAddr returns the local address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.t.Local() }

// RemoteAddr returns the remote address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.t.Remote() }

// State returns the connection's state.
func (c *Conn) State() tcp.State { return c.tcp.State() }

// Err returns the error that ended the connection, if any.
func (c *Conn) Err() error { return c.tcp.Err() }

// TCB gives read access to the connection's TCB for status and tests.
func (c *Conn) TCB() *tcp.Conn { return &c.tcp }

// SetNotifier sets who is told of changes.
func (c *Conn) SetNotifier(n Notifier) { c.notify = n }

// Readable returns the bytes Read would return now.
func (c *Conn) Readable() int { return c.tcp.Readable() }

// Writable returns how many bytes Write would take now.
func (c *Conn) Writable() int { return c.tcp.Writable() }

// Read reads received data: (0, nil) means none yet, io.EOF the peer's
// FIN after all data.
func (c *Conn) Read(now time.Time, p []byte) (int, error) {
	n, err := c.tcp.Receive(now, p)
	c.s.settle(now, c)
	return n, err
}

// Write queues data; it returns how much the send buffer took.
func (c *Conn) Write(now time.Time, p []byte) (int, error) {
	n, err := c.tcp.Send(now, p)
	c.s.settle(now, c)
	return n, err
}

// CloseWrite is CLOSE (RFC 9293 §3.10.4): a FIN after the queued data;
// reading goes on (half-close).
func (c *Conn) CloseWrite(now time.Time) error {
	err := c.tcp.Close(now)
	c.s.settle(now, c)
	return err
}

// Close releases the connection as close(2) does: FIN, or RST if received
// data was never read; the stack finishes the close on its own.
func (c *Conn) Close(now time.Time) {
	c.tcp.Detach(now)
	c.s.settle(now, c)
}

// Abort resets the connection (RST) at once: SO_LINGER with zero timeout.
func (c *Conn) Abort(now time.Time) {
	c.tcp.Abort(now)
	c.s.settle(now, c)
}

// SetKeepAlive configures keepalive (RFC 1122 §4.2.3.6).
func (c *Conn) SetKeepAlive(now time.Time, on bool, idle, interval time.Duration, count int) {
	c.tcp.SetKeepAlive(now, on, idle, interval, count)
	c.s.settle(now, c)
}

// SetNoDelay turns Nagle's algorithm off.
func (c *Conn) SetNoDelay(now time.Time, on bool) {
	c.tcp.SetNoDelay(now, on)
	c.s.settle(now, c)
}

// SetUserTimeout sets the RFC 5482 user timeout.
func (c *Conn) SetUserTimeout(now time.Time, d time.Duration) {
	c.tcp.SetUserTimeout(now, d)
	c.s.settle(now, c)
}
