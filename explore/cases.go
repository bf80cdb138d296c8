package explore

import (
	"sort"
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// Case is a small world whose first segments the exhaustive mode puts
// through every schedule: hosts A (192.0.2.1) and B (192.0.2.2) joined by
// a 10 ms link, and what their applications do.
type Case struct {
	Name    string
	Summary string
	// Only, if set, names the host whose segments the schedule counts and
	// faults; the other host's are all delivered.
	Only string
	// Core marks the seven cases of the issue; the others are targeted.
	Core bool
	// Known, if set, names a known bug of the stack that makes this case
	// fail: it is left out of the default explorations.
	Known string

	normal  bool              // both applications close normally
	attacks bool              // an off-path attacker forges segments at every state change
	tune    func(*tcp.Config) // settings beyond baseConfig
	setup   func(w *world)
}

var cases = []*Case{
	{
		Name: "handshake", Core: true, normal: true,
		Summary: "three-way handshake, A's data on the third segment, B's reply, then A closes and B closes on EOF",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 100, close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{send: 100, close: closeEstablished})
		},
	},
	{
		Name: "fourway", Core: true, normal: true,
		Summary: "four-way close: A closes, B ACKs the FIN and closes 200 ms later (A keeps its connection through TIME-WAIT)",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF, wait: 200 * time.Millisecond} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "threeway", Core: true, normal: true,
		Summary: "three-way close: A closes, B answers with one FIN+ACK (B keeps its connection until CLOSED)",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF, hold: true} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished})
		},
	},
	{
		Name: "simopen", Core: true, normal: true,
		Summary: "simultaneous open: A and B dial each other's port at the same moment; then A closes, B closes on EOF",
		setup: func(w *world) {
			w.dial(0, portA, 1, portB, plan{close: closeEstablished, hold: true})
			w.dial(1, portB, 0, portA, plan{close: closeOnEOF})
		},
	},
	{
		Name: "simclose", Core: true, normal: true,
		Summary: "simultaneous close: both applications close at 100 ms (or when established, if later)",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan {
				return plan{send: 10, close: closeAt, wait: 100 * time.Millisecond, hold: true}
			})
			w.dial(0, 0, 1, portB, plan{send: 10, close: closeAt, wait: 100 * time.Millisecond, hold: true})
		},
	},
	{
		Name: "halfclose", Core: true, normal: true,
		Summary: "half-close with data: A closes at once; B, after A's FIN, sends 3000 bytes (three segments) and closes",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 3000, afterEOF: true, close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "abort", Core: true,
		Summary: "abort: A sends 1000 bytes and aborts 30 ms after the handshake (RST); B must read a prefix and ECONNRESET",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{send: 1000, close: abortAfter, wait: 30 * time.Millisecond})
		},
	},
	{
		Name: "attack", normal: true, attacks: true,
		Summary: "three-way close under an off-path attacker: at every state change, forged in-window RST and SYN, data with a bad ACK or none, " +
			"out-of-window RST and data; and a forged handshake (spoofed SYN, then an ACK with a guessed number) on another port",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 200, close: closeOnEOF, hold: true} })
			w.dial(0, 0, 1, portB, plan{send: 100, close: closeEstablished, hold: true})
			w.forgeHandshake(0, 1, 7777, portB, 0x10000000)
		},
	},
	{
		Name: "lastack", Only: "A", normal: true,
		Summary: "four-way close, faults on A's segments only (its last ACKs); B retransmits every 300 ms and TIME-WAIT is 800 ms, " +
			"so only restarting 2MSL on each retransmitted FIN keeps A answering",
		tune: func(c *tcp.Config) {
			c.RTOInitial, c.RTOMin, c.RTOMax = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
			c.MSL = 400 * time.Millisecond
		},
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF, wait: 200 * time.Millisecond} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "halfclose-acks", Only: "A", normal: true,
		Summary: "half-close with data, faults on A's segments only: lost ACKs make B retransmit its data after A entered TIME-WAIT",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 3000, afterEOF: true, close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "timewait-syn", normal: true,
		Summary: "three-way close; when A enters TIME-WAIT an off-path attacker forges a SYN from B's port with a sequence number " +
			"beyond RCV.NXT; A has no listener, so the SYN opens nothing and TIME-WAIT must go on",
		setup: func(w *world) {
			w.strictTWSyn = true
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
			a := w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
			a.onState = func(st tcp.State) {
				if st == tcp.StateTimeWait {
					w.net.After(time.Millisecond, func() { w.attack(a, attackSYNInWindow, 1000) })
				}
			}
		},
	},
	{
		Name: "sack", Only: "A", normal: true,
		Summary: "loss recovery with SACK (RACK-TLP, RFC 6675, PRR, CUBIC: the defaults): A writes ten full segments at once " +
			"and closes 2 s later, B closes on EOF; faults on A's segments only, so that every schedule of the handshake and " +
			"the first data segments — one hole or two in the window, duplicates, reordering — is repaired from B's SACK blocks",
		setup: func(w *world) { w.bulk(10) },
	},
	{
		Name: "sack-6675", Only: "A", normal: true,
		Summary: "the same with RACK off, as the sack-recovery scenario: RFC 6675's IsLost() and NextSeg() rules (1), (3) " +
			"and the rescue retransmission (4)",
		tune:  func(c *tcp.Config) { c.RACK = tcp.Off },
		setup: func(w *world) { w.bulk(10) },
	},
	{
		Name: "reno", Only: "A", normal: true,
		Summary: "the same without SACK and with NewReno (SACK off on both sides, reno): duplicate ACKs, fast retransmit, " +
			"partial ACKs (RFC 5681 §3.2, RFC 6582)",
		tune:  func(c *tcp.Config) { c.SACK, c.CongestionControl = tcp.Off, tcp.CongestionReno },
		setup: func(w *world) { w.bulk(10) },
	},
	{
		Name: "tail", Only: "A", normal: true,
		Summary: "a tail: A writes three full segments and closes 2 s later, B closes on EOF; faults on A's segments only, " +
			"so that a lost last segment is probed (RFC 8985 §7), a lost probe waits for the RTO, and lost retransmissions back off",
		setup: func(w *world) { w.bulk(3) },
	},
	{
		Name: "tail-rto", Only: "A", normal: true,
		Summary: "the same with no loss probes and no timestamps, as the rto-backoff scenario: the RTO alone, " +
			"doubling (RFC 6298 §5.5), and Karn's rule for the RTT samples",
		tune:  func(c *tcp.Config) { c.TLP, c.Timestamps = tcp.Off, tcp.Off },
		setup: func(w *world) { w.bulk(3) },
	},
	{
		Name: "listener-close",
		Summary: "B closes its listener 15 ms in, while A's connection is half-open there; A's ACK then finds nothing " +
			"and is answered with RST: A must be told, and B's half-open connection must be seen to end",
		setup: func(w *world) {
			ln := w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{send: 100, close: closeEstablished})
			w.net.At(15*time.Millisecond, func() { ln.Close(w.net.Now()) })
		},
	},
}

// bulk is the loss-recovery cases' applications: A writes n × 1448 bytes
// at once (n full segments: the MSS less the timestamp option; without
// timestamps, a little less than n) and closes 2 s in; B reads and closes
// on end-of-file.
func (w *world) bulk(n int) {
	w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
	w.dial(0, 0, 1, portB, plan{send: n * 1448, close: closeAt, wait: 2 * time.Second})
}

// Cases returns every case: the seven core ones first, then the targeted.
func Cases() []*Case { return append([]*Case(nil), cases...) }

// DefaultCases returns the cases explored by default: all but those that
// fail because of a known bug.
func DefaultCases() []*Case {
	var out []*Case
	for _, c := range cases {
		if c.Known == "" {
			out = append(out, c)
		}
	}
	return out
}

// CoreCases returns the seven cases of opening and closing.
func CoreCases() []*Case {
	var out []*Case
	for _, c := range cases {
		if c.Core {
			out = append(out, c)
		}
	}
	return out
}

// LookupCase finds a case by name.
func LookupCase(name string) (*Case, bool) {
	for _, c := range cases {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// CaseNames lists the case names, sorted.
func CaseNames() []string {
	var out []string
	for _, c := range cases {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}
