package stack

import (
	"errors"
	"net/netip"
	"sort"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// listenKey is a local address and port; any marks a wildcard listener.
type listenKey struct {
	addr [16]byte
	port uint16
	any  bool
}

// Listener is a passive OPEN on an address and port, with a SYN queue of
// half-open records and an accept queue of established connections kept
// apart (as Linux does), each bounded.
type Listener struct {
	s        *Stack
	key      listenKey
	addr     netip.AddrPort
	backlog  int
	synCount int
	acceptQ  []*Conn
	notify   Notifier
	closed   bool
	// lastCookie is when the listener last answered a SYN with a cookie
	// (Linux's last_overflow); zero if never.
	lastCookie time.Time
	// tcb is the listener's own TCB in LISTEN: its OPEN and CLOSE go
	// through the core's one transition function, so traces show CLOSED →
	// LISTEN and LISTEN → CLOSED like every other transition.
	tcb tcp.Conn

	// User is free for the driver.
	User any
}

// halfOpen is a SYN queue entry: a compact record, its listener and its
// place in the timer queue. No buffers until the handshake completes.
type halfOpen struct {
	rec     tcp.HalfOpen
	t       tuple
	l       *Listener
	slotIdx int
}

func (h *halfOpen) when() int64 { return h.rec.Deadline }
func (h *halfOpen) slot() *int  { return &h.slotIdx }

// Listen opens a listener on addr (an unspecified or invalid address means
// every local address): a passive OPEN (RFC 9293 §3.10.1) at now. backlog
// ≤ 0 means the stack's default.
func (s *Stack) Listen(now time.Time, addr netip.AddrPort, backlog int) (*Listener, error) {
	if addr.Port() == 0 {
		return nil, errors.New("stack: listen needs a port")
	}
	k := listenKey{port: addr.Port()}
	if a := addr.Addr(); a.IsValid() && !a.IsUnspecified() {
		if s.local[a] == nil {
			return nil, errAddrNotAvail
		}
		k.addr = a.As16()
	} else {
		k.any = true
	}
	// Only another listener conflicts: connections on the port do not, as
	// with SO_REUSEADDR, which Go sets on every listener (a restarted
	// server listens again while its old connections finish).
	if s.listeners[k] != nil {
		return nil, errAddrInUse
	}
	if backlog <= 0 {
		backlog = s.cfg.Backlog
	}
	l := &Listener{s: s, key: k, addr: addr, backlog: backlog}
	s.listeners[k] = l
	s.initTCB(&l.tcb, nil, (*listenHooks)(l))
	l.tcb.OpenPassive(now, tcp.OpenOptions{LocalPort: addr.Port()})
	return l, nil
}

// ID names the listener in traces: its address, no remote end.
func (l *Listener) ID() ID { return ID{Local: l.addr} }

// listenHooks sends the listener TCB's events to the stack's observer.
type listenHooks Listener

func (h *listenHooks) Event(now time.Time, _ *tcp.Conn, e *tcp.Event) {
	if o := h.s.cfg.Observer; o != nil {
		o.ConnEvent(now, (*Listener)(h).ID(), e)
	}
}

func (s *Stack) listenerOn(addr [16]byte, port uint16) bool {
	return s.listeners[listenKey{addr: addr, port: port}] != nil || s.listeners[listenKey{port: port, any: true}] != nil
}

func (s *Stack) findListener(t *tuple) *Listener {
	if l := s.listeners[listenKey{addr: t.laddr, port: t.lport}]; l != nil {
		return l
	}
	return s.listeners[listenKey{port: t.lport, any: true}]
}

// Addr returns the address the listener was opened on.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

// SetNotifier sets who is told when a connection can be accepted.
func (l *Listener) SetNotifier(n Notifier) { l.notify = n }

// Pending returns the sizes of the SYN queue and the accept queue.
func (l *Listener) Pending() (syn, accept int) { return l.synCount, len(l.acceptQ) }

// Accept returns the oldest established connection, or nil.
func (l *Listener) Accept() *Conn {
	if len(l.acceptQ) == 0 {
		return nil
	}
	c := l.acceptQ[0]
	l.acceptQ[0] = nil
	l.acceptQ = l.acceptQ[1:]
	c.l = nil
	return c
}

// Close stops listening: half-open records are dropped, and connections
// never accepted are aborted with RST, as Linux inet_csk_listen_stop does
// (tcp_disconnect): their clients see ECONNRESET, not an EOF that would
// pass for a served request.
func (l *Listener) Close(now time.Time) {
	if l.closed {
		return
	}
	s := l.s
	l.closed = true
	delete(s.listeners, l.key)
	var hs []*halfOpen
	for _, h := range s.half {
		if h.l == l {
			hs = append(hs, h)
		}
	}
	sort.Slice(hs, func(i, j int) bool { return tupleLess(&hs[i].t, &hs[j].t) })
	for _, h := range hs {
		// As Linux, the half-open connections go with their listener.
		s.restoreHalf(now, h).Forget(now, tcp.CauseListenerClosed)
		s.removeHalf(h)
	}
	q := l.acceptQ
	l.acceptQ = nil
	for _, c := range q {
		c.l = nil
		c.Abort(now)
	}
	l.tcb.Close(now) // LISTEN → CLOSED (RFC 9293 §3.10.4)
	if l.notify != nil {
		l.notify.Notify()
	}
}

// Closed reports whether Close was called.
func (l *Listener) Closed() bool { return l.closed }

// arrive handles a segment for a listener. The core's LISTEN rules
// (RFC 9293 §3.10.7.2, tcp.ListenDecide) decide; the listener adds only
// what a stack has and a TCB does not: its queues and its SYN cookies.
func (l *Listener) arrive(now time.Time, t tuple, seg *wire.Segment, oldSndNxt seq.Num, reopen bool) {
	s := l.s
	var iss seq.Num
	switch act, _ := tcp.ListenDecide(seg); act {
	case tcp.ListenDrop:
		if seg.Flags&wire.FlagRST != 0 {
			s.stats.drop(DropRSTNoConn)
		} else {
			s.stats.drop(DropListen)
		}
	case tcp.ListenReset:
		// Linux checks a cookie only within TCP_SYNCOOKIE_VALID (2 min) of
		// the last one this listener sent (cookie_v4_check,
		// tcp_synq_no_recent_overflow): blind guessing is not open on a
		// listener that is not under a flood.
		if s.cookieRecent(l, now) && s.cookieAccept(now, l, t, seg) {
			return
		}
		s.stats.drop(DropNoConn)
	case tcp.ListenOpen:
		if len(l.acceptQ) >= l.backlog {
			// Linux drops a SYN while the accept queue is full; the
			// client retries.
			s.stats.ListenOverflows++
			s.segDrop(now, &t, seg, DropAcceptQueueFull)
			return
		}
		full := l.synCount >= s.cfg.SynBacklog
		switch {
		case s.cfg.SynCookies == CookiesAlways || (full && s.cfg.SynCookies == CookiesAuto):
			l.lastCookie = now // Linux tcp_synq_overflow, in cookie_init_sequence
			s.sendCookie(now, t, seg)
			return
		case full:
			s.segDrop(now, &t, seg, DropSynQueueFull)
			return
		}
		iss = s.isn(&t, now)
		if reopen && iss.LessThan(oldSndNxt.Add(65535+2)) {
			iss = oldSndNxt.Add(65535 + 2) // Linux tcp_timewait_state_process
		}
	}
	sc := s.useScratch(t, false)
	sc.ListenArrive(now, tcp.OpenOptions{LocalPort: t.lport, ISS: iss, TSOffset: s.tsOffset(&t), MSS: s.routeMSS(now, &t)}, seg)
	if sc.State() != tcp.StateSynReceived {
		return
	}
	h := &halfOpen{rec: sc.SaveHalfOpen(), t: t, l: l, slotIdx: -1}
	s.half[t] = h
	l.synCount++
	s.timers.update(h)
}

// restoreHalf loads a SYN queue record into the scratch TCB.
func (s *Stack) restoreHalf(now time.Time, h *halfOpen) *tcp.Conn {
	sc := s.useScratch(h.t, false)
	sc.RestoreHalfOpen(now, &h.rec)
	return sc
}

func (s *Stack) halfArrive(now time.Time, h *halfOpen, seg *wire.Segment) {
	if seg.Flags&(wire.FlagACK|wire.FlagSYN|wire.FlagRST) == wire.FlagACK && len(h.l.acceptQ) >= h.l.backlog {
		// Linux keeps the request and ignores the ACK while the accept
		// queue is full (tcp_check_req, ListenOverflows).
		s.stats.ListenOverflows++
		s.segDrop(now, &h.t, seg, DropAcceptQueueFull)
		return
	}
	sc := s.restoreHalf(now, h)
	sc.SegmentArrives(now, seg)
	s.settleHalf(now, h)
}

func (s *Stack) halfTick(now time.Time, h *halfOpen) {
	sc := s.restoreHalf(now, h)
	sc.Tick(now)
	s.settleHalf(now, h)
}

// settleHalf stores the scratch TCB back: still half-open, gone (RST,
// give-up), or a connection for the accept queue.
func (s *Stack) settleHalf(now time.Time, h *halfOpen) {
	switch s.scratch.State() {
	case tcp.StateSynReceived:
		h.rec = s.scratch.SaveHalfOpen()
		s.timers.update(h)
	case tcp.StateListen, tcp.StateClosed:
		s.removeHalf(h)
	default:
		s.removeHalf(h)
		s.promote(now, h.l, h.t)
	}
}

// promote moves the scratch TCB into a connection of its own and queues it
// for Accept.
func (s *Stack) promote(now time.Time, l *Listener, t tuple) *Conn {
	c := &Conn{s: s, t: t, slotIdx: -1}
	c.tcp = s.scratch
	c.tcp.SetHooks((*hooks)(c), (*hooks)(c))
	s.initTCB(&s.scratch, nil, nil)
	s.addConn(c)
	if l != nil {
		c.l = l
		l.acceptQ = append(l.acceptQ, c)
	}
	s.after(now, c)
	return c
}

func (s *Stack) removeHalf(h *halfOpen) {
	if s.half[h.t] != h {
		return
	}
	delete(s.half, h.t)
	h.l.synCount--
	h.rec.Deadline = 0
	s.timers.remove(h)
}

func tupleLess(a, b *tuple) bool {
	for i := range a.laddr {
		if a.laddr[i] != b.laddr[i] {
			return a.laddr[i] < b.laddr[i]
		}
	}
	for i := range a.raddr {
		if a.raddr[i] != b.raddr[i] {
			return a.raddr[i] < b.raddr[i]
		}
	}
	if a.lport != b.lport {
		return a.lport < b.lport
	}
	return a.rport < b.rport
}

func (s *Stack) listenersSorted() []*Listener {
	ls := make([]*Listener, 0, len(s.listeners))
	for _, l := range s.listeners {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool {
		a, b := ls[i].key, ls[j].key
		if a.port != b.port {
			return a.port < b.port
		}
		return string(a.addr[:]) < string(b.addr[:])
	})
	return ls
}

func (s *Stack) connsSorted() []*Conn {
	cs := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return tupleLess(&cs[i].t, &cs[j].t) })
	return cs
}
