//go:build synack_mutants

package explore

import (
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
	for _, m := range tcp.Mutants {
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

// TestMutantsRandom: random mode catches the mutants an off-path attacker,
// a stale segment or a lost last ACK on a lossy network exposes.
func TestMutantsRandom(t *testing.T) {
	defer tcp.SetMutant("")
	for _, m := range []string{"time-wait-zero", "any-rst", "no-time-wait-seq-check", "two-way-handshake"} {
		tcp.SetMutant(m)
		rep := Random(RandomOptions{FirstSeed: 1, Seeds: 300, StopAtFirst: true})
		if len(rep.Violations) == 0 {
			t.Errorf("mutant %s: no violation in %d random workloads", m, rep.Runs)
			continue
		}
		v := rep.Violations[0]
		t.Logf("mutant %s caught in random mode: synack explore --replay %s\n  %s", m, v.Token, strings.SplitN(v.Problems[0], "\n", 2)[0])
	}
}
