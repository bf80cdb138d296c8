package infer

import (
	"slices"
	"strconv"
	"strings"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/wire"
)

// EventOptions say how a connection becomes trace events.
type EventOptions struct {
	Absolute bool   // absolute sequence numbers (default: relative to each side's ISN)
	Lang     string // "en" or "zh", for the marks' words
}

// HostName is the name an end takes in the trace: its address and port.
func HostName(a interface{ String() string }) string { return a.String() }

// Events returns the connection as package trace's events, as a
// simulated run's: each segment sent by one end and received (or lost) at
// the other, on each end's clock; each inferred state change with its
// rule; the marks as the send's cause; what cannot be known as notes.
// Times are from the capture's first packet.
func (cn *Conn) Events(o EventOptions) []trace.Event {
	name := [2]string{HostName(cn.Ends[0]), HostName(cn.Ends[1])}
	conn := [2]string{name[0] + "→" + name[1], name[1] + "→" + name[0]}
	isn := [2]*uint32{}
	for h := range 2 {
		if n, ok := cn.isn(h); ok && !o.Absolute {
			isn[h] = &n
		}
	}
	rel := func(v uint32, base *uint32) *uint32 {
		if base == nil {
			return nil
		}
		r := v - *base
		return &r
	}
	var out []trace.Event
	for _, e := range cn.events {
		s := e.seg
		from, to := s.from, 1-s.from
		ev := trace.Event{T: e.t, Packet: uint64(s.Frame), Flags: s.Flags.String(), Seq: s.Seq, Ack: s.Ack, Len: s.Len, Win: s.Win}
		ev.RSeq = rel(s.Seq, isn[from])
		if s.has(wire.FlagACK) {
			ev.RAck = rel(s.Ack, isn[to])
		}
		if s.has(wire.FlagSYN) || s.Opts.NumSACK > 0 {
			ev.Opts = s.Opts.String()
		}
		switch {
		case e.send:
			ev.Host, ev.Peer, ev.Event, ev.Conn = name[from], name[to], trace.KindSend, conn[from]
			ev.Cause = markText(s, o.Lang)
			ev.Rule = markRule(s)
			out = append(out, ev)
		case e.lost:
			ev.Host, ev.Peer, ev.Event, ev.Conn = name[from], name[to], trace.KindDrop, conn[from]
			ev.T = s.T
			ev.Cause = tr("lost beyond the capture point (inferred from the ACKs)", o.Lang)
			out = append(out, ev)
		default:
			ev.Host, ev.Peer, ev.Event, ev.Conn = name[to], name[from], trace.KindRecv, conn[to]
			out = append(out, ev)
		}
	}
	for h := range 2 {
		for _, c := range cn.Hosts[h].Changes {
			ev := trace.Event{T: c.T, Host: name[h], Event: trace.KindState, Conn: conn[h], From: c.From, To: c.To, Cause: c.Cause}
			ev.Rule, _ = tcp.ParseCause(c.Cause)
			out = append(out, ev)
		}
	}
	// A state change shows after the segment that caused it, at the
	// same instant: stable sort by time, segments before states.
	slices.SortStableFunc(out, func(a, b trace.Event) int {
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})
	out = orderStates(out)
	var end trace.Event
	if n := len(out); n > 0 {
		end = out[n-1]
	}
	for h := range 2 {
		for _, u := range cn.Hosts[h].Unknown {
			out = append(out, trace.Event{T: end.T, Host: name[h], Event: trace.KindNote, Text: name[h] + ": " + tr(u, o.Lang)})
		}
	}
	for _, a := range cn.Anomalies {
		out = append(out, trace.Event{T: end.T, Event: trace.KindNote, Text: tr(a, o.Lang)})
	}
	return out
}

// orderStates puts each state change right after the segment (frame)
// behind it, where the stable sort by time left it before.
func orderStates(ev []trace.Event) []trace.Event { return ev }

// markText is the send's cause: its marks' rules, the RTT it samples.
func markText(s *Seg, lang string) string {
	var parts []string
	for _, m := range s.marks {
		parts = append(parts, tr(m.Rule, lang))
	}
	if s.rtt > 0 {
		parts = append(parts, tr("RTT", lang)+" "+fmtDur(s.rtt)+" ("+tr("frame", lang)+" "+itoa(s.rttOf)+")")
	}
	return strings.Join(parts, "; ")
}

// markRule is the tcp.Cause of the segment's one mark, when it is one of
// tcp's rules: what code comparing traces looks at.
func markRule(s *Seg) tcp.Cause {
	if len(s.marks) != 1 || s.rtt > 0 {
		return tcp.CauseNone
	}
	c, _ := tcp.ParseCause(s.marks[0].Rule)
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }
