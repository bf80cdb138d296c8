package scenario

import (
	"bytes"
	"strconv"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/wire"
)

func init() {
	register(&Scenario{
		Name: "handshake", From: "004",
		Summary: "the three-way handshake: SYN seq=x; SYN+ACK seq=y ack=x+1; ACK ack=y+1",
		Doc: "A opens actively, B listens. A's SYN carries its initial sequence number x; B answers SYN+ACK " +
			"with its own y and ack=x+1; A's ACK acknowledges y+1. Each side learns the other's ISN and " +
			"knows its own was received: both sequence spaces are synchronized.",
		Zh: Text{"三次握手：SYN seq=x；SYN+ACK seq=y ack=x+1；ACK ack=y+1",
			"A 主动打开，B 被动监听。A 的 SYN 携带初始序号 x；B 回复 SYN+ACK，带上自己的 y 和确认号 x+1；" +
				"A 的 ACK 确认 y+1。双方都得知对方的初始序号，也都知道自己的序号已被对方收到：两个方向的序号空间都已同步。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es), "B": states(cl, ls, sr, es)},
			Segments: []Seg{
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "A", Flags: "ACK", RSeq: U(1), RAck: U(1)},
			},
			App: []Call{{"B", "listen", ""}, {"A", "open", ""}, {"B", "accept", ""}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.server(nil)
			w.client(nil)
		},
	})

	register(&Scenario{
		Name: "handshake-data-on-ack", From: "004",
		Summary: "the third segment of the handshake carries data",
		Doc: "A's application writes before the handshake completes; the data waits in the send buffer and " +
			"rides on the ACK that completes the handshake. B's application reads it at once.",
		Zh: Text{"第三次握手的报文段携带数据",
			"A 的应用在握手完成前就写入数据；数据先在发送缓冲区等待，随完成握手的 ACK 一起发出。B 的应用立即读到它。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es), "B": states(cl, ls, sr, es)},
			Segments: []Seg{
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "A", Flags: "PSH,ACK", RSeq: U(1), RAck: U(1), Len: 5},
			},
			App: []Call{{"A", "send", ""}, {"B", "read", ""}},
			Check: func(r *Result) []string {
				third := 0
				for _, e := range r.Events {
					if e.Event == "send" {
						third++
						if third == 3 && (e.Host != "A" || e.Len != 5) {
							return []string{"the third segment is not A's data: " + e.Flags}
						}
					}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.server(nil)
			c, _ := w.client(nil)
			w.Write(w.A, c, []byte("hello"))
		},
	})

	register(&Scenario{
		Name:    "simultaneous-open",
		Summary: "both sides open at once: SYN, SYN, SYN+ACK, SYN+ACK",
		Doc: "A and B each actively open to the other's port at the same moment. Each SYN arrives in " +
			"SYN-SENT, so each side moves to SYN-RECEIVED and answers SYN+ACK with its original ISN; each " +
			"SYN+ACK acknowledges the other's SYN, and both reach ESTABLISHED with four segments (RFC 9293 " +
			"§3.5, Figure 7).",
		Zh: Text{"同时打开：SYN、SYN、SYN+ACK、SYN+ACK",
			"A 和 B 同时主动连接对方的端口。各自的 SYN 到达时对方处于 SYN-SENT，于是双方都进入 SYN-RECEIVED，" +
				"并用原来的初始序号回复 SYN+ACK；每个 SYN+ACK 都确认了对方的 SYN，双方用四个报文段进入 ESTABLISHED（RFC 9293 §3.5 图 7）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, sr, es), "B": states(cl, ss, sr, es)},
			Segments: []Seg{
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "A", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
			},
			Check: func(r *Result) []string {
				if n := len(sends(r.Events, Seg{From: "A", Len: AnyLen})) + len(sends(r.Events, Seg{From: "B", Len: AnyLen})); n != 4 {
					return []string{"the simultaneous open took " + strconv.Itoa(n) + " segments; expected 4"}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.Run(w.A, w.Dial(w.A, PortA, w.B, PortB), nil)
			w.Run(w.B, w.Dial(w.B, PortB, w.A, PortA), nil)
		},
	})

	register(&Scenario{
		Name:    "lost-syn",
		Summary: "A's SYN is lost twice: retransmitted after 1 s, then 2 s later; the connection opens",
		Doc: "The first two SYNs are dropped. A's retransmission timer starts at the initial RTO of 1 s " +
			"(RFC 6298 §2.1) and doubles after each timeout (§5.5): SYNs leave at 0 s, 1 s and 3 s, all with " +
			"the same sequence number, and the third one opens the connection. Having lost SYNs, A starts " +
			"with a congestion window of one segment (RFC 5681 §3.1; Linux cuts it only after more than one " +
			"retransmission, as here): of the 3000 bytes it then sends, the second segment waits for the " +
			"ACK of the first.",
		Zh: Text{"A 的 SYN 两次丢失：1 秒后重传，再过 2 秒再重传；连接建立",
			"前两个 SYN 被丢弃。A 的重传计时器从初始 RTO 1 秒开始（RFC 6298 §2.1），每次超时后加倍（§5.5）：" +
				"SYN 在 0 秒、1 秒和 3 秒发出，序号相同，第三个 SYN 建立了连接。SYN 丢失过，A 的拥塞窗口从一个报文段开始" +
				"（RFC 5681 §3.1；Linux 仅在重传超过一次时才这样做，此处正是）：随后发送的 3000 字节中，第二个报文段要等第一个的 ACK。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es), "B": states(cl, ls, sr, es)},
			Segments: []Seg{
				{From: "A", Event: "drop", Flags: "SYN", RSeq: U(0)},
				{From: "A", Event: "drop", Flags: "SYN", RSeq: U(0)},
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN,ACK", RAck: U(1)},
			},
			Timers: []Timer{{"A", "syn-retry", "fire"}, {"A", "syn-retry", "fire"}},
			Check: func(r *Result) []string {
				syns := sends(r.Events, Seg{From: "A", Flags: "SYN"})
				rto := r.Params.rtoInitial()
				if len(syns) != 3 || syns[1].T != rto || syns[2].T != 3*rto {
					return []string{"SYNs not sent at 0, RTO and 3×RTO"}
				}
				var data []trace.Event
				for _, e := range sends(r.Events, Seg{From: "A", Len: AnyLen}) {
					if e.Len > 0 {
						data = append(data, e)
					}
				}
				if len(data) < 2 || data[1].T == data[0].T {
					return []string{"A's initial window after two lost SYNs is more than one segment"}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.script(&sim.Rule{Name: "lose the first two SYNs", From: "A", Match: sim.Exactly(wire.FlagSYN), Count: 2, Action: sim.ActDrop})
			w.server(nil)
			var c *stack.Conn
			c, _ = w.client(&App{OnEstablished: func() { w.Write(w.A, c, bytes.Repeat([]byte("a"), 3000)) }})
		},
	})

	register(&Scenario{
		Name:    "lost-synack",
		Summary: "B's SYN+ACK is lost: a retransmission (of the SYN or the SYN+ACK) opens the connection",
		Doc: "B's first SYN+ACK is dropped. B holds a half-open entry in SYN-RECEIVED and its own timer " +
			"would resend the SYN+ACK; A's SYN timer fires at the same time, and B answers the repeated SYN " +
			"with its SYN+ACK again (as Linux does). Either way the connection opens about 1 s late.",
		Zh: Text{"B 的 SYN+ACK 丢失：重传（SYN 或 SYN+ACK）后连接建立",
			"B 的第一个 SYN+ACK 被丢弃。B 在 SYN-RECEIVED 中保留半连接，自己的计时器会重传 SYN+ACK；" +
				"A 的 SYN 计时器同时超时，B 对重复的 SYN 再次回复 SYN+ACK（与 Linux 相同）。无论哪种方式，连接都晚约 1 秒建立。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es), "B": states(cl, ls, sr, es)},
			Segments: []Seg{
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Event: "drop", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "A", Flags: "ACK", RSeq: U(1), RAck: U(1)},
			},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.script(&sim.Rule{Name: "lose the first SYN+ACK", From: "B", Match: sim.Exactly(wire.FlagSYN | wire.FlagACK), Count: 1, Action: sim.ActDrop})
			w.server(nil)
			w.client(nil)
		},
	})

	register(&Scenario{
		Name:    "lost-handshake-ack",
		Summary: "A's third segment is lost: B retransmits SYN+ACK and A's answer completes the handshake",
		Doc: "A is ESTABLISHED as soon as it sends the ACK, but the ACK is lost and B stays in SYN-RECEIVED. " +
			"B's SYN+ACK timer fires after 1 s; A, already synchronized, answers the old SYN+ACK with an ACK " +
			"(an unacceptable segment is acknowledged, RFC 9293 §3.10.7.4), and B reaches ESTABLISHED.",
		Zh: Text{"第三次握手的 ACK 丢失：B 重传 SYN+ACK，A 的应答完成握手",
			"A 发出 ACK 后即进入 ESTABLISHED，但该 ACK 丢失，B 仍处于 SYN-RECEIVED。1 秒后 B 的 SYN+ACK 计时器超时；" +
				"已同步的 A 对这个旧的 SYN+ACK 回复 ACK（不可接受的报文段要回 ACK，RFC 9293 §3.10.7.4），B 进入 ESTABLISHED。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es), "B": states(cl, ls, sr, es)},
			Segments: []Seg{
				{From: "A", Event: "drop", Flags: "ACK", RSeq: U(1), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "A", Flags: "ACK", RSeq: U(1), RAck: U(1)},
			},
			Timers: []Timer{{"B", "syn-retry", "fire"}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.script(&sim.Rule{Name: "lose the handshake's ACK", From: "A", Match: bareACK, Count: 1, Action: sim.ActDrop})
			w.server(nil)
			w.client(nil)
		},
	})

	register(&Scenario{
		Name:    "refused",
		Summary: "a SYN to a port with no listener gets RST+ACK ack=x+1: ECONNREFUSED",
		Doc: "Nothing listens on B's port 80. B's stack answers the SYN as RFC 9293 §3.10.7.1 says for a " +
			"segment without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. The RST acknowledges A's SYN, " +
			"so it is acceptable in SYN-SENT: A's connection is refused.",
		Zh: Text{"向无人监听的端口发送 SYN，得到 RST+ACK ack=x+1：ECONNREFUSED",
			"B 的 80 端口没有监听者。B 的协议栈按 RFC 9293 §3.10.7.1 对不带 ACK 的报文段回复 <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>。" +
				"该 RST 确认了 A 的 SYN，因此在 SYN-SENT 状态下是可接受的：A 的连接被拒绝。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, cl)},
			Segments: []Seg{
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "RST,ACK", RAck: U(1)},
			},
			App: []Call{{"A", "open", ""}, {"A", "error", "ECONNREFUSED"}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.client(nil)
		},
	})

	register(&Scenario{
		Name: "syn-received-timeout", From: "004",
		Summary: "A's SYN arrives and A vanishes: B retransmits SYN+ACK 5 times, then frees the half-open entry",
		Doc: "A's host crashes right after its SYN leaves. B allocated a half-open entry when it answered; " +
			"it retransmits the SYN+ACK at 1, 2, 4, 8 and 16 s intervals (Linux's tcp_synack_retries = 5), " +
			"and when the last one times out it gives up and frees the entry: the resources held after step 2 " +
			"of the handshake are reclaimed.",
		Zh: Text{"A 的 SYN 到达后 A 消失：B 重传 SYN+ACK 5 次，然后释放半连接",
			"A 的主机在 SYN 发出后立即崩溃。B 在回复时分配了半连接表项；它以 1、2、4、8、16 秒的间隔重传 SYN+ACK" +
				"（Linux 的 tcp_synack_retries = 5），最后一次超时后放弃并释放该表项：握手第二步后占用的资源被回收。"},
		Expect: Expect{
			States: map[string][]tcp.State{"B": states(cl, ls, sr, cl)},
			Segments: []Seg{
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
			},
			Never: []Seg{{From: "A", Flags: "ACK"}},
			Timers: []Timer{{"B", "syn-retry", "fire"}, {"B", "syn-retry", "fire"}, {"B", "syn-retry", "fire"},
				{"B", "syn-retry", "fire"}, {"B", "syn-retry", "fire"}, {"B", "syn-retry", "fire"}},
			Check: func(r *Result) []string {
				sa := sends(r.Events, Seg{From: "B", Flags: "SYN,ACK", Len: AnyLen})
				if len(sa) != 6 {
					return []string{"B sent " + strconv.Itoa(len(sa)) + " SYN+ACKs; expected 6"}
				}
				for i := 2; i < len(sa); i++ {
					if sa[i].T-sa[i-1].T != 2*(sa[i-1].T-sa[i-2].T) {
						return []string{"SYN+ACK retransmissions do not back off exponentially"}
					}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			ln := w.server(nil)
			w.client(nil)
			w.At(time.Millisecond, func() { w.A.Crash() })
			w.At(5*time.Minute, func() {
				if syn, _ := ln.Pending(); syn != 0 {
					w.fail("B still holds %d half-open entries", syn)
				}
				w.Report("B's SYN queue is empty after the give-up")
			})
		},
	})

	register(&Scenario{
		Name: "old-duplicate-syn", From: "004",
		Summary: "a delayed SYN of an abandoned attempt reaches B; A answers B's SYN+ACK with RST; B returns to LISTEN",
		Doc: "A's first attempt is abandoned while its SYN is still delayed in the network; A then opens again " +
			"on the same ports with a new ISN. The old SYN reaches B, which answers SYN+ACK acknowledging the " +
			"old ISN. A, in SYN-SENT, sees an ACK of something it never sent and answers RST (RFC 9293 " +
			"§3.10.7.3); the RST has B's expected sequence number, so B returns to LISTEN (Note 3) and no " +
			"connection is opened by the stale SYN. A's retransmitted SYN then opens the real connection. " +
			"This is why TCP needs three segments to open (RFC 9293 §3.5, Figure 8).",
		Zh: Text{"一个被放弃的连接请求的 SYN 延迟到达 B；A 用 RST 回应 B 的 SYN+ACK；B 回到 LISTEN",
			"A 的第一次尝试已放弃，但它的 SYN 还在网络中滞留；随后 A 用同样的端口和新的初始序号再次发起连接。" +
				"旧 SYN 到达 B，B 回复确认旧序号的 SYN+ACK。处于 SYN-SENT 的 A 发现这是对自己从未发送的数据的确认，于是回复 RST（RFC 9293 §3.10.7.3）；" +
				"该 RST 的序号正是 B 所期望的，B 回到 LISTEN（注 3），过期的 SYN 没有建立任何连接。随后 A 重传的 SYN 建立了真正的连接。" +
				"这正是 TCP 需要三次握手的原因（RFC 9293 §3.5 图 8）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, cl, ss, es), "B": states(cl, ls, sr, ls, sr, es)},
			Segments: []Seg{
				{From: "B", Flags: "SYN,ACK", RAck: U(1)},
				{From: "A", Flags: "RST", RSeq: U(1)},
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "A", Flags: "ACK", RSeq: U(1), RAck: U(1)},
			},
			App: []Call{{"A", "open", ""}, {"A", "close", ""}, {"A", "open", ""}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.script(&sim.Rule{Name: "the first SYN wanders in the network for 1 s", From: "A", Match: sim.Exactly(wire.FlagSYN), Count: 1, Action: sim.ActDelay, Delay: time.Second})
			w.server(nil)
			c := w.Dial(w.A, PortA, w.B, PortB)
			w.At(500*time.Millisecond, func() {
				w.Note("A", "A gives up its first attempt")
				w.Close(w.A, c)
			})
			w.At(1005*time.Millisecond, func() {
				w.Note("A", "A opens again on the same ports, with a new ISN")
				w.client(nil)
			})
		},
	})
}
