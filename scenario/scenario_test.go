package scenario

import (
	"fmt"
	"strings"
	"testing"

	"github.com/synack/synack/trace"
)

// dump renders events compactly for failure messages.
func dump(events []trace.Event) string {
	var b strings.Builder
	for _, e := range events {
		switch e.Event {
		case trace.KindTimer:
			if e.Action == "set" && (e.Timer == "delayed-ack" || e.Timer == "retransmit") {
				continue
			}
			fmt.Fprintf(&b, "%10v %s timer %s %s %v\n", e.T, e.Host, e.Timer, e.Action, e.In)
		case trace.KindState:
			fmt.Fprintf(&b, "%10v %s %s -> %s  [%s]\n", e.T, e.Host, e.From, e.To, e.Cause)
		case trace.KindUser:
			fmt.Fprintf(&b, "%10v %s app %s n=%d %s\n", e.T, e.Host, e.Call, e.N, e.Err)
		case trace.KindNote, trace.KindHost:
			fmt.Fprintf(&b, "%10v %s -- %s\n", e.T, e.Host, e.Text)
		default:
			rs, ra := "-", "-"
			if e.RSeq != nil {
				rs = fmt.Sprint(*e.RSeq)
			}
			if e.RAck != nil {
				ra = fmt.Sprint(*e.RAck)
			}
			fmt.Fprintf(&b, "%10v %s %s>%s %s seq=%s ack=%s len=%d %s %s\n", e.T, e.Host, e.Event, e.Peer, e.Flags, rs, ra, e.Len, e.Cause, e.Text)
		}
	}
	return b.String()
}

// Every scenario shows what SEEDS.md says it must: its expectation,
// written before it was run, holds.
func TestCatalogue(t *testing.T) {
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			r := Run(s, Params{})
			if !r.OK() {
				t.Errorf("%s:\n  %s\n%s", s.Name, strings.Join(r.Failures, "\n  "), dump(r.Events))
			}
		})
	}
}

// The catalogue holds exactly DESIGN.md's names.
func TestCatalogueNames(t *testing.T) {
	if len(All()) != len(order) {
		var missing []string
		for _, n := range order {
			if _, ok := Lookup(n); !ok {
				missing = append(missing, n)
			}
		}
		t.Fatalf("%d of %d scenarios registered; missing %v", len(All()), len(order), missing)
	}
}
