package lab

import (
	"slices"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/scenario"
)

// The picker's groups, as the seed documents group their cases
// (SEEDS.md): opening, closing, TIME-WAIT, abnormal release, timers,
// floods, loss recovery; the explorer's exhaustive cases come last.
const (
	groupOpening   = "opening"
	groupClosing   = "closing"
	groupTimeWait  = "time-wait"
	groupAbnormal  = "abnormal"
	groupTimers    = "timers"
	groupFloods    = "floods"
	groupLoss      = "loss"
	groupMore      = "more"
	groupExplorer  = "explorer"
	explorerPrefix = "replay:"
)

var groupOrder = []string{groupOpening, groupClosing, groupTimeWait, groupAbnormal, groupTimers, groupFloods, groupLoss, groupMore, groupExplorer}

var groupTitle = map[string][2]string{
	groupOpening:  {"Opening", "连接建立"},
	groupClosing:  {"Closing", "连接释放"},
	groupTimeWait: {"TIME-WAIT", "TIME-WAIT"},
	groupAbnormal: {"Abnormal release", "异常释放"},
	groupTimers:   {"Timers", "计时器"},
	groupFloods:   {"Floods", "洪泛攻击"},
	groupLoss:     {"Loss recovery", "丢包恢复"},
	groupMore:     {"More cases", "其他"},
	groupExplorer: {"Explorer (exhaustive mode)", "探索器（穷举模式）"},
}

// groups places each catalogue case, in the order the picker lists them;
// the two-way model sits beside the handshake it is compared with. A case
// added later without a place here shows under "More cases".
var groups = []struct {
	id    string
	cases []string
}{
	{groupOpening, []string{"handshake", "two-way-handshake", "handshake-data-on-ack", "simultaneous-open", "old-duplicate-syn", "refused"}},
	{groupClosing, []string{"close-four-way", "close-three-way", "close-server-first", "half-close", "fin-with-data", "process-exit"}},
	{groupTimeWait, []string{"stale-segment-in-time-wait", "old-syn-in-time-wait", "time-wait-reuse", "late-ack-after-close"}},
	{groupAbnormal, []string{"simultaneous-close", "simultaneous-close-lost-ack", "simultaneous-close-both-acks-lost",
		"fin-wait-data-then-finack", "abort-rst", "half-open-peer-restart"}},
	{groupTimers, []string{"syn-received-timeout", "keepalive-dead-peer", "close-all-lost"}},
	{groupFloods, []string{"syn-flood"}},
	{groupLoss, []string{"lost-syn", "lost-synack", "lost-handshake-ack", "lost-fin", "lost-fin-ack", "lost-last-ack",
		"fast-retransmit", "sack-recovery", "tail-loss-probe", "rto-backoff", "spurious-retransmission"}},
}

func groupOf(name string) string {
	for _, g := range groups {
		if slices.Contains(g.cases, name) {
			return g.id
		}
	}
	return groupMore
}

// pickerCase is one entry of the picker.
type pickerCase struct {
	Name    string `json:"name"`
	Query   string `json:"query"` // the experiment it opens
	Summary string `json:"summary"`
}

type pickerGroup struct {
	ID    string       `json:"id"`
	Title string       `json:"title"`
	Cases []pickerCase `json:"cases"`
}

// picker lists every case, grouped, in the catalogue's order within a
// group.
func picker(lang string) []pickerGroup {
	l := 0
	if lang == "zh" {
		l = 1
	}
	by := map[string][]pickerCase{}
	add := func(g string, sc *scenario.Scenario) {
		sum := sc.Summary
		if l == 1 && sc.Zh.Summary != "" {
			sum = sc.Zh.Summary
		}
		by[g] = append(by[g], pickerCase{sc.Name, (&Experiment{Case: sc.Name}).Query(), sum})
	}
	for _, g := range groups {
		for _, name := range g.cases {
			if sc, ok := scenario.Lookup(name); ok {
				add(g.id, sc)
			}
		}
	}
	for _, sc := range scenario.All() {
		if groupOf(sc.Name) == groupMore {
			add(groupMore, sc)
		}
	}
	for _, c := range explore.DefaultCases() {
		tok := explore.Token{Case: c.Name}
		sum := c.Summary
		if l == 1 && c.Zh != "" {
			sum = c.Zh
		}
		by[groupExplorer] = append(by[groupExplorer], pickerCase{explorerPrefix + c.Name, (&Experiment{Replay: &tok}).Query(), sum})
	}
	var out []pickerGroup
	for _, g := range groupOrder {
		if len(by[g]) > 0 {
			out = append(out, pickerGroup{g, groupTitle[g][l], by[g]})
		}
	}
	return out
}
