package lab

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/scenario"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
)

// outcome is one experiment's run, before it is drawn.
type outcome struct {
	x        *Experiment
	title    string
	summary  string
	doc      string
	group    string
	events   []trace.Event
	ok       bool
	failures []string
	notes    []string
	before   uint64 // packets up to this one cannot be faulted (scenario.Result.Before)
	applied  []scenario.FaultOutcome
	only     string // an explorer case's host whose segments its schedule counts
}

// run runs x. An explorer token's faults are folded into its schedule
// first, so that the token alone holds the experiment.
func run(x *Experiment, lang string) (*outcome, error) {
	if x.Replay != nil {
		return runReplay(x, lang)
	}
	s, _ := scenario.Lookup(x.Case)
	r := scenario.Run(s, x.Params())
	o := &outcome{x: x, title: s.Name, summary: s.Summary, doc: s.Doc, group: groupOf(s.Name),
		events: r.Events, ok: r.OK(), failures: r.Failures, notes: r.Notes, before: r.Before, applied: r.Faults}
	if lang == "zh" && s.Zh.Doc != "" {
		o.summary, o.doc = s.Zh.Summary, s.Zh.Doc
	}
	inLang(o, lang)
	return o, nil
}

// replayToken is x's explorer token with x's faults folded into its
// schedule, each into the run with the ones before it.
func replayToken(x *Experiment) (explore.Token, error) {
	tok := *x.Replay
	tok.Schedule = slices.Clone(tok.Schedule)
	cs, _ := explore.LookupCase(tok.Case)
	for _, f := range x.Faults {
		out, err := explore.Run(tok, true)
		if err != nil {
			return tok, badWrap(err, "探索器：")
		}
		k, ok := scheduleIndex(out.Events, cs.Only, f.Packet)
		if !ok {
			return tok, said(fmt.Sprintf("packet %d is not one of %s's segments that its schedule can fault (those its stacks sent%s)", f.Packet, tok.Case, onlyText(cs.Only, "en")),
				fmt.Sprintf("第 %d 个分组不是 %s 的调度可以施加故障的报文段（只能是协议栈发出的报文段%s）", f.Packet, tok.Case, onlyText(cs.Only, "zh")))
		}
		for len(tok.Schedule) <= k {
			tok.Schedule = append(tok.Schedule, explore.Deliver)
		}
		tok.Schedule[k] = map[scenario.FaultKind]explore.Action{
			scenario.FaultLose: explore.Drop, scenario.FaultDuplicate: explore.Dup, scenario.FaultDelay: explore.Delay,
		}[f.Kind]
	}
	tok.Schedule = tok.Schedule.Trim()
	return tok, nil
}

func runReplay(x *Experiment, lang string) (*outcome, error) {
	tok, err := replayToken(x)
	if err != nil {
		return nil, err
	}
	cs, _ := explore.LookupCase(tok.Case)
	y := &Experiment{Replay: &tok, Set: map[string]string{}}
	out, err := explore.Run(tok, true)
	if err != nil {
		return nil, badWrap(err, "探索器：")
	}
	o := &outcome{x: y, title: tok.String(), summary: cs.Summary, doc: cs.Summary, group: groupExplorer,
		events: out.Events, ok: out.OK(), failures: out.Problems, only: cs.Only}
	o.doc += ". " + describeSchedule(tok.Schedule, lang)
	if lang == "zh" && cs.Zh != "" {
		o.summary = cs.Zh
		o.doc = cs.Zh + "。" + describeSchedule(tok.Schedule, lang)
	}
	inLang(o, lang)
	return o, nil
}

func onlyText(only, lang string) string {
	switch {
	case only == "":
		return ""
	case lang == "zh":
		return "，且只限 " + only + " 发出的"
	}
	return ", from " + only + " only"
}

// scheduleIndex finds which segment of a schedule packet is: the
// explorer counts each segment a stack puts on the wire (only host's, if
// set), not the attacker's forgeries nor a held segment sent again.
func scheduleIndex(evs []trace.Event, only string, packet uint64) (int, bool) {
	k := 0
	for _, e := range evs {
		if e.Event != trace.KindSend {
			continue
		}
		counted := (only == "" || e.Host == only) && e.Rule != tcp.CauseNone
		if e.Packet == packet {
			return k, counted
		}
		if counted {
			k++
		}
	}
	return 0, false
}

// describeSchedule spells out a schedule's faults.
func describeSchedule(s explore.Schedule, lang string) string {
	words := map[explore.Action][2]string{
		explore.Drop: {"dropped", "丢失"}, explore.Dup: {"duplicated", "重复"}, explore.Delay: {"delayed past the next", "延后到下一个之后"},
	}
	l := 0
	if lang == "zh" {
		l = 1
	}
	var parts []string
	for i, a := range s {
		if a != explore.Deliver {
			if l == 1 {
				parts = append(parts, fmt.Sprintf("第 %d 个报文段%s", i+1, words[a][l]))
			} else {
				parts = append(parts, fmt.Sprintf("segment %d %s", i+1, words[a][l]))
			}
		}
	}
	if len(parts) == 0 {
		return [2]string{"Schedule: every segment delivered", "调度：所有报文段正常送达"}[l]
	}
	return [2]string{"Schedule: ", "调度："}[l] + strings.Join(parts, [2]string{", ", "，"}[l])
}

// faultable reports whether the learner may put a fault on event e.
func (o *outcome) faultable(e *trace.Event) bool {
	if e.Event != trace.KindSend && e.Event != trace.KindDup || e.Packet == 0 || e.Packet <= o.before {
		return false
	}
	if o.x.Replay != nil {
		_, ok := scheduleIndex(o.events, o.only, e.Packet)
		return ok
	}
	return e.Conn != "model"
}

// whyNot says why the learner may not fault e, a segment sent.
func (o *outcome) whyNot(e *trace.Event, lang string) string {
	l := langIndex(lang)
	switch {
	case e.Conn == "model" || e.Packet > 0 && e.Packet <= o.before:
		return [2]string{"This segment belongs to the two-way model, which the case draws as the seed tells its story: it is not simulated, so no fault can change it (no RFC says what such a protocol would do). Faults apply to the TCP run after it.",
			"这个报文段属于两次握手模型，案例按种子讲的故事把它画出来：它并未模拟，故障无法改变它（没有哪个 RFC 规定这样的协议会怎么做）。故障只作用于其后的 TCP 运行。"}[l]
	case o.x.Replay != nil && o.only != "" && e.Host != o.only:
		return fmt.Sprintf([2]string{"In this explorer case the schedule counts and faults %s's segments only; the others are always delivered.",
			"在这个探索器案例中，调度只计数并扰动 %s 的报文段；其余报文段总是正常送达。"}[l], o.only)
	case o.x.Replay != nil:
		return [2]string{"An attacker's forged segment: the explorer's schedule covers the segments the two stacks send, not forgeries.",
			"攻击者伪造的报文段：探索器的调度只涵盖双方协议栈发出的报文段，不包括伪造的报文段。"}[l]
	case e.Packet == 0:
		return [2]string{"This segment has no packet number in the trace: it arrived from before the trace began.",
			"这个报文段在轨迹中没有分组编号：它来自轨迹开始之前。"}[l]
	}
	return ""
}

// running is a timer armed at some moment, and when it will fire.
type running struct {
	Host  string `json:"host"`
	Timer string `json:"timer"`
	Left  int64  `json:"left"`  // ns until it fires
	Total int64  `json:"total"` // ns it was set for
}

// timersAt works out, after each event of evs, which timers are armed:
// set and not yet fired or cancelled, nor gone with their connection.
func timersAt(evs []trace.Event) [][]running {
	type key struct{ host, conn, timer string }
	type armed struct {
		at, in time.Duration
		seq    int
	}
	cur := map[key]armed{}
	out := make([][]running, len(evs))
	for i, e := range evs {
		switch {
		case e.Event == trace.KindTimer && e.Action == "set":
			cur[key{e.Host, e.Conn, e.Timer}] = armed{e.T, e.In, i}
		case e.Event == trace.KindTimer:
			delete(cur, key{e.Host, e.Conn, e.Timer})
		case e.Event == trace.KindState && e.To == "CLOSED":
			for k := range cur {
				if k.host == e.Host && k.conn == e.Conn {
					delete(cur, k)
				}
			}
		case e.Event == trace.KindHost:
			for k := range cur {
				if k.host == e.Host {
					delete(cur, k)
				}
			}
		}
		var rs []running
		for k, a := range cur {
			if left := a.at + a.in - e.T; left > 0 {
				rs = append(rs, running{k.host, k.timer, int64(left), int64(a.in)})
			}
		}
		slices.SortFunc(rs, func(a, b running) int {
			return strings.Compare(a.Host+a.Timer, b.Host+b.Timer)
		})
		out[i] = rs
	}
	return out
}

// Words for the predict mode's questions: the segments a host may send.
var flagChoices = []string{"SYN", "SYN,ACK", "ACK", "PSH,ACK", "FIN,ACK", "RST", "RST,ACK"}

// choices are the answers offered for "what comes next?" at event e: for
// a state change, every state the host's state may move to by RFC 9293's
// table; for a segment sent, the usual flag sets. The right answer is
// among them.
func choices(e *trace.Event) (options []string, answer string) {
	switch e.Event {
	case trace.KindState:
		from, ok := tcp.ParseState(e.From)
		if !ok {
			return nil, ""
		}
		for _, t := range tcp.Transitions {
			if t.From == from && !slices.Contains(options, t.To.String()) {
				options = append(options, t.To.String())
			}
		}
		answer = e.To
	case trace.KindSend:
		options = slices.Clone(flagChoices)
		answer = e.Flags
	default:
		return nil, ""
	}
	if !slices.Contains(options, answer) {
		options = append(options, answer)
	}
	if len(options) < 2 {
		return nil, ""
	}
	return options, answer
}
