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
	// Each segment's send, then the changes it made at its sender, then
	// its arrival (or loss), then the changes there; a stable sort by
	// time keeps that order among events of the same instant.
	byFrame := map[int][2]*event{}
	for i := range cn.events {
		e := &cn.events[i]
		v := byFrame[e.seg.Frame]
		if e.send {
			v[0] = e
		} else {
			v[1] = e
		}
		byFrame[e.seg.Frame] = v
	}
	changes := [2]map[int][]Change{{}, {}}
	for h := range 2 {
		for _, c := range cn.Hosts[h].Changes {
			changes[h][c.Frame] = append(changes[h][c.Frame], c)
		}
	}
	var out []trace.Event
	states := func(h, frame int) {
		for _, c := range changes[h][frame] {
			ev := trace.Event{T: c.T, Host: name[h], Event: trace.KindState, Conn: conn[h], From: c.From, To: c.To, Cause: c.Cause}
			ev.Rule, _ = tcp.ParseCause(c.Cause)
			if ev.Rule == tcp.CauseNone && o.Lang == "zh" {
				ev.Cause = tr(c.Cause, o.Lang) // infer's own words (package trace translates tcp's)
			}
			out = append(out, ev)
		}
		delete(changes[h], frame)
	}
	for _, s := range cn.Segs {
		from, to := s.from, 1-s.from
		base := trace.Event{Packet: uint64(s.Frame), Flags: s.Flags.String(), Seq: s.Seq, Ack: s.Ack, Len: s.Len, Win: s.Win}
		base.RSeq = rel(s.Seq, isn[from])
		if s.has(wire.FlagACK) {
			base.RAck = rel(s.Ack, isn[to])
		}
		if s.has(wire.FlagSYN) || s.Opts.NumSACK > 0 {
			base.Opts = s.Opts.String()
		}
		v := byFrame[s.Frame]
		if e := v[0]; e != nil {
			ev := base
			ev.T, ev.Host, ev.Peer, ev.Event, ev.Conn = e.t, name[from], name[to], trace.KindSend, conn[from]
			ev.Cause = markText(s, o.Lang)
			ev.Rule = markRule(s)
			out = append(out, ev)
		}
		states(from, s.Frame)
		if e := v[1]; e != nil {
			ev := base
			switch {
			case e.lost:
				ev.T, ev.Host, ev.Peer, ev.Event, ev.Conn = max(s.T, v[0].t), name[from], name[to], trace.KindDrop, conn[from]
				ev.Cause = tr("beyond the capture point (inferred from the ACKs)", o.Lang)
			default:
				ev.T, ev.Host, ev.Peer, ev.Event, ev.Conn = max(e.t, v[0].t), name[to], name[from], trace.KindRecv, conn[to]
			}
			out = append(out, ev)
		}
		states(to, s.Frame)
	}
	slices.SortStableFunc(out, func(a, b trace.Event) int {
		switch {
		case a.T < b.T:
			return -1
		case a.T > b.T:
			return 1
		}
		return 0
	})
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
