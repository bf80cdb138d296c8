package sim_test

import (
	"bytes"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// fate is what happened to one packet, as either side can observe it.
type fate struct {
	copies    int           // 0 lost, 1, or 2 duplicated
	late      time.Duration // beyond the link's fixed delay: jitter, reordering
	corrupted bool
}

const (
	fatePackets = 400
	fateGap     = time.Second // between packets: each arrives before the next leaves
	fateSeed    = 2026
)

var fateFaults = link.Faults{Loss: 0.15, Dup: 0.15, Reorder: 0.15, Corrupt: 0.15,
	Jitter: 100 * time.Millisecond, ReorderHold: 50 * time.Millisecond}

func fatePacket(i int) []byte {
	s := wire.Segment{SrcPort: 40000, DstPort: 80, Seq: seq.Num(1000 + i), Flags: wire.FlagACK, Wnd: 100, Payload: bytes.Repeat([]byte{byte(i)}, 40)}
	return wire.AppendPacket(nil, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), &s, 0)
}

// One fault engine: the same faults and seed give every packet the same
// fate through link.Faulty (the real-time link of synack serve) and
// through a simulated link — lost, duplicated, late by the same amount,
// corrupted — because both decide with link.Faults.Decide from a PRNG
// seeded the same way.
func TestSameSeedSameFates(t *testing.T) {
	var real []fate
	synctest.Test(t, func(t *testing.T) {
		r := &arrivals{}
		x := link.NewFaulty(r, fateFaults, fateSeed)
		defer x.Close()
		start := time.Now()
		for i := range fatePackets {
			x.WritePacket(fatePacket(i))
			time.Sleep(fateGap)
		}
		real = make([]fate, fatePackets)
		for _, a := range r.list() {
			i := int(a.at.Sub(start) / fateGap)
			f := &real[i]
			if f.copies++; f.copies == 1 {
				f.late = a.at.Sub(start) - time.Duration(i)*fateGap
			}
			f.corrupted = f.corrupted || !bytes.Equal(a.pkt, fatePacket(i))
		}
	})

	n := sim.New(1)
	a := n.AddHost("A", netip.MustParseAddr("192.0.2.1"), stack.Config{})
	b := n.AddHost("B", netip.MustParseAddr("192.0.2.2"), stack.Config{})
	cfg := sim.LinkConfig{Delay: time.Millisecond, Loss: fateFaults.Loss, Dup: fateFaults.Dup, Reorder: fateFaults.Reorder,
		Corrupt: fateFaults.Corrupt, Jitter: fateFaults.Jitter, ReorderHold: fateFaults.ReorderHold, Seed: fateSeed}
	n.Connect(a, b, cfg)
	simulated := make([]fate, fatePackets)
	obs := &fateObserver{sent: map[uint64]int{}, fates: simulated, delay: cfg.Delay}
	n.SetObserver(obs)
	for i := range fatePackets {
		n.At(time.Duration(i)*fateGap, func() {
			obs.next = i
			a.Send(fatePacket(i), "packet")
		})
	}
	n.RunFor(fatePackets * fateGap)

	var lost, dup, late, bad int
	for i := range real {
		if real[i] != simulated[i] {
			t.Errorf("packet %d: link.Faulty %+v, simulator %+v", i, real[i], simulated[i])
		}
		switch {
		case real[i].copies == 0:
			lost++
		case real[i].copies == 2:
			dup++
		}
		if real[i].late > 0 {
			late++
		}
		if real[i].corrupted {
			bad++
		}
	}
	if lost == 0 || dup == 0 || late == 0 || bad == 0 {
		t.Fatalf("some fault never hit: %d lost, %d duplicated, %d late, %d corrupted", lost, dup, late, bad)
	}
}

// arrivals is a link endpoint that keeps what reaches it, with the time.
type arrivals struct {
	mu  sync.Mutex
	got []arrival
}

type arrival struct {
	at  time.Time
	pkt []byte
}

func (r *arrivals) MTU() int { return 1500 }
func (r *arrivals) WritePacket(p []byte) error {
	r.mu.Lock()
	r.got = append(r.got, arrival{time.Now(), slices.Clone(p)})
	r.mu.Unlock()
	return nil
}
func (r *arrivals) Attach(link.Receiver) {}
func (r *arrivals) Close() error         { return nil }
func (r *arrivals) list() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// fateObserver turns the simulator's packet events into fates.
type fateObserver struct {
	next  int
	sent  map[uint64]int // packet number → index
	fates []fate
	delay time.Duration
}

func (o *fateObserver) Packet(now time.Time, e *sim.PacketEvent) {
	if e.From.Name != "A" {
		return // B's answers (RSTs: it has no such connection)
	}
	switch e.Kind {
	case sim.PacketSent:
		o.sent[e.ID] = o.next
	case sim.PacketDelivered, sim.PacketCorrupted:
		i := o.sent[e.ID]
		f := &o.fates[i]
		if f.copies++; f.copies == 1 {
			f.late = now.Sub(sim.Epoch.Add(time.Duration(i)*fateGap)) - o.delay
		}
		f.corrupted = f.corrupted || e.Kind == sim.PacketCorrupted
	}
}
func (o *fateObserver) Conn(time.Time, *sim.Host, stack.ID, *tcp.Event) {}
func (o *fateObserver) HostEvent(time.Time, *sim.Host, string)          {}
