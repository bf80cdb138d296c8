package scenario

import (
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
		Name: "late-ack-after-close", From: "003",
		Summary: "an ACK of the old connection arrives after both sides are CLOSED: answered by RST, no state",
		Doc: "A's final ACK is held in the network for three minutes. B retransmits its FIN, A re-ACKs from " +
			"TIME-WAIT and B closes; A's TIME-WAIT ends 2MSL later. When the old ACK finally reaches B, no " +
			"connection exists: B answers it with RST <SEQ=SEG.ACK> (RFC 9293 §3.10.7.1) and creates " +
			"nothing; A, which knows nothing either, never answers a RST. The retransmission timer is what this case is about, so tail loss probes (RFC 8985, on by default) are off here.",
		Zh: Text{"旧连接的 ACK 在双方都 CLOSED 后才到达：以 RST 回应，不建立任何状态",
			"A 的最后一个 ACK 在网络中滞留了三分钟。B 重传 FIN，A 在 TIME-WAIT 中再次确认，B 关闭；A 的 TIME-WAIT 在 2MSL 后结束。" +
				"当旧 ACK 最终到达 B 时，连接已不存在：B 以 RST <SEQ=SEG.ACK> 回应（RFC 9293 §3.10.7.1），不建立任何状态；A 同样一无所知，而 RST 永远不会被回应。本例讲的是重传计时器，因此关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "B", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit},
				{From: "A", Event: "recv", Flags: "RST", RSeq: U(2)},
			},
			Never: []Seg{{From: "A", Flags: "RST"}, {From: "A", Flags: "RST,ACK"}},
			Check: func(r *Result) []string {
				// Nothing changes state once the late ACK is out.
				var rst time.Duration
				for _, e := range r.Events {
					if e.Event == trace.KindSend && e.Host == "B" && e.Flags == "RST" {
						rst = e.T
					}
				}
				if rst < 3*time.Minute {
					return []string{"B's RST did not answer the late ACK"}
				}
				for _, e := range r.Events {
					if e.Event == trace.KindState && e.T >= rst {
						return []string{"state changed after the late ACK: " + e.Host + " " + e.To}
					}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(rtoOnly, rtoOnly)
			w.script(&sim.Rule{Name: "A's last ACK wanders for 3 minutes", From: "A", Match: bareACK, Skip: 1, Count: 1, Action: sim.ActDelay, Delay: 3 * time.Minute})
			w.fourWay(time.Second)
		},
	})

	register(&Scenario{
		Name: "stale-segment-in-time-wait", From: "003",
		Summary: "old data, ACK and FIN of the released connection reach A in TIME-WAIT: refused, at most an ACK",
		Doc: "Copies of B's data, of its ACK and of its FIN are delayed in the network and arrive after A has " +
			"entered TIME-WAIT. Each lies before A's RCV.NXT (and carries an old timestamp, RFC 7323 PAWS): " +
			"the data is refused and only acknowledged (nothing is delivered twice), the ACK changes nothing, " +
			"the old FIN is acknowledged again and restarts 2MSL. B, already CLOSED, answers A's ACKs with " +
			"RST; A ignores those because this scenario turns RFC 1337 protection on — with Linux's default " +
			"they would end TIME-WAIT early (see old-syn-in-time-wait). TIME-WAIT holds the 4-tuple until " +
			"such stray segments have died out.",
		Zh: Text{"已释放连接的旧数据、ACK 和 FIN 到达 TIME-WAIT 中的 A：被拒绝，至多回一个 ACK",
			"B 的数据、ACK 和 FIN 的副本在网络中滞留，直到 A 进入 TIME-WAIT 后才到达。它们都在 A 的 RCV.NXT 之前：" +
				"序号检查（以及 RFC 7323 的 PAWS 时间戳检查）拒绝这些数据，只回一个 ACK（不会重复交付），ACK 不改变任何东西，旧的 FIN 被再次确认并重启 2MSL。" +
				"已经 CLOSED 的 B 用 RST 回应 A 的 ACK；本场景打开了 RFC 1337 保护，所以 A 忽略这些 RST——按 Linux 的默认设置它们会提前结束 TIME-WAIT（见 old-syn-in-time-wait）。" +
				"TIME-WAIT 保留这个四元组，直到这些游荡的报文段消失。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "A", Event: "drop", Flags: "PSH,ACK", RSeq: U(1), Len: 5},
				{From: "A", Flags: "ACK", RSeq: U(2), RAck: U(7)},
			},
			Timers: []Timer{{"A", "time-wait", "set"}, {"A", "time-wait", "fire"}},
			App:    []Call{{"A", "read", ""}, {"A", "read-eof", ""}},
			Check: func(r *Result) []string {
				n := 0
				for _, e := range r.Events {
					if e.Event == trace.KindUser && e.Host == "A" && e.Call == "read" {
						n += e.N
					}
				}
				if n != 5 {
					return []string{"A's application read " + strconv.Itoa(n) + " bytes; the 5 bytes must be delivered once"}
				}
				in, _ := stateTime(r.Events, "A", tw, 1)
				stale := false
				for _, e := range r.Events {
					if e.Event == trace.KindRecv && e.Host == "A" && e.T > in {
						stale = true
					}
				}
				if !stale {
					return []string{"no stale segment reached A in TIME-WAIT"}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(func(c *stack.Config) { c.TCP.RFC1337 = true }, nil)
			late := 3 * time.Second
			w.script(&sim.Rule{Name: "a copy of B's data wanders 3 s", From: "B", Match: func(s *wire.Segment) bool { return len(s.Payload) > 0 }, Count: 1, Action: sim.ActDupLate, Delay: late})
			w.script(&sim.Rule{Name: "a copy of B's ACK wanders 3 s", From: "B", Match: bareACK, Count: 1, Action: sim.ActDupLate, Delay: late})
			w.script(&sim.Rule{Name: "a copy of B's FIN wanders 3 s", From: "B", Match: isFIN, Count: 1, Action: sim.ActDupLate, Delay: late})
			w.server(func(c *stack.Conn) *App {
				return &App{OnEstablished: func() { w.Write(w.B, c, []byte("hello")) },
					OnEOF: func() { w.After(time.Second, func() { w.Close(w.B, c) }) }}
			})
			var c *stack.Conn
			c, _ = w.client(&App{OnData: func(int) { w.After(500*time.Millisecond, func() { w.Close(w.A, c) }) }})
		},
	})

	register(&Scenario{
		Name: "old-syn-in-time-wait", From: "003",
		Summary: "an old SYN (below the old RCV.NXT) reaches the TIME-WAIT side: ACKed, never opens a connection",
		Doc: "B closes first and sits in TIME-WAIT. A copy of A's original SYN, delayed in the network, " +
			"arrives: its sequence number lies below B's RCV.NXT, so it cannot start a new incarnation " +
			"(RFC 9293 §3.6.1); B only acknowledges it. A no longer knows the connection and answers that " +
			"ACK with RST — which, RFC 1337 protection being off by default as in Linux, ends B's TIME-WAIT " +
			"early ('TIME-WAIT assassination'; run with --rfc1337 to see B ignore it). No connection opens.",
		Zh: Text{"旧的 SYN（序号小于原 RCV.NXT）到达 TIME-WAIT 一方：只被确认，绝不会建立连接",
			"B 先关闭并处于 TIME-WAIT。A 最初那个 SYN 的副本在网络中延迟后到达：它的序号小于 B 的 RCV.NXT，不可能开启新的连接化身（RFC 9293 §3.6.1）；" +
				"B 只是确认它。A 已不知道这个连接，用 RST 回应该 ACK——由于默认关闭 RFC 1337 保护（与 Linux 相同），这个 RST 提前结束了 B 的 TIME-WAIT" +
				"（所谓“TIME-WAIT 暗杀”；用 --rfc1337 运行可看到 B 忽略它）。没有任何连接被建立。"},
		Expect: Expect{
			States: map[string][]tcp.State{"B": states(cl, ls, sr, es, fw1, tw, cl)},
			Segments: []Seg{
				{From: "B", Event: "recv", Flags: "SYN", RSeq: U(0)},
				{From: "B", Event: "drop", Flags: "SYN", RSeq: U(0), Rule: tcp.CauseStaleInTimeWait},
				{From: "B", Flags: "ACK", RSeq: U(2), RAck: U(2), Rule: tcp.CauseStaleInTimeWait},
			},
			Check: func(r *Result) []string {
				if n := len(sends(r.Events, Seg{From: "B", Flags: "SYN,ACK"})); n != 1 {
					return []string{"B answered " + strconv.Itoa(n) + " SYNs with SYN+ACK; the old SYN must open nothing"}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.script(&sim.Rule{Name: "a copy of A's SYN wanders 5 s", From: "A", Match: sim.Exactly(wire.FlagSYN), Count: 1, Action: sim.ActDupLate, Delay: 5 * time.Second})
			w.server(func(c *stack.Conn) *App {
				return &App{OnEstablished: func() { w.After(500*time.Millisecond, func() { w.Close(w.B, c) }) }}
			})
			var c *stack.Conn
			c, _ = w.client(&App{OnEOF: func() { w.Close(w.A, c) }})
		},
	})

	register(&Scenario{
		Name: "time-wait-reuse", From: "001",
		Summary: "a new SYN with a higher sequence number reopens a 4-tuple in TIME-WAIT before 2MSL ends",
		Doc: "B closed first and holds the 4-tuple in TIME-WAIT. Five seconds later A connects again from the " +
			"same port. A's new ISN comes from the RFC 6528 clock, which has moved on by more than the old " +
			"connection used, so the SYN lies beyond B's old RCV.NXT (and its timestamp is newer, RFC 6191): " +
			"B ends TIME-WAIT at once and the new connection opens — TIME-WAIT need not exhaust a busy " +
			"server's 4-tuples.",
		Zh: Text{"序号更大的新 SYN 在 2MSL 结束前重新打开处于 TIME-WAIT 的四元组",
			"B 先关闭，该四元组处于 TIME-WAIT。5 秒后 A 从同一端口再次连接。A 的新初始序号来自 RFC 6528 的时钟，已经超过旧连接用过的序号，" +
				"所以这个 SYN 位于 B 旧的 RCV.NXT 之后（时间戳也更新，RFC 6191）：B 立即结束 TIME-WAIT，新连接建立——TIME-WAIT 不会耗尽繁忙服务器的四元组。"},
		Expect: Expect{
			States: map[string][]tcp.State{
				"A": states(cl, ss, es, cw, la, cl, ss, es),
				"B": states(cl, ls, sr, es, fw1, tw, cl, ls, sr, es),
			},
			Segments: []Seg{
				{From: "A", Flags: "SYN", RSeq: U(0)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
			},
			Check: func(r *Result) []string {
				in, _ := stateTime(r.Events, "B", tw, 1)
				again, ok := stateTime(r.Events, "B", es, 2)
				if !ok || again >= in+2*r.Params.msl() {
					return []string{"the new connection did not open before 2MSL ended"}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			first := true
			w.server(func(c *stack.Conn) *App {
				if !first {
					return nil
				}
				first = false
				return &App{OnEstablished: func() { w.After(500*time.Millisecond, func() { w.Close(w.B, c) }) }}
			})
			var c *stack.Conn
			c, _ = w.client(&App{OnEOF: func() { w.Close(w.A, c) }})
			w.At(5*time.Second, func() {
				w.Note("A", "A connects again from the same port")
				w.client(nil)
			})
		},
	})
}
