package explore

import (
	"github.com/synack/synack/sim"
	"github.com/synack/synack/wire"
)

// Rule names, as they appear in traces (the "why" of a dropped or
// duplicated segment).
const (
	whyDrop    = "schedule: drop"
	whyDup     = "schedule: duplicate"
	whyHold    = "schedule: hold until the next segment is sent"
	whyRelease = "schedule: held segment released after the next one"
)

// faults applies a Schedule to the segments put on the wire, through the
// simulator's scripted rules: a first rule counts each segment and looks
// up its fate, the others act on it. A delayed segment is dropped by the
// "hold" rule, kept here, and sent again as soon as the next segment has
// been put on the wire; it then arrives right after that segment.
type faults struct {
	net   *sim.Network
	sched Schedule
	n     int    // segments counted so far
	cur   Action // fate of the segment being written
	quiet bool   // the attacker or a release is sending: not counted, no fault

	hold      *sim.Rule // the hold rule, and how many packets it had held
	holds     int       // when the last one was sent
	held      []heldPacket
	pending   bool   // a release is scheduled
	releasing bool   // release is sending: its packets were counted when held
	releaseFn func() // f.release, made once
}

type heldPacket struct {
	from *sim.Host
	pkt  []byte
	id   uint64
}

// install adds the rules. only, if set, names the host whose segments are
// counted; the other host's are delivered.
func (f *faults) install(n *sim.Network, only string) {
	f.net = n
	n.Script(&sim.Rule{Name: "schedule", From: only, Match: f.count})
	n.Script(&sim.Rule{Name: whyDrop, From: only, Match: f.is(Drop), Action: sim.ActDrop})
	n.Script(&sim.Rule{Name: whyDup, From: only, Match: f.is(Dup), Action: sim.ActDup})
	f.holds = 0
	f.hold = n.Script(&sim.Rule{Name: whyHold, From: only, Match: f.is(Delay), Action: sim.ActDrop})
}

func (f *faults) count(*wire.Segment) bool {
	f.cur = Deliver
	if f.quiet {
		return false
	}
	if f.n < len(f.sched) {
		f.cur = f.sched[f.n]
	}
	f.n++
	return false
}

func (f *faults) is(a Action) func(*wire.Segment) bool {
	return func(*wire.Segment) bool { return f.cur == a && !f.quiet }
}

// packet is called by the checker for every packet event: it keeps held
// packets and releases them once the next segment is on the wire. Every
// packet is reported sent before the link drops it (the hold rule's
// drop too), so a send releases what is held unless the hold rule has
// just taken that very packet.
func (f *faults) packet(e *sim.PacketEvent) {
	switch e.Kind {
	case sim.PacketDropped:
		if f.hold != nil && e.Rule == f.hold {
			f.held = append(f.held, heldPacket{from: e.From, pkt: append([]byte(nil), e.Pkt...), id: e.ID})
		}
		return
	case sim.PacketSent:
		if f.hold == nil {
			break // no schedule installed (random mode)
		}
		if a := f.hold.Acted(); a != f.holds {
			f.holds = a
			return // about to be held: not the next segment
		}
	default:
		return
	}
	if len(f.held) == 0 || f.pending || f.quiet {
		return
	}
	f.pending = true
	if f.releaseFn == nil {
		f.releaseFn = f.release
	}
	f.net.After(0, f.releaseFn)
}

// release sends every held packet again, in the order they were held.
func (f *faults) release() {
	f.pending = false
	held := f.held
	f.held = nil
	f.quiet, f.releasing = true, true
	for _, h := range held {
		h.from.Send(h.pkt, whyRelease)
	}
	f.quiet, f.releasing = false, false
}
