package scenario

import (
	"bytes"
	"strconv"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// closeAfter is a server application that closes d after reading EOF.
func (w *World) closeAfter(h *sim.Host, d time.Duration) func(c *stack.Conn) *App {
	return func(c *stack.Conn) *App {
		return &App{OnEOF: func() { w.After(d, func() { w.Close(h, c) }) }}
	}
}

// fourWay is the close both close-four-way and its lost-segment variants
// run: A closes 1 s after the handshake; B closes delay after reading EOF.
func (w *World) fourWay(delay time.Duration) {
	w.server(w.closeAfter(w.B, delay))
	var c *stack.Conn
	c, _ = w.client(&App{OnEstablished: func() { w.After(time.Second, func() { w.Close(w.A, c) }) }})
}

var (
	fourWayA = states(cl, ss, es, fw1, fw2, tw, cl)
	fourWayB = states(cl, ls, sr, es, cw, la, cl)
)

func init() {
	register(&Scenario{
		Name: "close-four-way", From: "001",
		Summary: "the four-way close: FIN, ACK, FIN, ACK; TIME-WAIT for 2MSL",
		Doc: "A closes first (active close): its FIN consumes one sequence number, so B's ACK is FIN's seq+1. " +
			"B's application learns end-of-file and closes a second later, so B's ACK and B's FIN are separate " +
			"segments: four segments to close where three opened, because each direction is closed on its own. " +
			"A, the side that sent the last ACK, waits in TIME-WAIT for 2MSL before CLOSED.",
		Zh: Text{"四次挥手：FIN、ACK、FIN、ACK；TIME-WAIT 等待 2MSL",
			"A 先关闭（主动关闭）：FIN 占用一个序号，所以 B 的 ACK 是 FIN 的序号加 1。B 的应用读到文件结束，1 秒后才关闭，" +
				"因此 B 的 ACK 和 B 的 FIN 是两个独立的报文段：建立用三次，释放却要四次，因为两个方向是分别关闭的。" +
				"发出最后一个 ACK 的 A 在 TIME-WAIT 中等待 2MSL，然后进入 CLOSED。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), RAck: U(1)},
				{From: "B", Flags: "ACK", RSeq: U(1), RAck: U(2)},
				{From: "B", Flags: "FIN,ACK", RSeq: U(1), RAck: U(2)},
				{From: "A", Flags: "ACK", RSeq: U(2), RAck: U(2)},
			},
			Timers: []Timer{{"A", "time-wait", "set"}, {"A", "time-wait", "fire"}},
			App:    []Call{{"A", "close", ""}, {"B", "read-eof", ""}, {"B", "close", ""}},
			Check:  func(r *Result) []string { return timeWaitLasted(r, "A") },
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.fourWay(time.Second)
		},
	})

	register(&Scenario{
		Name: "close-three-way", From: "002",
		Summary: "B closes at once: its FIN carries the ACK of A's FIN — FIN, FIN+ACK, ACK",
		Doc: "B's application closes as soon as it reads end-of-file. The ACK of A's FIN was being delayed " +
			"(RFC 1122 §4.2.3.2), so it rides on B's FIN: steps 2 and 3 of the close merge into one FIN+ACK. " +
			"A receives its FIN's ACK and B's FIN in one segment and goes from FIN-WAIT-1 straight to " +
			"TIME-WAIT (RFC 9293 Figure 5, Note 2).",
		Zh: Text{"B 立即关闭：它的 FIN 捎带对 A 的 FIN 的确认——FIN、FIN+ACK、ACK",
			"B 的应用一读到文件结束就关闭。对 A 的 FIN 的确认本在延迟发送（RFC 1122 §4.2.3.2），于是搭载在 B 的 FIN 上：" +
				"挥手的第 2、3 步合并为一个 FIN+ACK。A 在一个报文段里同时收到对自己 FIN 的确认和 B 的 FIN，从 FIN-WAIT-1 直接进入 TIME-WAIT（RFC 9293 图 5 注 2）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es, fw1, tw, cl), "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), RAck: U(1)},
				{From: "B", Flags: "FIN,ACK", RSeq: U(1), RAck: U(2)},
				{From: "A", Flags: "ACK", RSeq: U(2), RAck: U(2)},
			},
			Never: []Seg{{From: "B", Flags: "ACK", RAck: U(2)}},
			Check: func(r *Result) []string { return timeWaitLasted(r, "A") },
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.fourWay(0)
		},
	})

	register(&Scenario{
		Name: "close-server-first", From: "002",
		Summary: "the server closes first, as HTTP/1.0 servers do: B goes through TIME-WAIT",
		Doc: "Either side may close first. Here B, the server, closes a second after the handshake: B is the " +
			"active closer (FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT) and A the passive one (CLOSE-WAIT, LAST-ACK). " +
			"This is why busy HTTP/1.0 servers accumulate TIME-WAIT entries.",
		Zh: Text{"服务器先关闭（如 HTTP/1.0 服务器）：B 经历 TIME-WAIT",
			"任何一方都可以先关闭。这里服务器 B 在握手 1 秒后关闭：B 是主动关闭方（FIN-WAIT-1、FIN-WAIT-2、TIME-WAIT），" +
				"A 是被动关闭方（CLOSE-WAIT、LAST-ACK）。这就是繁忙的 HTTP/1.0 服务器会积累大量 TIME-WAIT 的原因。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es, cw, la, cl), "B": states(cl, ls, sr, es, fw1, fw2, tw, cl)},
			Segments: []Seg{
				{From: "B", Flags: "FIN,ACK", RSeq: U(1), RAck: U(1)},
				{From: "A", Flags: "ACK", RSeq: U(1), RAck: U(2)},
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), RAck: U(2)},
				{From: "B", Flags: "ACK", RSeq: U(2), RAck: U(2)},
			},
			Check: func(r *Result) []string { return timeWaitLasted(r, "B") },
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.server(func(c *stack.Conn) *App {
				return &App{OnEstablished: func() { w.After(time.Second, func() { w.Close(w.B, c) }) }}
			})
			var c *stack.Conn
			c, _ = w.client(&App{OnEOF: func() { w.After(time.Second, func() { w.Close(w.A, c) }) }})
		},
	})

	register(&Scenario{
		Name: "half-close", From: "000",
		Summary: "A closes its sending side; B keeps sending and A keeps reading until B's FIN",
		Doc: "A sends a request and closes its direction (shutdown, RFC 9293's CLOSE). B reads the request " +
			"and end-of-file, but the other direction is still open: B sends its answer in three parts over two " +
			"seconds, and A's application reads them in FIN-WAIT-2. Only B's FIN makes A read end-of-file " +
			"(symmetric release: each direction is released on its own).",
		Zh: Text{"半关闭：A 关闭发送方向；B 继续发送，A 持续读取直到 B 的 FIN",
			"A 发送请求后关闭自己的发送方向（shutdown，即 RFC 9293 的 CLOSE）。B 读到请求和文件结束，但另一个方向仍然打开：" +
				"B 在两秒内分三次发送应答，A 的应用在 FIN-WAIT-2 中读取它们。只有 B 的 FIN 才让 A 读到文件结束（对称释放：每个方向单独释放）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "PSH,ACK", RSeq: U(1), Len: 13},
				{From: "A", Flags: "FIN,ACK", RSeq: U(14)},
				{From: "B", Flags: "PSH,ACK", RSeq: U(1), RAck: U(15), Len: 7},
				{From: "B", Flags: "PSH,ACK", RSeq: U(8), RAck: U(15), Len: 7},
				{From: "B", Flags: "PSH,ACK", RSeq: U(15), RAck: U(15), Len: 7},
				{From: "B", Flags: "FIN,ACK", RSeq: U(22), RAck: U(15)},
			},
			App: []Call{{"A", "send", ""}, {"A", "shutdown", ""}, {"B", "read", ""}, {"B", "read-eof", ""},
				{"A", "read", ""}, {"A", "read", ""}, {"A", "read", ""}, {"A", "read-eof", ""}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.server(func(c *stack.Conn) *App {
				return &App{OnEOF: func() {
					for i, part := range []string{"part 1 ", "part 2 ", "part 3 "} {
						w.After(time.Duration(i)*time.Second, func() {
							w.Write(w.B, c, []byte(part))
							if i == 2 {
								w.Close(w.B, c)
							}
						})
					}
				}}
			})
			var c *stack.Conn
			var app *App
			app = &App{OnEstablished: func() {
				w.Write(w.A, c, []byte("GET /report\r\n"))
				w.Shutdown(w.A, c)
			}, OnEOF: func() {
				if string(app.Read) != "part 1 part 2 part 3 " {
					w.fail("A read %q", app.Read)
				}
				w.Close(w.A, c)
			}}
			c, _ = w.client(app)
		},
	})

	register(&Scenario{
		Name: "fin-with-data", From: "002",
		Summary: "the last data segment carries the FIN; the receiver reads all data, then EOF",
		Doc: "A writes 1000 bytes, then 500 more while the first are unacknowledged (Nagle's algorithm, " +
			"RFC 896, holds the small segment back), then closes. The FIN rides on the last data segment. " +
			"B's application reads all 1500 bytes before end-of-file: a FIN reaches the application after " +
			"the data queued before it.",
		Zh: Text{"最后一个数据报文段携带 FIN；接收方先读完所有数据，再读到文件结束",
			"A 先写 1000 字节，在它们尚未被确认时再写 500 字节（Nagle 算法，RFC 896，暂缓发送小报文段），然后关闭。" +
				"FIN 搭载在最后一个数据报文段上。B 的应用先读完全部 1500 字节，再读到文件结束：FIN 在它之前排队的数据之后才交给应用。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es, fw1, tw, cl), "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "PSH,ACK", RSeq: U(1), Len: 1000},
				{From: "A", Flags: "FIN,PSH,ACK", RSeq: U(1001), Len: 500},
			},
			App: []Call{{"A", "send", ""}, {"A", "send", ""}, {"A", "shutdown", ""}, {"B", "read", ""}, {"B", "read-eof", ""}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.server(func(c *stack.Conn) *App {
				var app *App
				app = &App{OnEOF: func() {
					if !bytes.Equal(app.Read, append(bytes.Repeat([]byte{'a'}, 1000), bytes.Repeat([]byte{'b'}, 500)...)) {
						w.fail("B read %d bytes before EOF; expected all 1500", len(app.Read))
					}
					w.Close(w.B, c)
				}}
				return app
			})
			var c *stack.Conn
			c, _ = w.client(&App{OnEstablished: func() {
				w.Write(w.A, c, bytes.Repeat([]byte{'a'}, 1000))
				w.Write(w.A, c, bytes.Repeat([]byte{'b'}, 500))
				w.Shutdown(w.A, c)
			}, OnEOF: func() { w.Close(w.A, c) }})
		},
	})

	// The simultaneous-close family: both applications close at the same
	// instant, a second after the handshake.
	simClose := func(w *World, mod func(*stack.Config)) {
		w.setup(mod, mod)
		ln := w.Listen(w.B, PortB)
		w.Serve(w.B, ln, func(c *stack.Conn) *App {
			return &App{OnEstablished: func() { w.At(time.Second, func() { w.Close(w.B, c) }) }}
		})
		var c *stack.Conn
		c, _ = w.client(&App{OnEstablished: func() { w.At(time.Second, func() { w.Close(w.A, c) }) }})
	}
	simStates := states(cl, ss, es, fw1, cg, tw, cl)
	register(&Scenario{
		Name: "simultaneous-close", From: "003",
		Summary: "both send FIN at once: FIN-WAIT-1 → CLOSING → TIME-WAIT on both sides",
		Doc: "Both applications close at the same moment, so the FINs cross. Each side receives the other's " +
			"FIN while its own is unacknowledged: FIN-WAIT-1 → CLOSING, and it ACKs at once. When each ACK " +
			"arrives, CLOSING → TIME-WAIT. Both sides wait 2MSL.",
		Zh: Text{"双方同时发送 FIN：两边都是 FIN-WAIT-1 → CLOSING → TIME-WAIT",
			"两个应用同时关闭，FIN 在途中交错。每一方都在自己的 FIN 尚未被确认时收到对方的 FIN：FIN-WAIT-1 → CLOSING，并立即回复 ACK。" +
				"各自的 ACK 到达后，CLOSING → TIME-WAIT。双方都等待 2MSL。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": simStates, "B": states(cl, ls, sr, es, fw1, cg, tw, cl)},
			Segments: []Seg{
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), RAck: U(1)},
				{From: "B", Flags: "FIN,ACK", RSeq: U(1), RAck: U(1)},
				{From: "B", Flags: "ACK", RSeq: U(2), RAck: U(2)},
				{From: "A", Flags: "ACK", RSeq: U(2), RAck: U(2)},
			},
			Check: func(r *Result) []string { return append(timeWaitLasted(r, "A"), timeWaitLasted(r, "B")...) },
		},
		run: func(w *World) { simClose(w, nil) },
	})

	register(&Scenario{
		Name: "simultaneous-close-lost-ack", From: "003",
		Summary: "simultaneous close with A's ACK lost: B retransmits its FIN, A (in TIME-WAIT) ACKs it",
		Doc: "As in simultaneous-close, but A's ACK of B's FIN is lost. A reaches TIME-WAIT when B's ACK of " +
			"its own FIN arrives; B stays in CLOSING until its retransmission timer resends the FIN, which A " +
			"acknowledges again from TIME-WAIT (restarting 2MSL). Both end CLOSED. The retransmission timer is what this case is about, so tail loss probes (RFC 8985, on by default) are off here.",
		Zh: Text{"同时关闭时 A 的 ACK 丢失：B 重传 FIN，处于 TIME-WAIT 的 A 再次确认",
			"与 simultaneous-close 相同，但 A 对 B 的 FIN 的确认丢失。A 收到 B 对自己 FIN 的确认后进入 TIME-WAIT；" +
				"B 停留在 CLOSING，直到重传计时器再次发送 FIN，A 在 TIME-WAIT 中再次确认（并重启 2MSL）。双方最终都进入 CLOSED。本例讲的是重传计时器，因此关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": simStates, "B": states(cl, ls, sr, es, fw1, cg, tw, cl)},
			Segments: []Seg{
				{From: "A", Event: "drop", Flags: "ACK", RAck: U(2)},
				{From: "B", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit},
				{From: "A", Flags: "ACK", RSeq: U(2), RAck: U(2)},
			},
			Timers: []Timer{{"B", "retransmit", "fire"}},
		},
		run: func(w *World) {
			simClose(w, rtoOnly)
			w.script(&sim.Rule{Name: "lose A's ACK of B's FIN", From: "A", Match: bareACK, Skip: 1, Count: 1, Action: sim.ActDrop})
		},
	})

	register(&Scenario{
		Name: "simultaneous-close-both-acks-lost", From: "003",
		Summary: "simultaneous close with both ACKs lost: both FINs are retransmitted and acknowledged",
		Doc: "Both ACKs of the crossing FINs are lost; both sides sit in CLOSING. Each retransmits its FIN " +
			"when its timer fires; each retransmitted FIN is old to the receiver, which answers with an ACK " +
			"that acknowledges it — and that ACK is what the other side was missing. Both reach TIME-WAIT, " +
			"then CLOSED. The retransmission timer is what this case is about, so tail loss probes (RFC 8985, on by default) are off here.",
		Zh: Text{"同时关闭时两个 ACK 都丢失：双方的 FIN 都被重传并得到确认",
			"交错的两个 FIN 的确认都丢失了，双方都停在 CLOSING。计时器超时后各自重传 FIN；对接收方来说这是旧报文段，" +
				"它回复的 ACK 确认了该 FIN——这正是对方缺少的确认。双方都进入 TIME-WAIT，然后 CLOSED。本例讲的是重传计时器，因此关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": simStates, "B": states(cl, ls, sr, es, fw1, cg, tw, cl)},
			Segments: []Seg{
				{From: "B", Event: "drop", Flags: "ACK", RAck: U(2)},
				{From: "A", Event: "drop", Flags: "ACK", RAck: U(2)},
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit},
				{From: "B", Flags: "ACK", RAck: U(2)},
			},
			Check: func(r *Result) []string {
				if len(sends(r.Events, Seg{From: "B", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit})) == 0 {
					return []string{"B never retransmitted its FIN"}
				}
				return nil
			},
		},
		run: func(w *World) {
			simClose(w, rtoOnly)
			w.script(&sim.Rule{Name: "lose A's ACK of B's FIN", From: "A", Match: bareACK, Skip: 1, Count: 1, Action: sim.ActDrop})
			w.script(&sim.Rule{Name: "lose B's ACK of A's FIN", From: "B", Match: bareACK, Count: 1, Action: sim.ActDrop})
		},
	})

	register(&Scenario{
		Name: "lost-fin", From: "000",
		Summary: "A's FIN is lost and retransmitted with the same sequence number",
		Doc: "The request to release is lost. A's retransmission timer detects it and sends the FIN again, " +
			"with the same sequence number; the close then completes as usual. The retransmission timer is what this case is about, so tail loss probes (RFC 8985, on by default) are off here.",
		Zh: Text{"A 的 FIN 丢失，以相同的序号重传",
			"释放请求丢失。A 的重传计时器发现了这一点，以相同的序号再次发送 FIN；之后关闭照常完成。本例讲的是重传计时器，因此关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "A", Event: "drop", Flags: "FIN,ACK", RSeq: U(1)},
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit},
				{From: "B", Flags: "ACK", RAck: U(2)},
			},
			Timers: []Timer{{"A", "retransmit", "fire"}},
		},
		run: func(w *World) {
			w.setup(rtoOnly, rtoOnly)
			w.script(&sim.Rule{Name: "lose A's FIN", From: "A", Match: isFIN, Count: 1, Action: sim.ActDrop})
			w.fourWay(time.Second)
		},
	})

	register(&Scenario{
		Name: "lost-fin-ack", From: "000",
		Summary: "the ACK of A's FIN is lost: A retransmits its FIN and B ACKs again",
		Doc: "B acknowledges A's FIN but the ACK is lost (the response to the release request). A's timer " +
			"fires and it resends the FIN; B, in CLOSE-WAIT, sees an old segment and acknowledges it again. The retransmission timer is what this case is about, so tail loss probes (RFC 8985, on by default) are off here.",
		Zh: Text{"对 A 的 FIN 的确认丢失：A 重传 FIN，B 再次确认",
			"B 确认了 A 的 FIN，但这个 ACK（对释放请求的应答）丢失了。A 的计时器超时后重发 FIN；处于 CLOSE-WAIT 的 B 看到一个旧报文段，再次确认。本例讲的是重传计时器，因此关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "FIN,ACK", RSeq: U(1)},
				{From: "B", Event: "drop", Flags: "ACK", RAck: U(2)},
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit},
				{From: "B", Flags: "ACK", RAck: U(2)},
			},
			Timers: []Timer{{"A", "retransmit", "fire"}},
		},
		run: func(w *World) {
			w.setup(rtoOnly, rtoOnly)
			w.script(&sim.Rule{Name: "lose B's ACK of A's FIN", From: "B", Match: bareACK, Count: 1, Action: sim.ActDrop})
			w.fourWay(2 * time.Second)
		},
	})

	register(&Scenario{
		Name: "lost-last-ack", From: "001",
		Summary: "the final ACK is lost: B retransmits its FIN; A in TIME-WAIT ACKs it and restarts 2MSL",
		Doc: "The sender of the last message can never know it arrived (the two-army problem). A's last ACK " +
			"is lost; B, in LAST-ACK, retransmits its FIN after its RTO. A is still in TIME-WAIT — that is " +
			"one of the two reasons TIME-WAIT lasts 2MSL — so it ACKs the FIN again and restarts its 2MSL " +
			"timer. Both end CLOSED. The retransmission timer is what this case is about, so tail loss probes (RFC 8985, on by default) are off here.",
		Zh: Text{"最后一个 ACK 丢失：B 重传 FIN；处于 TIME-WAIT 的 A 再次确认并重启 2MSL",
			"最后一条消息的发送方永远无法确知它已送达（两军问题）。A 的最后一个 ACK 丢失；处于 LAST-ACK 的 B 在 RTO 后重传 FIN。" +
				"A 仍在 TIME-WAIT 中——这正是 TIME-WAIT 要持续 2MSL 的两个原因之一——于是再次确认该 FIN 并重启 2MSL 计时器。双方最终都进入 CLOSED。本例讲的是重传计时器，因此关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "B", Flags: "FIN,ACK", RSeq: U(1)},
				{From: "A", Event: "drop", Flags: "ACK", RAck: U(2)},
				{From: "B", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit},
				{From: "A", Flags: "ACK", RSeq: U(2), RAck: U(2)},
			},
			Timers: []Timer{{"A", "time-wait", "set"}, {"B", "retransmit", "fire"}, {"A", "time-wait", "set"}, {"A", "time-wait", "fire"}},
			Check:  func(r *Result) []string { return timeWaitLasted(r, "A") },
		},
		run: func(w *World) {
			w.setup(rtoOnly, rtoOnly)
			w.script(&sim.Rule{Name: "lose A's last ACK", From: "A", Match: bareACK, Skip: 1, Count: 1, Action: sim.ActDrop})
			w.fourWay(time.Second)
		},
	})

	register(&Scenario{
		Name: "close-all-lost", From: "000",
		Summary: "after A's FIN every segment from B is lost: A backs off, gives up after its retries, CLOSED",
		Doc: "A closes; from then on nothing from B gets through. A retransmits its FIN with exponential " +
			"back-off and, as an orphan (its application has closed), gives up after 8 retransmissions " +
			"(Linux's tcp_orphan_retries) and is CLOSED. B, whose ACKs and FIN all vanish, does the same " +
			"from LAST-ACK: timers on both sides protect against a dead network. The retransmission timer is what this case is about, so tail loss probes (RFC 8985, on by default) are off here.",
		Zh: Text{"A 发出 FIN 之后 B 的所有报文段都丢失：A 指数退避重传，重试耗尽后放弃，进入 CLOSED",
			"A 关闭后，B 发出的任何报文段都无法到达。A 以指数退避重传 FIN，作为孤儿连接（应用已关闭）在 8 次重传后放弃" +
				"（Linux 的 tcp_orphan_retries），进入 CLOSED。B 的 ACK 和 FIN 全部丢失，它在 LAST-ACK 中同样放弃：双方的计时器防止了网络失效带来的无限等待。本例讲的是重传计时器，因此关闭了尾部丢失探测（RFC 8985，默认开启）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es, fw1, cl), "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "FIN,ACK", RSeq: U(1)},
				{From: "A", Flags: "FIN,ACK", RSeq: U(1), Rule: tcp.CauseRetransmit},
			},
			Timers: []Timer{{"A", "retransmit", "fire"}},
			App:    []Call{{"A", "close", ""}, {"A", "error", "ETIMEDOUT"}},
			Check: func(r *Result) []string {
				fins := sends(r.Events, Seg{From: "A", Flags: "FIN,ACK", RSeq: U(1)})
				if len(fins) != 9 {
					return []string{"A sent its FIN " + strconv.Itoa(len(fins)) + " times; expected 1 + 8 retransmissions"}
				}
				for i := 2; i < len(fins); i++ {
					if fins[i].T-fins[i-1].T < 2*(fins[i-1].T-fins[i-2].T)-time.Millisecond {
						return []string{"FIN retransmissions do not back off exponentially"}
					}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(rtoOnly, rtoOnly)
			w.fourWay(0)
			w.At(time.Second+time.Millisecond, func() {
				w.Note("B", "from now on every segment from B is lost")
				w.script(&sim.Rule{Name: "B is cut off", From: "B", Action: sim.ActDrop})
			})
		},
	})

	register(&Scenario{
		Name: "fin-wait-data-then-finack", From: "003",
		Summary: "B's ACK of A's FIN is lost; B's later data and FIN+ACK are accepted by sequence number",
		Doc: "A closes; B's ACK of the FIN is lost, but B keeps sending data before its own FIN. Each of B's " +
			"segments carries ack = A's FIN + 1, so the first one moves A to FIN-WAIT-2; the data is new by " +
			"sequence number and delivered; the FIN+ACK closes B's direction. Sequence numbers tell old " +
			"segments from new ones: nothing is confused.",
		Zh: Text{"B 对 A 的 FIN 的确认丢失；B 之后的数据和 FIN+ACK 凭序号被 A 正确接收",
			"A 关闭；B 对该 FIN 的确认丢失，但 B 在发出自己的 FIN 之前继续发送数据。B 的每个报文段都携带 ack = A 的 FIN + 1，" +
				"所以第一个报文段就让 A 进入 FIN-WAIT-2；按序号判断数据是新的，被交给应用；FIN+ACK 关闭了 B 的方向。序号将旧报文段与新报文段区分开，不会混淆。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": fourWayA, "B": fourWayB},
			Segments: []Seg{
				{From: "A", Flags: "FIN,ACK", RSeq: U(1)},
				{From: "B", Event: "drop", Flags: "ACK", RAck: U(2)},
				{From: "B", RSeq: U(1), RAck: U(2), Len: 1448, Flags: "ACK"},
				{From: "B", RAck: U(2), Len: AnyLen, Flags: "FIN,PSH,ACK"},
				{From: "A", Flags: "ACK", RAck: U(3002)},
			},
			App: []Call{{"A", "read", ""}, {"A", "read-eof", ""}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.script(&sim.Rule{Name: "lose B's ACK of A's FIN", From: "B", Match: bareACK, Count: 1, Action: sim.ActDrop})
			w.server(func(c *stack.Conn) *App {
				return &App{OnEOF: func() {
					w.After(100*time.Millisecond, func() {
						w.Write(w.B, c, bytes.Repeat([]byte("x"), 3000))
						w.Close(w.B, c)
					})
				}}
			})
			var c *stack.Conn
			var app *App
			app = &App{OnEstablished: func() { w.After(time.Second, func() { w.Shutdown(w.A, c) }) },
				OnEOF: func() {
					if len(app.Read) != 3000 {
						w.fail("A read %d bytes; expected 3000", len(app.Read))
					}
					w.Close(w.A, c)
				}}
			c, _ = w.client(app)
		},
	})
}

// rtoOnly turns tail loss probes off (Config.TLP, Linux tcp_early_retrans)
// for a seed case about the retransmission timer: with them on, as by
// default, a lost lone FIN is resent by a probe (RFC 8985 §7) at
// min(2·SRTT + RTOMin, RTO) instead of by the timer this case teaches.
func rtoOnly(c *stack.Config) { c.TCP.TLP = tcp.Off }
