package sim

import (
	"time"

	"github.com/synack/synack/wire"
)

// Action is what a scripted Rule does to the packets it matches.
type Action uint8

// Rule actions.
const (
	ActDrop    Action = iota // lose the packet
	ActDelay                 // hold it for Delay, then deliver
	ActDup                   // deliver it twice
	ActDupLate               // deliver it, and a stale copy Delay later
)

// Rule is a scripted fault: "drop the first segment from B to A with FIN
// set", "hold the second SYN from A for 3 minutes". Rules are tried in the
// order they were added; the first that matches decides.
type Rule struct {
	Name  string
	From  string // host name; "" matches any
	To    string
	Match func(s *wire.Segment) bool // nil matches every segment
	// Packet, if set, matches only the packet with this number
	// (PacketEvent.ID): a fault a learner put on one segment of a trace.
	Packet uint64
	// If, if set, must accept the packet too: a test on more than its
	// segment, such as its addresses.
	If     func(e *PacketEvent) bool
	Skip   int // let this many matches pass first
	Count  int // act on this many matches; 0 = all
	Action Action
	Delay  time.Duration

	seen, acted int
}

// Script adds a rule.
func (n *Network) Script(r *Rule) *Rule {
	n.rules = append(n.rules, r)
	return r
}

// Acted reports how many packets the rule has acted on.
func (r *Rule) Acted() int { return r.acted }

func (n *Network) match(ev *PacketEvent) *Rule {
	for _, r := range n.rules {
		if r.From != "" && r.From != ev.From.Name || r.To != "" && r.To != ev.To.Name {
			continue
		}
		if r.Packet != 0 && r.Packet != ev.ID {
			continue
		}
		if r.Match != nil && (ev.Seg == nil || !r.Match(ev.Seg)) {
			continue
		}
		if r.If != nil && !r.If(ev) {
			continue
		}
		if r.Count > 0 && r.acted >= r.Count {
			continue
		}
		r.seen++
		if r.seen <= r.Skip {
			continue
		}
		r.acted++
		return r
	}
	return nil
}

// Flags returns a predicate matching segments with all of the given flags.
func Flags(f wire.Flags) func(*wire.Segment) bool {
	return func(s *wire.Segment) bool { return s.Flags&f == f }
}

// Exactly returns a predicate matching segments whose flags are exactly f.
func Exactly(f wire.Flags) func(*wire.Segment) bool {
	return func(s *wire.Segment) bool { return s.Flags&^wire.FlagPSH == f }
}
