package explore

import (
	"sort"
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// Case is a small world whose first segments the exhaustive mode puts
// through every schedule: hosts A (192.0.2.1) and B (192.0.2.2) joined by
// a 10 ms link, and what their applications do.
type Case struct {
	Name    string
	Summary string
	Zh      string // the summary in Chinese (synack lab's picker)
	// Only, if set, names the host whose segments the schedule counts and
	// faults; the other host's are all delivered.
	Only string
	// Core marks the seven cases of the issue; the others are targeted.
	Core bool
	// Known, if set, names a known bug of the stack that makes this case
	// fail: it is left out of the default explorations.
	Known string

	normal  bool              // both applications close normally
	attacks bool              // an off-path attacker forges segments at every state change
	tune    func(*tcp.Config) // settings beyond baseConfig
	setup   func(w *world)
}

var cases = []*Case{
	{
		Name: "handshake", Core: true, normal: true,
		Summary: "three-way handshake, A's data on the third segment, B's reply, then A closes and B closes on EOF",
		Zh:      "三次握手，A 的数据放在第三个报文段上，B 回复，然后 A 关闭，B 在读到 EOF 后关闭",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 100, close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{send: 100, close: closeEstablished})
		},
	},
	{
		Name: "fourway", Core: true, normal: true,
		Summary: "four-way close: A closes, B ACKs the FIN and closes 200 ms later (A keeps its connection through TIME-WAIT)",
		Zh:      "四次挥手：A 关闭，B 确认 FIN 并在 200 毫秒后关闭（A 的连接保留到 TIME-WAIT 结束）",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF, wait: 200 * time.Millisecond} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "threeway", Core: true, normal: true,
		Summary: "three-way close: A closes, B answers with one FIN+ACK (B keeps its connection until CLOSED)",
		Zh:      "三次挥手：A 关闭，B 用一个 FIN+ACK 回应（B 的连接保留到 CLOSED）",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF, hold: true} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished})
		},
	},
	{
		Name: "simopen", Core: true, normal: true,
		Summary: "simultaneous open: A and B dial each other's port at the same moment; then A closes, B closes on EOF",
		Zh:      "同时打开：A 和 B 在同一时刻互相连接对方的端口；然后 A 关闭，B 在读到 EOF 后关闭",
		setup: func(w *world) {
			w.dial(0, portA, 1, portB, plan{close: closeEstablished, hold: true})
			w.dial(1, portB, 0, portA, plan{close: closeOnEOF})
		},
	},
	{
		Name: "simclose", Core: true, normal: true,
		Summary: "simultaneous close: both applications close at 100 ms (or when established, if later)",
		Zh:      "同时关闭：双方应用都在 100 毫秒时关闭（若连接建立得更晚，则在建立时关闭）",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan {
				return plan{send: 10, close: closeAt, wait: 100 * time.Millisecond, hold: true}
			})
			w.dial(0, 0, 1, portB, plan{send: 10, close: closeAt, wait: 100 * time.Millisecond, hold: true})
		},
	},
	{
		Name: "halfclose", Core: true, normal: true,
		Summary: "half-close with data: A closes at once; B, after A's FIN, sends 3000 bytes (three segments) and closes",
		Zh:      "带数据的半关闭：A 立即关闭；B 在收到 A 的 FIN 之后发送 3000 字节（三个报文段）再关闭",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 3000, afterEOF: true, close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "abort", Core: true,
		Summary: "abort: A sends 1000 bytes and aborts 30 ms after the handshake (RST); B must read a prefix and ECONNRESET",
		Zh:      "中止：A 发送 1000 字节，握手后 30 毫秒中止连接（RST）；B 必须读到一段前缀并得到 ECONNRESET",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{send: 1000, close: abortAfter, wait: 30 * time.Millisecond})
		},
	},
	{
		Name: "attack", normal: true, attacks: true,
		Summary: "three-way close under an off-path attacker: at every state change, forged in-window RST and SYN, data with a bad ACK or none, " +
			"out-of-window RST and data; and a forged handshake (spoofed SYN, then an ACK with a guessed number) on another port",
		Zh: "在路径外攻击者干扰下的三次挥手：每次状态变化时伪造窗口内的 RST 和 SYN、ACK 错误或没有 ACK 的数据、窗口外的 RST 和数据；另一端口上还有一次伪造的握手（伪造地址的 SYN，再加一个猜测确认号的 ACK）",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 200, close: closeOnEOF, hold: true} })
			w.dial(0, 0, 1, portB, plan{send: 100, close: closeEstablished, hold: true})
			w.forgeHandshake(0, 1, 7777, portB, 0x10000000)
		},
	},
	{
		Name: "lastack", Only: "A", normal: true,
		Summary: "four-way close, faults on A's segments only (its last ACKs); B retransmits every 300 ms and TIME-WAIT is 800 ms, " +
			"so only restarting 2MSL on each retransmitted FIN keeps A answering",
		Zh: "四次挥手，只对 A 的报文段（它最后的 ACK）施加故障；B 每 300 毫秒重传一次，TIME-WAIT 为 800 毫秒，只有每收到重传的 FIN 就重启 2MSL 计时器，A 才能一直回应",
		tune: func(c *tcp.Config) {
			c.RTOInitial, c.RTOMin, c.RTOMax = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
			c.MSL = 400 * time.Millisecond
		},
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF, wait: 200 * time.Millisecond} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "halfclose-acks", Only: "A", normal: true,
		Summary: "half-close with data, faults on A's segments only: lost ACKs make B retransmit its data after A entered TIME-WAIT",
		Zh:      "带数据的半关闭，只对 A 的报文段施加故障：丢失的 ACK 使 B 在 A 进入 TIME-WAIT 之后重传数据",
		setup: func(w *world) {
			w.serve(1, portB, func(*stack.Conn) plan { return plan{send: 3000, afterEOF: true, close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
		},
	},
	{
		Name: "timewait-syn", normal: true,
		Summary: "three-way close; when A enters TIME-WAIT an off-path attacker forges a SYN from B's port with a sequence number " +
			"beyond RCV.NXT; A has no listener, so the SYN opens nothing and TIME-WAIT must go on",
		Zh: "三次挥手；A 进入 TIME-WAIT 时，路径外攻击者从 B 的端口伪造一个序号超过 RCV.NXT 的 SYN；A 没有监听，因此这个 SYN 不会打开任何连接，TIME-WAIT 必须继续",
		setup: func(w *world) {
			w.strictTWSyn = true
			w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
			a := w.dial(0, 0, 1, portB, plan{close: closeEstablished, hold: true})
			a.onState = func(st tcp.State) {
				if st == tcp.StateTimeWait {
					w.net.After(time.Millisecond, func() { w.attack(a, attackSYNInWindow, 1000) })
				}
			}
		},
	},
	{
		Name: "sack", Only: "A", normal: true,
		Summary: "loss recovery with SACK (RACK-TLP, RFC 6675, PRR, CUBIC: the defaults): A writes ten full segments at once " +
			"and closes 2 s later, B closes on EOF; faults on A's segments only, so that every schedule of the handshake and " +
			"the first data segments — one hole or two in the window, duplicates, reordering — is repaired from B's SACK blocks",
		Zh:    "使用 SACK 的丢包恢复（RACK-TLP、RFC 6675、PRR、CUBIC：默认设置）：A 一次写入十个满长报文段，2 秒后关闭，B 在读到 EOF 后关闭；只对 A 的报文段施加故障，握手和前几个数据报文段的每种调度——窗口中的一个或两个空洞、重复、乱序——都由 B 的 SACK 块修复",
		setup: func(w *world) { w.bulk(10) },
	},
	{
		Name: "sack-6675", Only: "A", normal: true,
		Summary: "the same with RACK off, as the sack-recovery scenario: RFC 6675's IsLost() and NextSeg() rules (1), (3) " +
			"and the rescue retransmission (4)",
		Zh:    "同上，但关闭 RACK，与 sack-recovery 场景相同：RFC 6675 的 IsLost() 和 NextSeg() 规则 (1)、(3) 以及救援重传 (4)",
		tune:  func(c *tcp.Config) { c.RACK = tcp.Off },
		setup: func(w *world) { w.bulk(10) },
	},
	{
		Name: "reno", Only: "A", normal: true,
		Summary: "the same without SACK and with NewReno (SACK off on both sides, reno): duplicate ACKs, fast retransmit, " +
			"partial ACKs (RFC 5681 §3.2, RFC 6582)",
		Zh:    "同上，但不用 SACK、改用 NewReno（双方都关闭 SACK，reno）：重复 ACK、快速重传、部分确认（RFC 5681 §3.2，RFC 6582）",
		tune:  func(c *tcp.Config) { c.SACK, c.CongestionControl = tcp.Off, tcp.CongestionReno },
		setup: func(w *world) { w.bulk(10) },
	},
	{
		Name: "tail", Only: "A", normal: true,
		Summary: "a tail: A writes three full segments and closes 2 s later, B closes on EOF; faults on A's segments only, " +
			"so that a lost last segment is probed (RFC 8985 §7), a lost probe waits for the RTO, and lost retransmissions back off",
		Zh:    "尾部：A 写入三个满长报文段，2 秒后关闭，B 在读到 EOF 后关闭；只对 A 的报文段施加故障，因此丢失的最后一个报文段由探测修复（RFC 8985 §7），丢失的探测要等 RTO，丢失的重传会退避",
		setup: func(w *world) { w.bulk(3) },
	},
	{
		Name: "tail-rto", Only: "A", normal: true,
		Summary: "the same with no loss probes and no timestamps, as the rto-backoff scenario: the RTO alone, " +
			"doubling (RFC 6298 §5.5), and Karn's rule for the RTT samples",
		Zh:    "同上，但没有尾部丢失探测、没有时间戳，与 rto-backoff 场景相同：只靠 RTO，加倍退避（RFC 6298 §5.5），以及 Karn 的 RTT 采样规则",
		tune:  func(c *tcp.Config) { c.TLP, c.Timestamps = tcp.Off, tcp.Off },
		setup: func(w *world) { w.bulk(3) },
	},
	{
		Name: "listener-close",
		Summary: "B closes its listener 15 ms in, while A's connection is half-open there; A's ACK then finds nothing " +
			"and is answered with RST: A must be told, and B's half-open connection must be seen to end",
		Zh: "B 在 15 毫秒时关闭监听，此时 A 的连接在 B 那里还是半连接；A 的 ACK 随后找不到连接，被 RST 回应：A 必须得到通知，B 的半连接也必须结束",
		setup: func(w *world) {
			ln := w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
			w.dial(0, 0, 1, portB, plan{send: 100, close: closeEstablished})
			w.net.At(15*time.Millisecond, func() { ln.Close(w.net.Now()) })
		},
	},
}

// bulk is the loss-recovery cases' applications: A writes n × 1448 bytes
// at once (n full segments: the MSS less the timestamp option; without
// timestamps, a little less than n) and closes 2 s in; B reads and closes
// on end-of-file.
func (w *world) bulk(n int) {
	w.serve(1, portB, func(*stack.Conn) plan { return plan{close: closeOnEOF} })
	w.dial(0, 0, 1, portB, plan{send: n * 1448, close: closeAt, wait: 2 * time.Second})
}

// Cases returns every case: the seven core ones first, then the targeted.
func Cases() []*Case { return append([]*Case(nil), cases...) }

// DefaultCases returns the cases explored by default: all but those that
// fail because of a known bug.
func DefaultCases() []*Case {
	var out []*Case
	for _, c := range cases {
		if c.Known == "" {
			out = append(out, c)
		}
	}
	return out
}

// CoreCases returns the seven cases of opening and closing.
func CoreCases() []*Case {
	var out []*Case
	for _, c := range cases {
		if c.Core {
			out = append(out, c)
		}
	}
	return out
}

// LookupCase finds a case by name.
func LookupCase(name string) (*Case, bool) {
	for _, c := range cases {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// CaseNames lists the case names, sorted.
func CaseNames() []string {
	var out []string
	for _, c := range cases {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}
