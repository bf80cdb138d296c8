package infer

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/synack/synack/trace"
)

// zh translates the words infer writes itself; rules that are package
// tcp's causes are translated by package trace.
var zh = map[string]string{
	"beyond the capture point (inferred from the ACKs)": "在抓包点之后（由 ACK 推断）",
	"RTT":                       "往返时间",
	"frame":                     "帧",
	"handshake never completed": "三次握手未完成",
	"RFC 9293 §3.8.6: zero window, the sender must stop and probe":                                                                                     "RFC 9293 §3.8.6: 零窗口，发送方必须停止发送并探测",
	"RFC 9293 §3.8.6.1: zero-window probe, SEQ = SND.UNA - 1 (as Linux)":                                                                               "RFC 9293 §3.8.6.1: 零窗口探测，SEQ = SND.UNA - 1（与 Linux 相同）",
	"RFC 9293 §3.8.6.1: zero-window probe, one byte into a closed window":                                                                              "RFC 9293 §3.8.6.1: 零窗口探测，向关闭的窗口发送一个字节",
	"RFC 1122 §4.2.3.6: keepalive probe, SEQ = SND.NXT - 1":                                                                                            "RFC 1122 §4.2.3.6: 保活探测，SEQ = SND.NXT - 1",
	"RFC 5681 §3.2: third duplicate ACK, fast retransmit":                                                                                              "RFC 5681 §3.2: 第三个重复 ACK，快速重传",
	"out of order: sent before the segment captured ahead of it, or overtaken on the way":                                                              "乱序：先于它被抓到的报文段之前发出，或在途中被超越",
	"RFC 3522, RFC 5682: spurious retransmission, the data was already acknowledged":                                                                   "RFC 3522, RFC 5682: 虚假重传，数据早已被确认",
	"a segment before this one was not captured: lost before the capture point, or not seen by it":                                                     "此前的报文段没有被抓到：在抓包点之前丢失，或未经过抓包点",
	"RFC 9293 §3.8.6.2.2: window update":                                                                                                               "RFC 9293 §3.8.6.2.2: 窗口更新",
	"in TIME-WAIT at the capture's end: its 2MSL timer ends unseen (no packet marks it)":                                                               "抓包结束时处于 TIME-WAIT：它的 2MSL 计时器在未见中结束（没有报文标记它）",
	"in FIN-WAIT-2 at the capture's end: an orphan's FIN-WAIT-2 timeout leaves no packet":                                                              "抓包结束时处于 FIN-WAIT-2：孤儿连接的 FIN-WAIT-2 超时不会留下任何报文",
	"the capture begins after the handshake: states before its first segment are not shown (taken as ESTABLISHED, so the states after are unverified)": "抓包开始于握手之后：第一个报文段之前的状态无法显示（按 ESTABLISHED 处理，因此之后的状态未经核实）",
	"answered the SYN+ACK of its SYN with RST (RFC 9293 §3.10.7.1): it had no connection then — the SYN was an old duplicate, or its attempt was abandoned — so its states are not shown":                              "用 RST 回应了自己 SYN 的 SYN+ACK（RFC 9293 §3.10.7.1）：它当时没有连接——那个 SYN 是旧的重复报文，或连接尝试已被放弃——所以不显示它的状态",
	"it answered a SYN but is not seen to listen (one incarnation, not a well-known port): it was in LISTEN, or in SYN-SENT with its own SYN lost before the capture point (a simultaneous open)":                      "它回应了一个 SYN，但看不出它在监听（只有一个连接化身，也不是知名端口）：它处于 LISTEN，或处于 SYN-SENT 而自己的 SYN 在抓包点之前丢失（同时打开）",
	"only SYNs came from this address, away from the capture point: a SYN's source is not verified (a spoofed SYN, as in a SYN flood, looks the same), so its states are those its sender would have, if it sent them": "这个地址只发来了 SYN，且不在抓包点旁：SYN 的源地址未经验证（伪造的 SYN，比如 SYN 洪泛，看起来一样），所以它的状态是发送者若真发了这些 SYN 时应有的状态",
	"RFC 9293 §3.10.7.1: answers with RST as for no connection: the connection was lost before, unseen (a restart, or a timeout)":                                                                                      "RFC 9293 §3.10.7.1: 以对待不存在的连接的方式回复 RST：连接此前已在未见中丢失（重启或超时）",
	"RFC 9293 §3.10.7.1: answers with RST as for no connection: the connection was lost before, unseen (a restart, a timeout, or its listener closed)":                                                                 "RFC 9293 §3.10.7.1: 以对待不存在的连接的方式回复 RST：连接此前已在未见中丢失（重启、超时或监听套接字已关闭）",
	// Mark kinds, in the anomaly lines ("3 × retransmission").
	MarkRetransmission: "重传",
	MarkFastRetransmit: "快速重传",
	MarkSpurious:       "虚假重传",
	MarkOutOfOrder:     "乱序",
	MarkLostSegment:    "前一报文段丢失",
	MarkDupAck:         "重复 ACK",
	MarkZeroWindow:     "零窗口",
	MarkWindowProbe:    "零窗口探测",
	MarkKeepalive:      "保活探测",
	MarkWindowUpdate:   "窗口更新",
	MarkSynRetry:       "SYN 重传",
	MarkRST:            "RST",
	MarkChallengeAck:   "挑战 ACK",
}

// tr translates s into lang: infer's own words by table or by template
// (sentences with figures and names in them), the rest (package tcp's
// causes) by package trace.
func tr(s, lang string) string {
	if lang != "zh" {
		return s
	}
	if t, ok := zh[s]; ok {
		return t
	}
	if t, ok := trTemplate(s, lang); ok {
		return t
	}
	return trace.Translate(s, lang)
}

// A template's English has verbs where its sentence has figures or names:
// %d a number, %f a decimal, %s a name left as it is, %c words translated
// in turn (a cause, a mark's kind). Its Chinese has %s for each, in order.
type template struct {
	re    *regexp.Regexp
	zh    string
	verbs []byte
}

func newTemplate(en, zhs string) *template {
	var pat strings.Builder
	var verbs []byte
	pat.WriteString("^")
	for rest := en; rest != ""; {
		i := strings.IndexByte(rest, '%')
		if i < 0 || i == len(rest)-1 {
			pat.WriteString(regexp.QuoteMeta(rest))
			break
		}
		pat.WriteString(regexp.QuoteMeta(rest[:i]))
		v := rest[i+1]
		switch v {
		case 'd':
			pat.WriteString(`(-?\d+)`)
		case 'f':
			pat.WriteString(`([\d.]+)`)
		default:
			pat.WriteString(`(.+?)`)
		}
		verbs = append(verbs, v)
		rest = rest[i+2:]
	}
	pat.WriteString("$")
	return &template{re: regexp.MustCompile(pat.String()), zh: zhs, verbs: verbs}
}

func trTemplate(s, lang string) (string, bool) {
	for _, t := range zhTemplates {
		m := t.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, len(t.verbs))
		for i, v := range t.verbs {
			args[i] = strings.ReplaceAll(m[i+1], " or ", " 或 ")
			if v == 'c' {
				args[i] = tr(m[i+1], lang)
			}
		}
		return fmt.Sprintf(t.zh, args...), true
	}
	return "", false
}

// zhTemplates: the longer of two that share a beginning first, so that
// a sentence meets its own.
var zhTemplates = func() []*template {
	pairs := [][2]string{
		{"RFC 6298 §5.4: retransmission timeout, retransmit the earliest unacknowledged segment, %s after the previous copy (back-off ×%f, RFC 6298 §5.5)",
			"RFC 6298 §5.4: 重传超时，重传最早未确认的报文段，距上一份 %s（退避 ×%s，RFC 6298 §5.5）"},
		{"RFC 6298 §5.4: retransmission timeout, retransmit the earliest unacknowledged segment, %s after the previous copy",
			"RFC 6298 §5.4: 重传超时，重传最早未确认的报文段，距上一份 %s"},
		{"RFC 6298 §5.5, RFC 9293 §3.8.1: SYN retry %d, %s after the previous copy (the timer doubles each time)",
			"RFC 6298 §5.5, RFC 9293 §3.8.1: 第 %s 次 SYN 重传，距上一份 %s（计时器每次加倍）"},
		{"RFC 5681 §2: duplicate ACK #%d of %d", "RFC 5681 §2: 第 %s 个重复 ACK，确认号 %s"},
		{"%d × %c", "%s × %s"},
		{"%s left TIME-WAIT within %s", "%s 在 %s 内离开了 TIME-WAIT"},
		{"%c (by way of %s, or not: the capture does not show which)", "%s（途经 %s，或者没有：抓包无法区分）"},
		{"%c (unseen: its FIN not yet captured)", "%s（未见：它的 FIN 尚未被抓到）"},
		{"%c (unseen: its FIN queued behind data until the handshake ended)", "%s（未见：它的 FIN 排在数据之后，等握手结束）"},
		{"at the capture's end in %s: the segments whose arrival is not shown decide which",
			"抓包结束时处于 %s：取决于那些无法确认是否到达的报文段"},
		{"in %s at the capture's end, waiting on a retransmission: a give-up leaves no packet",
			"抓包结束时处于 %s，正等待重传：放弃重传不会留下任何报文"},
		{"frame %d: whether it reached this end (taking it from %s to %s) is not shown",
			"帧 %s：它是否到达这一端（使其从 %s 进入 %s）抓包无法显示"},
		{"frame %d: whether it arrived, taking this end from %s to %s, is not shown; taken as not arrived",
			"帧 %s：它是否到达（使这一端从 %s 进入 %s）抓包无法显示；按未到达处理"},
		{"frame %d: whether the data before its FIN had all arrived when it came (taking this end to TIME-WAIT at once, or by FIN-WAIT-2) is not shown",
			"帧 %s：它到达时 FIN 之前的数据是否已全部到达（使这一端直接进入 TIME-WAIT，或经由 FIN-WAIT-2）抓包无法显示"},
		{"frame %d: whether it reached this end before or after the peer's segments captured behind it is not shown",
			"帧 %s：它是在对端随后被抓到的报文段之前还是之后到达这一端，抓包无法显示"},
		{"frame %d: a FIN arrived before this end's own FIN was captured; if its application had closed already (its FIN queued behind data, or lost before the capture point), it went to CLOSING, not CLOSE-WAIT",
			"帧 %s：对端的 FIN 在这一端自己的 FIN 被抓到之前到达；如果它的应用已经关闭（FIN 排在数据之后，或在抓包点之前丢失），它进入的是 CLOSING 而不是 CLOSE-WAIT"},
		{"frame %d: its FIN came with data queued after the handshake; if its application had closed before frame %d came, it went from SYN-RECEIVED to FIN-WAIT-1, never ESTABLISHED",
			"帧 %s：它的 FIN 随握手后排队的数据一起发出；如果它的应用在帧 %s 到达前已关闭，它从 SYN-RECEIVED 直接进入 FIN-WAIT-1，从未进入 ESTABLISHED"},
		{"its segments fit no one history of a TCP end (frame %d could not have been sent in the state it would be in): some are not its own — forged, or a middlebox's — so its states are shown unverified",
			"它的报文段不符合任何一个 TCP 端点的历史（帧 %s 不可能在它当时所处的状态下发出）：其中有些不是它发的——伪造的，或中间设备发的——所以它的状态未经核实"},
	}
	out := make([]*template, len(pairs))
	for i, p := range pairs {
		out[i] = newTemplate(p[0], p[1])
	}
	return out
}()
