package scenario

import (
	"fmt"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/trace"
)

// FaultKind is what a learner's fault does.
type FaultKind uint8

// The faults a learner may add to a run (synack lab): to one segment,
// named by its packet number in the trace, or to a host or the link from
// a moment of the trace on.
const (
	FaultLose      FaultKind = iota + 1 // the packet is lost
	FaultDuplicate                      // it arrives twice, back to back
	FaultDelay                          // it arrives For later than it would
	FaultCrash                          // Host crashes At; restarts For later (0: never)
	FaultPartition                      // the link loses everything from At for For
)

var faultNames = map[FaultKind]string{FaultLose: "lose", FaultDuplicate: "dup", FaultDelay: "delay", FaultCrash: "crash", FaultPartition: "partition"}

func (k FaultKind) String() string {
	if n, ok := faultNames[k]; ok {
		return n
	}
	return fmt.Sprintf("FaultKind(%d)", uint8(k))
}

// ParseFaultKind parses what String writes.
func ParseFaultKind(s string) (FaultKind, bool) {
	for k, n := range faultNames {
		if n == s {
			return k, true
		}
	}
	return 0, false
}

// Fault is one fault a learner added. Packet numbers and times are the
// trace's (Event.Packet, Event.T): a packet is the Nth the run put on the
// wire, so a fault names the same segment as long as nothing before it
// changed — an earlier fault may make packet N another segment.
type Fault struct {
	Kind   FaultKind
	Packet uint64        // lose, dup, delay
	Host   string        // crash
	At     time.Duration // crash, partition
	For    time.Duration // delay; crash: until restart; partition: how long
}

func (f Fault) String() string {
	switch f.Kind {
	case FaultLose, FaultDuplicate:
		return fmt.Sprintf("%s packet %d", f.Kind, f.Packet)
	case FaultDelay:
		return fmt.Sprintf("delay packet %d by %v", f.Packet, f.For)
	case FaultCrash:
		if f.For > 0 {
			return fmt.Sprintf("crash %s at %v, restart %v later", f.Host, f.At, f.For)
		}
		return fmt.Sprintf("crash %s at %v", f.Host, f.At)
	case FaultPartition:
		return fmt.Sprintf("partition the link at %v for %v", f.At, f.For)
	}
	return f.Kind.String()
}

// Rule names of a learner's faults, as traces show them.
func (f Fault) why() string { return "lab: " + f.String() }

// labRule is a learner's fault on a packet, with the trace's number for it.
type labRule struct {
	rule  *sim.Rule
	trace uint64
}

// scriptFaults adds the learner's packet faults, before the scenario's
// own scripts so that they decide first.
func (w *World) scriptFaults() {
	for _, f := range w.P.Faults {
		r := &sim.Rule{Name: f.why(), Packet: f.Packet, Count: 1}
		switch f.Kind {
		case FaultLose:
			r.Action = sim.ActDrop
		case FaultDuplicate:
			r.Action = sim.ActDup
		case FaultDelay:
			r.Action, r.Delay = sim.ActDelay, f.For
		default:
			continue
		}
		if f.Packet == 0 {
			w.Report("not applied: " + f.String() + " (no packet 0)")
			continue
		}
		w.labRules = append(w.labRules, labRule{w.script(r), f.Packet})
	}
}

// setBefore shows events of an earlier run first. This run's packets are
// numbered on from the earlier run's (events), so the learner's packet
// faults are renumbered; one on an earlier run's packet — a network that
// has already run, or the two-way model, which has none — cannot apply.
func (w *World) setBefore(evs []trace.Event) {
	w.before = evs
	last := w.last()
	for _, lr := range w.labRules {
		if lr.trace <= last {
			lr.rule.Packet = ^uint64(0) // matches nothing
			w.Report(fmt.Sprintf("not applied: packet %d belongs to the part of the case shown first, which is not simulated again", lr.trace))
			continue
		}
		lr.rule.Packet = lr.trace - last
	}
}

// timedFaults schedules the learner's crashes and partitions, once the
// script has set the world up. Times are the trace's: a case that shows
// an earlier run first starts this one's clock later (offset).
func (w *World) timedFaults() {
	for _, f := range w.P.Faults {
		if f.Kind != FaultCrash && f.Kind != FaultPartition {
			continue
		}
		if w.Net.Elapsed() > 0 || w.A == nil && f.Kind == FaultCrash || w.link == nil && f.Kind == FaultPartition {
			// The case ran its network itself (syn-flood), or has no
			// such host or link.
			w.Report("not applied: " + f.String() + " (this case runs its own network)")
			continue
		}
		at := f.At - w.offset
		if at < 0 {
			w.Report("not applied: " + f.String() + " (before this part of the case starts)")
			continue
		}
		switch f.Kind {
		case FaultCrash:
			h := w.Net.Host(f.Host)
			if h == nil {
				w.Report("not applied: " + f.String() + " (no such host)")
				continue
			}
			w.At(at, func() {
				if !h.Crashed() {
					h.Crash()
				}
			})
			if f.For > 0 {
				w.At(at+f.For, func() {
					if h.Crashed() {
						h.Restart()
					}
				})
			}
		case FaultPartition:
			text := "lab: the link is cut for " + f.For.String()
			w.At(at, func() { w.Note("A", text) })
			w.link.Partition(at, at+f.For)
		}
	}
}
