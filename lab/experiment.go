package lab

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/scenario"
	"github.com/synack/synack/stack"
)

// Experiment is everything a run depends on, and what the page's URL
// holds: a catalogue case or an explorer token, the learner's faults in
// the order they were added, and the settings.
type Experiment struct {
	Case   string         // a catalogue case; "" when Replay is set
	Replay *explore.Token // an explorer case, its schedule holding its faults
	Faults []scenario.Fault
	Set    map[string]string // the settings the learner gave, canonical values
}

// Limits on what a URL may ask for: the lab runs on a learner's machine,
// but a link from anywhere must not make it work for minutes.
const (
	maxFaults = 64
	maxQuery  = 8 << 10
)

// setting is one knob of Params, as the URL and the page name it.
type setting struct {
	name  string
	kind  string // "dur", "int", "float", "bool", "enum"
	def   string // the default, as the page shows it
	min   string // bounds, inclusive, in the kind's syntax
	max   string
	enum  []string
	apply func(p *scenario.Params, v string) // v already checked
}

var settings = []setting{
	{name: "msl", kind: "dur", def: "30s", min: "1ms", max: "1h", apply: func(p *scenario.Params, v string) { p.MSL = dur(v) }},
	{name: "rto-initial", kind: "dur", def: "1s", min: "1ms", max: "60s", apply: func(p *scenario.Params, v string) { p.RTOInitial = dur(v) }},
	{name: "rto-min", kind: "dur", def: "200ms", min: "1ms", max: "60s", apply: func(p *scenario.Params, v string) { p.RTOMin = dur(v) }},
	{name: "syn-retries", kind: "int", def: "6", min: "1", max: "20", apply: func(p *scenario.Params, v string) { p.SynRetries = atoi(v) }},
	{name: "synack-retries", kind: "int", def: "5", min: "1", max: "20", apply: func(p *scenario.Params, v string) { p.SynAckRetries = atoi(v) }},
	{name: "retries", kind: "int", def: "15", min: "1", max: "30", apply: func(p *scenario.Params, v string) { p.Retries = atoi(v) }},
	{name: "keepalive-idle", kind: "dur", def: "2h0m0s", min: "1s", max: "24h", apply: func(p *scenario.Params, v string) { p.KeepaliveIdle = dur(v) }},
	{name: "keepalive-interval", kind: "dur", def: "1m15s", min: "1s", max: "1h", apply: func(p *scenario.Params, v string) { p.KeepaliveInterval = dur(v) }},
	{name: "keepalive-count", kind: "int", def: "9", min: "1", max: "30", apply: func(p *scenario.Params, v string) { p.KeepaliveCount = atoi(v) }},
	{name: "rfc1337", kind: "bool", def: "off", apply: func(p *scenario.Params, v string) { p.RFC1337 = v == "on" }},
	{name: "syncookies", kind: "enum", def: "auto", enum: []string{"auto", "always", "never"}, apply: func(p *scenario.Params, v string) {
		p.SynCookies, _ = stack.ParseCookieMode(v)
	}},
	{name: "backlog", kind: "int", def: "128 (syn-flood: 64)", min: "1", max: "1024", apply: func(p *scenario.Params, v string) { p.Backlog = atoi(v) }},
	{name: "loss", kind: "float", def: "0", min: "0", max: "0.9", apply: func(p *scenario.Params, v string) { p.Loss, _ = strconv.ParseFloat(v, 64) }},
	{name: "seed", kind: "int", def: "1", min: "1", max: "1000000000", apply: func(p *scenario.Params, v string) { p.Seed = uint64(atoi(v)) }},
	{name: "delay", kind: "dur", def: "10ms", min: "1µs", max: "10s", apply: func(p *scenario.Params, v string) { p.Delay = dur(v) }},
	{name: "flood-rate", kind: "int", def: strconv.Itoa(labFloodRate), min: "1", max: "1000", apply: func(p *scenario.Params, v string) { p.FloodRate = atoi(v) }},
}

// labFloodRate is syn-flood's spoofed SYNs a second in the lab: the
// seed's 1000 take the simulator seconds a run, too slow to replay at
// each click; the queue of 64 stays full at this rate too. A learner can
// raise it.
const labFloodRate = 20

func dur(v string) time.Duration { d, _ := time.ParseDuration(v); return d }
func atoi(v string) int          { n, _ := strconv.Atoi(v); return n }

func lookupSetting(name string) (*setting, bool) {
	for i := range settings {
		if settings[i].name == name {
			return &settings[i], true
		}
	}
	return nil, false
}

// canon checks v against the setting and returns its canonical spelling.
func (s *setting) canon(v string) (string, error) {
	no := func(en, zh string) (string, error) {
		return "", said(fmt.Sprintf("setting %s=%q: %s", s.name, v, en), fmt.Sprintf("参数 %s=%q：%s", s.name, v, zh))
	}
	between := func() (string, error) {
		return no("must be between "+s.min+" and "+s.max, "必须在 "+s.min+" 到 "+s.max+" 之间")
	}
	switch s.kind {
	case "dur":
		d, err := time.ParseDuration(v)
		if err != nil {
			return no("not a duration (e.g. 30s, 200ms, 2h)", "不是时长（例如 30s、200ms、2h）")
		}
		if d < dur(s.min) || d > dur(s.max) {
			return between()
		}
		return d.String(), nil
	case "int":
		n, err := strconv.Atoi(v)
		if err != nil {
			return no("not a whole number", "不是整数")
		}
		if n < atoi(s.min) || n > atoi(s.max) {
			return between()
		}
		return strconv.Itoa(n), nil
	case "float":
		f, err := strconv.ParseFloat(v, 64)
		lo, _ := strconv.ParseFloat(s.min, 64)
		hi, _ := strconv.ParseFloat(s.max, 64)
		if err != nil || f != f {
			return no("not a number", "不是数字")
		}
		if f < lo || f > hi {
			return between()
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case "bool":
		switch v {
		case "on", "true", "1":
			return "on", nil
		case "off", "false", "0":
			return "off", nil
		}
		return no("must be on or off", "只能是 on 或 off")
	case "enum":
		if slices.Contains(s.enum, v) {
			return v, nil
		}
		return no("must be one of "+strings.Join(s.enum, ", "), "只能是 "+strings.Join(s.enum, "、")+" 之一")
	}
	return no("unknown kind", "未知类型")
}

// pageKeys are the URL's words for the page itself, not the run.
var pageKeys = []string{"lang", "vs", "mode", "step"}

// ParseExperiment reads an experiment from a URL's query.
func ParseExperiment(q url.Values) (*Experiment, error) {
	x := &Experiment{Set: map[string]string{}}
	for k := range q {
		if k == "case" || k == "replay" || k == "fault" || slices.Contains(pageKeys, k) {
			continue
		}
		if _, ok := lookupSetting(k); !ok {
			return nil, bad("no setting %q (settings: %s)", "没有参数 %q（参数有：%s）", k, settingNames())
		}
	}
	name, replay := q.Get("case"), q.Get("replay")
	switch {
	case len(q["case"]) > 1 || len(q["replay"]) > 1:
		return nil, bad("one case at a time", "一次只能选一个案例")
	case name != "" && replay != "":
		return nil, bad("give a case or an explorer token (replay), not both", "请给出一个案例（case）或一个探索器令牌（replay），不能两者都给")
	case name == "" && replay == "":
		return nil, bad("which case? (case=close-four-way, or replay=TOKEN from synack explore)", "哪个案例？（case=close-four-way，或 synack explore 给出的 replay=令牌）")
	case name != "":
		if _, ok := scenario.Lookup(name); !ok {
			if near := scenario.Suggest(name); len(near) > 0 {
				return nil, bad("no case %q; did you mean %s?", "没有案例 %q；是不是想找 %s？", name, strings.Join(near, ", "))
			}
			return nil, bad("no case %q", "没有案例 %q", name)
		}
		x.Case = name
	default:
		tok, err := explore.ParseToken(replay)
		if err != nil {
			return nil, badWrap(err, "探索器令牌有误：")
		}
		if tok.Case == explore.RandomCase {
			return nil, bad("random:SEED tokens are random workloads of many connections; the lab opens the explorer's exhaustive cases (CASE:K:SCHEDULE)",
				"random:SEED 令牌是许多连接的随机负载；实验室只打开探索器穷举模式的案例（CASE:K:SCHEDULE）")
		}
		x.Replay = &tok
	}
	if n := len(q["fault"]); n > maxFaults {
		return nil, bad("%d faults; at most %d", "%d 个故障；最多 %d 个", n, maxFaults)
	}
	for _, f := range q["fault"] {
		fl, err := parseFault(f)
		if err != nil {
			return nil, err
		}
		x.Faults = append(x.Faults, fl)
	}
	for _, s := range settings {
		vs := q[s.name]
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 {
			return nil, bad("setting %s given %d times", "参数 %s 给出了 %d 次", s.name, len(vs))
		}
		v, err := s.canon(vs[0])
		if err != nil {
			return nil, err
		}
		// Kept even when it is the default: a case may have its own
		// (syn-flood's backlog is 64), which the learner's value overrides.
		x.Set[s.name] = v
	}
	if x.Replay != nil {
		if len(x.Set) > 0 {
			return nil, bad("explorer cases run with the explorer's own settings; settings apply to catalogue cases", "探索器案例使用探索器自己的设置；参数只作用于目录中的案例")
		}
		for _, f := range x.Faults {
			if f.Kind == scenario.FaultCrash || f.Kind == scenario.FaultPartition {
				return nil, bad("explorer cases take faults on segments only (their schedule), not %s", "探索器案例只接受报文段上的故障（写入它的调度），不接受 %s", f.Kind)
			}
		}
	}
	if x.Set["rto-min"] != "" || x.Set["rto-initial"] != "" {
		p := x.Params()
		if min, ini := orDefault(p.RTOMin, 200*time.Millisecond), orDefault(p.RTOInitial, time.Second); min > ini {
			return nil, bad("rto-min (%v) is above rto-initial (%v): the first RTO would be raised to the minimum (RFC 6298 §2.4); lower rto-min or raise rto-initial",
				"rto-min（%v）大于 rto-initial（%v）：第一个 RTO 会被提高到最小值（RFC 6298 §2.4）；请降低 rto-min 或提高 rto-initial", min, ini)
		}
	}
	return x, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func settingNames() string {
	var names []string
	for _, s := range settings {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}

// parseFault reads one fault: lose:N, dup:N, delay:N:DUR, crash:HOST:AT[:FOR],
// partition:AT:FOR.
func parseFault(s string) (scenario.Fault, error) {
	parts := strings.Split(s, ":")
	kind, ok := scenario.ParseFaultKind(parts[0])
	no := func(en, zh string) (scenario.Fault, error) {
		return scenario.Fault{}, said(fmt.Sprintf("fault %q: %s (lose:N, dup:N, delay:N:DUR, crash:HOST:AT[:FOR], partition:AT:FOR)", s, en),
			fmt.Sprintf("故障 %q：%s（格式：lose:N、dup:N、delay:N:DUR、crash:HOST:AT[:FOR]、partition:AT:FOR）", s, zh))
	}
	if !ok {
		return no("no such fault", "没有这种故障")
	}
	f := scenario.Fault{Kind: kind}
	packet := func(v string) bool {
		n, err := strconv.ParseUint(v, 10, 32)
		f.Packet = n
		return err == nil && n > 0
	}
	when := func(v string, d *time.Duration, lo, hi time.Duration) bool {
		x, err := time.ParseDuration(v)
		*d = x
		return err == nil && x >= lo && x <= hi
	}
	switch kind {
	case scenario.FaultLose, scenario.FaultDuplicate:
		if len(parts) != 2 || !packet(parts[1]) {
			return no("want "+kind.String()+":N, N a packet number", "应为 "+kind.String()+":N，N 是分组编号")
		}
	case scenario.FaultDelay:
		if len(parts) != 3 || !packet(parts[1]) || !when(parts[2], &f.For, time.Microsecond, 10*time.Minute) {
			return no("want delay:N:DUR, DUR from 1µs to 10m", "应为 delay:N:DUR，DUR 从 1µs 到 10m")
		}
	case scenario.FaultCrash:
		if len(parts) < 3 || len(parts) > 4 || (parts[1] != "A" && parts[1] != "B") || !when(parts[2], &f.At, 0, 24*time.Hour) {
			return no("want crash:A|B:AT[:FOR], AT a time in the run", "应为 crash:A|B:AT[:FOR]，AT 是运行中的一个时刻")
		}
		f.Host = parts[1]
		if len(parts) == 4 && !when(parts[3], &f.For, time.Millisecond, 24*time.Hour) {
			return no("the restart comes 1ms to 24h after the crash", "重启应在崩溃之后 1ms 到 24h")
		}
	case scenario.FaultPartition:
		if len(parts) != 3 || !when(parts[1], &f.At, 0, 24*time.Hour) || !when(parts[2], &f.For, time.Millisecond, 24*time.Hour) {
			return no("want partition:AT:FOR", "应为 partition:AT:FOR")
		}
	}
	return f, nil
}

// formatFault writes what parseFault reads.
func formatFault(f scenario.Fault) string {
	switch f.Kind {
	case scenario.FaultLose, scenario.FaultDuplicate:
		return f.Kind.String() + ":" + strconv.FormatUint(f.Packet, 10)
	case scenario.FaultDelay:
		return "delay:" + strconv.FormatUint(f.Packet, 10) + ":" + f.For.String()
	case scenario.FaultCrash:
		s := "crash:" + f.Host + ":" + f.At.String()
		if f.For > 0 {
			s += ":" + f.For.String()
		}
		return s
	case scenario.FaultPartition:
		return "partition:" + f.At.String() + ":" + f.For.String()
	}
	return f.Kind.String()
}

// Query is the experiment's canonical URL query: the case, the faults in
// order, then the settings changed, in the page's order.
func (x *Experiment) Query() string {
	var b strings.Builder
	if x.Replay != nil {
		b.WriteString("replay=" + url.QueryEscape(x.Replay.String()))
	} else {
		b.WriteString("case=" + url.QueryEscape(x.Case))
	}
	for _, f := range x.Faults {
		b.WriteString("&fault=" + url.QueryEscape(formatFault(f)))
	}
	for _, s := range settings {
		if v, ok := x.Set[s.name]; ok {
			b.WriteString("&" + s.name + "=" + url.QueryEscape(v))
		}
	}
	return b.String()
}

// Params are the scenario's parameters under the experiment's settings.
func (x *Experiment) Params() scenario.Params {
	p := scenario.Params{Seed: 1, FloodRate: labFloodRate}
	for _, s := range settings {
		if v, ok := x.Set[s.name]; ok {
			s.apply(&p, v)
		}
	}
	p.Faults = append([]scenario.Fault(nil), x.Faults...)
	return p
}

// without returns a copy of x without its i-th fault.
func (x *Experiment) without(i int) *Experiment {
	y := *x
	y.Faults = slices.Delete(slices.Clone(x.Faults), i, i+1)
	return &y
}
