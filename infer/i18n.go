package infer

import (
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
	"RFC 9293 §3.8.6: zero window, the sender must stop and probe":                                 "RFC 9293 §3.8.6: 零窗口，发送方必须停止发送并探测",
	"RFC 9293 §3.8.6.1: zero-window probe, SEQ = SND.UNA - 1 (as Linux)":                           "RFC 9293 §3.8.6.1: 零窗口探测，SEQ = SND.UNA - 1（与 Linux 相同）",
	"RFC 9293 §3.8.6.1: zero-window probe, one byte into a closed window":                          "RFC 9293 §3.8.6.1: 零窗口探测，向关闭的窗口发送一个字节",
	"RFC 1122 §4.2.3.6: keepalive probe, SEQ = SND.NXT - 1":                                        "RFC 1122 §4.2.3.6: 保活探测，SEQ = SND.NXT - 1",
	"RFC 5681 §3.2: third duplicate ACK, fast retransmit":                                          "RFC 5681 §3.2: 第三个重复 ACK，快速重传",
	"out of order: sent before the segment captured ahead of it, or overtaken on the way":          "乱序：先于它被抓到的报文段之前发出，或在途中被超越",
	"RFC 3522, RFC 5682: spurious retransmission, the data was already acknowledged":               "RFC 3522, RFC 5682: 虚假重传，数据早已被确认",
	"a segment before this one was not captured: lost before the capture point, or not seen by it": "此前的报文段没有被抓到：在抓包点之前丢失，或未经过抓包点",
	"RFC 9293 §3.8.6.2.2: window update":                                                           "RFC 9293 §3.8.6.2.2: 窗口更新",
}

// tr translates s into lang: infer's own words by table, the rest
// (package tcp's causes) by package trace.
func tr(s, lang string) string {
	if lang != "zh" {
		return s
	}
	if t, ok := zh[s]; ok {
		return t
	}
	for en, t := range zhPrefix {
		if rest, ok := strings.CutPrefix(s, en); ok {
			return t + rest
		}
	}
	return trace.Translate(s, lang)
}

// zhPrefix translates rules that end in figures.
var zhPrefix = map[string]string{
	"RFC 6298 §5.4: retransmission timeout, retransmit the earliest unacknowledged segment": "RFC 6298 §5.4: 重传超时，重传最早未确认的报文段",
	"RFC 6298 §5.5, RFC 9293 §3.8.1: SYN retry":                                             "RFC 6298 §5.5, RFC 9293 §3.8.1: SYN 重传",
	"RFC 5681 §2: duplicate ACK":                                                            "RFC 5681 §2: 重复 ACK",
}
