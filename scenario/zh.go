package scenario

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/synack/synack/trace"
)

// Translate returns s — one of the catalogue's own texts: a script's rule
// name, a note in a trace, a figure a case reports, an expectation that
// failed, a learner's fault — in lang ("en" or "zh"), in the words of
// the scenarios' Zh texts. What it does not know goes to
// trace.Translate (package tcp's causes, the simulator's words).
func Translate(s, lang string) string {
	if lang != "zh" || s == "" {
		return s
	}
	if t, ok := zhWords[s]; ok {
		return t
	}
	for _, p := range zhPatterns {
		if m := p.re.FindStringSubmatch(s); m != nil {
			return p.expand(m)
		}
	}
	return trace.Translate(s, lang)
}

// TranslateEvents returns evs with the catalogue's own texts in lang: a
// script's rule name, a note. Package tcp's causes are left as they are,
// for the renderers to translate and show beside their English.
func TranslateEvents(evs []trace.Event, lang string) []trace.Event {
	if lang != "zh" {
		return evs
	}
	out := make([]trace.Event, len(evs))
	for i, e := range evs {
		if t := Translate(e.Cause, lang); t != trace.Translate(e.Cause, lang) {
			e.Cause = t
		}
		if t := Translate(e.Text, lang); t != trace.Translate(e.Text, lang) {
			e.Text = t
		}
		out[i] = e
	}
	return out
}

// In returns r with its texts in lang: the trace's (TranslateEvents), its
// figures and its failed expectations.
func (r *Result) In(lang string) *Result {
	if lang != "zh" {
		return r
	}
	c := *r
	c.Events = TranslateEvents(r.Events, lang)
	c.Notes, c.Failures = translateAll(r.Notes, lang), translateAll(r.Failures, lang)
	return &c
}

func translateAll(ss []string, lang string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Translate(s, lang)
	}
	return out
}

// Text is the fault in lang: what String says, or its Chinese.
func (f Fault) Text(lang string) string {
	if lang != "zh" {
		return f.String()
	}
	switch f.Kind {
	case FaultLose:
		return "丢失第 " + u(f.Packet) + " 个分组"
	case FaultDuplicate:
		return "重复第 " + u(f.Packet) + " 个分组"
	case FaultDelay:
		return "第 " + u(f.Packet) + " 个分组延迟 " + f.For.String()
	case FaultCrash:
		if f.For > 0 {
			return f.Host + " 在 " + f.At.String() + " 时崩溃，" + f.For.String() + " 后重启"
		}
		return f.Host + " 在 " + f.At.String() + " 时崩溃"
	case FaultPartition:
		return "在 " + f.At.String() + " 时切断链路 " + f.For.String()
	}
	return f.Kind.String()
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

// zhWords are the texts written out in full: scripts' rule names, notes.
var zhWords = map[string]string{
	// scripts' faults (rule names)
	"lose A's ACK of B's FIN":                         "丢失 A 对 B 的 FIN 的确认",
	"lose B's ACK of A's FIN":                         "丢失 B 对 A 的 FIN 的确认",
	"lose A's FIN":                                    "丢失 A 的 FIN",
	"lose A's last ACK":                               "丢失 A 的最后一个 ACK",
	"B is cut off":                                    "B 与网络断开",
	"lose the first two SYNs":                         "丢失前两个 SYN",
	"lose the first SYN+ACK":                          "丢失第一个 SYN+ACK",
	"lose the handshake's ACK":                        "丢失握手的 ACK",
	"the first SYN wanders in the network for 1 s":    "第一个 SYN 在网络中滞留 1 秒",
	"A's last ACK wanders for 3 minutes":              "A 的最后一个 ACK 在网络中滞留 3 分钟",
	"a copy of B's data wanders 3 s":                  "B 的数据的一个副本在网络中滞留 3 秒",
	"a copy of B's ACK wanders 3 s":                   "B 的 ACK 的一个副本在网络中滞留 3 秒",
	"a copy of B's FIN wanders 3 s":                   "B 的 FIN 的一个副本在网络中滞留 3 秒",
	"a copy of A's SYN wanders 5 s":                   "A 的 SYN 的一个副本在网络中滞留 5 秒",
	"lose A's second segment":                         "丢失 A 的第二个报文段",
	"lose A's fifth segment":                          "丢失 A 的第五个报文段",
	"lose A's last segment":                           "丢失 A 的最后一个报文段",
	"lose A's segment and its retransmissions":        "丢失 A 的报文段及其重传",
	"hold B's ACK of the data for 400 ms":             "把 B 对数据的 ACK 扣留 400 毫秒",
	"a stale SYN":                                     "过期的 SYN",
	"spoofed SYN":                                     "伪造的 SYN",
	"from now on every segment from B is lost":        "从现在起，B 发出的每个报文段都会丢失",
	"A gives up its first attempt":                    "A 放弃第一次连接尝试",
	"A opens again on the same ports, with a new ISN": "A 用相同的端口、新的初始序号再次打开连接",
	"A connects again from the same port":             "A 从相同的端口再次连接",
	"from now on, the segment and its next five retransmissions are lost": "从现在起，该报文段及其后五次重传都会丢失",
	"TCP, case 1: the SYN+ACK is lost":                                    "TCP，情形 1：SYN+ACK 丢失",
	"TCP, case 2: a stale SYN of an attempt abandoned long ago arrives":   "TCP，情形 2：一次早已放弃的连接尝试的过期 SYN 到达",

	// the two-way model's words
	"two-way model, case 1: the server's answer is lost":                          "两次握手模型，情形 1：服务器的应答丢失",
	"two-way model, case 2: a request from an attempt abandoned long ago arrives": "两次握手模型，情形 2：一次早已放弃的尝试发出的请求到达",
	"the client asks to open": "客户端请求建立连接",
	"connection request":      "连接请求",
	"accept":                  "接受",
	"the answer is lost":      "应答丢失",
	"no answer: the client times out and asks again": "没有应答：客户端超时，再次请求",
	"retransmitted request":                          "重传的请求",
	"answer received":                                "收到应答",
	"a stale request":                                "过期的请求",
	"two-way handshake (hypothetical): the server opens on the request alone":                                                                "两次握手（假想）：服务器一收到请求就建立连接",
	"two-way handshake (hypothetical): the server opens on the request alone: without sequence numbers agreed, a repeated request looks new": "两次握手（假想）：服务器一收到请求就建立连接；序号没有同步，重复的请求看起来就像新的请求",
	"the server holds two connections, the client opened one: the first waits forever":                                                       "服务器持有两个连接，客户端只打开了一个：第一个连接将永远等待",
	"the client never asked for this: it ignores the answer, and the server keeps a connection nobody uses":                                  "客户端从未请求这个连接：它忽略应答，服务器却保留着一个没人使用的连接",

	// reports and failed expectations without figures
	"B's SYN queue is empty after the give-up":                                               "放弃之后 B 的半连接队列为空",
	"the first probe came before the idle time":                                              "第一个保活探测早于空闲时间",
	"B never retransmitted its FIN":                                                          "B 从未重传它的 FIN",
	"FIN retransmissions do not back off exponentially":                                      "FIN 的重传间隔没有按指数退避",
	"SYNs not sent at 0, RTO and 3×RTO":                                                      "SYN 没有在 0、RTO 和 3×RTO 时发送",
	"A's initial window after two lost SYNs is more than one segment":                        "两个 SYN 丢失之后，A 的初始窗口超过一个报文段",
	"SYN+ACK retransmissions do not back off exponentially":                                  "SYN+ACK 的重传间隔没有按指数退避",
	"A's retransmission timer fired: the loss should be repaired by the third duplicate ACK": "A 的重传计时器到期了：丢失的报文段本应由第三个重复 ACK 触发修复",
	"A's retransmission timer fired: SACK recovery should repair both holes":                 "A 的重传计时器到期了：SACK 恢复本应修复两个空洞",
	"the second hole was not sent again before the first repair's ACK came back":             "第一次修复的 ACK 返回之前，第二个空洞没有被重传",
	"A's retransmission timer fired: the probe should repair the tail":                       "A 的重传计时器到期了：尾部本应由探测修复",
	"B's RST did not answer the late ACK":                                                    "B 没有用 RST 回应迟到的 ACK",
	"no stale segment reached A in TIME-WAIT":                                                "没有旧报文段在 TIME-WAIT 状态到达 A",
	"the new connection did not open before 2MSL ended":                                      "新连接没有在 2MSL 结束之前建立",
	"the model should show the server holding connections the client never opened":           "模型应当显示服务器持有客户端从未打开的连接",
	"B's answer to the copy carries no SACK block naming it (RFC 2883 §4)":                   "B 对副本的应答没有带上指出它的 SACK 块（RFC 2883 §4）",
	"A never undid its window reduction on the DSACK (RFC 2883 §4, RFC 9438 §4.9)":           "A 收到 DSACK 后始终没有撤销窗口的缩减（RFC 2883 §4，RFC 9438 §4.9）",
	"A undid before it retransmitted":                                                        "A 在重传之前就撤销了",
	"the delayed ACK arrived before the undo":                                                "被延迟的 ACK 在撤销之前就到达了",
	"B's delayed ACK never arrived":                                                          "B 被延迟的 ACK 始终没有到达",
}

// zhPattern translates a text with figures in it: {N} in zh is the Nth
// group as it is, {tN} the Nth group translated.
type zhPattern struct {
	re *regexp.Regexp
	zh string
}

var groupRef = regexp.MustCompile(`\{(t?)(\d)\}`)

func (p zhPattern) expand(m []string) string {
	return groupRef.ReplaceAllStringFunc(p.zh, func(ref string) string {
		g := groupRef.FindStringSubmatch(ref)
		s := m[g[2][0]-'0']
		if g[1] == "t" {
			return Translate(s, "zh")
		}
		return s
	})
}

// pat makes a pattern from an English text in which {} stands for a
// figure (any text).
func pat(en, zh string) zhPattern {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(en), `\{\}`, "(.*?)") + "$"
	return zhPattern{regexp.MustCompile(re), zh}
}

// zhPatterns are tried in order; the first that matches translates.
var zhPatterns = []zhPattern{
	// the learner's faults, as the trace names them
	pat("lab: lose packet {}", "实验：丢失第 {1} 个分组"),
	pat("lab: dup packet {}", "实验：重复第 {1} 个分组"),
	pat("lab: delay packet {} by {}", "实验：第 {1} 个分组延迟 {2}"),
	pat("lab: crash {} at {}, restart {} later", "实验：{1} 在 {2} 时崩溃，{3} 后重启"),
	pat("lab: crash {} at {}", "实验：{1} 在 {2} 时崩溃"),
	pat("lab: partition the link at {} for {}", "实验：在 {1} 时切断链路 {2}"),
	pat("lab: the link is cut for {}", "实验：链路被切断 {1}"),

	// notes and reports
	pat("{}: no connection (it never opened)", "{1}：没有连接（它从未建立）"),
	pat("SYN cookies off (never): {} spoofed SYNs a second", "关闭 SYN cookie（never）：每秒 {1} 个伪造的 SYN"),
	pat("SYN cookies on ({}): the same flood", "打开 SYN cookie（{1}）：同样的洪泛"),
	pat("SYN cookies off ({}): the same flood", "关闭 SYN cookie（{1}）：同样的洪泛"),
	pat("cookies never: {}/{} legitimate connections succeeded; SYN queue peak {} entries", "cookie never：{1}/{2} 个合法连接成功；半连接队列峰值 {3} 项"),
	pat("cookies auto:  {}/{} legitimate connections succeeded; SYN queue peak {} entries; {} cookies sent, {} accepted",
		"cookie auto：{1}/{2} 个合法连接成功；半连接队列峰值 {3} 项；发出 {4} 个 cookie，接受 {5} 个"),
	pat("memory held by the SYN queue: at most {} entries of ≤ 256 bytes each (measured by stack's TestHalfOpenMemory), cookies hold none",
		"半连接队列占用的内存：至多 {1} 项，每项 ≤ 256 字节（由 stack 的 TestHalfOpenMemory 测得），cookie 不占内存"),
	pat("two-way model: the client opened {} connection(s), the server holds {}", "两次握手模型：客户端打开了 {1} 个连接，服务器持有 {2} 个"),
	pat("TCP: the server holds {} connection(s) and {} half-open entries", "TCP：服务器持有 {1} 个连接和 {2} 个半连接"),
	pat("with the probe: {}", "有尾部丢失探测：{t1}"),
	pat("with probes off, by the RTO: {}", "关闭探测、靠 RTO：{t1}"),
	pat("all acknowledged at {}, timeouts {}, then a congestion window of {} bytes and an RTO of {}", "在 {1} 全部确认，超时 {2} 次，之后拥塞窗口 {3} 字节，RTO {4}"),
	pat("not all acknowledged by {}, timeouts {}, then a congestion window of {} bytes and an RTO of {}", "到 {1} 仍未全部确认，超时 {2} 次，此时拥塞窗口 {3} 字节，RTO {4}"),
	pat("RTO {}: no RTT sample since the back-off: the only ACK was of a retransmitted segment (Karn)", "RTO {1}：退避之后没有 RTT 样本：唯一的 ACK 确认的是重传的报文段（Karn 算法）"),
	pat("RTO {}: the ACK of the last segment, sent once, gave a sample", "RTO {1}：上一个报文段只发送了一次，它的 ACK 给出了 RTT 样本"),

	// failed expectations (check.go)
	pat("{} went through {}; expected {}", "{1} 经历的状态为 {2}；预期为 {3}"),
	pat("missing (in order): {}", "缺少（按顺序）：{t1}"),
	pat("{} appeared at {} but must not", "{t1} 出现在 {2}，但不应出现"),
	pat("timer {} set on {}", "{2} 设置计时器 {1}"),
	pat("timer {} fire on {}", "{2} 的计时器 {1} 到期"),
	pat("timer {} cancel on {}", "{2} 取消计时器 {1}"),
	pat("{}'s application: {} → {}", "{1} 的应用：{2} → {3}"),
	pat("{}'s application: {}", "{1} 的应用：{2}"),
	{regexp.MustCompile(`^([A-Z]) send(.*?) \((.+)\)$`), "{1} 发送{2}（{t3}）"},
	{regexp.MustCompile(`^([A-Z]) drop(.*?) \((.+)\)$`), "{1} 丢失{2}（{t3}）"},
	{regexp.MustCompile(`^([A-Z]) recv(.*?) \((.+)\)$`), "{1} 接收{2}（{t3}）"},
	{regexp.MustCompile(`^([A-Z]) send(.*)$`), "{1} 发送{2}"},
	{regexp.MustCompile(`^([A-Z]) drop(.*)$`), "{1} 丢失{2}"},
	{regexp.MustCompile(`^([A-Z]) recv(.*)$`), "{1} 接收{2}"},

	// failed expectations with figures (the cases' own checks)
	pat("B's application read {} bytes after the reset; they must be lost", "B 的应用在连接重置后读到 {1} 字节；这些数据应当丢失"),
	pat("A sent {} probes; expected {}", "A 发送了 {1} 个保活探测；预期 {2} 个"),
	pat("probes are not {} apart", "保活探测的间隔不是 {1}"),
	pat("with cookies never, {}/{} legitimate connections got through a full SYN queue", "cookie never 时，{1}/{2} 个合法连接穿过了已满的半连接队列"),
	pat("with cookies auto, only {}/{} legitimate connections succeeded", "cookie auto 时，只有 {1}/{2} 个合法连接成功"),
	pat("the SYN queue outgrew its bound of {}", "半连接队列超过了上限 {1}"),
	pat("A read {} bytes; expected {}", "A 读到 {1} 字节；预期 {2}"),
	pat("B read {} bytes before EOF; expected all {}", "B 在 EOF 之前读到 {1} 字节；预期全部 {2} 字节"),
	pat("B read {} bytes, not the {} A wrote, once each and in order", "B 读到 {1} 字节，而不是 A 写入的 {2} 字节（每字节一次、按顺序）"),
	pat("A read {}", "A 读到 {1}"),
	pat("B read {}", "B 读到 {1}"),
	pat("A sent its FIN {} times; expected 1 + {} retransmissions", "A 发送了 {1} 次 FIN；预期 1 次加 {2} 次重传"),
	pat("the third segment is not A's data: {}", "第三个报文段不是 A 的数据：{1}"),
	pat("the simultaneous open took {} segments; expected {}", "同时打开用了 {1} 个报文段；预期 {2} 个"),
	pat("B sent {} SYN+ACKs; expected {}", "B 发送了 {1} 个 SYN+ACK；预期 {2} 个"),
	pat("B still holds {} half-open entries", "B 仍持有 {1} 个半连接"),
	pat("{} segments carry SACK blocks, though SACK is off", "SACK 已关闭，却有 {1} 个报文段带有 SACK 块"),
	pat("the fast retransmit ({}) does not answer the third duplicate ACK ({} ACKs of 1449 arrived)", "快速重传（{1} 次）不是对第三个重复 ACK 的响应（到达了 {2} 个确认 1449 的 ACK）"),
	pat("the holes were sent again {} and {} times; expected once each", "两个空洞分别重传了 {1} 次和 {2} 次；预期各一次"),
	pat("A sent its first segment {} times; expected the original and {} retransmissions", "A 发送了 {1} 次第一个报文段；预期原始一次加 {2} 次重传"),
	pat("retransmission {} came {} after the one before; expected {} (doubling from {})", "第 {1} 次重传在前一次之后 {2} 到来；预期 {3}（从 {4} 起加倍）"),
	pat("the second segment was timed with {}; expected the backed-off {} (no RTT sample from a retransmitted segment)", "第二个报文段的计时为 {1}；预期为退避后的 {2}（重传的报文段不产生 RTT 样本）"),
	pat("the first retransmission came {} after the original, below RFC 6298's minimum of 1 s", "第一次重传在原始发送之后 {1} 到来，低于 RFC 6298 规定的最小值 1 秒"),
	pat("the third segment was timed with {}; expected {} again, after the second one's sample", "第三个报文段的计时为 {1}；预期在第二个报文段给出样本之后重新为 {2}"),
	pat("the third segment was timed with {}; expected the RTO back down from {} after the second one's sample", "第三个报文段的计时为 {1}；预期在第二个报文段给出样本之后 RTO 从 {2} 降下来"),
	pat("{} never left TIME-WAIT for CLOSED", "{1} 从未离开 TIME-WAIT 进入 CLOSED"),
	pat("A's window {}, threshold {}, {} undos of {} timeouts; expected the initial {} and {} back, one undo of one",
		"A 的拥塞窗口 {1}、阈值 {2}，{4} 次超时中撤销了 {3} 次；预期恢复为初始的 {5} 和 {6}，一次超时、撤销一次"),
	pat("A's counters: TCPLossUndo {}, TCPSpuriousRTOs {}, TCPDSACKRecv {}; expected 1, 1, 1", "A 的计数器：TCPLossUndo {1}，TCPSpuriousRTOs {2}，TCPDSACKRecv {3}；预期 1、1、1"),
	pat("A retransmitted {} times; expected once", "A 重传了 {1} 次；预期一次"),
	pat("{}'s TIME-WAIT lasted {} after its last (re)start; expected 2MSL = {}", "{1} 的 TIME-WAIT 在最后一次（重新）开始后持续了 {2}；预期 2MSL = {3}"),
	pat("state changed after the late ACK: {} {}", "迟到的 ACK 之后状态发生了变化：{1} {2}"),
	pat("A's application read {} bytes; the 5 bytes must be delivered once", "A 的应用读到 {1} 字节；这 5 个字节应当只交付一次"),
	pat("B answered {} SYNs with SYN+ACK; the old SYN must open nothing", "B 用 SYN+ACK 回应了 {1} 个 SYN；旧的 SYN 不应打开任何连接"),
	pat("TCP should end with exactly the one connection the client opened; it holds {} (+{} half-open)", "TCP 最后应当只有客户端打开的那一个连接；实际持有 {1} 个（另有 {2} 个半连接）"),
}
