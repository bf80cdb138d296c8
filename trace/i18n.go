package trace

import (
	"strings"

	"github.com/synack/synack/tcp"
)

// Translate returns s — a cause, a fault's reason or a recorder's text —
// in lang ("en" or "zh"). Strings it does not know, such as a scenario's
// own rule names, pass through unchanged. State names stay in RFC
// spelling (CLOSED, TIME-WAIT) in every language, as Chinese course notes
// write them too.
func Translate(s, lang string) string {
	if lang != "zh" {
		return s
	}
	if c, ok := tcp.ParseCause(s); ok && zhCauses[c] != "" {
		return zhCauses[c]
	}
	if t, ok := zhText[s]; ok {
		return t
	}
	if h, ok := strings.CutPrefix(s, "refused by "); ok {
		return "被 " + h + " 拒收"
	}
	if h, ok := strings.CutPrefix(s, "undo: "); ok {
		return "撤销缩减：" + h
	}
	return s
}

// zhCauses translates every cause (package tcp's and the stack's), indexed
// by value, in the words of the Chinese course notes the project
// grew from (三次握手, 四次挥手, 半关闭, 2MSL 计时器, 序号, 确认号).
var zhCauses = [tcp.NumCauses]string{
	tcp.CauseActiveOpen:          "RFC 9293 §3.10.1: 主动打开（active OPEN），发送 SYN",
	tcp.CausePassiveOpen:         "RFC 9293 §3.10.1: 被动打开（passive OPEN）",
	tcp.CauseSynInListen:         "RFC 9293 §3.10.7.2: LISTEN 状态收到 SYN，发送 SYN+ACK",
	tcp.CauseSynAck:              "RFC 9293 §3.10.7.3: SYN+ACK 确认了我方的 SYN，发送 ACK",
	tcp.CauseSimultaneousOpen:    "RFC 9293 §3.10.7.3: SYN-SENT 状态收到 SYN（同时打开），发送 SYN+ACK",
	tcp.CauseSynAckInSynRcvd:     "RFC 9293 §3.5 图 7: SYN+ACK 完成同时打开（与 Linux 相同）",
	tcp.CauseAckOfSyn:            "RFC 9293 §3.10.7.4: SYN-RECEIVED 状态收到对我方 SYN 的确认",
	tcp.CauseBadAckInSynRcvd:     "RFC 9293 §3.10.7.4: SYN-RECEIVED 状态收到不可接受的 ACK，发送 RST",
	tcp.CauseBadAckInSynSent:     "RFC 9293 §3.10.7.3: SYN-SENT 状态收到的 ACK 确认了从未发送的数据，发送 RST",
	tcp.CauseRSTRefused:          "RFC 9293 §3.10.7.3: SYN-SENT 状态收到可接受的 RST，连接被拒绝",
	tcp.CauseRSTPassive:          "RFC 9293 §3.10.7.4（注 3）: 被动打开的连接在 SYN-RECEIVED 状态收到 RST，回到 LISTEN",
	tcp.CauseRSTActive:           "RFC 9293 §3.10.7.4: 主动打开的连接在 SYN-RECEIVED 状态收到 RST，连接被拒绝",
	tcp.CauseRSTReset:            "RFC 9293 §3.10.7.4, RFC 5961 §3.2: RST 的 SEG.SEQ = RCV.NXT，连接被重置",
	tcp.CauseRSTTimeWait:         "RFC 9293 §3.10.7.4: TIME-WAIT 状态收到 RST 即关闭（未开启 RFC 1337 保护，与 Linux 相同）",
	tcp.CauseRSTTimeWait1337:     "RFC 1337 §3: TIME-WAIT 状态忽略 RST",
	tcp.CauseChallengeRST:        "RFC 5961 §3.2: RST 在窗口内但序号不等于 RCV.NXT，发送挑战 ACK",
	tcp.CauseChallengeSYN:        "RFC 5961 §4.2: 已同步状态收到 SYN，发送挑战 ACK",
	tcp.CauseChallengeLimit:      "RFC 5961 §7: 挑战 ACK 达到速率上限，静默丢弃",
	tcp.CauseSynInSynRcvd:        "RFC 9293 §3.10.7.4: 被动打开的连接在 SYN-RECEIVED 状态收到 SYN，回到 LISTEN",
	tcp.CauseSynRetransmit:       "RFC 9293 §3.10.7.4: SYN-RECEIVED 状态收到重传的 SYN，重发 SYN+ACK（与 Linux 相同）",
	tcp.CauseUnacceptable:        "RFC 9293 §3.10.7.4: 不可接受的报文段，发送 ACK",
	tcp.CauseUnacceptableRST:     "RFC 9293 §3.10.7.4: 不可接受的 RST，丢弃",
	tcp.CausePAWS:                "RFC 7323 §5.3: PAWS 检查：时间戳早于 TS.Recent，发送 ACK",
	tcp.CauseAckUnsent:           "RFC 9293 §3.10.7.4: 确认了尚未发送的数据，发送 ACK 并丢弃",
	tcp.CauseAckTooOld:           "RFC 5961 §5.2: 确认号早于 SND.UNA - MAX.SND.WND，发送 ACK 并丢弃",
	tcp.CauseNoAck:               "RFC 9293 §3.10.7.4: 报文段没有 ACK 标志，丢弃",
	tcp.CauseNoSynNoRST:          "RFC 9293 §3.10.7.3: SYN-SENT 状态收到既无 SYN 也无 RST 的报文段，丢弃",
	tcp.CauseRSTInListen:         "RFC 9293 §3.10.7.2: LISTEN 状态忽略 RST",
	tcp.CauseAckInListen:         "RFC 9293 §3.10.7.2: LISTEN 状态收到 ACK，发送 RST",
	tcp.CauseSynFinInListen:      "RFC 9293 §3.10.7.2: LISTEN 状态收到 SYN+FIN，丢弃（同 Linux）",
	tcp.CauseNoSynInListen:       "RFC 9293 §3.10.7.2: LISTEN 状态收到既无 SYN、ACK 也无 RST 的报文段，丢弃",
	tcp.CauseBadEchoInSynSent:    "RFC 7323 §4.1: SYN+ACK 回显的时间戳不属于我们的 SYN，发送 RST（同 Linux）",
	tcp.CauseNoTCB:               "RFC 9293 §3.10.7.1: 报文段属于不存在（CLOSED）的连接，发送 RST",
	tcp.CauseNoTCBRST:            "RFC 9293 §3.10.7.1: 属于不存在（CLOSED）的连接的 RST，丢弃",
	tcp.CauseFinWait1Acked:       "RFC 9293 §3.10.7.4: FIN-WAIT-1 状态收到对我方 FIN 的确认",
	tcp.CauseClosingAcked:        "RFC 9293 §3.10.7.4: CLOSING 状态收到对我方 FIN 的确认",
	tcp.CauseLastAckAcked:        "RFC 9293 §3.10.7.4: LAST-ACK 状态收到对我方 FIN 的确认",
	tcp.CauseFinInEstab:          "RFC 9293 §3.10.7.4: 收到 FIN，确认它，进入 CLOSE-WAIT",
	tcp.CauseFinInFinWait1:       "RFC 9293 §3.10.7.4: 我方 FIN 被确认之前收到 FIN（同时关闭），进入 CLOSING",
	tcp.CauseFinAckInFinWait1:    "RFC 9293 §3.10.7.4（注 2）: 收到的 FIN 同时确认了我方 FIN，进入 TIME-WAIT",
	tcp.CauseFinInFinWait2:       "RFC 9293 §3.10.7.4: FIN-WAIT-2 状态收到 FIN，确认它，进入 TIME-WAIT",
	tcp.CauseFinInTimeWait:       "RFC 9293 §3.10.7.4: TIME-WAIT 状态收到重传的 FIN，再次确认，重启 2MSL 计时器",
	tcp.CauseStaleInTimeWait:     "RFC 9293 §3.10.7.4: TIME-WAIT 状态收到旧报文段，序号检查拒收，发送 ACK",
	tcp.CauseTimeWaitReopen:      "RFC 9293 §3.6.1, RFC 6191: 序号大于 RCV.NXT 的新 SYN 在 TIME-WAIT 状态重新打开该四元组",
	tcp.CauseTimeWaitExpired:     "RFC 9293 §3.10.8: 2MSL 计时器超时，删除 TCB",
	tcp.CauseCloseFIN:            "RFC 9293 §3.10.4: 关闭（CLOSE），发送 FIN",
	tcp.CauseCloseListen:         "RFC 9293 §3.10.4: LISTEN 状态下关闭（CLOSE）",
	tcp.CauseCloseSynSent:        "RFC 9293 §3.10.4: SYN-SENT 状态下关闭（CLOSE），删除 TCB",
	tcp.CauseAbort:               "RFC 9293 §3.10.5: 中止（ABORT），发送 RST",
	tcp.CauseAbortQuiet:          "RFC 9293 §3.10.5: 中止（ABORT），删除 TCB，不发送 RST",
	tcp.CauseUnreadData:          "RFC 2525 §2.17: 关闭时仍有未读数据，发送 RST（与 Linux 相同）",
	tcp.CauseDataAfterClose:      "RFC 9293 §3.10.7.4: 已关闭应用的（孤儿）连接收到数据，发送 RST（与 Linux 相同）",
	tcp.CauseSynGiveUp:           "RFC 9293 §3.8.3: SYN 重传次数用尽（R2），连接超时",
	tcp.CauseSynAckGiveUp:        "RFC 9293 §3.8.3: SYN+ACK 重传次数用尽（R2），释放半连接",
	tcp.CauseRetransGiveUp:       "RFC 9293 §3.8.3: 重传次数用尽（R2），连接超时",
	tcp.CauseKeepaliveGiveUp:     "RFC 1122 §4.2.3.6: 保活探测无应答，连接超时",
	tcp.CauseUserTimeout:         "RFC 5482: 用户超时，连接超时",
	tcp.CauseICMPAbort:           "RFC 5461 §3: 正在建立的连接收到 ICMP 不可达，中止连接（同 Linux）",
	tcp.CauseICMPSoft:            "RFC 1122 §4.2.3.9: 已同步状态下的 ICMP 差错是软差错，留待超时时报告",
	tcp.CauseICMPOutOfWindow:     "RFC 5927 §4.1: ICMP 引用的序号不在途中，忽略",
	tcp.CauseICMPNoConn:          "RFC 5927 §4.1: ICMP 所指的连接没有在途报文段，忽略",
	tcp.CausePMTU:                "RFC 1191, RFC 8201: 报文过大，把 MSS 降到路径 MTU",
	tcp.CausePMTUResend:          "RFC 1191 §6.4: 路径 MTU 已降低，重发路径丢弃的报文段",
	tcp.CauseFinWait2Timeout:     "RFC 9293 §3.10.7.4 注: 孤儿连接的 FIN-WAIT-2 超时（Linux tcp_fin_timeout）",
	tcp.CauseRetransmit:          "RFC 6298 §5.4: 重传计时器超时，重传最早的未确认报文段",
	tcp.CauseFastRetransmit:      "RFC 5681 §3.2: 收到第三个重复 ACK，快速重传",
	tcp.CausePartialAck:          "RFC 6582 §3.2: 快速恢复中收到部分确认，重传下一个报文段",
	tcp.CauseKeepaliveProbe:      "RFC 1122 §4.2.3.6: 保活探测，SEQ = SND.NXT - 1",
	tcp.CauseZeroWindowProbe:     "RFC 9293 §3.8.6.1: 零窗口探测",
	tcp.CauseDelayedACK:          "RFC 1122 §4.2.3.2: 延迟确认",
	tcp.CauseAck:                 "RFC 9293 §3.10.7.4: 确认收到的数据",
	tcp.CauseOutOfOrder:          "RFC 5681 §4.2: 失序报文段，立即发送重复 ACK",
	tcp.CauseWindowUpdate:        "RFC 9293 §3.8.6.2.2: 接收窗口变大，发送窗口更新",
	tcp.CauseData:                "RFC 9293 §3.10.2: 发送数据（SEND）",
	tcp.CauseOutOfWindow:         "RFC 9293 §3.10.7.4: 超出接收窗口的数据被截去",
	tcp.CauseDuplicateSeg:        "RFC 9293 §3.10.7.4: 报文段整个位于 RCV.NXT 之前（重复报文段）",
	tcp.CauseRACKLost:            "RFC 8985 §6.2: RACK：其后发送的报文段已送达，且本段已超过 RTT 加重排序窗口，重传",
	tcp.CauseSACKLost:            "RFC 6675 §4 NextSeg (1): 此空洞之上已有 DupThresh 个报文段被 SACK 确认，重传",
	tcp.CauseSACKHole:            "RFC 6675 §4 NextSeg (3): 重传下一个尚未重传的空洞",
	tcp.CauseRescue:              "RFC 6675 §4 NextSeg (4): 救援重传最高的未被 SACK 确认的报文段",
	tcp.CauseTLP:                 "RFC 8985 §7.3: 尾部丢失探测：探测超时内未收到 ACK，重发最后一个报文段",
	tcp.CauseTLPNewData:          "RFC 8985 §7.3: 尾部丢失探测：探测超时内未收到 ACK，发送一个新报文段",
	tcp.CauseUndoDSACK:           "RFC 2883 §4: 重传是多余的，每个重传都被报告为重复（DSACK）：撤销窗口的缩减（RFC 9438 §4.9）",
	tcp.CauseUndoEifel:           "RFC 3522 §2: 重传是多余的，ACK 回显的是原报文段的时间戳：撤销窗口的缩减（RFC 9438 §4.9）",
	tcp.CauseTWReuse:             "tcp_tw_reuse (Linux): Dial 复用处于 TIME-WAIT 的四元组；新的 ISN 大于旧的 SND.NXT",
	tcp.CauseTWOverflow:          "TIME-WAIT 表已满（Linux tcp_max_tw_buckets）: 连接被立即丢弃",
	tcp.CauseCookieSent:          "RFC 4987 §3.6: SYN 队列已满或总是使用 cookie，发送带 SYN cookie 的 SYN+ACK，不保存状态",
	tcp.CauseCookieOK:            "RFC 4987 §3.6: ACK 带回有效的 SYN cookie，据此重建连接",
	tcp.CauseListenerClosed:      "监听关闭：它的半连接随之丢弃（与 Linux 相同）",
	tcp.CauseDropNoConn:          "RFC 9293 §3.10.7.1: 没有对应的连接，以 RST 回应",
	tcp.CauseDropRSTNoConn:       "RFC 9293 §3.10.7.1: 没有对应连接的 RST 被丢弃，从不回应",
	tcp.CauseDropSynQueueFull:    "SYN 队列（半连接队列）已满且未启用 SYN cookie: 丢弃 SYN（Linux ListenDrops）",
	tcp.CauseDropAcceptQueueFull: "accept 队列（全连接队列）已满: 丢弃，对方会重试（Linux ListenOverflows）",
	tcp.CauseDropForwarderFull:   "转发中的握手过多: 丢弃 SYN",
}

// zhText translates the simulator's words: its faults and the recorder's
// texts (scenario rule names pass through).
var zhText = map[string]string{
	// package sim (link.go) and the recorder
	"larger than the link MTU": "超过链路 MTU",
	"link queue full":          "链路队列已满",
	"partition":                "网络分区",
	"random loss":              "随机丢包",
	"random corruption":        "随机损坏",
	"duplicated":               "网络重复投递",
	"reordered":                "乱序（延后送达）",
	"script":                   "脚本",
	"host down":                "主机已宕机",
	"crash":                    "主机崩溃",
	"restart":                  "主机重启",
}

// uiText holds the renderers' own words: [0] English, [1] Chinese.
var uiText = map[string][2]string{
	"app":       {"app", "应用"},
	"bytes":     {"bytes", "字节"},
	"fires":     {"fires", "到期"},
	"cancelled": {"cancelled", "取消"},
	"lost":      {"lost", "丢失"},
	"lost:":     {"lost: ", "丢失："},
	"refused":   {"refused", "拒收"},
	"dup":       {"dup", "重复"},
	"arrives":   {"arrives, sent at ", "到达，发送于 "},
	"later":     {" s later", " 秒后"},
	"time":      {"t (s)", "时间(秒)"},
	"final":     {"end", "结束"},

	"timer:retransmit":   {"retransmit", "重传计时器"},
	"timer:syn-retry":    {"syn-retry", "SYN 重传计时器"},
	"timer:time-wait":    {"time-wait", "2MSL 计时器"},
	"timer:fin-wait-2":   {"fin-wait-2", "FIN-WAIT-2 计时器"},
	"timer:keepalive":    {"keepalive", "保活计时器"},
	"timer:persist":      {"persist", "坚持计时器"},
	"timer:delayed-ack":  {"delayed-ack", "延迟确认计时器"},
	"timer:user-timeout": {"user-timeout", "用户超时计时器"},
	"timer:loss-probe":   {"loss-probe", "尾部丢失探测计时器"},
	"timer:reorder":      {"reorder", "RACK 重排序计时器"},

	"kind:send":  {"send", "发送"},
	"kind:recv":  {"receive", "接收"},
	"kind:drop":  {"lost", "丢失"},
	"kind:dup":   {"duplicate", "重复"},
	"kind:state": {"state", "状态"},
	"kind:timer": {"timer", "计时器"},
	"kind:user":  {"app", "应用"},
	"kind:note":  {"note", "说明"},
	"kind:host":  {"host", "主机"},

	"ladder":      {"Sequence diagram", "时序图"},
	"fig5":        {"State diagram — RFC 9293 Figure 5", "状态转换图 — RFC 9293 图 5"},
	"fig5.note":   {"Transitions this run took are drawn in the colour of the host that took them, numbered in order.", "本次运行经过的状态转换以所属主机的颜色标出，数字为先后顺序。"},
	"events":      {"Events", "事件列表"},
	"col.time":    {"Time (s)", "时间(秒)"},
	"col.host":    {"Host", "主机"},
	"col.event":   {"Event", "事件"},
	"col.details": {"Details", "详情"},
	"col.cause":   {"Cause (RFC rule)", "原因（RFC 规则）"},
	"hover":       {"Hover over an arrow, a state or a row to see the rule behind it.", "将鼠标悬停在箭头、状态或表格行上，可查看其依据的 RFC 规则。"},
	"summary":     {"%d events · hosts %s · %s s of virtual time", "%d 个事件 · 主机 %s · 虚拟时间 %s 秒"},
	"gap":         {"%s s", "%s 秒"},
	"legend.lost": {"lost in the network", "在网络中丢失"},
	"legend.dup":  {"duplicate copy", "重复的副本"},
	"legend.ref":  {"refused by the receiver's rules", "被接收方规则拒收"},
	"legend.tmr":  {"timer", "计时器"},
	"abort":       {"RST, ABORT, time-out", "RST、中止、超时"},
	"offtable":    {"not in tcp.Transitions", "不在 tcp.Transitions 表中"},
	"passive":     {"passive close", "被动关闭"},
	"active":      {"active close", "主动关闭"},
}

// ui returns one of the renderers' own words in the options' language.
func (o *Options) ui(key string) string {
	t, ok := uiText[key]
	if !ok {
		return key
	}
	if o.Lang == "zh" {
		return t[1]
	}
	return t[0]
}
