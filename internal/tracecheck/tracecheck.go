// Package tracecheck checks a trace against the README's trace contract
// for segments: every segment a host puts on the wire is a send, and each
// copy of it in the network ends in exactly one recv or drop that names it
// by its packet number.
package tracecheck

import (
	"fmt"
	"time"

	"github.com/synack/synack/trace"
)

// Trips returns what in events breaks the contract, at most limit
// problems (0 means all):
//
//   - a recv, drop or dup names (by Packet) a send earlier in the trace,
//     of the same segment; a dup and a network drop are reported by the
//     sender, a recv by the receiver;
//   - a packet is sent once; each dup adds one copy in the network;
//   - every copy ends in exactly one recv or network drop; a drop "refused
//     by" the receiver's TCP comes after the recv it refuses and ends
//     nothing;
//   - a copy may have no end only while in flight when the trace ends (a
//     send whose delay reaches past the last event).
//
// A recv with no packet number (Packet 0) arrived from before the trace
// began (a hypothetical model's stale request); no other segment event
// may lack one.
func Trips(events []trace.Event, limit int) []string {
	var out []string
	fail := func(i int, format string, args ...any) bool {
		e := &events[i]
		out = append(out, fmt.Sprintf("event %d (t=%v %s %s %s packet %d): ", i, e.T, e.Host, e.Event, e.Flags, e.Packet)+fmt.Sprintf(format, args...))
		return limit > 0 && len(out) >= limit
	}
	type trip struct {
		send     int // index of the send
		copies   int // 1 + dups
		ends     int // recvs and network drops
		recvs    int
		refusals int
	}
	trips := map[uint64]*trip{}
	var order []uint64
	var end time.Duration
	for i := range events {
		e := &events[i]
		end = max(end, e.T)
		if !e.IsSegment() {
			continue
		}
		if e.Packet == 0 {
			if e.Event != trace.KindRecv && fail(i, "a %s with no packet number names no send", e.Event) {
				return out
			}
			continue
		}
		tr := trips[e.Packet]
		if e.Event == trace.KindSend {
			if tr != nil {
				if fail(i, "packet sent twice (first at event %d)", tr.send) {
					return out
				}
				continue
			}
			trips[e.Packet] = &trip{send: i, copies: 1}
			order = append(order, e.Packet)
			continue
		}
		if tr == nil {
			if fail(i, "a %s names no earlier send", e.Event) {
				return out
			}
			continue
		}
		s := &events[tr.send]
		if e.Flags != s.Flags || e.Seq != s.Seq || e.Ack != s.Ack || e.Len != s.Len {
			if fail(i, "not the segment sent at event %d (%s seq %d ack %d len %d)", tr.send, s.Flags, s.Seq, s.Ack, s.Len) {
				return out
			}
		}
		from, to := e.Host, e.Peer
		if e.Event == trace.KindRecv || e.Refused() {
			from, to = e.Peer, e.Host
		}
		if from != s.Host || to != s.Peer {
			if fail(i, "goes %s→%s, but its send (event %d) went %s→%s", from, to, tr.send, s.Host, s.Peer) {
				return out
			}
		}
		switch {
		case e.Event == trace.KindDup:
			tr.copies++
		case e.Refused():
			tr.refusals++
			if tr.refusals > tr.recvs && fail(i, "refused before it was received") {
				return out
			}
		default: // recv, or a drop in the network
			tr.ends++
			if e.Event == trace.KindRecv {
				tr.recvs++
			}
			if tr.ends > tr.copies && fail(i, "copy %d of a packet the network carried %d times", tr.ends, tr.copies) {
				return out
			}
		}
	}
	for _, p := range order {
		tr := trips[p]
		if tr.ends >= tr.copies {
			continue
		}
		s := &events[tr.send]
		if s.Delay > 0 && s.T+s.Delay > end {
			continue // still in flight when the trace ends
		}
		if fail(tr.send, "%d of its %d copies never arrived nor were dropped", tr.copies-tr.ends, tr.copies) {
			return out
		}
	}
	return out
}
