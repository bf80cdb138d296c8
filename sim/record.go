package sim

import (
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace/record"
)

// Recording returns an Observer that records the network in r: its
// packets, already parsed by the links, and its hosts' events, by host
// name. r should count from Epoch (record.New(sim.Epoch)).
func Recording(r *record.Recorder) Observer { return recording{r} }

type recording struct{ r *record.Recorder }

func (o recording) Packet(now time.Time, e *PacketEvent) {
	o.r.Packet(now, &record.Packet{ID: e.ID, Kind: e.Kind, From: e.From.Name, To: e.To.Name,
		Src: e.Src, Dst: e.Dst, Seg: e.Seg, Why: e.Why, Cause: e.Cause, Delay: e.Delay})
}

func (o recording) Conn(now time.Time, h *Host, id stack.ID, e *tcp.Event) {
	o.r.Conn(now, h.Name, id, e)
}

func (o recording) HostEvent(now time.Time, h *Host, what string) { o.r.HostEvent(now, h.Name, what) }
