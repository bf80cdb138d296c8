package netconn

import (
	"net"
	"net/netip"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
)

// Stack runs a stack.Stack for ordinary goroutines: its links deliver
// packets into it, one runtime timer drives its timers, and Dial, Listen
// and the methods of Conn and Listener call into it, each holding the one
// mutex. See the package documentation for the lock and the clock.
type Stack struct {
	// mu serializes every call into st, which is single-threaded, and
	// guards everything reached through it (every stack.Conn and
	// stack.Listener), the fields below, and the fields of Conn and
	// Listener marked "guarded by Stack.mu".
	//
	// While holding mu, netconn calls only into st, and st calls out
	// only to links' WritePacket (link.Pipe and link.Faulty queue or
	// drop the packet and never deliver on the writer's goroutine), to
	// the Notifiers of package netconn (non-blocking channel sends) and
	// to the Observer of stack.Config. Nothing holding mu waits for
	// anything else: no channel operation that can block, no other
	// lock of netconn's (each deadline's own mutex is taken only
	// without mu), no link Close, no user code but the Observer and a
	// Faulty's Drop function, which must not call back into netconn.
	mu      lock // a mutex that queues packets arriving while it is held; see lock
	st      *stack.Stack
	links   []link.Endpoint
	conns   map[*Conn]struct{}     // open Conns, Dials in progress included
	lns     map[*Listener]struct{} // open Listeners
	timer   *time.Timer            // fires tick; nil until first armed
	timerAt time.Time              // deadline timer is armed for; zero: not armed
	closed  bool
	nextLP  uint32 // where the next search for a free listening port starts

	base time.Time // the clock's origin; see now
}

// DefaultBacklog is a netconn listener's accept queue when neither its
// ListenConfig nor the stack's Config sets one: what Go's net.Listen gets
// on Linux (net.core.somaxconn, 4096 since Linux 5.4).
const DefaultBacklog = 4096

// New returns a stack with the settings cfg and no links. A zero
// cfg.Backlog means DefaultBacklog.
//
// Inside a testing/synctest bubble, call New (and create the links) inside
// the bubble: the stack's timer and its connections' channels then belong
// to the bubble, and its clock is the bubble's virtual clock.
func New(cfg stack.Config) *Stack {
	if cfg.Backlog <= 0 {
		// Go's net.Listen asks Linux for somaxconn, 4096 since Linux 5.4;
		// the listen(2) default of 128 that stack keeps overflows under a
		// burst of dials, and a SYN refused for a full accept queue waits
		// a whole initial RTO (1 s) to be sent again.
		cfg.Backlog = DefaultBacklog
	}
	s := &Stack{
		st:    stack.New(cfg),
		conns: make(map[*Conn]struct{}),
		lns:   make(map[*Listener]struct{}),
		base:  time.Now(),
	}
	s.mu.s = s
	return s
}

// now is the stack's clock: the wall time when the Stack was made plus the
// monotonic time elapsed since, so that a step of the wall clock (NTP,
// settimeofday) never moves the stack's timers. Inside a synctest bubble
// both are the bubble's virtual time.
func (s *Stack) now() time.Time { return s.base.Add(time.Since(s.base)) }

// AddLink attaches a link with the stack's addresses on it. Packets that
// arrive on the link are delivered to the stack under the lock; the stack
// writes packets to it under the lock, so WritePacket must neither block
// for long nor deliver packets on the caller's goroutine (link.Pipe and
// link.Faulty do neither). Stack.Close closes the link.
func (s *Stack) AddLink(ep link.Endpoint, addrs ...netip.Prefix) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	if err := s.st.AddLink(ep, addrs...); err != nil {
		s.mu.Unlock()
		return err
	}
	s.links = append(s.links, ep)
	s.mu.Unlock()
	ep.Attach(receiver{s})
	return nil
}

// receiver is every link's receiver. A batch of packets is delivered
// under one lock, with one reading of the clock and one re-arming of the
// timer; if an application holds the lock, the packets wait in its
// backlog and it delivers them as it lets go (see lock).
type receiver struct{ s *Stack }

func (r receiver) DeliverPacket(pkt []byte) { r.s.mu.deliver([][]byte{pkt}, false) }

func (r receiver) DeliverBatch(pkts [][]byte, trusted bool) { r.s.mu.deliver(pkts, trusted) }

func (r receiver) DeliverOwned(pkt []byte, trusted bool, release func([]byte)) bool {
	return r.s.mu.deliverOwned(pkt, trusted, release)
}

// deliverLocked hands packets to the stack; the lock is held.
func (s *Stack) deliverLocked(pkts [][]byte, trusted bool) {
	if s.closed {
		return
	}
	now := s.now()
	for _, p := range pkts {
		if trusted {
			s.st.DeliverTrusted(now, p)
		} else {
			s.st.Deliver(now, p)
		}
	}
	s.rearm()
}

// BacklogDrops counts the packets dropped because too many arrived while
// the stack's lock was held (more than 4096 waiting).
func (s *Stack) BacklogDrops() uint64 { return s.mu.drops.Load() }

// rearm points the timer at the stack's next deadline. It runs, under
// the lock, after every call into the stack.
func (s *Stack) rearm() {
	next, ok := s.st.NextDeadline()
	if !ok {
		if !s.timerAt.IsZero() {
			s.timer.Stop()
			s.timerAt = time.Time{}
		}
		return
	}
	if !s.timerAt.IsZero() && !next.Before(s.timerAt) {
		// The armed timer fires first and its tick re-arms: a deadline
		// that moves later (the retransmission timer, on every ACK) costs
		// no timer reset.
		return
	}
	d := next.Sub(s.now()) // ≤ 0 fires at once
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.tick)
	} else {
		s.timer.Reset(d)
	}
	s.timerAt = next
}

// tick runs the stack's due timers. A run that a Reset made stale finds
// nothing due and re-arms.
func (s *Stack) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.timerAt = time.Time{}
	s.st.Tick(s.now())
	s.rearm()
}

// Do calls f with the underlying stack and the current time, under the
// lock, then re-arms the timer: for Snapshot, Counters and settings the
// netconn API does not reach. f must not block nor call any method of
// package netconn (it would deadlock), and must not keep st.
func (s *Stack) Do(f func(st *stack.Stack, now time.Time)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	f(s.st, s.now())
	s.rearm()
	return nil
}

// Close shuts the stack down the way a process exit closes its sockets,
// then closes its links:
//
//   - every connection is released as close(2) releases it (stack
//     Shutdown): a FIN to the peer after the queued data, or a RST where
//     received data was never read or SetLinger(0) was called;
//   - every listener is closed, and the connections it had not handed to
//     Accept are released the same way;
//   - every Conn and Listener of this Stack is closed: blocked and later
//     calls return errors wrapping net.ErrClosed (a Dial in progress too);
//   - the timer stops at once, and the links are detached and closed.
//
// The stack stops immediately rather than when it becomes idle: nothing
// is left to retransmit a lost FIN or to hold TIME-WAIT, and packets a
// link was still holding (a Faulty's delay line) are discarded with it.
// What was already written to a link.Pipe still reaches the peer. Close
// waits for no goroutine; the links' goroutines exit when they are
// closed. A second Close returns net.ErrClosed.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	now := s.now()
	for c := range s.conns {
		if c.linger == 0 {
			c.sc.Abort(now)
		}
	}
	s.st.Shutdown(now)
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		c.markClosed()
		conns = append(conns, c)
	}
	for l := range s.lns {
		l.markClosed()
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timerAt = time.Time{}
	}
	links := s.links
	s.links = nil
	s.mu.Unlock()

	for _, c := range conns {
		c.rdl.set(time.Time{})
		c.wdl.set(time.Time{})
	}
	var first error
	for _, ep := range links {
		ep.Attach(nil)
		if err := ep.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
