package scenario

import (
	"bytes"
	"fmt"
	"net/netip"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
	"github.com/synack/synack/wire"
)

func init() {
	register(&Scenario{
		Name: "abort-rst", From: "000",
		Summary: "A aborts (linger 0): RST, no FIN; B's application gets ECONNRESET; unread and in-flight data are lost",
		Doc: "Asymmetric release: A ends the connection on its own with RST. B has 3000 bytes of A's data its " +
			"application has not read yet, and B's own 2000 bytes are on their way to A. The RST ends B's " +
			"connection at once (RFC 9293 §3.10.7.4): its queues are flushed and its application's read " +
			"fails with ECONNRESET instead of returning the data; B's data reaches a host that no longer " +
			"knows the connection and is answered with RST. Even over a reliable network, asymmetric release " +
			"loses data.",
		Zh: Text{"A 中止连接（linger 0）：发送 RST 而不是 FIN；B 的应用得到 ECONNRESET；未读和在途的数据都丢失",
			"非对称释放：A 单方面用 RST 结束连接。B 有 3000 字节 A 发来的数据尚未被应用读取，B 自己的 2000 字节正在发往 A 的途中。" +
				"RST 立即结束了 B 的连接（RFC 9293 §3.10.7.4）：队列被清空，应用的读操作返回 ECONNRESET 而不是数据；" +
				"B 的数据到达一个已不认识该连接的主机，被 RST 回应。即使网络可靠，非对称释放也会丢失数据。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es, cl), "B": states(cl, ls, sr, es, cl)},
			Segments: []Seg{
				{From: "A", RSeq: U(1), Len: 1448},
				{From: "B", RSeq: U(1), Len: 1448},
				{From: "A", Flags: "RST,ACK", RSeq: U(3001)},
				{From: "A", Flags: "RST", RSeq: U(3001)},
			},
			Never: []Seg{{From: "A", Flags: "FIN,ACK"}, {From: "B", Flags: "FIN,ACK"}},
			App:   []Call{{"A", "abort", ""}, {"B", "error", "ECONNRESET"}, {"B", "read", "ECONNRESET"}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			var sc *stack.Conn
			w.server(func(c *stack.Conn) *App {
				sc = c
				return &App{NoRead: true}
			})
			var c *stack.Conn
			c, _ = w.client(&App{NoRead: true, OnEstablished: func() { w.Write(w.A, c, bytes.Repeat([]byte("a"), 3000)) }})
			w.At(995*time.Millisecond, func() { w.Write(w.B, sc, bytes.Repeat([]byte("b"), 2000)) })
			w.At(time.Second, func() { w.Abort(w.A, c) })
			w.At(2*time.Second, func() {
				// B's application finally reads: the reset took the data.
				if w.missing(w.B, "read", sc) {
					return
				}
				n, err := sc.Read(w.now(), make([]byte, 8192))
				w.Rec.User(w.now(), "B", connName(sc), "read", n, err)
				if n != 0 {
					w.fail("B's application read %d bytes after the reset; they must be lost", n)
				}
			})
		},
	})

	register(&Scenario{
		Name: "keepalive-dead-peer", From: "001",
		Summary: "B crashes silently: after 2 h idle A probes every 75 s (SEQ = SND.NXT-1); after 9 probes, ETIMEDOUT",
		Doc: "A has keepalive on (RFC 1122 §4.2.3.6; Linux's defaults: 2 h idle, 75 s interval, 9 probes — the " +
			"course notes say 10, it is a setting). B's host crashes without a word. After two hours of " +
			"silence A sends a probe: an ACK whose sequence number is SND.NXT-1, which a live peer must " +
			"answer. Nothing answers; after the ninth unanswered probe A resets and closes the connection, " +
			"and its application gets ETIMEDOUT. All in virtual time: a two-hour wait takes microseconds.",
		Zh: Text{"B 无声崩溃：空闲 2 小时后 A 每 75 秒探测一次（SEQ = SND.NXT-1）；9 次无应答后 ETIMEDOUT",
			"A 打开了保活（RFC 1122 §4.2.3.6；Linux 默认：空闲 2 小时、间隔 75 秒、9 次探测——课程讲义中为 10 次，这是一个可设置项）。" +
				"B 的主机无声无息地崩溃。沉默两小时后 A 发出探测：一个序号为 SND.NXT-1 的 ACK，活着的对端必须回应。" +
				"没有任何回应；第九次探测无应答后 A 复位并关闭连接，应用得到 ETIMEDOUT。一切都在虚拟时间中进行：两小时的等待只需几微秒。"},
		limit: 4 * time.Hour,
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es, cl)},
			Segments: []Seg{
				{From: "A", Flags: "ACK", RSeq: U(0), Rule: tcp.CauseKeepaliveProbe},
				{From: "A", Flags: "RST,ACK", RSeq: U(1)},
			},
			Timers: []Timer{{"A", "keepalive", "set"}, {"A", "keepalive", "fire"}},
			App:    []Call{{"A", "error", "ETIMEDOUT"}},
			Check: func(r *Result) []string {
				probes := sends(r.Events, Seg{From: "A", Flags: "ACK", RSeq: U(0), Rule: tcp.CauseKeepaliveProbe})
				count, interval := 9, 75*time.Second
				if r.Params.KeepaliveCount > 0 {
					count = r.Params.KeepaliveCount
				}
				if r.Params.KeepaliveInterval > 0 {
					interval = r.Params.KeepaliveInterval
				}
				if len(probes) != count {
					return []string{fmt.Sprintf("A sent %d probes; expected %d", len(probes), count)}
				}
				idle := 2 * time.Hour
				if r.Params.KeepaliveIdle > 0 {
					idle = r.Params.KeepaliveIdle
				}
				if probes[0].T < idle {
					return []string{"the first probe came before the idle time"}
				}
				for i := 1; i < len(probes); i++ {
					if probes[i].T-probes[i-1].T != interval {
						return []string{fmt.Sprintf("probes are not %v apart", interval)}
					}
				}
				return nil
			},
		},
		run: func(w *World) {
			w.setup(func(c *stack.Config) {
				c.TCP.KeepAlive = true
				c.TCP.KeepIdle = w.P.KeepaliveIdle
			}, nil)
			w.server(nil)
			w.client(nil)
			w.At(time.Second, func() { w.B.Crash() })
		},
	})

	register(&Scenario{
		Name:    "half-open-peer-restart",
		Summary: "B crashes and restarts with no state; A's next data gets a RST: ECONNRESET",
		Doc: "A half-open connection: B's host rebooted and forgot it, A still believes it is ESTABLISHED. " +
			"A's next segment reaches a stack with no such connection, which answers with RST " +
			"<SEQ=SEG.ACK> (RFC 9293 §3.10.7.1); the RST carries exactly A's RCV.NXT, so A accepts it and its " +
			"application learns ECONNRESET.",
		Zh: Text{"B 崩溃并重启，丢失所有状态；A 的下一段数据得到 RST：ECONNRESET",
			"半开连接：B 的主机重启后忘记了该连接，A 仍以为它处于 ESTABLISHED。A 的下一个报文段到达一个没有此连接的协议栈，" +
				"对方以 RST <SEQ=SEG.ACK> 回应（RFC 9293 §3.10.7.1）；该 RST 的序号恰好等于 A 的 RCV.NXT，A 接受它，应用得到 ECONNRESET。"},
		Expect: Expect{
			States: map[string][]tcp.State{"A": states(cl, ss, es, cl)},
			Segments: []Seg{
				{From: "A", Flags: "PSH,ACK", RSeq: U(1), Len: 5},
				{From: "B", Flags: "RST", RSeq: U(1)},
			},
			App: []Call{{"A", "send", ""}, {"A", "error", "ECONNRESET"}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			w.server(nil)
			c, _ := w.client(nil)
			w.At(time.Second, func() { w.B.Crash() })
			w.At(2*time.Second, func() { w.B.Restart() })
			w.At(3*time.Second, func() { w.Write(w.A, c, []byte("hello")) })
		},
	})

	register(&Scenario{
		Name: "process-exit", From: "002",
		Summary: "A's application exits with two connections open: FIN on one, RST where data was unread",
		Doc: "A process that exits closes its descriptors, and the stack closes each connection: one with " +
			"nothing unread ends with FIN (B's application reads end-of-file); on the other, B had sent data " +
			"that A's application never read, so — as Linux does (RFC 2525 §2.17) — it is reset, and B's " +
			"application gets ECONNRESET.",
		Zh: Text{"A 的应用在两个连接打开时退出：一个发 FIN，数据未读的那个发 RST",
			"进程退出时会关闭它的所有描述符，协议栈逐个关闭连接：没有未读数据的连接以 FIN 结束（B 的应用读到文件结束）；" +
				"另一个连接上 B 发来的数据 A 的应用从未读取，于是——与 Linux 相同（RFC 2525 §2.17）——它被复位，B 的应用得到 ECONNRESET。"},
		Expect: Expect{
			States: map[string][]tcp.State{
				"A#1": states(cl, ss, es, fw1, tw, cl), "A#2": states(cl, ss, es, cl),
				"B#1": states(ls, sr, es, cw, la, cl), "B#2": states(ls, sr, es, cl),
			},
			Segments: []Seg{{From: "A", Flags: "FIN,ACK", RSeq: U(1)}, {From: "A", Flags: "RST,ACK", RSeq: U(1)}},
			App:      []Call{{"A", "exit", ""}, {"B", "error", "ECONNRESET"}, {"B", "read-eof", ""}},
		},
		run: func(w *World) {
			w.setup(nil, nil)
			ln := w.Listen(w.B, PortB)
			n := 0
			w.Serve(w.B, ln, func(c *stack.Conn) *App {
				n++
				if n == 2 {
					return &App{OnEstablished: func() { w.Write(w.B, c, []byte("you will never read this")) }}
				}
				return &App{OnEOF: func() { w.Close(w.B, c) }}
			})
			w.Run(w.A, w.Dial(w.A, PortA, w.B, PortB), &App{})
			w.Run(w.A, w.Dial(w.A, PortA+1, w.B, PortB), &App{NoRead: true})
			w.At(time.Second, func() {
				w.Rec.User(w.now(), "A", "", "exit", 0, nil)
				w.A.Stack.Shutdown(w.now())
			})
		},
	})

	register(&Scenario{
		Name: "syn-flood", From: "004",
		Summary: "spoofed SYNs fill B's SYN queue: with cookies off a legitimate client fails, with cookies on it connects",
		Doc: "An attacker sends 1000 SYNs a second for 90 s from spoofed addresses and never completes a handshake; " +
			"each SYN costs B a half-open entry until its SYN+ACK retries run out. B's SYN queue holds 64. " +
			"First with SYN cookies off (never): the queue is always full, A's SYNs are dropped and A gives " +
			"up. Then with cookies in their default mode (auto): once the queue is full B answers with a " +
			"SYN cookie (RFC 4987 §3.6) that encodes the connection in its ISN and keeps no state; A's ACK " +
			"returns the cookie, B rebuilds the connection — window scale and SACK recovered from the " +
			"timestamp, as Linux does — and A is served. The trace shows A's connections; the report gives " +
			"both success rates and the memory the SYN queue held.",
		Zh: Text{"伪造的 SYN 填满 B 的半连接队列：关闭 SYN cookie 时合法客户端失败，打开时能连上",
			"攻击者在 90 秒内每秒从伪造地址发送 1000 个 SYN，从不完成握手；每个 SYN 都让 B 占用一个半连接表项，直到 SYN+ACK 重试耗尽。B 的半连接队列容量为 64。" +
				"先关闭 SYN cookie（never）：队列始终是满的，A 的 SYN 被丢弃，A 最终放弃。再用默认模式（auto）：队列满后 B 用 SYN cookie 回应（RFC 4987 §3.6），" +
				"连接信息编码在初始序号中，B 不保存任何状态；A 的 ACK 带回 cookie，B 据此重建连接——窗口扩大因子和 SACK 像 Linux 一样从时间戳中恢复——A 得到服务。" +
				"轨迹只显示 A 的连接；报告给出两种情况下的成功率以及半连接队列占用的内存。"},
		limit: 5 * time.Minute,
		Expect: Expect{
			States: map[string][]tcp.State{"A#1": states(cl, ss, cl), "A#2": states(cl, ss, es)},
			Segments: []Seg{
				{From: "B", Event: "drop", Flags: "SYN", RSeq: U(0), Rule: tcp.CauseDropSynQueueFull},
				{From: "B", Flags: "SYN,ACK", RAck: U(1), Rule: tcp.CauseCookieSent},
				{From: "A", Flags: "ACK", RSeq: U(1), RAck: U(1)},
			},
			App: []Call{{"A", "error", "ETIMEDOUT"}},
		},
		run: func(w *World) { synFlood(w) },
	})
}

// floodRun is how long each of syn-flood's floods is simulated.
const floodRun = 2 * time.Minute

// synFlood runs the flood twice, cookies never then auto, and shows the
// legitimate client's connection of each run one after the other.
func synFlood(w *World) {
	const attempts = 10
	rate, queue := 1000, 64
	if w.P.FloodRate > 0 {
		rate = w.P.FloodRate
	}
	if w.P.Backlog > 0 {
		queue = w.P.Backlog
	}
	second := stack.CookiesAuto
	if w.P.SynCookies != stack.CookiesAuto {
		second = w.P.SynCookies
	}
	run := func(mode stack.CookieMode, port uint16, rec *record.Recorder, net *sim.Network, from, to time.Duration) (ok int, peak int, hostB *sim.Host) {
		ca := w.P.stackConfig()
		ca.TCP.SynRetries = 4 // give up within the flood: 1+2+4+8+16 s
		a := net.AddHost("A", AddrA, ca)
		cfg := w.P.stackConfig()
		cfg.SynCookies, cfg.Backlog, cfg.SynBacklog = mode, queue, queue
		b := net.AddHost("B", AddrB, cfg)
		link := net.Connect(a, b, w.P.link())
		// Draw only the legitimate client's first connection.
		want := netip.AddrPortFrom(AddrA, port).String()
		rec.Keep = func(e *trace.Event) bool {
			return e.Event == trace.KindNote || e.Event == trace.KindHost || bytesContains(e.Conn, want)
		}
		// The learner's faults reach this flood: its packets the trace
		// shows, and its hosts and link in its span of the trace's time.
		w.faultsOn(part{net: net, link: link, rec: rec, from: from, to: to, visible: func(e *sim.PacketEvent) bool {
			return e.Seg != nil && (e.Src == AddrA && e.Seg.SrcPort == port || e.Dst == AddrA && e.Seg.DstPort == port)
		}})
		b.Stack.Listen(net.Now(), netip.AddrPortFrom(AddrB, PortB), 0)
		rng := net.Rand()
		for i := 0; i < 90*rate; i++ {
			net.At(time.Duration(i)*time.Second/time.Duration(rate), func() {
				src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + rng.IntN(254))}), uint16(1024+rng.IntN(60000)))
				s := wire.Segment{SrcPort: src.Port(), DstPort: PortB, Seq: seq.Num(rng.Uint32()), Flags: wire.FlagSYN, Wnd: 65535,
					Opts: wire.Options{HasMSS: true, MSS: 1460, HasWScale: true, WScale: 7, SACKPermitted: true, HasTimestamp: true, TSVal: rng.Uint32()}}
				a.Send(wire.AppendPacket(nil, src.Addr(), AddrB, &s, 0), "spoofed SYN")
				_, half, _ := b.Stack.Len()
				peak = max(peak, half)
			})
		}
		for i := 0; i < attempts; i++ {
			lport := port + uint16(i)
			net.At(5*time.Second+time.Duration(i)*3*time.Second, func() {
				c, err := a.Stack.Dial(net.Now(), netip.AddrPortFrom(AddrA, lport), netip.AddrPortFrom(AddrB, PortB))
				if lport == port {
					rec.User(net.Now(), "A", "", "open", 0, err)
				}
				if err != nil {
					return
				}
				counted := false
				c.SetNotifier(stack.NotifyFunc(func() {
					if c.State() == tcp.StateEstablished && !counted {
						counted = true
						ok++
					}
				}))
			})
		}
		net.RunFor(floodRun)
		return ok, peak, b
	}
	// Cookies off, on a network of its own whose events come first.
	n1 := sim.New(w.P.Seed)
	r1 := record.New(sim.Epoch)
	n1.SetObserver(unspoofed{sim.Recording(r1)})
	w.Net.SetObserver(unspoofed{sim.Recording(w.Rec)})
	r1.Note(n1.Now(), "B", fmt.Sprintf("SYN cookies off (never): %d spoofed SYNs a second", rate))
	// Both floods run for floodRun; the second's clock goes on from the
	// first's in the trace.
	okNever, peakNever, _ := run(stack.CookiesNever, PortA, r1, n1, 0, floodRun)
	w.setEarlier(r1.Events)
	w.offset = n1.Elapsed()
	w.Rec.Note(w.Net.Now(), "B", fmt.Sprintf("SYN cookies %s (%s): the same flood", map[bool]string{true: "on", false: "off"}[second != stack.CookiesNever], second))
	okAuto, peakAuto, b := run(second, PortA+100, w.Rec, w.Net, w.offset, 0)
	cnt := b.Stack.Counters()
	w.Report(fmt.Sprintf("cookies never: %d/%d legitimate connections succeeded; SYN queue peak %d entries", okNever, attempts, peakNever))
	w.Report(fmt.Sprintf("cookies auto:  %d/%d legitimate connections succeeded; SYN queue peak %d entries; %d cookies sent, %d accepted",
		okAuto, attempts, peakAuto, cnt.SynCookiesSent, cnt.SynCookiesRecv))
	w.Report(fmt.Sprintf("memory held by the SYN queue: at most %d entries of ≤ 256 bytes each (measured by stack's TestHalfOpenMemory), cookies hold none", max(peakNever, peakAuto)))
	if okNever != 0 {
		w.fail("with cookies never, %d/%d legitimate connections got through a full SYN queue", okNever, attempts)
	}
	if okAuto != attempts {
		w.fail("with cookies auto, only %d/%d legitimate connections succeeded", okAuto, attempts)
	}
	if peakNever > queue || peakAuto > queue {
		w.fail("the SYN queue outgrew its bound of %d", queue)
	}
}

// spoofedNet is where the flood's SYNs claim to come from.
var spoofedNet = netip.MustParsePrefix("198.51.100.0/24")

// unspoofed passes on what the flood's recorder keeps anyway (Keep draws
// only the legitimate client's connection), leaving out the spoofed
// SYNs, the answers to them and the half-open entries they make before
// the recorder spends time on each: the trace is the same, and the lab
// can replay the flood at once.
type unspoofed struct{ sim.Observer }

func (u unspoofed) Packet(now time.Time, e *sim.PacketEvent) {
	if spoofedNet.Contains(e.Src) || spoofedNet.Contains(e.Dst) {
		return
	}
	u.Observer.Packet(now, e)
}

func (u unspoofed) Conn(now time.Time, h *sim.Host, id stack.ID, e *tcp.Event) {
	if spoofedNet.Contains(id.Remote.Addr()) {
		return
	}
	u.Observer.Conn(now, h, id, e)
}

func bytesContains(s, sub string) bool { return bytes.Contains([]byte(s), []byte(sub)) }
