package scenario

import (
	"bytes"
	"fmt"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/wire"
)

// The loss-recovery group of the catalogue (DESIGN.md: "and for loss
// recovery"): no seed document covers data transfer, so each has From "".
// In each, A writes a few full-sized segments as soon as it is connected,
// the script loses some of them, and A closes once the data has had time
// to get through; B checks that it read every byte once, in order, and
// closes on end-of-file.

// segLen is the payload of a full-sized segment: the MSS of 1460 less
// the 12 bytes the timestamp option takes on every segment (RFC 7323 §3).
const segLen = 1460 - 12

// block returns n segments' worth of data, segment i filled with the
// letter 'a'+i, so that a ladder's lengths and B's check both read easily.
func block(n, size int) []byte {
	var b []byte
	for i := range n {
		b = append(b, bytes.Repeat([]byte{byte('a' + i%26)}, size)...)
	}
	return b
}

// transfer runs the group's applications: A writes data once connected
// and closes closeAt after; B reads, checks it got data exactly, and
// closes on end-of-file. It returns A's connection.
func (w *World) transfer(data []byte, closeAt time.Duration) *stack.Conn {
	w.server(func(c *stack.Conn) *App {
		var app *App
		app = &App{OnEOF: func() {
			if !bytes.Equal(app.Read, data) {
				w.fail("B read %d bytes, not the %d A wrote, once each and in order", len(app.Read), len(data))
			}
			w.Close(w.B, c)
		}}
		return app
	})
	var c *stack.Conn
	c, _ = w.client(&App{
		OnEstablished: func() {
			w.Write(w.A, c, data)
			w.After(closeAt, func() { w.Close(w.A, c) })
		},
	})
	return c
}

// loseSeq loses the next count segments from host that carry sequence
// number rseq (relative to conn's ISS) first: an original and then as
// many of its retransmissions as count says.
func (w *World) loseSeq(name, host string, c **stack.Conn, rseq uint32, count int) {
	w.script(&sim.Rule{Name: name, From: host, Count: count, Action: sim.ActDrop, Match: func(s *wire.Segment) bool {
		return *c != nil && len(s.Payload) > 0 && s.Seq == (*c).TCB().ISS().Add(seq.Size(rseq))
	}})
}

// pick returns the events for which f is true.
func pick(r *Result, f func(e *trace.Event) bool) []trace.Event {
	var out []trace.Event
	for i := range r.Events {
		if f(&r.Events[i]) {
			out = append(out, r.Events[i])
		}
	}
	return out
}

// whenAcked runs f at the first whole multiple of step at which
// everything c has sent is acknowledged, looking again every step.
func (w *World) whenAcked(c *stack.Conn, step time.Duration, f func()) {
	if c == nil {
		return
	}
	w.After(step, func() {
		if st := c.TCB().Status(); st.SndUna == st.SndMax {
			f()
		} else if st.State == tcp.StateEstablished {
			w.whenAcked(c, step, f)
		}
	})
}

// ackedAt is when A received the ACK of rack, or -1 if it never did.
func ackedAt(events []trace.Event, rack uint32) time.Duration {
	for _, e := range events {
		if e.Event == trace.KindRecv && e.Host == "A" && e.RAck != nil && *e.RAck == rack {
			return e.T
		}
	}
	return -1
}

// timerFired reports whether host's timer fired at all.
func timerFired(r *Result, host, timer string) bool {
	return len(pick(r, func(e *trace.Event) bool {
		return e.Event == trace.KindTimer && e.Host == host && e.Timer == timer && e.Action == "fire"
	})) > 0
}

// recoveryA and recoveryB are the states of the group's close: A closes first, B
// closes as soon as it reads end-of-file, so its FIN carries the ACK of
// A's (close-three-way).
var (
	recoveryA = states(cl, ss, es, fw1, tw, cl)
	recoveryB = states(cl, ls, sr, es, cw, la, cl)
)

func init() {
	register(&Scenario{
		Name:    "fast-retransmit",
		Summary: "three duplicate ACKs: the lost segment is sent again at once, long before the RTO (NewReno, no SACK)",
		Doc: "A sends six segments at once; the second is lost. B answers each of the four that arrive beyond " +
			"the hole at once (RFC 5681 §4.2), and every answer says ack 1449: the first acknowledges the first " +
			"segment, the next three are duplicate ACKs. The third duplicate tells A the segment is lost and not " +
			"merely late: A retransmits it at once (fast retransmit, RFC 5681 §3.2) and enters NewReno fast " +
			"recovery (RFC 6582), a round trip after the loss instead of the 200 ms or more the retransmission " +
			"timer would wait. The retransmission fills the hole and B's ACK covers all six. This is loss recovery " +
			"without SACK, as with a peer that does not offer it: SACK is off on both sides here, and the " +
			"congestion control is reno (CUBIC, the default, would size the window differently, nothing else).",
		Zh: Text{"三个重复 ACK：丢失的报文段立即被重传，远早于重传超时（NewReno，不用 SACK）",
			"A 一次发出六个报文段，第二个丢失。越过空洞到达的四个报文段，B 都立即回复（RFC 5681 §4.2），每个回复的确认号都是 1449：" +
				"第一个确认了第一个报文段，后三个是重复 ACK。第三个重复 ACK 告诉 A 该报文段是丢了而不只是迟到：A 立即重传它" +
				"（快速重传，RFC 5681 §3.2），并进入 NewReno 快速恢复（RFC 6582）——丢失后一个往返时间就重传，而不是等重传计时器的 200 毫秒以上。" +
				"重传填补了空洞，B 的 ACK 确认了全部六个报文段。这是不用 SACK 的丢包恢复，就像对端不支持 SACK 时那样：" +
				"本例两端都关闭了 SACK，拥塞控制为 reno（默认的 CUBIC 只是窗口大小的算法不同，别的都一样）。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": recoveryA, "B": recoveryB},
			Segments: []Seg{
				{From: "A", RSeq: U(1), Len: segLen},
				{From: "A", Event: "drop", RSeq: U(1 + segLen), Len: segLen},
				{From: "B", Flags: "ACK", RAck: U(1 + segLen), Len: 0, Rule: tcp.CauseOutOfOrder},
				{From: "B", Flags: "ACK", RAck: U(1 + segLen), Len: 0, Rule: tcp.CauseOutOfOrder},
				{From: "B", Flags: "ACK", RAck: U(1 + segLen), Len: 0, Rule: tcp.CauseOutOfOrder},
				{From: "B", Flags: "ACK", RAck: U(1 + segLen), Len: 0, Rule: tcp.CauseOutOfOrder},
				{From: "A", RSeq: U(1 + segLen), Len: segLen, Rule: tcp.CauseFastRetransmit},
				{From: "B", Flags: "ACK", RAck: U(1 + 6*segLen), Len: 0},
			},
			Never: []Seg{{From: "A", Len: AnyLen, Rule: tcp.CauseRetransmit}},
			App:   []Call{{"A", "send", ""}, {"B", "read", ""}, {"A", "close", ""}, {"B", "read-eof", ""}},
			Check: func(r *Result) []string {
				var fails []string
				if timerFired(r, "A", "retransmit") {
					fails = append(fails, "A's retransmission timer fired: the loss should be repaired by the third duplicate ACK")
				}
				if n := len(pick(r, func(e *trace.Event) bool {
					return e.Event == trace.KindSend && e.Opts != "" && e.Flags != "SYN" && e.Flags != "SYN,ACK"
				})); n > 0 {
					fails = append(fails, fmt.Sprintf("%d segments carry SACK blocks, though SACK is off", n))
				}
				// The fast retransmit answers the third duplicate ACK,
				// at the instant it arrives.
				dups := pick(r, func(e *trace.Event) bool {
					return e.Event == trace.KindRecv && e.Host == "A" && e.Len == 0 && e.RAck != nil && *e.RAck == 1+segLen
				})
				fr := sends(r.Events, Seg{From: "A", Len: AnyLen, Rule: tcp.CauseFastRetransmit})
				if len(dups) < 4 || len(fr) != 1 || fr[0].T != dups[3].T {
					fails = append(fails, fmt.Sprintf("the fast retransmit (%d) does not answer the third duplicate ACK (%d ACKs of 1449 arrived)", len(fr), len(dups)))
				}
				return fails
			},
		},
		run: func(w *World) {
			reno := func(c *stack.Config) { c.TCP.SACK, c.TCP.CongestionControl = tcp.Off, tcp.CongestionReno }
			w.setup(reno, reno)
			var c *stack.Conn
			w.loseSeq("lose A's second segment", "A", &c, 1+segLen, 1)
			c = w.transfer(block(6, segLen), time.Second)
		},
	})

	register(&Scenario{
		Name:    "sack-recovery",
		Summary: "two segments lost in one window: SACK shows both holes, and both are sent again within one round trip",
		Doc: "A sends ten segments at once; the second and the fifth are lost. Each segment that arrives beyond a " +
			"hole draws an immediate ACK whose SACK blocks (RFC 2018) say what B holds above it, and A keeps " +
			"them in its scoreboard. Once more than two segments' worth is SACKed above the first hole, RFC 6675's " +
			"IsLost() calls it lost: A enters recovery and NextSeg() rule (1) sends it again. With no new data to " +
			"send, rule (3) sends the second hole as soon as the window allows, since B has SACKed data above it; " +
			"and rule (4), once per recovery, a rescue retransmission of the highest segment not SACKed, in case " +
			"the tail was lost too — here the tenth, whose SACK was still on its way, so B gets it twice. Both " +
			"holes go out within one round trip, where NewReno would learn of the second only from the partial " +
			"ACK a round trip later (RFC 6582), and B's ACK of the second covers all ten segments. RACK " +
			"(RFC 8985, on by default) would mark the holes by time instead; it is off here so that the rules at " +
			"work are RFC 6675's alone.",
		Zh: Text{"一个窗口内丢了两个报文段：SACK 指出两个空洞，二者在一个往返时间内都被重传",
			"A 一次发出十个报文段，第二个和第五个丢失。每个越过空洞到达的报文段都引出一个立即的 ACK，其中的 SACK 块（RFC 2018）" +
				"说明 B 在空洞之上已收到哪些数据，A 把它们记在记分板上。当第一个空洞之上被 SACK 确认的数据超过两个报文段时，" +
				"RFC 6675 的 IsLost() 判定它丢失：A 进入恢复，NextSeg() 第 (1) 条重传它。没有新数据可发，窗口一允许，" +
				"第 (3) 条就重传第二个空洞，因为 B 已 SACK 确认了它之上的数据；第 (4) 条在每次恢复中做一次“救援重传”，" +
				"重发尚未被 SACK 确认的最高报文段，以防尾部也丢了——这里是第十个，它的 SACK 还在路上，所以 B 收到了两份。" +
				"两个空洞都在一个往返时间内重传，而 NewReno 要再过一个往返时间才能从部分确认中得知第二个空洞（RFC 6582）；" +
				"B 对第二个重传的 ACK 确认了全部十个报文段。RACK（RFC 8985，默认开启）会按时间来判定这些空洞；" +
				"本例关闭了它，让起作用的只有 RFC 6675 的规则。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": recoveryA, "B": recoveryB},
			Segments: []Seg{
				{From: "A", Event: "drop", RSeq: U(1 + segLen), Len: segLen},
				{From: "A", Event: "drop", RSeq: U(1 + 4*segLen), Len: segLen},
				{From: "B", Flags: "ACK", RAck: U(1 + segLen), Len: 0, Rule: tcp.CauseOutOfOrder},
				{From: "A", RSeq: U(1 + segLen), Len: segLen, Rule: tcp.CauseSACKLost},
				{From: "A", RSeq: U(1 + 4*segLen), Len: segLen, Rule: tcp.CauseSACKHole},
				{From: "A", RSeq: U(1 + 9*segLen), Len: segLen, Rule: tcp.CauseRescue},
				{From: "B", Flags: "ACK", RAck: U(1 + 4*segLen), Len: 0},
				{From: "B", Flags: "ACK", RAck: U(1 + 10*segLen), Len: 0},
			},
			Never: []Seg{{From: "A", Len: AnyLen, Rule: tcp.CauseRetransmit}},
			App:   []Call{{"A", "send", ""}, {"B", "read", ""}, {"A", "close", ""}, {"B", "read-eof", ""}},
			Check: func(r *Result) []string {
				var fails []string
				if timerFired(r, "A", "retransmit") {
					fails = append(fails, "A's retransmission timer fired: SACK recovery should repair both holes")
				}
				holes := func(rseq uint32) []trace.Event {
					return pick(r, func(e *trace.Event) bool {
						return e.Event == trace.KindSend && e.Host == "A" && e.Rule.Retransmission() && e.RSeq != nil && *e.RSeq == rseq
					})
				}
				first, second := holes(1+segLen), holes(1+4*segLen)
				if len(first) != 1 || len(second) != 1 {
					return append(fails, fmt.Sprintf("the holes were sent again %d and %d times; expected once each", len(first), len(second)))
				}
				// One round trip: the second hole is sent again before
				// the ACK of the first repair is back.
				back := pick(r, func(e *trace.Event) bool {
					return e.Event == trace.KindRecv && e.Host == "A" && e.RAck != nil && *e.RAck > 1+segLen
				})
				if len(back) == 0 || !(second[0].T < back[0].T) {
					fails = append(fails, "the second hole was not sent again before the first repair's ACK came back")
				}
				return fails
			},
		},
		run: func(w *World) {
			rfc6675 := func(c *stack.Config) { c.TCP.RACK = tcp.Off }
			w.setup(rfc6675, rfc6675)
			var c *stack.Conn
			w.loseSeq("lose A's second segment", "A", &c, 1+segLen, 1)
			w.loseSeq("lose A's fifth segment", "A", &c, 1+4*segLen, 1)
			c = w.transfer(block(10, segLen), time.Second)
		},
	})

	register(&Scenario{
		Name:    "tail-loss-probe",
		Summary: "the last segment is lost: a loss probe sends it again, instead of a retransmission timeout",
		Doc: "A sends four segments and nothing after them; the fourth is lost. Nothing arrives beyond it, so no " +
			"duplicate ACK or SACK can tell A of the loss: only a timer can. RACK-TLP (RFC 8985 §7, Linux's " +
			"default) arms a loss-probe timer in place of the retransmission timer: two smoothed round trips, plus " +
			"the peer's delayed-ACK allowance (200 ms, as Linux) when one segment is outstanding, and never later " +
			"than the RTO would fire. It fires — here, with one segment left, at the moment the RTO was due — and A, " +
			"with no new data to send, sends the last segment again as a probe (§7.3). B's ACK of the probe covers " +
			"everything. A never timed out: its congestion window is not cut to one segment (RFC 5681 §3.1) and " +
			"its RTO is not backed off. The figures after the ladder compare the same loss with probes off.",
		Zh: Text{"最后一个报文段丢失：尾部丢失探测将它重发，而不是等待重传超时",
			"A 发出四个报文段，之后没有别的数据；第四个丢失。它之后没有任何报文段到达，所以没有重复 ACK 或 SACK 能告诉 A 发生了丢失：" +
				"只有计时器能发现。RACK-TLP（RFC 8985 §7，Linux 的默认）用丢失探测计时器代替重传计时器：时长为两个平滑往返时间，" +
				"只有一个报文段未确认时再加上对端的延迟确认余量（200 毫秒，与 Linux 相同），且不晚于 RTO 的到期时刻。" +
				"计时器到时——这里只剩一个报文段，正是 RTO 本该到期的时刻——A 没有新数据可发，就把最后一个报文段作为探测重发（§7.3）。" +
				"B 对探测的 ACK 确认了全部数据。A 从未超时：它的拥塞窗口没有被降到一个报文段（RFC 5681 §3.1），RTO 也没有退避。" +
				"图后的数字对比了关闭探测时同样的丢失。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": recoveryA, "B": recoveryB},
			Segments: []Seg{
				{From: "A", Event: "drop", RSeq: U(1 + 3*segLen), Len: segLen},
				{From: "B", Flags: "ACK", RAck: U(1 + 3*segLen), Len: 0},
				{From: "A", RSeq: U(1 + 3*segLen), Len: segLen, Rule: tcp.CauseTLP},
				{From: "B", Flags: "ACK", RAck: U(1 + 4*segLen), Len: 0},
			},
			Never:  []Seg{{From: "A", Len: AnyLen, Rule: tcp.CauseRetransmit}},
			Timers: []Timer{{"A", "loss-probe", "set"}, {"A", "loss-probe", "fire"}},
			App:    []Call{{"A", "send", ""}, {"B", "read", ""}, {"A", "close", ""}, {"B", "read-eof", ""}},
			Check: func(r *Result) []string {
				var fails []string
				if timerFired(r, "A", "retransmit") {
					fails = append(fails, "A's retransmission timer fired: the probe should repair the tail")
				}
				return fails
			},
		},
		run: func(w *World) {
			tail := func(w *World, mod func(*stack.Config)) *stack.Conn {
				w.setup(mod, mod)
				var c *stack.Conn
				w.loseSeq("lose A's last segment", "A", &c, 1+3*segLen, 1)
				c = w.transfer(block(4, segLen), time.Second)
				return c
			}
			c := tail(w, nil)
			// The same loss with probes off, run aside for its figures:
			// what the probe saved.
			p := w.P
			p.Capture = nil
			twin := newWorld(w.S, p)
			tc := tail(twin, rtoOnly)
			w.At(900*time.Millisecond, func() {
				twin.Net.RunUntilIdle(900 * time.Millisecond)
				for _, x := range []struct {
					what string
					w    *World
					c    *stack.Conn
				}{{"with the probe", w, c}, {"with probes off, by the RTO", twin, tc}} {
					if x.c == nil {
						continue
					}
					st := x.c.TCB().Status()
					w.Report(fmt.Sprintf("%s: all acknowledged at %v, timeouts %d, then a congestion window of %d bytes and an RTO of %v",
						x.what, ackedAt(x.w.Rec.Events, 1+4*segLen), st.Timeouts, st.CWnd, st.RTO))
				}
			})
		},
	})

	register(&Scenario{
		Name:    "rto-backoff",
		Summary: "every retransmission is lost: the RTO doubles, 1 s, 2 s, 4 s…; no RTT sample from a retransmitted segment (Karn)",
		Doc: "A sends one segment; it and the next five retransmissions are lost. Each time the retransmission " +
			"timer fires A sends the segment again and doubles the timeout (RFC 6298 §5.5): 1 s, 2 s, 4 s, 8 s, " +
			"16 s, 32 s, so that a path that has failed is not flooded. The sixth retransmission gets through. Its ACK " +
			"cannot say which copy it answers, so it gives no RTT sample (Karn's algorithm, RFC 6298 §3) and the " +
			"backed-off timeout stays: A's next segment is timed with it, and only that segment's ACK — a sample " +
			"from a segment sent once — brings the RTO back down (RFC 6298 §5, after 5.7). The timestamp option " +
			"would tell the copies apart (RFC 7323 §4), so it is off here; tail loss probes (RFC 8985) are off " +
			"too, as this case is about the timer; and the minimum RTO is RFC 6298 §2.4's 1 s rather than " +
			"Linux's 200 ms, so the doubling reads as the RFC writes it.",
		Zh: Text{"每次重传都丢失：RTO 加倍，1 秒、2 秒、4 秒……；重传过的报文段不产生 RTT 样本（Karn 算法）",
			"A 发出一个报文段；它和随后的五次重传都丢失了。每当重传计时器超时，A 就重发该报文段，并把超时时间加倍（RFC 6298 §5.5）：" +
				"1 秒、2 秒、4 秒、8 秒、16 秒、32 秒，以免向已经失效的路径灌入报文。第六次重传终于到达。它的 ACK 无法说明确认的是哪一份副本，" +
				"所以不产生 RTT 样本（Karn 算法，RFC 6298 §3），退避后的超时时间保持不变：A 的下一个报文段仍用它计时，" +
				"只有这个报文段的 ACK——来自只发送过一次的报文段的样本——才让 RTO 降回来（RFC 6298 §5，5.7 之后）。" +
				"时间戳选项能区分各份副本（RFC 7323 §4），因此本例关闭了它；本例讲的是计时器，尾部丢失探测（RFC 8985）也关闭了；" +
				"最小 RTO 取 RFC 6298 §2.4 的 1 秒而不是 Linux 的 200 毫秒，让加倍的数值与 RFC 的写法一致。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": recoveryA, "B": recoveryB},
			Segments: []Seg{
				{From: "A", Event: "drop", RSeq: U(1), Len: 100},
				{From: "A", RSeq: U(1), Len: 100, Rule: tcp.CauseRetransmit},
				{From: "A", Event: "drop", RSeq: U(1), Len: 100},
				{From: "A", RSeq: U(1), Len: 100, Rule: tcp.CauseRetransmit},
				{From: "B", Flags: "ACK", RAck: U(101), Len: 0},
				{From: "A", RSeq: U(101), Len: 100, Rule: tcp.CauseData},
				{From: "B", Flags: "ACK", RAck: U(201), Len: 0},
				{From: "A", RSeq: U(201), Len: 100, Rule: tcp.CauseData},
				{From: "B", Flags: "ACK", RAck: U(301), Len: 0},
			},
			Timers: []Timer{{"A", "retransmit", "fire"}, {"A", "retransmit", "fire"}},
			App: []Call{{"A", "send", ""}, {"B", "read", ""}, {"A", "send", ""}, {"B", "read", ""}, {"A", "send", ""}, {"B", "read", ""},
				{"A", "close", ""}, {"B", "read-eof", ""}},
			Check: checkBackoff,
		},
		limit: 10 * time.Minute,
		run: func(w *World) {
			rfc6298 := func(c *stack.Config) {
				c.TCP.Timestamps, c.TCP.TLP = tcp.Off, tcp.Off
				if w.P.RTOMin == 0 || w.P.RTOMin == linuxRTOMin {
					c.TCP.RTOMin = time.Second
				}
			}
			w.setup(rfc6298, rfc6298)
			var c *stack.Conn
			w.loseSeq("lose A's segment and its retransmissions", "A", &c, 1, 1+lostRtx)
			var app *App
			w.server(func(sc *stack.Conn) *App {
				app = &App{OnEOF: func() {
					if string(app.Read) != string(block(3, 100)) {
						w.fail("B read %q", app.Read)
					}
					w.Close(w.B, sc)
				}}
				return app
			})
			c, _ = w.client(&App{OnEstablished: func() {
				w.Write(w.A, c, block(1, 100))
				w.Note("A", "from now on, the segment and its next five retransmissions are lost")
			}})
			// Once the segment is through (after 1+2+4+8+16+32 s with the
			// defaults), a second one, timed with the backed-off RTO since
			// there has been no sample; a second later a third, timed with
			// the RTO the second one's sample gave; a second later, close.
			var next func(i int)
			next = func(i int) {
				if i == 2 {
					w.Close(w.A, c)
					return
				}
				why := "no RTT sample since the back-off: the only ACK was of a retransmitted segment (Karn)"
				if i == 1 {
					why = "the ACK of the last segment, sent once, gave a sample"
				}
				w.Note("A", fmt.Sprintf("RTO %v: %s", c.TCB().Status().RTO, why))
				w.Write(w.A, c, block(i+2, 100)[(i+1)*100:])
				w.whenAcked(c, time.Second, func() { next(i + 1) })
			}
			w.At(time.Second, func() { w.whenAcked(c, time.Minute, func() { next(0) }) })
		},
	})
}

// lostRtx is how many of rto-backoff's retransmissions are lost.
const lostRtx = 5

// rtoMax is tcp.Config's default RTOMax, the cap of the back-off (RFC
// 6298 §2.5; Linux TCP_RTO_MAX).
const rtoMax = 120 * time.Second

// linuxRTOMin is tcp.Config's default RTOMin (the CLI's --rto-min
// default): rto-backoff replaces it with RFC 6298's 1 s, but keeps any
// other minimum a learner chose.
const linuxRTOMin = 200 * time.Millisecond

// checkBackoff checks rto-backoff's timing: the retransmissions of the
// first segment come at intervals that double (RFC 6298 §5.5); the second
// segment is timed with the last backed-off RTO, as no retransmitted
// segment gives a sample (Karn); the third with the RTO of the first
// interval again, after the second's sample.
func checkBackoff(r *Result) []string {
	var fails []string
	tx := pick(r, func(e *trace.Event) bool {
		return e.Event == trace.KindSend && e.Host == "A" && e.RSeq != nil && *e.RSeq == 1 && e.Len == 100
	})
	if len(tx) != 2+lostRtx {
		return []string{fmt.Sprintf("A sent its first segment %d times; expected the original and %d retransmissions", len(tx), 1+lostRtx)}
	}
	first := tx[1].T - tx[0].T
	for i := 2; i < len(tx); i++ {
		if got, want := tx[i].T-tx[i-1].T, min(first<<(i-1), rtoMax); got != want {
			fails = append(fails, fmt.Sprintf("retransmission %d came %v after the one before; expected %v (doubling from %v)", i, got, want, first))
		}
	}
	// The retransmission timer set as each later segment leaves.
	timed := func(rseq uint32) (time.Duration, bool) {
		s := sends(r.Events, Seg{From: "A", RSeq: U(rseq), Len: 100})
		if len(s) == 0 {
			return 0, false
		}
		for _, e := range r.Events {
			if e.Event == trace.KindTimer && e.Host == "A" && e.Timer == "retransmit" && e.Action == "set" && e.T == s[0].T {
				return e.In, true
			}
		}
		return 0, false
	}
	backed := min(first<<(1+lostRtx), rtoMax)
	if in, ok := timed(101); !ok || in != backed {
		fails = append(fails, fmt.Sprintf("the second segment was timed with %v; expected the backed-off %v (no RTT sample from a retransmitted segment)", in, backed))
	}
	// The second segment's sample computes the RTO afresh (RFC 6298 §2):
	// where the minimum of 1 s decided the first RTO, it is 1 s again;
	// else it follows the samples, far below the backed-off value.
	in, ok := timed(201)
	pinned := r.Params.RTOMin == 0 || r.Params.RTOMin == linuxRTOMin
	switch {
	case pinned && first < time.Second:
		fails = append(fails, fmt.Sprintf("the first retransmission came %v after the original, below RFC 6298's minimum of 1 s", first))
	case !ok || pinned && first == time.Second && in != first:
		fails = append(fails, fmt.Sprintf("the third segment was timed with %v; expected %v again, after the second one's sample", in, first))
	case in >= backed/4:
		fails = append(fails, fmt.Sprintf("the third segment was timed with %v; expected the RTO back down from %v after the second one's sample", in, backed))
	}
	return fails
}
