package scenario

import (
	"fmt"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
	"github.com/synack/synack/wire"
)

// The two-way handshake is a hypothetical protocol, modelled here on its
// own and never a mode of the real TCP: a client sends a request, and the
// server opens the connection as soon as the request arrives and answers
// "accept". Without a third segment the server cannot know its answer
// arrived, and without synchronized sequence numbers it cannot tell a
// retransmitted or stale request from a new one.

// model states and segment names.
const (
	mClosed   = "CLOSED"
	mReqSent  = "REQ-SENT"
	mOpen     = "ESTABLISHED"
	mRequest  = "REQ"
	mAccept   = "ACCEPT"
	modelWhy  = "two-way handshake (hypothetical): the server opens on the request alone"
	modelConn = "model"
)

// twoWay writes the model's events: the server's reply lost, then a stale
// request. It returns how many connections each side ends up holding.
func twoWay(rec *record.Recorder, delay time.Duration) (client, server int) {
	add := func(e trace.Event) { rec.Events = append(rec.Events, e) }
	// Each segment has a packet number, as the simulator's do, so that
	// its recv or drop names its send; the stale request of case 2 has
	// none, its send being long before the trace.
	var pkt uint64
	seg := func(t time.Duration, from, to, kind, flags string, sq, ack uint32, why string) {
		rs, ra := sq, ack
		e := trace.Event{T: t, Host: from, Peer: to, Event: kind, Conn: modelConn, Flags: flags, Seq: sq, Ack: ack, RSeq: &rs, RAck: &ra, Cause: why}
		switch {
		case kind == trace.KindSend:
			pkt++
			e.Packet = pkt
			e.Delay = delay
		case why != "a stale request":
			e.Packet = pkt
		}
		add(e)
	}
	state := func(t time.Duration, host, conn, from, to, why string) {
		add(trace.Event{T: t, Host: host, Event: trace.KindState, Conn: conn, From: from, To: to, Cause: why})
	}
	note := func(t time.Duration, host, text string) {
		add(trace.Event{T: t, Host: host, Event: trace.KindNote, Text: text})
	}
	// Case 1: the server's reply is lost.
	note(0, "A", "two-way model, case 1: the server's answer is lost")
	state(0, "A", modelConn, mClosed, mReqSent, "the client asks to open")
	seg(0, "A", "B", trace.KindSend, mRequest, 100, 0, "connection request")
	seg(delay, "B", "A", trace.KindRecv, mRequest, 100, 0, "")
	state(delay, "B", modelConn+"#1", mClosed, mOpen, modelWhy)
	server++
	seg(delay, "B", "A", trace.KindSend, mAccept, 0, 101, "accept")
	seg(delay, "B", "A", trace.KindDrop, mAccept, 0, 101, "the answer is lost")
	note(time.Second, "A", "no answer: the client times out and asks again")
	seg(time.Second, "A", "B", trace.KindSend, mRequest, 100, 0, "retransmitted request")
	seg(time.Second+delay, "B", "A", trace.KindRecv, mRequest, 100, 0, "")
	state(time.Second+delay, "B", modelConn+"#2", mClosed, mOpen, modelWhy+": without sequence numbers agreed, a repeated request looks new")
	server++
	seg(time.Second+delay, "B", "A", trace.KindSend, mAccept, 0, 101, "accept")
	seg(time.Second+2*delay, "A", "B", trace.KindRecv, mAccept, 0, 101, "")
	state(time.Second+2*delay, "A", modelConn, mReqSent, mOpen, "answer received")
	client++
	note(time.Second+2*delay, "B", "the server holds two connections, the client opened one: the first waits forever")
	// Case 2: a stale request from an abandoned attempt arrives.
	t := 3 * time.Second
	note(t, "B", "two-way model, case 2: a request from an attempt abandoned long ago arrives")
	seg(t, "B", "A", trace.KindRecv, mRequest, 50, 0, "a stale request")
	state(t, "B", modelConn+"#3", mClosed, mOpen, modelWhy)
	server++
	seg(t, "B", "A", trace.KindSend, mAccept, 0, 51, "accept")
	seg(t+delay, "A", "B", trace.KindRecv, mAccept, 0, 51, "")
	note(t+delay, "A", "the client never asked for this: it ignores the answer, and the server keeps a connection nobody uses")
	return client, server
}

func init() {
	register(&Scenario{
		Name: "two-way-handshake", From: "001",
		Summary: "why not two segments to open: a hypothetical two-way protocol beside TCP in the same cases",
		Doc: "First a model of a two-way handshake (a separate model, not TCP): the server opens as soon as a " +
			"request arrives. When its answer is lost, the client asks again and the server opens a second " +
			"connection — it cannot tell a repeated request from a new one without synchronized sequence " +
			"numbers, and the first connection waits forever; a stale request from an abandoned attempt " +
			"opens a connection the client never wanted. Then TCP in the same two cases: the lost SYN+ACK " +
			"leaves only a half-open entry that the retransmitted SYN completes — one connection; the stale " +
			"SYN's SYN+ACK is answered with RST by the client and the server returns to LISTEN — none.",
		Zh: Text{"为什么不用两次握手：一个假想的两次握手协议与 TCP 在相同情形下的对比",
			"先看两次握手的模型（独立的模型，不是 TCP）：服务器一收到请求就建立连接。当它的应答丢失时，客户端再次请求，服务器又建立了第二个连接——" +
				"序号没有同步，它无法区分重复的请求和新的请求，第一个连接将永远等待；一个被放弃的旧请求到达时，又建立了一个客户端根本不要的连接。" +
				"再看 TCP 在同样两种情形下：SYN+ACK 丢失只留下一个半连接，重传的 SYN 完成握手——只有一个连接；过期 SYN 引出的 SYN+ACK 被客户端用 RST 回应，" +
				"服务器回到 LISTEN——没有建立任何连接。"},
		Expect: Expect{
			Segments: []Seg{
				{From: "B", Event: "drop", Flags: mAccept, RAck: U(101)},
				{From: "B", Event: "drop", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "B", Flags: "SYN,ACK", RSeq: U(0), RAck: U(1)},
				{From: "A", Flags: "RST", Len: 0},
			},
		},
		run: func(w *World) {
			client, server := twoWay(w.Rec, 10*time.Millisecond)
			w.Report(fmt.Sprintf("two-way model: the client opened %d connection(s), the server holds %d", client, server))
			if server <= client {
				w.fail("the model should show the server holding connections the client never opened")
			}
			w.offset = 10 * time.Second
			w.setModel(w.Rec.Events, [2]string{"the two-way model", "两次握手模型"})
			w.Rec.Events = nil
			w.Rec.Note(w.Net.Now(), "A", "TCP, case 1: the SYN+ACK is lost")
			w.setup(nil, nil)
			w.script(&sim.Rule{Name: "lose the first SYN+ACK", From: "B", Match: sim.Exactly(wire.FlagSYN | wire.FlagACK), Count: 1, Action: sim.ActDrop})
			ln := w.server(nil)
			w.client(nil)
			w.At(3*time.Second, func() {
				w.Note("B", "TCP, case 2: a stale SYN of an attempt abandoned long ago arrives")
				old := wire.Segment{SrcPort: PortA + 7, DstPort: PortB, Seq: 50, Flags: wire.FlagSYN, Wnd: 65535,
					Opts: wire.Options{HasMSS: true, MSS: 1460}}
				w.A.Send(wire.AppendPacket(nil, AddrA, AddrB, &old, 0), "a stale SYN")
			})
			w.At(10*time.Second, func() {
				syn, acc := ln.Pending()
				conns, half, _ := w.B.Stack.Len()
				w.Report(fmt.Sprintf("TCP: the server holds %d connection(s) and %d half-open entries", conns, half))
				if conns != 1 || half != 0 || syn != 0 || acc > 1 {
					w.fail("TCP should end with exactly the one connection the client opened; it holds %d (+%d half-open)", conns, half)
				}
			})
		},
	})
}
