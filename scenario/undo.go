package scenario

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
)

// The undo of a spurious window reduction (issue 13; tcp/undo.go).

func init() {
	register(&Scenario{
		Name:    "spurious-retransmission",
		Summary: "a delayed ACK, not a loss: A's timeout resends, B reports the duplicate (DSACK), A undoes the window reduction",
		Doc: "A sends one segment and B acknowledges it, but the network holds B's ACK for 400 ms, twice A's " +
			"retransmission timeout. A's timer fires and resends the segment, and A takes the timeout for a " +
			"loss: its congestion window falls to one segment (RFC 5681 §3.1). Nothing was lost. B already has " +
			"the data, sees the copy as an old duplicate and answers it at once with an ACK whose first SACK " +
			"block names it: a duplicate SACK (RFC 2883 §4). That ACK overtakes the delayed one. Every " +
			"retransmission A made has come back as a duplicate, so the timeout was spurious and A undoes the " +
			"reduction, as Linux does (tcp_try_undo_loss, counted as TCPLossUndo): the window and the threshold " +
			"are put back (RFC 9438 §4.9). The delayed ACK arrives last and changes nothing. Timestamps are off " +
			"here so that the DSACK alone tells; with them the ACK's echo of the original's timestamp would tell " +
			"A the same (RFC 3522). The retransmission timer is what this case is about, so tail loss probes " +
			"(RFC 8985, on by default) are off too.",
		Zh: Text{"延迟的 ACK，而非丢包：A 超时重传，B 报告重复（DSACK），A 撤销窗口的缩减",
			"A 发送一个报文段，B 确认了它，但网络把 B 的 ACK 扣留了 400 毫秒，是 A 重传超时的两倍。A 的计时器超时，重发该报文段，" +
				"并把超时当作丢包：拥塞窗口降到一个报文段（RFC 5681 §3.1）。其实什么都没有丢。B 早已收到数据，把这份副本看作旧的重复报文段，" +
				"立即用一个 ACK 回应，其第一个 SACK 块指明了它：重复 SACK（DSACK，RFC 2883 §4）。这个 ACK 赶在被延迟的 ACK 之前到达。" +
				"A 的每一次重传都被报告为重复，因此这次超时是多余的，A 像 Linux 一样撤销了缩减（tcp_try_undo_loss，计入 TCPLossUndo）：" +
				"窗口和阈值恢复原值（RFC 9438 §4.9）。被延迟的 ACK 最后到达，什么也不改变。本例关闭了时间戳，只让 DSACK 来说明；" +
				"若开着时间戳，ACK 回显的原报文段时间戳也能告诉 A 同样的事（RFC 3522）。本例讲的是重传计时器，因此也关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "PSH,ACK", RSeq: U(1), Len: 1000, Rule: tcp.CauseData},
				{From: "A", Flags: "PSH,ACK", RSeq: U(1), Len: 1000, Rule: tcp.CauseRetransmit},
				{From: "B", Flags: "ACK", RAck: U(1001), Len: 0, Rule: tcp.CauseUnacceptable},
				{From: "A", Event: "recv", Flags: "ACK", RAck: U(1001), Len: 0},
			},
			Timers: []Timer{{"A", "retransmit", "fire"}},
			Check:  checkSpurious,
		},
		run: func(w *World) {
			noTS := func(c *stack.Config) { c.TCP.Timestamps = tcp.Off }
			w.setup(func(c *stack.Config) { rtoOnly(c); noTS(c) }, noTS)
			w.script(&sim.Rule{Name: "hold B's ACK of the data for 400 ms", From: "B", Match: bareACK, Count: 1,
				Action: sim.ActDelay, Delay: 400 * time.Millisecond})
			w.server(w.closeAfter(w.B, 100*time.Millisecond))
			var c *stack.Conn
			c, _ = w.client(&App{OnEstablished: func() {
				w.After(time.Second, func() { w.Write(w.A, c, bytes.Repeat([]byte("d"), 1000)) })
				w.After(2*time.Second, func() { w.Close(w.A, c) })
			}})
			// After the undo, before the close: the window and the
			// threshold are back (RFC 9438 §4.9), and the stack's
			// nstat-style counters say so.
			w.At(2*time.Second, func() {
				if w.missing(w.A, "status", c) {
					return
				}
				st := c.TCB().Status()
				fresh := tcp.CongestionCubic.New()(st.MSS)
				if st.CWnd != fresh.CWnd() || st.SSThresh != fresh.SSThresh() || st.Undos != 1 || st.Timeouts != 1 {
					w.fail("A's window %d, threshold %d, %d undos of %d timeouts; expected the initial %d and %d back, one undo of one",
						st.CWnd, st.SSThresh, st.Undos, st.Timeouts, fresh.CWnd(), fresh.SSThresh())
				}
				if l := w.A.Stack.Counters().Loss; l.LossUndo != 1 || l.SpuriousRTOs != 1 || l.DSACKRecv != 1 {
					w.fail("A's counters: TCPLossUndo %d, TCPSpuriousRTOs %d, TCPDSACKRecv %d; expected 1, 1, 1",
						l.LossUndo, l.SpuriousRTOs, l.DSACKRecv)
				}
			})
		},
	})
}

// checkSpurious: B's answer to the copy carries the DSACK; A's undo
// cites RFC 2883 and comes after the retransmission and before the
// delayed ACK; A retransmits only once.
func checkSpurious(r *Result) []string {
	var fails []string
	rexmit := sends(r.Events, Seg{From: "A", Len: AnyLen, Rule: tcp.CauseRetransmit})
	if len(rexmit) != 1 {
		fails = append(fails, fmt.Sprintf("A retransmitted %d times; expected once", len(rexmit)))
	}
	dup := sends(r.Events, Seg{From: "B", Flags: "ACK", Len: 0, Rule: tcp.CauseUnacceptable})
	if len(dup) == 0 || !strings.Contains(dup[0].Opts, "sack ") {
		fails = append(fails, "B's answer to the copy carries no SACK block naming it (RFC 2883 §4)")
	}
	var undo *trace.Event
	for i := range r.Events {
		if e := &r.Events[i]; e.Event == trace.KindNote && e.Host == "A" && e.Rule == tcp.CauseUndoDSACK {
			undo = e
			break
		}
	}
	if undo == nil {
		return append(fails, "A never undid its window reduction on the DSACK (RFC 2883 §4, RFC 9438 §4.9)")
	}
	if len(rexmit) > 0 && undo.T <= rexmit[0].T {
		fails = append(fails, "A undid before it retransmitted")
	}
	held := sends(r.Events, Seg{From: "B", Flags: "ACK", RAck: U(1001), Len: 0}) // the first is the one held
	for _, e := range r.Events {
		if len(held) > 0 && e.Event == trace.KindRecv && e.Packet == held[0].Packet {
			if e.T <= undo.T {
				fails = append(fails, "the delayed ACK arrived before the undo")
			}
			return fails
		}
	}
	return append(fails, "B's delayed ACK never arrived")
}
