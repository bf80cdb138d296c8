// Package record turns what a network and its stacks do into trace
// events for the renderers of package trace: the simulator's links and
// hosts (through sim.Recording), or any stack — on a TUN, behind netconn
// — through StackObserver. It names hosts by their names, not by the
// simulator's types, and takes each packet already parsed.
package record

import (
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/wire"
)

// Recorder keeps a run's events as trace events, for the renderers of
// package trace. It works out relative sequence numbers from the SYNs it sees: each SYN a host sends
// starts an incarnation of that 4-tuple, and a segment's rseq/rack are
// fixed when it is sent, so a stale segment delivered later still counts
// from the incarnation it belongs to.
type Recorder struct {
	Events []trace.Event

	// Timers chooses which timer events are kept; nil keeps all.
	Timers func(e *tcp.Event) bool

	// Keep, if set, decides which events are kept (a flood's thousands of
	// spoofed SYNs need not all be drawn).
	Keep func(e *trace.Event) bool

	// Epoch is the time the trace counts from.
	Epoch time.Time

	// Live: the recorder watches one stack of a long run (synack serve
	// --trace) and hands its events to Keep as they come: it keeps no
	// packet once recorded, and forgets a connection's sequence numbers
	// when it closes, so that its memory stays bounded.
	Live bool

	mu       sync.Mutex           // stacks outside the simulator record from their own goroutines
	isn      map[string][]seq.Num // host+" "+conn → ISNs of its incarnations, oldest first
	byPacket map[uint64]rel
	lastRecv map[string]trace.Event // host → the segment being processed

	// For StackObserver: who owns which address, the segments sent and not
	// yet received, and the last packet number given.
	names    map[netip.Addr]string
	inFlight map[segKey][]uint64
	nextID   uint64
}

type rel struct {
	rseq, rack *uint32
}

// New returns an empty recorder counting time from epoch.
func New(epoch time.Time) *Recorder {
	return &Recorder{Epoch: epoch, isn: map[string][]seq.Num{}, byPacket: map[uint64]rel{}, lastRecv: map[string]trace.Event{},
		names: map[netip.Addr]string{}, inFlight: map[segKey][]uint64{}}
}

// PacketKind says what happened to a packet.
type PacketKind uint8

// Packet kinds.
const (
	Sent       PacketKind = iota // left its sender, whatever happens next
	Delivered                    // a copy reached the receiver's stack
	Dropped                      // a copy was lost: Why is the fault
	Duplicated                   // the link made a second copy
	Corrupted                    // a copy arrived damaged: its checksum fails
)

func (k PacketKind) String() string {
	if k <= Corrupted {
		return [...]string{"send", "recv", "drop", "dup", "corrupt"}[k]
	}
	return "PacketKind(?)"
}

// Packet is one packet event on a link, the packet parsed once by the link.
type Packet struct {
	ID       uint64 // the packet's number, shared by all its events
	Kind     PacketKind
	From, To string // host names
	Src, Dst netip.Addr
	Seg      *wire.Segment // nil when the packet is no TCP segment
	Why      string        // the rule that sent it, or the fault that dropped it
	Cause    tcp.Cause     // the TCP rule that sent it
	Delay    time.Duration // for Sent: when it will arrive
}

// relative returns v relative to the incarnation it most likely belongs
// to: the ISN it lies closest after (an old duplicate still counts from
// its own incarnation's ISN).
func (r *Recorder) relative(key string, v seq.Num) *uint32 {
	var best *uint32
	for _, isn := range r.isn[key] {
		d := uint32(v - isn)
		if d < 1<<30 && (best == nil || d <= *best) {
			best = &d
		}
	}
	return best
}

func (r *Recorder) add(ev trace.Event) {
	if r.Keep != nil && !r.Keep(&ev) {
		return
	}
	r.Events = append(r.Events, ev)
}

func (r *Recorder) since(now time.Time) time.Duration { return now.Sub(r.Epoch) }

func connString(src, dst netip.Addr, sp, dp uint16) string {
	return netip.AddrPortFrom(src, sp).String() + "→" + netip.AddrPortFrom(dst, dp).String()
}

// Packet records a packet event.
func (r *Recorder) Packet(now time.Time, e *Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packet(now, e)
}

func (r *Recorder) packet(now time.Time, e *Packet) {
	if e.Seg == nil {
		return // not a TCP segment we could parse (corrupted on the way)
	}
	s := e.Seg
	src, dst := e.Src, e.Dst
	ev := trace.Event{T: r.since(now), Packet: e.ID, Flags: s.Flags.String(), Seq: uint32(s.Seq), Ack: uint32(s.Ack),
		Len: len(s.Payload), Win: s.Wnd}
	if s.Flags&wire.FlagSYN != 0 || s.Opts.NumSACK > 0 {
		ev.Opts = s.Opts.String()
	}
	fromKey := e.From + " " + connString(src, dst, s.SrcPort, s.DstPort)
	toKey := e.To + " " + connString(dst, src, s.DstPort, s.SrcPort)
	// The first event of a packet, its send, fixes its place in the
	// sequence spaces.
	if _, seen := r.byPacket[e.ID]; !seen {
		if s.Flags&wire.FlagSYN != 0 && !slices.Contains(r.isn[fromKey], s.Seq) {
			r.isn[fromKey] = append(r.isn[fromKey], s.Seq)
		}
		var rl rel
		rl.rseq = r.relative(fromKey, s.Seq)
		if s.Flags&wire.FlagACK != 0 {
			rl.rack = r.relative(toKey, s.Ack)
		}
		r.byPacket[e.ID] = rl
	}
	switch e.Kind {
	case Sent:
		ev.Host, ev.Peer, ev.Event = e.From, e.To, trace.KindSend
		ev.Conn = connString(src, dst, s.SrcPort, s.DstPort)
		ev.Cause, ev.Rule, ev.Delay = e.Why, e.Cause, e.Delay
	case Delivered:
		ev.Host, ev.Peer, ev.Event = e.To, e.From, trace.KindRecv
		ev.Conn = connString(dst, src, s.DstPort, s.SrcPort)
	case Dropped, Corrupted:
		// A drop by the link is reported from the sender's side, as its
		// send is: it ends that send (README, the JSON trace).
		ev.Host, ev.Peer, ev.Event = e.From, e.To, trace.KindDrop
		ev.Conn = connString(src, dst, s.SrcPort, s.DstPort)
		ev.Cause = e.Why
	case Duplicated:
		ev.Host, ev.Peer, ev.Event = e.From, e.To, trace.KindDup
		ev.Conn = connString(src, dst, s.SrcPort, s.DstPort)
		ev.Cause = e.Why
	}
	rl := r.byPacket[e.ID]
	ev.RSeq, ev.RAck = rl.rseq, rl.rack
	if r.Live {
		delete(r.byPacket, e.ID) // one stack: no other event of this packet comes
	}
	r.add(ev)
	if ev.Event == trace.KindRecv {
		r.lastRecv[ev.Host] = ev
	}
}

// Conn records a connection event of host's stack.
func (r *Recorder) Conn(now time.Time, host string, id stack.ID, e *tcp.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conn(now, host, id, e)
}

func (r *Recorder) conn(now time.Time, host string, id stack.ID, e *tcp.Event) {
	ev := trace.Event{T: r.since(now), Host: host, Conn: id.String(), Cause: e.Cause.String(), Rule: e.Cause}
	switch e.Kind {
	case tcp.EventState:
		ev.Event, ev.From, ev.To = trace.KindState, e.From.String(), e.To.String()
		if r.Live && e.To == tcp.StateClosed && id.Remote.IsValid() {
			// Its incarnations are over: a late segment is drawn without
			// relative numbers.
			delete(r.isn, host+" "+id.String())
			delete(r.isn, r.name(id.Remote.Addr())+" "+connString(id.Remote.Addr(), id.Local.Addr(), id.Remote.Port(), id.Local.Port()))
		}
	case tcp.EventTimer:
		if r.Timers != nil && !r.Timers(e) {
			return
		}
		ev.Event, ev.Timer, ev.Action = trace.KindTimer, e.Timer.String(), e.Action.String()
		if e.Action == tcp.TimerSet {
			ev.In = e.Deadline.Sub(now)
		}
	case tcp.EventDrop:
		// A segment refused by the connection's rules: the receiver drops
		// the packet it is processing.
		last, ok := r.lastRecv[host]
		if !ok {
			return
		}
		ev = last
		ev.T, ev.Event, ev.Cause, ev.Rule, ev.Text = r.since(now), trace.KindDrop, e.Cause.String(), e.Cause, "refused by "+host
		ev.Host, ev.Peer = host, last.Peer
	case tcp.EventUser:
		ev.Event, ev.Call, ev.Err = trace.KindUser, e.Call, trace.ErrName(e.Err)
	case tcp.EventUndo:
		// A note of the host's, with its rule (trace.Event.HostNote).
		ev.Event, ev.Text = trace.KindNote, "undo: cwnd "+strconv.Itoa(e.CWnd)
		if e.SSThresh < 1<<30 { // not the initial "infinity"
			ev.Text += ", ssthresh " + strconv.Itoa(e.SSThresh)
		}
	case tcp.EventICMP:
		ev.Event, ev.Err = trace.KindNote, trace.ErrName(e.Err)
		ev.Text = "ICMP"
		if e.MSS > 0 {
			ev.Text = "ICMP packet too big: MSS " + strconv.Itoa(e.MSS)
		}
	}
	r.add(ev)
}

// HostEvent records a host's crash or restart.
func (r *Recorder) HostEvent(now time.Time, host, what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(trace.Event{T: r.since(now), Host: host, Event: trace.KindHost, Text: what})
}

// User records an application's call and its result.
func (r *Recorder) User(now time.Time, host, conn, call string, n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(trace.Event{T: r.since(now), Host: host, Conn: conn, Event: trace.KindUser, Call: call, N: n, Err: trace.ErrName(err)})
}

// Note records a line of narration.
func (r *Recorder) Note(now time.Time, host, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(trace.Event{T: r.since(now), Host: host, Event: trace.KindNote, Text: text})
}
