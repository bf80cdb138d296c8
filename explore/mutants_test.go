//go:build synack_mutants

package explore

import (
	"slices"
	"strings"
	"testing"

	"github.com/synack/synack/tcp"
)

// TestMutants proves the explorer bites: with each deliberately broken
// variant of the core switched on, exhaustive exploration (K = 6, the cases
// in their usual order) must find a violation and report it with a
// schedule; the shrunk schedule must fail with the mutant and pass without
// it. Run with: go test -tags synack_mutants -run Mutant ./explore
func TestMutants(t *testing.T) {
	const k = 6
	defer tcp.SetMutant("")
	for _, m := range exhaustiveMutants {
		t.Run(m, func(t *testing.T) {
			tcp.SetMutant(m)
			defer tcp.SetMutant("")
			var found *Violation
			var searched []string
			for _, c := range DefaultCases() {
				rep, err := Exhaustive(c.Name, k, Options{StopAtFirst: true, MaxReports: 1})
				if err != nil {
					t.Fatal(err)
				}
				searched = append(searched, c.Name)
				if len(rep.Violations) > 0 {
					found = &rep.Violations[0]
					break
				}
			}
			if found == nil {
				t.Fatalf("mutant %s: no violation in cases %v, K = %d", m, searched, k)
			}
			t.Logf("mutant %s caught: synack explore --replay %s (found as %s)\n  %s", m, found.Token, found.Found,
				strings.SplitN(found.Problems[0], "\n", 2)[0])
			if want, ok := caughtBy[m]; ok && !strings.Contains(strings.Join(found.Problems, "\n"), want) {
				t.Fatalf("mutant %s was caught, but not by the invariant it is for (%q): %q", m, want, found.Problems)
			}
			if out, _ := Run(found.Token, false); out.OK() {
				t.Fatalf("mutant %s: the shrunk token %s does not fail", m, found.Token)
			}
			tcp.SetMutant("")
			if out, _ := Run(found.Token, false); !out.OK() {
				t.Fatalf("without the mutant, %s fails too: %q", found.Token, out.Problems)
			}
		})
	}
}

// exhaustiveMutants are the mutants the first K segments of open and close
// expose; randomMutants those that random workloads expose: an off-path
// attacker, a stale segment, a lost last ACK, or (sack-over-mtu) bulk data
// crossing losses both ways.
var (
	exhaustiveMutants = []string{"time-wait-zero", "no-fin-retransmit", "any-rst", "no-time-wait-seq-check", "no-time-wait-reack", "two-way-handshake",
		"loss-window-zero", "resend-sacked", "reassembly-gap"}
	randomMutants = []string{"time-wait-zero", "any-rst", "no-time-wait-seq-check", "two-way-handshake", "sack-over-mtu",
		"loss-window-zero", "resend-sacked", "reassembly-gap"}
)

// caughtBy names, for the mutants of issue 13's invariants, words of the
// problem the invariant reports, so that each is seen to be caught by its
// own invariant and not by a side effect.
var caughtBy = map[string]string{
	"loss-window-zero": "below its floor of one SMSS",
	"resend-sacked":    "though the peer had SACKed",
	"reassembly-gap":   "of the stream are not the ones sent",
}

// TestMutantsListed: every mutant the core has is hunted by one of the two.
func TestMutantsListed(t *testing.T) {
	for _, m := range tcp.Mutants {
		if !slices.Contains(exhaustiveMutants, m) && !slices.Contains(randomMutants, m) {
			t.Errorf("mutant %s is hunted by neither exhaustive nor random exploration", m)
		}
	}
}

// TestMutantsRandom: random mode catches the mutants an off-path attacker,
// a stale segment, a lost last ACK or bulk data on a lossy network exposes.
func TestMutantsRandom(t *testing.T) {
	defer tcp.SetMutant("")
	for _, m := range randomMutants {
		tcp.SetMutant(m)
		rep := Random(RandomOptions{FirstSeed: 1, Seeds: 300, StopAtFirst: true})
		if len(rep.Violations) == 0 {
			t.Errorf("mutant %s: no violation in %d random workloads", m, rep.Runs)
			continue
		}
		v := rep.Violations[0]
		t.Logf("mutant %s caught in random mode: synack explore --replay %s\n  %s", m, v.Token, strings.SplitN(v.Problems[0], "\n", 2)[0])
		if want, ok := caughtBy[m]; ok && !strings.Contains(strings.Join(v.Problems, "\n"), want) {
			t.Errorf("mutant %s was caught in random mode, but not by the invariant it is for (%q): %q", m, want, v.Problems)
		}
	}
}
