package lab

import (
	"errors"
	"fmt"
	"strings"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/scenario"
)

// The lab speaks English and Chinese: the page's own words are in
// lab.js; what the server writes — errors, settings, faults, the
// catalogue's texts in a run — is chosen here by the request's lang.

func langIndex(lang string) int {
	if lang == "zh" {
		return 1
	}
	return 0
}

// badError is a learner's (or a link's) mistake: a 4xx, said in English
// and in Chinese.
type badError struct{ msg [2]string }

func (e *badError) Error() string { return e.msg[0] }

// In is the message in lang.
func (e *badError) In(lang string) string { return e.msg[langIndex(lang)] }

// bad makes a badError from two formats that take the same arguments (a
// format may pick them by index, %[2]s, where Chinese orders them
// otherwise).
func bad(en, zh string, args ...any) error {
	return &badError{[2]string{fmt.Sprintf(en, args...), fmt.Sprintf(zh, args...)}}
}

// said is a badError of two messages already written.
func said(en, zh string) error { return &badError{[2]string{en, zh}} }

// badWrap is a badError around another package's error, said in English
// only: zh leads it in Chinese.
func badWrap(err error, zh string) error {
	return &badError{[2]string{err.Error(), zh + err.Error()}}
}

// within puts a badError inside another: what, then the inner message.
func within(err error, en, zh string) error {
	var b *badError
	if !errors.As(err, &b) {
		return err
	}
	return &badError{[2]string{en + b.msg[0], zh + b.msg[1]}}
}

// message is err as the page shows it in lang.
func message(err error, lang string) string {
	var b *badError
	if errors.As(err, &b) {
		return b.In(lang)
	}
	return err.Error()
}

// settingWords are the settings as the page labels them.
var settingWords = map[string][2]string{
	"msl":                {"MSL, maximum segment lifetime (TIME-WAIT lasts 2MSL)", "MSL 报文段最大生存时间（TIME-WAIT 持续 2MSL）"},
	"rto-initial":        {"Initial RTO", "初始重传超时（RTO）"},
	"rto-min":            {"Minimum RTO", "最小 RTO"},
	"syn-retries":        {"SYN retries", "SYN 重传次数"},
	"synack-retries":     {"SYN+ACK retries", "SYN+ACK 重传次数"},
	"retries":            {"Retransmissions before giving up", "放弃之前的重传次数"},
	"keepalive-idle":     {"Keepalive: idle time", "保活：空闲时间"},
	"keepalive-interval": {"Keepalive: probe interval", "保活：探测间隔"},
	"keepalive-count":    {"Keepalive: probes", "保活：探测次数"},
	"rfc1337":            {"RFC 1337: TIME-WAIT ignores RST", "RFC 1337：TIME-WAIT 忽略 RST"},
	"syncookies":         {"SYN cookies", "SYN cookie 模式"},
	"backlog":            {"Backlog: SYN and accept queues", "backlog：半连接与全连接队列长度"},
	"loss":               {"Random loss (0 to 0.9)", "随机丢包率（0 到 0.9）"},
	"seed":               {"Random seed", "随机种子"},
	"delay":              {"Link delay, one way", "链路单向时延"},
	"flood-rate":         {"syn-flood: spoofed SYNs a second", "syn-flood：每秒伪造的 SYN 数"},
}

// valueWords translate the values a select offers, and defaults.
var valueWords = map[string]string{
	"on": "开", "off": "关", "auto": "auto（队列满时）", "always": "always（总是）", "never": "never（从不）",
	"128 (syn-flood: 64)": "128（syn-flood：64）",
}

func valueIn(v, lang string) string {
	if lang == "zh" {
		if t, ok := valueWords[v]; ok {
			return t
		}
	}
	return v
}

// scheduleFault names the k-th letter of an explorer token's schedule.
func scheduleFault(k int, a explore.Action, lang string) string {
	en := map[explore.Action]string{explore.Drop: "lost", explore.Dup: "duplicated", explore.Delay: "delayed past the next"}
	zh := map[explore.Action]string{explore.Drop: "丢失", explore.Dup: "重复", explore.Delay: "延后到下一个之后"}
	if lang == "zh" {
		return fmt.Sprintf("第 %d 个报文段%s", k+1, zh[a])
	}
	return fmt.Sprintf("segment %d %s", k+1, en[a])
}

// inLang gives a run's texts in lang: the catalogue's own (rule names,
// notes, figures, failed expectations: scenario.Translate) and the
// explorer's.
func inLang(o *outcome, lang string) {
	if lang != "zh" {
		return
	}
	o.events = scenario.TranslateEvents(o.events, lang)
	for i := range o.events {
		e := &o.events[i]
		if w, ok := strings.CutPrefix(e.Cause, "attacker: "); ok {
			e.Cause = "攻击者：" + explorerWords(w)
		} else if w, ok := explorerSchedule[e.Cause]; ok {
			e.Cause = w
		}
	}
	r := (&scenario.Result{Notes: o.notes, Failures: o.failures}).In(lang)
	o.notes, o.failures = r.Notes, r.Failures
}

// explorerSchedule translates the explorer's schedule's faults.
var explorerSchedule = map[string]string{
	"schedule: drop":      "调度：丢失",
	"schedule: duplicate": "调度：重复",
	"schedule: hold until the next segment is sent":      "调度：扣留，直到下一个报文段发出",
	"schedule: held segment released after the next one": "调度：被扣留的报文段在下一个之后放行",
}

// explorerWords translates what the explorer's attacker forges.
func explorerWords(s string) string {
	if t, ok := map[string]string{
		"in-window RST": "窗口内的 RST", "out-of-window RST": "窗口外的 RST", "in-window SYN": "窗口内的 SYN",
		"data with an old ACK": "带旧 ACK 的数据", "data without ACK": "不带 ACK 的数据", "out-of-window data": "窗口外的数据",
		"exact RST": "序号恰好的 RST", "SYN from a spoofed address": "伪造地址的 SYN",
		"ACK with a guessed acknowledgment number": "猜测确认号的 ACK",
	}[s]; ok {
		return t
	}
	return s
}
