package netconn

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
)

// Stack runs a stack.Stack for ordinary goroutines: its links deliver
// packets into it, one runtime timer drives its timers, and Dial, Listen
// and the methods of Conn and Listener call into it, each holding the one
// mutex. See the package documentation for the lock and the clock.
//
// A Stack made by NewSharded runs several stack.Stacks, its shards (a
// stack.Group), each with its own mutex and timer, so that more than one
// core can run it; see NewSharded.
type Stack struct {
	shards []*shard
	group  *stack.Group
	closed atomic.Bool
	next   atomic.Uint32 // the shard the next ephemeral Dial starts from
	dialMu sync.Mutex    // orders Dials from a given port across shards

	linkMu sync.Mutex
	links  []link.Endpoint // guarded by linkMu; closed by Close
}

// shard is one stack.Stack with its lock and timer; a Stack of one shard
// is what netconn always was.
type shard struct {
	// mu serializes every call into st, which is single-threaded, and
	// guards everything reached through it (every stack.Conn and
	// stack.Listener part of this shard), the fields below, and the
	// fields of Conn marked "guarded by Stack.mu" for Conns of this shard.
	//
	// While holding mu, netconn calls only into st, and st calls out
	// only to links' WritePacket (link.Pipe and link.Faulty queue or
	// drop the packet and never deliver on the writer's goroutine), to
	// the Notifiers of package netconn (non-blocking channel sends), to
	// the Observer of stack.Config, and, in a sharded Stack, to another
	// shard's lock.deliver, which never waits for that shard's mu. Nothing
	// holding mu waits for anything else: no channel operation that can
	// block, no other shard's mu, no other lock of netconn's (each
	// deadline's own mutex is taken only without mu), no link Close, no
	// user code but the Observer and a Faulty's Drop function, which must
	// not call back into netconn.
	mu      lock // a mutex that queues packets arriving while it is held; see lock
	st      *stack.Stack
	conns   map[*Conn]struct{}     // open Conns, Dials in progress included
	lns     map[*Listener]struct{} // open Listeners with a part here
	timer   *time.Timer            // fires tick; nil until first armed
	timerAt time.Time              // deadline timer is armed for; zero: not armed
	closed  bool
	nextLP  uint32 // where the next search for a free listening port starts (shard 0)

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
func New(cfg stack.Config) *Stack { return NewSharded(cfg, 1) }

// NewSharded returns a stack of n shards (n ≥ 1; 1 is New): a
// stack.Group, each shard with its own lock, timer and connections, every
// connection in the shard its 4-tuple hashes to. Packets from any link
// are steered to their connection's shard, so a SYN and its ACK arriving
// on different queues of a multi-queue device meet the same half-open
// connection; listeners are in every shard, and Accept takes from any.
// Give it a multi-queue device's queues with AddQueues, shard i writing on
// queue i (the kernel then steers a flow's packets to the queue its
// replies came up on); a link given to AddLink is written by every shard.
//
// A stack.Config's Observer is called by every shard, concurrently; the
// backlogs, SYN and TIME-WAIT bounds apply to each shard.
func NewSharded(cfg stack.Config, n int) *Stack {
	if cfg.Backlog <= 0 {
		// Go's net.Listen asks Linux for somaxconn, 4096 since Linux 5.4;
		// the listen(2) default of 128 that stack keeps overflows under a
		// burst of dials, and a SYN refused for a full accept queue waits
		// a whole initial RTO (1 s) to be sent again.
		cfg.Backlog = DefaultBacklog
	}
	g := stack.NewGroup(cfg, n)
	s := &Stack{group: g, shards: make([]*shard, g.Len())}
	base := time.Now()
	for i := range s.shards {
		sh := &shard{
			st:    g.Shard(i),
			conns: make(map[*Conn]struct{}),
			lns:   make(map[*Listener]struct{}),
			base:  base,
		}
		sh.mu.s = sh
		s.shards[i] = sh
	}
	for _, sh := range s.shards {
		// A datagram reassembled in one shard that belongs to another.
		sh.st.SetHandoff(func(to int, pkt []byte) { s.shards[to].mu.deliver([][]byte{pkt}, false) })
	}
	return s
}

// Shards returns the number of shards: 1 for a Stack made by New.
func (s *Stack) Shards() int { return len(s.shards) }

// now is the stack's clock: the wall time when the Stack was made plus the
// monotonic time elapsed since, so that a step of the wall clock (NTP,
// settimeofday) never moves the stack's timers. Inside a synctest bubble
// both are the bubble's virtual time.
func (s *shard) now() time.Time { return s.base.Add(time.Since(s.base)) }

// AddLink attaches a link with the stack's addresses on it. Packets that
// arrive on the link are delivered to the stack under the lock (of the
// shard each belongs to); the stack writes packets to it under the lock,
// so WritePacket must neither block for long nor deliver packets on the
// caller's goroutine (link.Pipe and link.Faulty do neither). In a sharded
// Stack every shard writes to it, so WritePacket must also be safe for
// concurrent use (link.Pipe and tun.Device are). Stack.Close closes the
// link.
func (s *Stack) AddLink(ep link.Endpoint, addrs ...netip.Prefix) error {
	eps := make([]link.Endpoint, len(s.shards))
	for i := range eps {
		eps[i] = ep
	}
	return s.attach(eps, []link.Endpoint{ep}, addrs)
}

// AddQueues attaches the queues of one multi-queue device (tun.OpenQueues)
// with the stack's addresses on it, one queue per shard: shard i writes
// on queues[i], and packets arriving on any queue are steered to their
// connection's shard. Stack.Close closes the queues.
func (s *Stack) AddQueues(queues []link.Endpoint, addrs ...netip.Prefix) error {
	if len(queues) != len(s.shards) {
		return fmt.Errorf("netconn: %d queues for %d shards", len(queues), len(s.shards))
	}
	return s.attach(queues, queues, addrs)
}

// attach gives shard i the link eps[i] and attaches the distinct links.
func (s *Stack) attach(eps, distinct []link.Endpoint, addrs []netip.Prefix) error {
	s.linkMu.Lock()
	defer s.linkMu.Unlock()
	for i, sh := range s.shards {
		sh.mu.Lock()
		err := net.ErrClosed
		if !sh.closed {
			err = sh.st.AddLink(eps[i], addrs...)
		}
		sh.mu.Unlock()
		if err != nil {
			// Only the first shard can refuse (a bad address, or the
			// stack closed): every shard is given the same.
			return err
		}
	}
	s.links = append(s.links, distinct...)
	for _, ep := range distinct {
		if len(s.shards) == 1 {
			ep.Attach(receiver{s.shards[0]})
		} else {
			ep.Attach(&steering{s: s, parts: make([][][]byte, len(s.shards))})
		}
	}
	return nil
}

// receiver is every link's receiver in a Stack of one shard. A batch of
// packets is delivered under one lock, with one reading of the clock and
// one re-arming of the timer; if an application holds the lock, the
// packets wait in its backlog and it delivers them as it lets go (see
// lock).
type receiver struct{ s *shard }

func (r receiver) DeliverPacket(pkt []byte) { r.s.mu.deliver([][]byte{pkt}, false) }

func (r receiver) DeliverBatch(pkts [][]byte, trusted bool) { r.s.mu.deliver(pkts, trusted) }

func (r receiver) DeliverOwned(pkt []byte, trusted bool, release func([]byte)) bool {
	return r.s.mu.deliverOwned(pkt, trusted, release)
}

// steering is a link's receiver in a sharded Stack: each packet goes to
// its connection's shard (stack.Group.Steer), a batch split by shard with
// each shard's packets in their order. A link delivers from one goroutine
// at a time, so parts needs no lock.
type steering struct {
	s     *Stack
	parts [][][]byte
}

func (r *steering) DeliverPacket(pkt []byte) {
	r.s.shards[r.s.group.Steer(pkt)].mu.deliver([][]byte{pkt}, false)
}

func (r *steering) DeliverBatch(pkts [][]byte, trusted bool) {
	for _, p := range pkts {
		i := r.s.group.Steer(p)
		r.parts[i] = append(r.parts[i], p)
	}
	for i, part := range r.parts {
		if len(part) > 0 {
			r.s.shards[i].mu.deliver(part, trusted)
			clear(part)
			r.parts[i] = part[:0]
		}
	}
}

func (r *steering) DeliverOwned(pkt []byte, trusted bool, release func([]byte)) bool {
	return r.s.shards[r.s.group.Steer(pkt)].mu.deliverOwned(pkt, trusted, release)
}

// deliverLocked hands packets to the shard's stack; the lock is held.
func (s *shard) deliverLocked(pkts [][]byte, trusted bool) {
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
// a shard's lock was held (more than 4096 waiting).
func (s *Stack) BacklogDrops() uint64 {
	var n uint64
	for _, sh := range s.shards {
		n += sh.mu.drops.Load()
	}
	return n
}

// rearm points the timer at the shard's next deadline. It runs, under
// the lock, after every call into the stack.
func (s *shard) rearm() {
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

// tick runs the shard's due timers. A run that a Reset made stale finds
// nothing due and re-arms.
func (s *shard) tick() {
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
// netconn API does not reach. In a sharded Stack, f is called once for
// each shard in turn, under that shard's lock (sum what it reads). f must
// not block nor call any method of package netconn (it would deadlock),
// and must not keep st.
func (s *Stack) Do(f func(st *stack.Stack, now time.Time)) error {
	for _, sh := range s.shards {
		sh.mu.Lock()
		if sh.closed {
			sh.mu.Unlock()
			return net.ErrClosed
		}
		f(sh.st, sh.now())
		sh.rearm()
		sh.mu.Unlock()
	}
	return nil
}

// Counters returns the stack's counters, summed over its shards.
func (s *Stack) Counters() (stack.Counters, error) {
	var c stack.Counters
	err := s.Do(func(st *stack.Stack, _ time.Time) {
		x := st.Counters()
		c.Add(&x)
	})
	return c, err
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
	if !s.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	var conns []*Conn
	for _, sh := range s.shards {
		conns = append(conns, sh.close()...)
	}
	for _, c := range conns {
		c.rdl.set(time.Time{})
		c.wdl.set(time.Time{})
	}
	s.linkMu.Lock()
	links := s.links
	s.links = nil
	s.linkMu.Unlock()
	var first error
	for _, ep := range links {
		ep.Attach(nil)
		if err := ep.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// close is Close for one shard; it returns the Conns it closed.
func (s *shard) close() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
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
		l.markClosed(s)
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timerAt = time.Time{}
	}
	return conns
}
