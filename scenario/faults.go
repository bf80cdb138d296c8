package scenario

import (
	"fmt"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
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

// FaultOutcome is what became of one of the learner's faults: applied or
// not, and why not or what to know about it, in English and Chinese.
type FaultOutcome struct {
	Applied bool
	Why     [2]string
}

// labRule is a learner's fault on a packet, with the trace's number for
// it: the rule on the world's network, and its twin on an earlier run's
// network that a case simulates itself (syn-flood's first flood).
type labRule struct {
	fault int // index in Params.Faults
	rule  *sim.Rule
	twin  *sim.Rule
	trace uint64
}

// scriptFaults adds the learner's packet faults, before the scenario's
// own scripts so that they decide first.
func (w *World) scriptFaults() {
	w.outcomes = make([]FaultOutcome, len(w.P.Faults))
	for i, f := range w.P.Faults {
		w.outcomes[i].Applied = true
		r := f.rule()
		if r == nil {
			continue
		}
		if f.Packet == 0 {
			w.notApplied(i, "there is no packet 0", "没有第 0 个分组")
			continue
		}
		w.labRules = append(w.labRules, labRule{fault: i, rule: w.script(r), trace: f.Packet})
	}
}

// rule is a packet fault's rule, or nil for a crash or a partition.
func (f Fault) rule() *sim.Rule {
	r := &sim.Rule{Name: f.why(), Packet: f.Packet, Count: 1}
	switch f.Kind {
	case FaultLose:
		r.Action = sim.ActDrop
	case FaultDuplicate:
		r.Action = sim.ActDup
	case FaultDelay:
		r.Action, r.Delay = sim.ActDelay, f.For
	default:
		return nil
	}
	return r
}

func (w *World) notApplied(i int, en, zh string) {
	w.outcomes[i] = FaultOutcome{Why: [2]string{en, zh}}
}

// setModel shows a model's events first: drawn as the seed tells its
// story, not simulated (two-way-handshake's two-way protocol, which no
// RFC specifies and so has no behaviour to replay a fault with). This
// run's packets are numbered on from the model's, so the learner's packet
// faults are renumbered; one on a model's packet is not applied, and
// neither is a crash or a cut before this run starts (offset).
func (w *World) setModel(evs []trace.Event, name [2]string) {
	w.before, w.frozen, w.model = evs, lastPacket(evs), name
	w.renumber()
	for _, lr := range w.labRules {
		if lr.trace <= w.frozen {
			w.notApplied(lr.fault, fmt.Sprintf("packet %d is a segment of %s, which is drawn, not simulated: faults apply to the TCP run after it (packets %d on)", lr.trace, name[0], w.frozen+1),
				fmt.Sprintf("第 %d 个分组属于%s，它只是画出来的，并未模拟：故障只作用于其后的 TCP 运行（第 %d 个分组起）", lr.trace, name[1], w.frozen+1))
		}
	}
}

// setEarlier shows the events of an earlier run that the case simulated
// itself, on a network of its own, first (syn-flood's first flood): the
// learner's faults reached it through faultsOn. This run's packets are
// numbered on from its.
func (w *World) setEarlier(evs []trace.Event) {
	w.before = evs
	w.renumber()
}

// renumber moves the learner's packet faults on the world's network past
// the events shown first: its packets count on from theirs.
func (w *World) renumber() {
	last := w.last()
	for _, lr := range w.labRules {
		if lr.trace <= last {
			lr.rule.Packet = ^uint64(0) // matches nothing here
			continue
		}
		lr.rule.Packet = lr.trace - last
	}
}

func lastPacket(evs []trace.Event) uint64 {
	var last uint64
	for _, e := range evs {
		last = max(last, e.Packet)
	}
	return last
}

// part is one simulated run of a case that the learner's faults reach.
// Its clock starts at from in the trace's time; it ends at to (0: when
// the case's run ends). visible, if set, tells the packets its trace
// shows, the only ones a packet fault may name.
type part struct {
	net      *sim.Network
	link     *sim.Link
	rec      *record.Recorder
	from, to time.Duration
	visible  func(*sim.PacketEvent) bool
}

// faultsOn applies the learner's faults to a part a case runs itself
// (syn-flood's two floods), once its hosts and link exist and before it
// runs; the world's own network is the last part.
func (w *World) faultsOn(p part) {
	w.selfRun = true
	for k := range w.labRules {
		lr := &w.labRules[k]
		r := lr.rule
		if p.net != w.Net {
			r = w.P.Faults[lr.fault].rule()
			r.Packet = lr.trace // the earlier run's packets come first, unnumbered
			lr.twin = p.net.Script(r)
		}
		r.If = p.visible
	}
	w.timedOn(p)
}

// timedFaults schedules the learner's crashes and partitions on the
// world's network, once the script has set the world up.
func (w *World) timedFaults() {
	if w.selfRun {
		return // faultsOn did, part by part
	}
	w.timedOn(part{net: w.Net, link: w.link, rec: w.Rec, from: w.offset})
}

// timedOn schedules the crashes and partitions that fall in part p.
func (w *World) timedOn(p part) {
	for i, f := range w.P.Faults {
		if f.Kind != FaultCrash && f.Kind != FaultPartition {
			continue
		}
		if f.At < p.from || p.to > 0 && f.At >= p.to {
			if f.At < p.from && w.model[0] != "" && p.net == w.Net {
				w.notApplied(i, fmt.Sprintf("%v is within %s (the first %v), which is drawn, not simulated: the TCP run starts at %v", f.At, w.model[0], p.from, p.from),
					fmt.Sprintf("%v 处于%s（前 %v）之内，它只是画出来的，并未模拟：TCP 运行从 %v 开始", f.At, w.model[1], p.from, p.from))
			}
			continue
		}
		at := f.At - p.from
		w.outcomes[i] = FaultOutcome{Applied: true}
		if p.to > 0 && f.For > 0 && f.At+f.For > p.to {
			w.outcomes[i].Why = [2]string{fmt.Sprintf("this run ends at %v, before the %s ends; the next starts afresh", p.to, map[bool]string{true: "restart", false: "cut"}[f.Kind == FaultCrash]),
				fmt.Sprintf("这一段运行在 %v 结束，早于%s；下一段重新开始", p.to, map[bool]string{true: "主机重启", false: "链路恢复"}[f.Kind == FaultCrash])}
		}
		switch f.Kind {
		case FaultCrash:
			h := p.net.Host(f.Host)
			if h == nil {
				w.notApplied(i, "this case has no host "+f.Host, "这个案例没有主机 "+f.Host)
				continue
			}
			p.net.At(at, func() {
				if !h.Crashed() {
					h.Crash()
				}
			})
			if f.For > 0 {
				p.net.At(at+f.For, func() {
					if h.Crashed() {
						h.Restart()
					}
				})
			}
		case FaultPartition:
			if p.link == nil {
				w.notApplied(i, "this case has no link to cut", "这个案例没有可切断的链路")
				continue
			}
			text := "lab: the link is cut for " + f.For.String()
			p.net.At(at, func() { p.rec.Note(p.net.Now(), "A", text) })
			p.link.Partition(at, at+f.For)
		}
	}
}

// faultOutcomes finishes the outcomes once the run is over: a packet
// fault that matched nothing named a packet the run does not show.
func (w *World) faultOutcomes() []FaultOutcome {
	for _, lr := range w.labRules {
		o := &w.outcomes[lr.fault]
		if !o.Applied || lr.rule.Acted() > 0 || lr.twin != nil && lr.twin.Acted() > 0 {
			continue
		}
		w.notApplied(lr.fault, fmt.Sprintf("the run shows no packet %d", lr.trace), fmt.Sprintf("本次运行中没有第 %d 个分组", lr.trace))
	}
	return w.outcomes
}
