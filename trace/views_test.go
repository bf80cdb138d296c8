package trace

import (
	"strings"
	"testing"
)

// Views gives the report's pieces with each shown event tied to the one
// it came from, and each host's state after it.
func TestViews(t *testing.T) {
	evs := record(testRuns[0])
	v := Views(evs, Options{})
	if len(v.Events) == 0 || len(v.Events) > len(evs) {
		t.Fatalf("%d events shown of %d", len(v.Events), len(evs))
	}
	if !strings.Contains(v.Ladder, `data-ev="0"`) || !strings.Contains(v.Fig5, `data-state="TIME-WAIT"`) || !strings.Contains(v.Rows, `<tr data-ev="0"`) {
		t.Error("the pieces lack the attributes a page steps through")
	}
	last := -1
	for i, ve := range v.Events {
		if ve.Index <= last {
			t.Fatalf("event %d maps to %d, not after %d", i, ve.Index, last)
		}
		last = ve.Index
		e := evs[ve.Index]
		if e.Event == KindTimer && e.Action != "fire" && e.Timer == "retransmit" {
			t.Errorf("event %d is a timer the ladder hides", i)
		}
		if e.Event == KindState {
			for c, h := range v.Hosts {
				if h == e.Host && ve.States[c] != e.To {
					t.Errorf("after event %d, %s is %s, not %s", i, h, ve.States[c], e.To)
				}
			}
		}
	}
	end := v.Events[len(v.Events)-1].States
	if strings.Join(end, ",") != "CLOSED,CLOSED" || strings.Join(v.Initial, ",") != "CLOSED,CLOSED" {
		t.Errorf("states %v at the start and %v at the end", v.Initial, end)
	}
}
