package scenario

import (
	"strings"
	"testing"

	"github.com/synack/synack/internal/tracecheck"
	"github.com/synack/synack/trace"
)

// Every scenario's trace keeps the README's contract for segments: each
// segment put on the wire is a send, and each copy of it ends in exactly
// one recv or drop naming it — with the catalogue's scripted faults, and
// again on a link that loses 20% of the segments at random.
func TestEverySendEnds(t *testing.T) {
	params := []Params{{}}
	for seed := uint64(1); seed <= 3; seed++ {
		params = append(params, Params{Seed: seed, Loss: 0.2})
	}
	for _, s := range All() {
		for _, p := range params {
			r := Run(s, p)
			if problems := tracecheck.Trips(r.Events, 5); len(problems) > 0 {
				t.Errorf("%s (seed %d, loss %v):\n%s", s.Name, p.Seed, p.Loss, strings.Join(problems, "\n"))
			}
		}
	}
}

// A scenario that loses a segment shows it leave: lost-syn has three
// sends of the SYN, the two lost ones each followed at once by a drop
// naming the scenario's rule, and the second says it is a retransmission.
func TestLostSYNIsSent(t *testing.T) {
	s, _ := Lookup("lost-syn")
	r := Run(s, Params{})
	var sends, drops []trace.Event
	for _, e := range r.Events {
		if e.Host != "A" || e.Flags != "SYN" {
			continue
		}
		switch e.Event {
		case trace.KindSend:
			sends = append(sends, e)
		case trace.KindDrop:
			drops = append(drops, e)
		}
	}
	if len(sends) != 3 || len(drops) != 2 {
		t.Fatalf("%d SYN sends and %d drops, want 3 and 2", len(sends), len(drops))
	}
	for i, d := range drops {
		if d.Packet != sends[i].Packet || d.T != sends[i].T || d.Cause == "" {
			t.Errorf("drop %d (packet %d at %v, cause %q) does not end send %d (packet %d at %v)", i, d.Packet, d.T, d.Cause, i, sends[i].Packet, sends[i].T)
		}
	}
	if !sends[1].Rule.Retransmission() {
		t.Errorf("the lost second SYN's send gives %q, not a retransmission", sends[1].Cause)
	}
}
