package scenario

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
)

// Scenario is one case of the catalogue.
type Scenario struct {
	Name    string
	From    string // the seed document it comes from ("000".."004"), or "" for the cases any TCP must handle
	Summary string // one line
	Doc     string // a paragraph: what happens and why
	Zh      Text   // the same in Chinese
	Expect  Expect
	run     func(w *World)
	limit   time.Duration // virtual time the run may take; default 10 minutes
}

// Text is a scenario's words in another language.
type Text struct{ Summary, Doc string }

// Params are the knobs a learner may turn. Zero values mean the defaults.
type Params struct {
	Seed          uint64
	MSL           time.Duration // TIME-WAIT lasts 2*MSL; default 30 s
	Loss          float64       // random loss on the link, each way
	Delay         time.Duration // one-way delay; default 10 ms
	RTOMin        time.Duration
	RTOInitial    time.Duration
	KeepaliveIdle time.Duration
	RFC1337       bool

	// Where a scenario turns keepalive on: the probes' interval and how
	// many go unanswered before the connection is dropped (default 75 s,
	// 9, as Linux).
	KeepaliveInterval time.Duration
	KeepaliveCount    int
	// Retransmissions before giving up (zero: the defaults of tcp.Config,
	// 6, 5 and 15 as Linux); a scenario may set its own.
	SynRetries, SynAckRetries, Retries int
	// SYN cookies and the listen backlog (accept and SYN queue) of every
	// host; in syn-flood, the mode of its second run, and its queue bound
	// (default 64 there, 128 elsewhere).
	SynCookies stack.CookieMode
	Backlog    int
	// FloodRate is syn-flood's spoofed SYNs a second; default 1000, the
	// seed's. Each costs the simulator work: the lab runs it lower.
	FloodRate int

	// Faults are a learner's own faults, applied before the scenario's
	// scripted ones (Fault).
	Faults []Fault

	// Capture, if set, records the run's packets in pcap format with
	// virtual timestamps, as tcpdump on host CaptureAt's link would see
	// them (sim.Network.SetCaptureAt): its own packets as they leave,
	// the other's as they arrive, after the link's faults.
	Capture   *pcap.Writer
	CaptureAt string // "A" (default), "B", ...
}

// Expect is what a scenario must show. Every list is checked in order as a
// subsequence of the trace: other events may come between.
type Expect struct {
	// States maps "A", "B" (every state change of the host, in order) or
	// "A#2" (the host's second connection) to the exact states gone
	// through, starting with the first "from".
	States map[string][]tcp.State
	// Segments that must be sent, in this order.
	Segments []Seg
	// Segments that must not appear at all.
	Never []Seg
	// Timer events that must happen, in this order.
	Timers []Timer
	// What the applications must see, in this order.
	App []Call
	// Check, if set, makes further checks; each string is a failure.
	Check func(r *Result) []string
}

// Seg matches a segment event.
type Seg struct {
	From  string // the host of the event: the sender of a send or of a segment lost on the link, the receiver of a recv or of a segment refused by TCP's rules
	Event string // "send" (default: every segment put on the wire, lost or not), "drop", "recv"
	Flags string // exact set of flags, e.g. "SYN,ACK"; "" matches any
	RSeq  *uint32
	RAck  *uint32
	Len   int       // -1 (or AnyLen) matches any length
	Rule  tcp.Cause // the rule that sent or refused it; CauseNone matches any
}

// AnyLen matches segments of any length.
const AnyLen = -1

// Timer matches a timer event.
type Timer struct {
	Host, Timer, Action string
}

// Call matches an application event: a call, and its error (e.g.
// "ECONNRESET"; "" matches any result).
type Call struct {
	Host, Call, Err string
}

// Result is what a run produced, and the verdict.
type Result struct {
	Scenario *Scenario
	Params   Params
	Events   []trace.Event
	Failures []string
	Notes    []string // figures the scenario reports (success rates, memory)
	// Before is the highest packet number of a model's events shown
	// first, drawn but not simulated (two-way-handshake's two-way
	// protocol); a Fault reaches only the packets above it.
	Before uint64
	// Faults says, for each of Params.Faults, whether it was applied, and
	// why not.
	Faults []FaultOutcome
}

// OK reports whether every expectation held.
func (r *Result) OK() bool { return len(r.Failures) == 0 }

// U is a helper for relative numbers in expectations.
func U(v uint32) *uint32 { return &v }

var catalogue []*Scenario

func register(s *Scenario) { catalogue = append(catalogue, s) }

// All returns the catalogue in the order of DESIGN.md.
func All() []*Scenario {
	out := make([]*Scenario, 0, len(catalogue))
	for _, name := range order {
		for _, s := range catalogue {
			if s.Name == name {
				out = append(out, s)
			}
		}
	}
	return out
}

// order is DESIGN.md's list of names, which are part of the CLI contract.
var order = []string{
	"handshake", "handshake-data-on-ack", "close-four-way", "close-three-way",
	"close-server-first", "half-close", "fin-with-data", "simultaneous-open",
	"simultaneous-close", "simultaneous-close-lost-ack", "simultaneous-close-both-acks-lost",
	"late-ack-after-close", "fin-wait-data-then-finack", "stale-segment-in-time-wait",
	"old-syn-in-time-wait", "old-duplicate-syn", "two-way-handshake", "lost-syn", "lost-synack",
	"lost-handshake-ack", "lost-fin", "lost-fin-ack", "lost-last-ack", "close-all-lost",
	"abort-rst", "refused", "syn-received-timeout", "syn-flood", "keepalive-dead-peer",
	"half-open-peer-restart", "time-wait-reuse", "process-exit",
	// Loss recovery.
	"fast-retransmit", "sack-recovery", "tail-loss-probe", "rto-backoff",
	"spurious-retransmission",
}

// Names returns every scenario name.
func Names() []string { return append([]string(nil), order...) }

// Lookup finds a scenario by name.
func Lookup(name string) (*Scenario, bool) {
	for _, s := range catalogue {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Suggest returns the names nearest to a mistyped one.
func Suggest(name string) []string {
	type cand struct {
		n string
		d int
	}
	var cs []cand
	for _, n := range order {
		d := distance(name, n)
		if strings.Contains(n, name) && name != "" {
			d = min(d, 2)
		}
		cs = append(cs, cand{n, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs {
		if len(out) == 3 || c.d > max(3, len(name)/2) {
			break
		}
		out = append(out, c.n)
	}
	return out
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Documentation addresses (DESIGN.md's network rule).
var (
	AddrA = netip.MustParseAddr("192.0.2.1")
	AddrB = netip.MustParseAddr("192.0.2.2")
	AddrC = netip.MustParseAddr("192.0.2.3")
	PortA = uint16(40000)
	PortB = uint16(80)
)

// Run executes a scenario and checks its expectation.
func Run(s *Scenario, p Params) *Result {
	w := newWorld(s, p)
	w.scriptFaults()
	s.run(w)
	w.timedFaults()
	limit := s.limit
	if limit == 0 {
		limit = 10 * time.Minute
	}
	w.Net.RunUntilIdle(limit)
	r := &Result{Scenario: s, Params: p, Events: w.events(), Notes: w.notes, Before: w.frozen, Faults: w.faultOutcomes()}
	r.Failures = append(w.fails, check(s, r)...)
	return r
}

func (s *Scenario) String() string { return s.Name }

// link returns the link settings for p.
func (p Params) link() sim.LinkConfig {
	d := p.Delay
	if d == 0 {
		d = 10 * time.Millisecond
	}
	return sim.LinkConfig{Delay: d, Loss: p.Loss}
}

// stackConfig returns a host's stack settings under p.
func (p Params) stackConfig() stack.Config {
	return stack.Config{
		TCP: tcp.Config{MSL: p.MSL, RTOMin: p.RTOMin, RTOInitial: p.RTOInitial, RFC1337: p.RFC1337,
			KeepIdle: p.KeepaliveIdle, KeepInterval: p.KeepaliveInterval, KeepCount: p.KeepaliveCount,
			SynRetries: p.SynRetries, SynAckRetries: p.SynAckRetries, Retries: p.Retries},
		SynCookies: p.SynCookies, Backlog: p.Backlog, SynBacklog: p.Backlog,
	}
}

func fmtStates(s []tcp.State) string {
	var b strings.Builder
	for i, st := range s {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(st.String())
	}
	return b.String()
}
