package explore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace/record"
)

// Random mode: a workload of several connections from A to B's port 80 on
// a random faulty network, all chosen from one seed.

// randomCase stands for random mode where a world needs a Case.
var randomCase = &Case{Name: RandomCase, normal: true}

// Random-mode settings: keepalive on and short, so that a connection whose
// peer crashed or whose RST was lost ends in minutes; a short TIME-WAIT, so
// that a 4-tuple can be used again within the run.
func randomConfig() tcp.Config {
	return tcp.Config{
		KeepAlive: true, KeepIdle: 30 * time.Second, KeepInterval: 5 * time.Second, KeepCount: 5,
		MSL: 5 * time.Second, FinWait2Timeout: 30 * time.Second,
	}
}

// minSessions connections, of minBytes each way at least, make every
// workload; a few more of random sizes may follow.
const (
	minSessions = 2
	minBytes    = 64 << 10
	reusedPort  = 41000 // sessions that reconnect on the same 4-tuple use it
)

// session is one connection of a workload: when it starts, from which
// port, how much each side sends, and how it ends.
type session struct {
	start          time.Duration
	port           uint16 // 0: ephemeral
	client, server plan
}

// workload is everything random mode draws from a seed.
type workload struct {
	link       sim.LinkConfig
	partitions [][2]time.Duration
	crashHost  int // -1: no crash
	crashAt    time.Duration
	crashFor   time.Duration
	lnRestart  time.Duration // 0: the listener never restarts
	lnDown     time.Duration
	attacks    []time.Duration
	forgedSYN  time.Duration // 0: no forged handshake
	sessions   []session
	simopen    *simOpen // nil: none
	tcp        [2]recoveryMode
}

// recoveryMode is how a host recovers from loss: the defaults (SACK with
// RACK-TLP, CUBIC), or with SACK refused (duplicate ACKs and NewReno's
// fast recovery, when either end refuses), RACK off (RFC 6675's IsLost and
// NextSeg rules), or NewReno for the window.
type recoveryMode struct{ noSACK, noRACK, reno bool }

func (m recoveryMode) apply(c *tcp.Config) {
	if m.noSACK {
		c.SACK = tcp.Off
	}
	if m.noRACK {
		c.RACK = tcp.Off
	}
	if m.reno {
		c.CongestionControl = tcp.CongestionReno
	}
}

func (m recoveryMode) String() string {
	var s []string
	if m.noSACK {
		s = append(s, "no SACK")
	}
	if m.noRACK {
		s = append(s, "no RACK")
	}
	if m.reno {
		s = append(s, "reno")
	}
	return fmt.Sprint(s)
}

// simOpen is a simultaneous open: A and B dial each other's port.
type simOpen struct {
	at, skew time.Duration // A dials at at, B skew later
	a, b     plan
}

// Ports of the simultaneous open.
const simPortA, simPortB = 42000, 42001

func (wl *workload) faults() []string {
	var f []string
	l := wl.link
	if l.Loss > 0 {
		f = append(f, fmt.Sprintf("loss %.0f%%", 100*l.Loss))
	}
	if l.Dup > 0 {
		f = append(f, fmt.Sprintf("duplication %.0f%%", 100*l.Dup))
	}
	if l.Reorder > 0 {
		f = append(f, fmt.Sprintf("reordering %.0f%%", 100*l.Reorder))
	}
	if len(wl.partitions) > 0 {
		f = append(f, fmt.Sprintf("%d partitions", len(wl.partitions)))
	}
	if wl.crashHost >= 0 {
		f = append(f, fmt.Sprintf("crash of %c at %v for %v", 'A'+wl.crashHost, wl.crashAt, wl.crashFor))
	}
	if wl.lnRestart > 0 {
		f = append(f, fmt.Sprintf("listener restart at %v", wl.lnRestart))
	}
	if len(wl.attacks) > 0 {
		f = append(f, fmt.Sprintf("%d forged segments", len(wl.attacks)))
	}
	if wl.forgedSYN > 0 {
		f = append(f, "a forged handshake")
	}
	for i, m := range wl.tcp {
		if m != (recoveryMode{}) {
			f = append(f, fmt.Sprintf("%c: %v", 'A'+i, m))
		}
	}
	return f
}

func dur(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}

// drawWorkload draws a workload from seed.
func drawWorkload(seed uint64) *workload {
	r := rand.New(rand.NewPCG(seed, 0x6578706c6f7265))
	wl := &workload{crashHost: -1}
	d := dur(r, time.Millisecond, 40*time.Millisecond)
	wl.link = sim.LinkConfig{Delay: d, Jitter: time.Duration(r.Int64N(int64(d)/2 + 1))}
	for !wl.hasFault() {
		if r.IntN(10) < 6 {
			wl.link.Loss = 0.3 * r.Float64()
		}
		if r.IntN(10) < 4 {
			wl.link.Dup = 0.1 * r.Float64()
		}
		if r.IntN(10) < 4 {
			wl.link.Reorder = 0.2 * r.Float64()
		}
		if r.IntN(10) < 3 {
			for range 1 + r.IntN(2) {
				from := dur(r, 0, 20*time.Second)
				wl.partitions = append(wl.partitions, [2]time.Duration{from, from + dur(r, 100*time.Millisecond, 15*time.Second)})
			}
		}
		if r.IntN(10) < 2 {
			wl.crashHost = r.IntN(2)
			wl.crashAt = dur(r, 50*time.Millisecond, 20*time.Second)
			wl.crashFor = dur(r, 100*time.Millisecond, 60*time.Second)
		}
		if r.IntN(10) < 2 {
			wl.lnRestart = dur(r, 10*time.Millisecond, 20*time.Second)
			wl.lnDown = dur(r, 10*time.Millisecond, 5*time.Second)
		}
		if r.IntN(10) < 3 {
			for range 1 + r.IntN(20) {
				wl.attacks = append(wl.attacks, dur(r, 0, 30*time.Second))
			}
		}
		if r.IntN(10) < 2 {
			wl.forgedSYN = dur(r, time.Millisecond, 20*time.Second)
		}
	}
	n := minSessions + r.IntN(3)
	for i := range n {
		s := session{}
		if i > 0 {
			s.start = dur(r, 0, 10*time.Second)
		}
		if r.IntN(100) < 35 {
			s.port = reusedPort
		}
		s.client.send, s.server.send = minBytes, minBytes
		if i >= minSessions {
			s.client.send, s.server.send = r.IntN(minBytes+1), r.IntN(minBytes+1)
		}
		s.client.hold, s.server.hold = r.IntN(2) == 0, r.IntN(2) == 0
		switch x := r.IntN(100); {
		case x < 45: // the client closes first
			s.client.close, s.server.close = closeEstablished, closeOnEOF
			s.server.wait = time.Duration(r.IntN(3)) * 100 * time.Millisecond
			if r.IntN(10) == 0 {
				// ABORT instead, from CLOSE-WAIT: a row of the table
				// that otherwise only a forged RST in that state takes.
				s.server.close = abortOnEOF
			}
		case x < 70: // the server closes first
			s.client.close, s.server.close = closeOnEOF, closeEstablished
		case x < 80: // both close at about the same time
			at := s.start + dur(r, 0, 3*time.Second)
			s.client.close, s.client.wait = closeAt, at
			s.server.close, s.server.wait = closeAt, at+time.Duration(r.IntN(3))*time.Millisecond
		case x < 87: // the client aborts
			s.client.close, s.client.wait = abortAfter, dur(r, 0, 3*time.Second)
			s.server.close = closeOnEOF
		case x < 94: // the server aborts
			s.server.close, s.server.wait = abortAfter, dur(r, 0, 3*time.Second)
			s.client.close = closeOnEOF
		default: // the client's process exits, maybe with data unread
			s.client.close, s.client.wait = exitAfter, dur(r, 0, 2*time.Second)
			s.server.close = closeOnEOF
		}
		wl.sessions = append(wl.sessions, s)
	}
	if r.IntN(10) == 0 {
		// B dials before A's SYN can arrive, so that the SYNs cross.
		so := &simOpen{at: dur(r, 0, 5*time.Second), skew: dur(r, 0, wl.link.Delay/2)}
		for _, p := range []*plan{&so.a, &so.b} {
			p.send, p.hold = r.IntN(minBytes+1), r.IntN(2) == 0
			switch r.IntN(3) {
			case 0:
				p.close = closeEstablished
			case 1:
				p.close = closeOnEOF
			default:
				p.close, p.wait = closeEarly, so.at+dur(r, 0, 3*wl.link.Delay)
			}
		}
		if so.a.close == closeOnEOF && so.b.close == closeOnEOF {
			so.a.close = closeEstablished
		}
		wl.simopen = so
	}
	// Loss recovery other than the default, from a stream of its own so
	// that everything above is drawn as it was before: in about one
	// workload in three a host refuses SACK, turns RACK off or uses reno.
	rc := rand.New(rand.NewPCG(seed, 0x7265636f76657279))
	for i := range wl.tcp {
		m := &wl.tcp[i]
		m.noSACK, m.noRACK, m.reno = rc.IntN(8) == 0, rc.IntN(8) == 0, rc.IntN(6) == 0
	}
	return wl
}

func (wl *workload) hasFault() bool {
	l := wl.link
	return l.Loss > 0 || l.Dup > 0 || l.Reorder > 0 || len(wl.partitions) > 0 || wl.crashHost >= 0 ||
		wl.lnRestart > 0 || len(wl.attacks) > 0 || wl.forgedSYN > 0
}

// executeRandom runs the workload of seed to quiescence and checks it.
func executeRandom(seed uint64, rec *record.Recorder, cov *Coverage, capt *Capture) (res result) {
	var w *world
	defer func() {
		if p := recover(); p != nil {
			if w != nil && w.chk != nil {
				res.problems = append(res.problems, w.chk.problems...) // what was seen before
			}
			res.problems = append(res.problems, fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
		}
	}()
	wl := drawWorkload(seed)
	w = &world{cs: randomCase, net: sim.New(seed), limit: 24 * time.Hour, random: true, serverPlans: map[uint16]plan{}}
	w.chk = newChecker(w)
	w.chk.cov = cov
	if rec != nil {
		w.chk.next = sim.Recording(rec)
		rec.Note(sim.Epoch, "", "random workload "+fmt.Sprint(seed)+": "+fmt.Sprint(wl.faults()))
	}
	w.net.SetObserver(w.chk)
	if capt != nil {
		w.net.SetCaptureAt(capt.W, capt.At)
	}
	ca, cb := stack.Config{TCP: randomConfig()}, stack.Config{TCP: randomConfig()}
	wl.tcp[0].apply(&ca.TCP)
	wl.tcp[1].apply(&cb.TCP)
	a := w.net.AddHost("A", addrA, ca)
	b := w.net.AddHost("B", addrB, cb)
	w.hosts = []*sim.Host{a, b}
	w.chk.lastIn = make([]arrival, 2)
	w.chk.pending = make([]pendingSACK, 2)
	link := w.net.Connect(a, b, wl.link)
	for _, p := range wl.partitions {
		link.Partition(p[0], p[1])
	}
	w.disorder = wl.link.Dup > 0 || wl.link.Reorder > 0 || wl.link.Jitter > 0
	w.getBuf()
	defer w.putBuf()
	w.runWorkload(wl, rand.New(rand.NewPCG(seed, 0x61747461636b)))
	ok := w.runIdle()
	w.final(ok)
	return result{problems: w.chk.problems, segments: w.chk.sent, virtual: w.net.Elapsed()}
}

// runWorkload schedules the workload's sessions and faults.
func (w *world) runWorkload(wl *workload, r *rand.Rand) {
	w.listen()
	for _, s := range wl.sessions {
		w.net.At(s.start, func() { w.startSession(s, 0) })
	}
	if wl.crashHost >= 0 {
		hi := wl.crashHost
		w.net.At(wl.crashAt, func() { w.crash(hi) })
		w.net.At(wl.crashAt+wl.crashFor, func() { w.restart(hi) })
	}
	if wl.lnRestart > 0 {
		w.net.At(wl.lnRestart, func() {
			if w.ln != nil && !w.hosts[1].Crashed() {
				w.ln.Close(w.net.Now())
				w.ln = nil
				w.lnWasDown = true
			}
		})
		w.net.At(wl.lnRestart+wl.lnDown, func() {
			if w.ln == nil && !w.hosts[1].Crashed() {
				w.listen()
			}
		})
	}
	for _, t := range wl.attacks {
		kind, off := r.IntN(numAttacks), r.Uint32()
		if kind == attackRSTExact && r.IntN(4) != 0 {
			kind = attackRSTInWindow // exact guesses are rare
		}
		pick := r.Uint32()
		w.net.At(t, func() { w.randomAttack(kind, off, pick) })
	}
	if so := wl.simopen; so != nil {
		w.net.At(so.at, func() { w.simDial(0, simPortA, simPortB, so.a) })
		w.net.At(so.at+so.skew, func() { w.simDial(1, simPortB, simPortA, so.b) })
	}
	if wl.forgedSYN > 0 {
		iss := seq.Num(r.Uint32())
		w.net.At(wl.forgedSYN, func() { w.forgeHandshake(0, 1, 7777, portB, iss) })
	}
}

// listen opens B's listener; the server application's plan for each
// connection is the one its session registered under the client's port.
func (w *world) listen() {
	w.ln = w.serve(1, portB, func(c *stack.Conn) plan {
		if p, ok := w.serverPlans[c.RemoteAddr().Port()]; ok {
			return p
		}
		return plan{close: closeOnEOF} // a connection no session opened
	})
}

// startSession dials. A 4-tuple still in use (EADDRINUSE: the previous
// session on the port has not finished, or is in TIME-WAIT) is tried again
// with back-off from half a second to half a minute, for up to two hours:
// longer than any connection can last (retransmissions give up after about
// fifteen minutes, keepalive after a minute of silence).
func (w *world) startSession(s session, tries int) {
	a := w.hosts[0]
	retry := func() {
		d := min(500*time.Millisecond<<min(tries, 6), 30*time.Second)
		w.net.After(d, func() { w.startSession(s, tries+1) })
	}
	if a.Crashed() {
		retry()
		return
	}
	c, err := a.Stack.Dial(w.net.Now(), netip.AddrPortFrom(a.Addr(), s.port), netip.AddrPortFrom(addrB, portB))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) && w.net.Elapsed()-s.start < 2*time.Hour {
			retry()
			return
		}
		w.chk.fail("A: dial from port %d: %v", s.port, err)
		return
	}
	p := s.client
	if p.close == closeAt {
		p.wait += w.net.Elapsed() - s.start // the session started late
	}
	sp := s.server
	if sp.close == closeAt {
		sp.wait += w.net.Elapsed() - s.start
	}
	w.serverPlans[c.LocalAddr().Port()] = sp
	w.newApp(0, c, p)
}

// simDial is one side of the simultaneous open.
func (w *world) simDial(hi int, lport, rport uint16, p plan) {
	if w.hosts[hi].Crashed() {
		return
	}
	w.dial(hi, lport, 1-hi, rport, p)
}

// crash stops host hi: its applications die with it.
func (w *world) crash(hi int) {
	w.crashed = true
	w.hosts[hi].Crash()
	for _, a := range w.apps {
		if a.host == hi {
			a.dead = true
		}
	}
	if hi == 1 {
		w.ln = nil
	}
}

// restart boots host hi again; B's server listens again.
func (w *world) restart(hi int) {
	w.hosts[hi].Restart()
	if hi == 1 {
		w.listen()
	}
}

// randomAttack forges a segment of the given kind at a live connection.
func (w *world) randomAttack(kind int, off, pick uint32) {
	var victims []*app
	for _, a := range w.apps {
		if !a.dead && !w.hosts[a.host].Crashed() && live(a.c.State()) {
			victims = append(victims, a)
		}
	}
	if len(victims) == 0 {
		return
	}
	a := victims[int(pick)%len(victims)]
	w.attack(a, kind, off)
}

// RandomOptions tune random mode.
type RandomOptions struct {
	FirstSeed uint64        // seeds run are FirstSeed, FirstSeed+1, ...
	Seeds     uint64        // how many; 0 with Duration set means as many as fit
	Duration  time.Duration // stop starting new seeds after this long
	Workers   int           // parallel runs; default 1
	// MaxReports bounds how many failing seeds are reported with their
	// problems; default 10.
	MaxReports int
	// StopAtFirst ends the run at the first violation.
	StopAtFirst bool
	Progress    func(done uint64, failed uint64)
	Stop        func() bool
}

// RandomReport is what random mode found.
type RandomReport struct {
	Runs       uint64
	Failed     uint64
	Violations []Violation // Token random:SEED
	Elapsed    time.Duration
	CPU        time.Duration
	Segments   uint64
	Virtual    time.Duration
	Coverage   Coverage
}

// PerSecond returns workloads run per second of wall time.
func (r *RandomReport) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Runs) / r.Elapsed.Seconds()
}

func (r *RandomReport) String() string {
	return fmt.Sprintf("random: %d workloads, %d failed, %v, %.0f workloads/s, %d segments, %v virtual",
		r.Runs, r.Failed, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.Segments, r.Virtual.Round(time.Second))
}

// Random runs seeded random workloads and checks every run.
func Random(o RandomOptions) RandomReport {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.MaxReports <= 0 {
		o.MaxReports = 10
	}
	if o.Seeds == 0 && o.Duration == 0 {
		o.Seeds = 100
	}
	var rep RandomReport
	t := runner{
		workers: o.Workers, chunk: 1, total: o.Seeds, duration: o.Duration, stopAtFirst: o.StopAtFirst, maxReports: o.MaxReports,
		stop: o.Stop, progress: o.Progress,
		worker: func() func(uint64, *Coverage) (result, Token) {
			return func(i uint64, cov *Coverage) (result, Token) {
				seed := o.FirstSeed + i
				return executeRandom(seed, nil, cov, nil), Token{Case: RandomCase, Seed: seed}
			}
		},
	}
	tot := t.run()
	rep.Runs, rep.Failed, rep.Segments, rep.Virtual, rep.Coverage = tot.done, tot.failed, tot.segments, tot.virtual, tot.coverage
	rep.Elapsed, rep.CPU = tot.elapsed, tot.cpu
	found := tot.found
	for _, f := range found {
		rep.Violations = append(rep.Violations, f.v)
	}
	return rep
}
