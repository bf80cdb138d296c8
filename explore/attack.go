package explore

import (
	"net/netip"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// forgery describes a segment an off-path attacker forged.
type forgery struct {
	what  string
	exact bool // a RST whose SEG.SEQ is exactly the victim's RCV.NXT: RFC 5961 lets it reset
}

// forge puts a segment from src to dst on the link of host via, as if via
// had sent it; the stacks never see it leave. It is never counted by the
// schedule and never faulted.
func (w *world) forge(via *sim.Host, src, dst netip.AddrPort, s wire.Segment, f *forgery) {
	s.SrcPort, s.DstPort = src.Port(), dst.Port()
	pkt := wire.AppendPacket(nil, src.Addr(), dst.Addr(), &s, 0)
	w.forging, w.faults.quiet = f, true
	via.Send(pkt, "attacker: "+f.what)
	w.forging, w.faults.quiet = nil, false
}

// Attacks on an open connection: each is a guess an off-path attacker
// might get lucky with, and each must be refused (RFC 5961), at most
// answered by a (challenge) ACK.
const (
	attackRSTInWindow = iota // RST inside the window, not at RCV.NXT: challenge ACK (§3.2)
	attackRSTOutside         // RST outside the window: dropped
	attackSYNInWindow        // SYN inside the window: challenge ACK (§4.2)
	attackDataBadAck         // data at RCV.NXT whose ACK is too old: challenge ACK, no data (§5.2)
	attackDataNoAck          // data at RCV.NXT without ACK: dropped (RFC 9293 §3.10.7.4 fifth)
	attackDataOutside        // data beyond the window: ACK, no data
	attackRSTExact           // RST at exactly RCV.NXT: resets, as RFC 5961 allows (random mode only)
	numAttacks
)

var attackNames = [numAttacks]string{"in-window RST", "out-of-window RST", "in-window SYN",
	"data with an old ACK", "data without ACK", "out-of-window data", "exact RST"}

// attack forges segment kind against victim, the connection of
// application a, guessing from the victim's TCB as a lucky off-path
// attacker would. off varies the guess.
func (w *world) attack(a *app, kind int, off uint32) {
	if a == nil || a.dead || w.hosts[a.host].Crashed() {
		return
	}
	st := a.c.TCB().Status()
	if !live(st.State) {
		return
	}
	victim, spoofed := a.c.LocalAddr(), a.c.RemoteAddr()
	via := w.hosts[1-a.host] // the other end of the victim's link
	wnd := st.RcvWnd
	if wnd < 2 {
		return // no in-window sequence number other than RCV.NXT
	}
	inWnd := st.RcvNxt.Add(seq.Size(1 + off%(wnd-1)))
	var s wire.Segment
	f := &forgery{what: attackNames[kind]}
	payload := []byte("forged data, never to be delivered")
	switch kind {
	case attackRSTInWindow:
		s = wire.Segment{Seq: inWnd, Flags: wire.FlagRST}
	case attackRSTOutside:
		s = wire.Segment{Seq: st.RcvNxt.Add(seq.Size(wnd) + 1 + seq.Size(off%1000)), Flags: wire.FlagRST}
	case attackSYNInWindow:
		s = wire.Segment{Seq: inWnd, Flags: wire.FlagSYN}
	case attackDataBadAck:
		s = wire.Segment{Seq: st.RcvNxt, Ack: st.SndUna - 1<<30, Flags: wire.FlagACK | wire.FlagPSH, Wnd: 1000, Payload: payload}
	case attackDataNoAck:
		s = wire.Segment{Seq: st.RcvNxt, Flags: wire.FlagPSH, Wnd: 1000, Payload: payload}
	case attackDataOutside:
		s = wire.Segment{Seq: st.RcvNxt.Add(seq.Size(wnd) + 100), Ack: st.SndUna, Flags: wire.FlagACK, Wnd: 1000, Payload: payload}
	case attackRSTExact:
		s = wire.Segment{Seq: st.RcvNxt, Flags: wire.FlagRST}
		f.exact = true
	}
	w.forge(via, spoofed, victim, s, f)
}

// forgeHandshake is an off-path attacker opening a connection in a
// client's name: a SYN from the client's address and a port it does not
// use, then, before the client's RST can arrive, an ACK with a guessed
// acknowledgment number. The server must not reach ESTABLISHED.
func (w *world) forgeHandshake(client, server int, lport, port uint16, iss seq.Num) {
	c, s := w.hosts[client], w.hosts[server]
	src, dst := netip.AddrPortFrom(c.Addr(), lport), netip.AddrPortFrom(s.Addr(), port)
	via := w.hosts[client]
	w.forge(via, src, dst, wire.Segment{Seq: iss, Flags: wire.FlagSYN, Wnd: 65535}, &forgery{what: "SYN from a spoofed address"})
	w.net.After(time.Millisecond, func() {
		w.forge(via, src, dst, wire.Segment{Seq: iss + 1, Ack: iss ^ 0x5a5a5a5a, Flags: wire.FlagACK, Wnd: 65535},
			&forgery{what: "ACK with a guessed acknowledgment number"})
	})
}

// volley forges one of each refused attack at application a's connection.
func (w *world) volley(a *app, off uint32) {
	for k := 0; k < attackRSTExact; k++ {
		w.attack(a, k, off+uint32(k)*7919)
	}
}

type volleyKey struct {
	a  *app
	st tcp.State
}

// onState forges a volley at application a's connection the first time it
// is seen in each synchronized state, 1 ms later.
func (w *world) onState(a *app) {
	st := a.c.State()
	if !live(st) {
		return
	}
	k := volleyKey{a, st}
	if w.volleys[k] {
		return
	}
	if w.volleys == nil {
		w.volleys = map[volleyKey]bool{}
	}
	w.volleys[k] = true
	w.net.After(time.Millisecond, func() { w.volley(a, uint32(st)*104729) })
}
