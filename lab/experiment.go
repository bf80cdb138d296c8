package lab

import (
	"errors"
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
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("setting %s=%q: %s", s.name, v, why)
	}
	switch s.kind {
	case "dur":
		d, err := time.ParseDuration(v)
		if err != nil {
			return bad("not a duration (e.g. 30s, 200ms, 2h)")
		}
		if d < dur(s.min) || d > dur(s.max) {
			return bad("must be between " + s.min + " and " + s.max)
		}
		return d.String(), nil
	case "int":
		n, err := strconv.Atoi(v)
		if err != nil {
			return bad("not a whole number")
		}
		if n < atoi(s.min) || n > atoi(s.max) {
			return bad("must be between " + s.min + " and " + s.max)
		}
		return strconv.Itoa(n), nil
	case "float":
		f, err := strconv.ParseFloat(v, 64)
		lo, _ := strconv.ParseFloat(s.min, 64)
		hi, _ := strconv.ParseFloat(s.max, 64)
		if err != nil || f != f {
			return bad("not a number")
		}
		if f < lo || f > hi {
			return bad("must be between " + s.min + " and " + s.max)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case "bool":
		switch v {
		case "on", "true", "1":
			return "on", nil
		case "off", "false", "0":
			return "off", nil
		}
		return bad("must be on or off")
	case "enum":
		if slices.Contains(s.enum, v) {
			return v, nil
		}
		return bad("must be one of " + strings.Join(s.enum, ", "))
	}
	return bad("unknown kind")
}

// pageKeys are the URL's words for the page itself, not the run.
var pageKeys = []string{"lang", "vs", "mode", "step"}

// errBad is a learner's (or a link's) mistake: a 4xx.
var errBad = errors.New("bad experiment")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBad, fmt.Sprintf(format, args...))
}

// ParseExperiment reads an experiment from a URL's query.
func ParseExperiment(q url.Values) (*Experiment, error) {
	x := &Experiment{Set: map[string]string{}}
	for k := range q {
		if k == "case" || k == "replay" || k == "fault" || slices.Contains(pageKeys, k) {
			continue
		}
		if _, ok := lookupSetting(k); !ok {
			return nil, badf("no setting %q (settings: %s)", k, settingNames())
		}
	}
	name, replay := q.Get("case"), q.Get("replay")
	switch {
	case len(q["case"]) > 1 || len(q["replay"]) > 1:
		return nil, badf("one case at a time")
	case name != "" && replay != "":
		return nil, badf("give a case or an explorer token (replay), not both")
	case name == "" && replay == "":
		return nil, badf("which case? (case=close-four-way, or replay=TOKEN from synack explore)")
	case name != "":
		if _, ok := scenario.Lookup(name); !ok {
			msg := fmt.Sprintf("no case %q", name)
			if near := scenario.Suggest(name); len(near) > 0 {
				msg += "; did you mean " + strings.Join(near, ", ") + "?"
			}
			return nil, badf("%s", msg)
		}
		x.Case = name
	default:
		tok, err := explore.ParseToken(replay)
		if err != nil {
			return nil, badf("%v", err)
		}
		if tok.Case == explore.RandomCase {
			return nil, badf("random:SEED tokens are random workloads of many connections; the lab opens the explorer's exhaustive cases (CASE:K:SCHEDULE)")
		}
		x.Replay = &tok
	}
	if n := len(q["fault"]); n > maxFaults {
		return nil, badf("%d faults; at most %d", n, maxFaults)
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
			return nil, badf("setting %s given %d times", s.name, len(vs))
		}
		v, err := s.canon(vs[0])
		if err != nil {
			return nil, badf("%v", err)
		}
		// Kept even when it is the default: a case may have its own
		// (syn-flood's backlog is 64), which the learner's value overrides.
		x.Set[s.name] = v
	}
	if x.Replay != nil {
		if len(x.Set) > 0 {
			return nil, badf("explorer cases run with the explorer's own settings; settings apply to catalogue cases")
		}
		for _, f := range x.Faults {
			if f.Kind == scenario.FaultCrash || f.Kind == scenario.FaultPartition {
				return nil, badf("explorer cases take faults on segments only (their schedule), not %s", f.Kind)
			}
		}
	}
	if x.Set["rto-min"] != "" || x.Set["rto-initial"] != "" {
		p := x.Params()
		if min, ini := orDefault(p.RTOMin, 200*time.Millisecond), orDefault(p.RTOInitial, time.Second); min > ini {
			return nil, badf("rto-min (%v) is above rto-initial (%v): the first RTO would be raised to the minimum (RFC 6298 §2.4); lower rto-min or raise rto-initial", min, ini)
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
	bad := func(why string) (scenario.Fault, error) {
		return scenario.Fault{}, badf("fault %q: %s (lose:N, dup:N, delay:N:DUR, crash:HOST:AT[:FOR], partition:AT:FOR)", s, why)
	}
	if !ok {
		return bad("no such fault")
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
			return bad("want " + kind.String() + ":N, N a packet number")
		}
	case scenario.FaultDelay:
		if len(parts) != 3 || !packet(parts[1]) || !when(parts[2], &f.For, time.Microsecond, 10*time.Minute) {
			return bad("want delay:N:DUR, DUR from 1µs to 10m")
		}
	case scenario.FaultCrash:
		if len(parts) < 3 || len(parts) > 4 || (parts[1] != "A" && parts[1] != "B") || !when(parts[2], &f.At, 0, 24*time.Hour) {
			return bad("want crash:A|B:AT[:FOR], AT a time in the run")
		}
		f.Host = parts[1]
		if len(parts) == 4 && !when(parts[3], &f.For, time.Millisecond, 24*time.Hour) {
			return bad("the restart comes 1ms to 24h after the crash")
		}
	case scenario.FaultPartition:
		if len(parts) != 3 || !when(parts[1], &f.At, 0, 24*time.Hour) || !when(parts[2], &f.For, time.Millisecond, 24*time.Hour) {
			return bad("want partition:AT:FOR")
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
