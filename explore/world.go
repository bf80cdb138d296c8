package explore

import (
	"fmt"
	"net/netip"
	"runtime/debug"
	"sync"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace/record"
)

// Documentation addresses (DESIGN.md's network rule) and ports.
var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	portA = uint16(40000)
	portB = uint16(80)
)

// world is one run: the network, its hosts and applications, the faults
// and the checker.
type world struct {
	cs      *Case
	sched   Schedule
	net     *sim.Network
	hosts   []*sim.Host
	apps    []*app
	faults  faults
	chk     *checker
	buf     []byte
	bufp    *[]byte       // buf's pool entry
	limit   time.Duration // virtual time the run may take to go idle
	forging *forgery      // the forged packet being sent
	crashed bool          // a host crashed during the run
	volleys map[volleyKey]bool

	// strictTWSyn makes a SYN that ends TIME-WAIT with no listener to
	// take it (a known bug) a violation; by default the run is only no
	// longer held to a normal close (knownBug is set).
	strictTWSyn bool
	knownBug    string // a known bug of the stack disturbed the run
	lnWasDown   bool   // the listener was closed for a while (random mode)

	// Random mode.
	random      bool
	disorder    bool            // the link duplicates or reorders (jitter too)
	serverPlans map[uint16]plan // the server's plan for a client port
	ln          *stack.Listener
}

// baseConfig is the stacks' settings in exhaustive mode: keepalive on (so
// that a connection whose peer vanished does not wait forever), and retry
// limits and TIME-WAIT far beyond what K faults can exhaust, so that a
// normal close must always succeed.
func baseConfig() tcp.Config {
	return tcp.Config{
		KeepAlive: true, KeepIdle: 2 * time.Minute, KeepInterval: 10 * time.Second, KeepCount: 30,
		MSL: time.Hour, FinWait2Timeout: 3 * time.Hour,
		Retries: 30, OrphanRetries: 30, SynRetries: 30, SynAckRetries: 30,
	}
}

func newWorld(cs *Case, sched Schedule, rec *record.Recorder) *world {
	w := &world{cs: cs, sched: sched, net: sim.New(1), limit: 48 * time.Hour}
	w.chk = newChecker(w)
	if rec != nil {
		w.chk.next = sim.Recording(rec)
	}
	w.net.SetObserver(w.chk)
	cfg := baseConfig()
	if cs.tune != nil {
		cs.tune(&cfg)
	}
	a := w.net.AddHost("A", addrA, stack.Config{TCP: cfg})
	b := w.net.AddHost("B", addrB, stack.Config{TCP: cfg})
	w.hosts = []*sim.Host{a, b}
	w.chk.lastIn = make([]arrival, len(w.hosts))
	w.chk.pending = make([]pendingSACK, len(w.hosts))
	w.net.Connect(a, b, sim.LinkConfig{Delay: 10 * time.Millisecond})
	w.faults.sched = sched
	w.faults.install(w.net, cs.Only)
	w.getBuf()
	return w
}

func (w *world) hostIndex(h *sim.Host) int {
	for i, x := range w.hosts {
		if x == h {
			return i
		}
	}
	return -1
}

// streamKey names the byte stream one end writes: its 4-tuple and its
// ISS, so that the streams of two incarnations of a 4-tuple differ.
func streamKey(local, remote netip.AddrPort, iss uint32) uint64 {
	l, r := local.Addr().As16(), remote.Addr().As16()
	return uint64(iss)<<32 ^ uint64(local.Port())<<16 ^ uint64(remote.Port()) ^ uint64(l[15])<<40 ^ uint64(r[15])<<48
}

// newApp starts an application with plan p on connection c of host hi.
func (w *world) newApp(hi int, c *stack.Conn, p plan) *app {
	a := &app{w: w, host: hi, c: c, p: p}
	a.sendKey = streamKey(c.LocalAddr(), c.RemoteAddr(), uint32(c.TCB().ISS()))
	// The other end: the latest application on the other host with the
	// same 4-tuple and no peer yet; an accepted connection's must have sent
	// the SYN it accepted (its ISS is our IRS).
	for i := len(w.apps) - 1; i >= 0; i-- {
		b := w.apps[i]
		if b.peer != nil || b.host == hi || b.c.LocalAddr() != c.RemoteAddr() || b.c.RemoteAddr() != c.LocalAddr() {
			continue
		}
		if c.TCB().Passive() && b.c.TCB().ISS() != c.TCB().IRS() {
			continue
		}
		a.peer, b.peer = b, a
		break
	}
	w.apps = append(w.apps, a)
	a.start()
	return a
}

// dial opens a connection from host hi (local port lport, 0 for an
// ephemeral one) to host to's port, run by an application with plan p.
func (w *world) dial(hi int, lport uint16, to int, port uint16, p plan) *app {
	h := w.hosts[hi]
	c, err := h.Stack.Dial(w.net.Now(), netip.AddrPortFrom(h.Addr(), lport), netip.AddrPortFrom(w.hosts[to].Addr(), port))
	if err != nil {
		w.chk.fail("%s: dial: %v", h.Name, err)
		return nil
	}
	return w.newApp(hi, c, p)
}

// serve listens on host hi's port and runs an application with plan p on
// every connection accepted.
func (w *world) serve(hi int, port uint16, p func(*stack.Conn) plan) *stack.Listener {
	h := w.hosts[hi]
	ln, err := h.Stack.Listen(w.net.Now(), netip.AddrPortFrom(h.Addr(), port), 0)
	if err != nil {
		w.chk.fail("%s: listen: %v", h.Name, err)
		return nil
	}
	ln.SetNotifier(w.net.Waker(func() {
		for c := ln.Accept(); c != nil; c = ln.Accept() {
			w.newApp(hi, c, p(c))
		}
	}))
	return ln
}

// bufPool holds the applications' read and write buffers between runs.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

func (w *world) getBuf() { w.bufp = bufPool.Get().(*[]byte); w.buf = *w.bufp }
func (w *world) putBuf() { bufPool.Put(w.bufp); w.buf, w.bufp = nil, nil }

// result is what one run found.
type result struct {
	problems []string
	segments int // segments put on the wire (the schedule's count)
	virtual  time.Duration
}

// execute runs case cs under schedule sched to quiescence and checks it.
// A panic anywhere in the run is caught and reported as a problem.
func execute(cs *Case, sched Schedule, rec *record.Recorder, cov *Coverage) (res result) {
	var w *world
	defer func() {
		if p := recover(); p != nil {
			if w != nil && w.chk != nil {
				res.problems = append(res.problems, w.chk.problems...) // what was seen before
			}
			res.problems = append(res.problems, fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
			if w != nil {
				res.virtual = w.net.Elapsed()
			}
		}
	}()
	w = newWorld(cs, sched, rec)
	w.chk.cov = cov
	cs.setup(w)
	ok := w.runIdle()
	w.final(ok)
	w.putBuf()
	return result{problems: w.chk.problems, segments: w.chk.sent, virtual: w.net.Elapsed()}
}

// runIdle runs until quiescence, releasing held segments that nothing
// came after.
func (w *world) runIdle() bool {
	end := w.net.Now().Add(w.limit)
	for {
		if !w.net.RunUntilIdle(end.Sub(w.net.Now())) {
			return false
		}
		if len(w.faults.held) == 0 {
			return true
		}
		w.faults.release()
	}
}
