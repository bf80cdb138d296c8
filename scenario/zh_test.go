package scenario

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/synack/synack/trace"
)

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// Every text a case writes — its scripts' rule names and notes in the
// trace, its figures, its failed expectations, what became of a
// learner's fault — reads in Chinese too (synack lab's 中文): the case as
// written, with each of its segments lost in turn, with a crash and a
// cut. A new case's texts go into zh.go's tables.
func TestEveryTextInChinese(t *testing.T) {
	missing := map[string]string{}
	see := func(s, where string) {
		if s != "" && !hasHan(Translate(s, "zh")) {
			if _, ok := missing[s]; !ok {
				missing[s] = where
			}
		}
	}
	for _, s := range All() {
		p := Params{FloodRate: 20}
		base := Run(s, p)
		runs := []*Result{base}
		lost := 0
		for _, e := range base.Events {
			if e.Event == trace.KindSend && e.Packet > base.Before && (s.Name != "syn-flood" || lost < 4) {
				lost++
				p.Faults = []Fault{{Kind: FaultLose, Packet: e.Packet}}
				runs = append(runs, Run(s, p))
			}
		}
		p.Faults = []Fault{{Kind: FaultCrash, Host: "B", At: 15 * time.Millisecond, For: time.Second},
			{Kind: FaultPartition, At: 5 * time.Millisecond, For: 2 * time.Second}, {Kind: FaultLose, Packet: 1 << 20}}
		runs = append(runs, Run(s, p))
		for _, r := range runs {
			for _, e := range r.Events {
				if e.Event == trace.KindUser {
					continue // calls and errno names, the same in both
				}
				see(e.Cause, s.Name)
				see(e.Text, s.Name)
			}
			for _, n := range r.Notes {
				see(n, s.Name)
			}
			for _, f := range r.Failures {
				see(f, s.Name)
			}
			for _, f := range r.Faults {
				if f.Why[0] != "" && !hasHan(f.Why[1]) {
					missing[f.Why[0]] = s.Name
				}
			}
			for _, f := range r.Params.Faults {
				see(f.why(), s.Name)
				if !hasHan(f.Text("zh")) {
					missing[f.String()] = s.Name
				}
			}
		}
	}
	for s, where := range missing {
		t.Errorf("%s: no Chinese for %q", where, s)
	}
}

// Translate keeps the figures of a text and translates what it quotes.
func TestTranslateFigures(t *testing.T) {
	for en, zh := range map[string]string{
		"lab: delay packet 7 by 500ms":         "实验：第 7 个分组延迟 500ms",
		"lab: crash B at 1s, restart 2s later": "实验：B 在 1s 时崩溃，2s 后重启",
		"missing (in order): A send FIN,ACK seq=1 len=0 (RFC 6298 §5.4: retransmission timeout, retransmit the earliest unacknowledged segment)": "缺少（按顺序）：A 发送 FIN,ACK seq=1 len=0（RFC 6298 §5.4: 重传计时器超时，重传最早的未确认报文段）",
		"A#2 went through LISTEN → SYN-RECEIVED; expected LISTEN → CLOSED":                                                                       "A#2 经历的状态为 LISTEN → SYN-RECEIVED；预期为 LISTEN → CLOSED",
		"close-four-way": "close-four-way",
	} {
		if got := Translate(en, "zh"); got != zh {
			t.Errorf("%q:\n got %q\nwant %q", en, got, zh)
		}
		if got := Translate(en, "en"); got != en {
			t.Errorf("%q in English: %q", en, got)
		}
	}
	if !strings.HasPrefix(Translate("lab: lose packet 3", "zh"), "实验：丢失第 3 个分组") {
		t.Error(Translate("lab: lose packet 3", "zh"))
	}
}
