package infer_test

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/infer"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/scenario"
	"github.com/synack/synack/trace"
)

// pair is one end of a connection: its address and its peer's.
type pair struct{ local, remote netip.AddrPort }

// appendState appends a change to a state sequence: its "from" when it
// does not follow on, then its "to".
func appendState(seq []string, from, to string) []string {
	if len(seq) == 0 || seq[len(seq)-1] != from {
		seq = append(seq, from)
	}
	return append(seq, to)
}

// truthStates is each end's states as the simulator recorded them. A
// crash deletes its host's TCBs without a state event: each of its
// connections ends there as a deletion ends it in the simulator's own
// record — CLOSED (RFC 9293 §3.3.2's "no TCB"), or for a passive open
// still in SYN-RECEIVED, LISTEN (§3.10.7.4 Note 3: what a reset leaves of
// it), so that a crash reads like the RST a capture cannot tell it from.
func truthStates(events []trace.Event) map[pair][]string {
	out := map[pair][]string{}
	hosts := simHosts(events)
	for _, e := range events {
		if e.Event == trace.KindHost && e.Text == "crash" {
			for k, seq := range out {
				if hosts[k.local.Addr()] != e.Host || len(seq) == 0 {
					continue
				}
				switch last := seq[len(seq)-1]; {
				case last == "CLOSED" || last == "LISTEN":
				case last == "SYN-RECEIVED" && len(seq) > 1 && seq[len(seq)-2] == "LISTEN":
					out[k] = append(seq, "LISTEN")
				default:
					out[k] = append(seq, "CLOSED")
				}
			}
			continue
		}
		if e.Event != trace.KindState {
			continue
		}
		l, r, ok := strings.Cut(e.Conn, "→")
		if !ok {
			continue // a listener's own LISTEN
		}
		k := pair{netip.MustParseAddrPort(l), netip.MustParseAddrPort(r)}
		out[k] = appendState(out[k], e.From, e.To)
	}
	return out
}

func inferredStates(c *infer.Capture) map[pair][]string {
	out := map[pair][]string{}
	for _, cn := range c.Conns {
		for h, host := range cn.Hosts {
			k := pair{host.Addr, cn.Ends[1-h]}
			for _, ch := range host.Changes {
				if ch.Unverified {
					continue
				}
				out[k] = appendState(out[k], ch.From, ch.To)
			}
		}
	}
	return out
}

// lcs is the length of the longest common subsequence.
func lcs(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			default:
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// score compares per end: an inferred state not in the truth's order is
// wrong; a true state the inference does not have is unknown.
type score struct {
	wrong, unknown, states int
	details                []string
}

// partialTruth are the scenarios whose recorder keeps the states of some
// connections only: syn-flood records the first legitimate connection of
// each run, not the other nine nor the half-open ones of the spoofed SYNs.
// Their other connections cannot be scored.
var partialTruth = map[string]bool{"syn-flood": true}

func compare(truth, inf map[pair][]string, hosts map[netip.Addr]string, partial bool) score {
	var s score
	keys := map[pair]bool{}
	for k := range truth {
		keys[k] = true
	}
	for k := range inf {
		if _, sim := hosts[k.local.Addr()]; sim && !partial {
			keys[k] = true
		}
	}
	for k := range keys {
		t, i := truth[k], inf[k]
		n := lcs(t, i)
		s.states += len(t)
		if w := len(i) - n; w > 0 {
			s.wrong += w
			s.details = append(s.details, fmt.Sprintf("%s (%s→%s): wrong: inferred %v, truth %v", hosts[k.local.Addr()], k.local, k.remote, i, t))
		}
		if u := len(t) - n; u > 0 {
			s.unknown += u
			s.details = append(s.details, fmt.Sprintf("%s (%s): unknown %d: inferred %v, truth %v", hosts[k.local.Addr()], k.local, u, i, t))
		}
	}
	return s
}

func simHosts(events []trace.Event) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, e := range events {
		if l, _, ok := strings.Cut(e.Conn, "→"); ok && e.Host != "" {
			if ap, err := netip.ParseAddrPort(l); err == nil {
				out[ap.Addr()] = e.Host
			}
		}
	}
	return out
}

func runCaptured(t *testing.T, s *scenario.Scenario, at string, p scenario.Params) (*scenario.Result, *infer.Capture) {
	t.Helper()
	var b bytes.Buffer
	w, err := pcap.NewWriterNano(&b, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Capture, p.CaptureAt = w, at
	r := scenario.Run(s, p)
	c, err := infer.Read(&b)
	if err != nil {
		t.Fatalf("%s at %s: %v", s.Name, at, err)
	}
	return r, c
}

// TestCatalogueGroundTruth draws every scenario's capture, taken at A
// and at B, and compares the states inferred for both ends with those the
// simulator recorded.
func TestCatalogueGroundTruth(t *testing.T) {
	var total score
	for _, s := range scenario.All() {
		for _, at := range []string{"A", "B"} {
			r, c := runCaptured(t, s, at, scenario.Params{})
			sc := compare(truthStates(r.Events), inferredStates(c), simHosts(r.Events), partialTruth[s.Name])
			total.wrong += sc.wrong
			total.unknown += sc.unknown
			total.states += sc.states
			t.Logf("%-36s at %s: %3d states, %d wrong, %d unknown", s.Name, at, sc.states, sc.wrong, sc.unknown)
			if sc.wrong > 0 {
				t.Errorf("%s at %s: %d inferred states differ from the simulator's", s.Name, at, sc.wrong)
			}
			for _, d := range sc.details {
				t.Logf("    %s", d)
			}
		}
	}
	t.Logf("all: %d states, %d wrong, %d unknown", total.states, total.wrong, total.unknown)
}

// The random workloads the ground truth covers: seeds 1 to 300 by
// default (-short: 40), -random-truth N for N from -random-truth-first.
var (
	randomTruth      = flag.Int("random-truth", 300, "how many of the explorer's random workloads to score the tracker on (0: none)")
	randomTruthFirst = flag.Uint64("random-truth-first", 1, "the first random workload's seed")
)

// knownWrong are the random runs whose inferred states are still wrong
// (issue 14, open): each is counted in the total and logged, and fails the
// test once it is right, so that the list only shrinks.
var knownWrong = map[string]string{}

// TestRandomGroundTruth does the same for the explorer's random
// workloads (loss, duplication, reordering, partitions, crashes, forged
// segments), each captured at A, then at B.
func TestRandomGroundTruth(t *testing.T) {
	n := uint64(*randomTruth)
	if testing.Short() && n > 40 {
		n = 40
	}
	if n == 0 {
		t.Skip("-random-truth 0")
	}
	var total score
	runs, bad := 0, 0
	for seed := *randomTruthFirst; seed < *randomTruthFirst+n; seed++ {
		for _, at := range []string{"A", "B"} {
			var b bytes.Buffer
			w, err := pcap.NewWriterNano(&b, 0)
			if err != nil {
				t.Fatal(err)
			}
			out, err := explore.RunCaptured(explore.Token{Case: explore.RandomCase, Seed: seed}, explore.Capture{W: w, At: at})
			if err != nil {
				t.Fatal(err)
			}
			c, err := infer.Read(&b)
			if err != nil {
				t.Fatalf("seed %d at %s: %v", seed, at, err)
			}
			sc := compare(truthStates(out.Events), inferredStates(c), simHosts(out.Events), false)
			runs++
			total.wrong += sc.wrong
			total.unknown += sc.unknown
			total.states += sc.states
			key := fmt.Sprintf("random:%d@%s", seed, at)
			why, known := knownWrong[key]
			switch {
			case sc.wrong > 0 && known:
				// Counted and shown, not failed: listed below with its cause.
				bad++
				t.Logf("random:%d at %s: %d wrong, known (%s)", seed, at, sc.wrong, why)
			case sc.wrong > 0:
				bad++
				t.Errorf("random:%d at %s: %d states, %d wrong, %d unknown", seed, at, sc.states, sc.wrong, sc.unknown)
				for _, d := range sc.details {
					t.Logf("    %s", d)
				}
			case known:
				t.Errorf("%s is no longer wrong: take it out of knownWrong", key)
			}
		}
	}
	t.Logf("%d captures of %d random workloads: %d states, %d wrong (in %d captures), %d unknown", runs, n, total.states, total.wrong, bad, total.unknown)
}
