package sim_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/internal/tracecheck"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
	"github.com/synack/synack/wire"
)

// faultRun is a run of the simulator under one kind of fault: a transfer
// each way and a close, with the run's own recorder and capture.
type faultRun struct {
	name  string
	link  sim.LinkConfig
	setup func(n *sim.Network, a, b *sim.Host, l *sim.Link)
	fault string // the cause a drop of this run must give, if any
}

var faultRuns = []faultRun{
	{name: "random loss", link: sim.LinkConfig{Loss: 0.3}, fault: "random loss"},
	{name: "corruption", link: sim.LinkConfig{Corrupt: 0.3}, fault: "random corruption"},
	{name: "duplication", link: sim.LinkConfig{Dup: 0.4}},
	{name: "reordering and jitter", link: sim.LinkConfig{Reorder: 0.3, Jitter: 15 * time.Millisecond}},
	{name: "everything", link: sim.LinkConfig{Loss: 0.1, Dup: 0.1, Reorder: 0.1, Corrupt: 0.1, Jitter: 5 * time.Millisecond}},
	{name: "partition", setup: func(_ *sim.Network, _, _ *sim.Host, l *sim.Link) { l.Partition(999*time.Millisecond, 4*time.Second) },
		fault: "partition"},
	{name: "full queue", link: sim.LinkConfig{Bandwidth: 200_000, Queue: 20 * time.Millisecond}, fault: "link queue full"},
	{name: "MTU", setup: func(n *sim.Network, _, _ *sim.Host, l *sim.Link) {
		// The link's MTU shrinks under an established connection.
		n.At(999*time.Millisecond, func() { c := l.Config(); c.MTU = 600; l.SetConfig(c) })
		n.At(3*time.Second, func() { c := l.Config(); c.MTU = 1500; l.SetConfig(c) })
	}, fault: "larger than the link MTU"},
	{name: "crashed receiver", setup: func(n *sim.Network, _, b *sim.Host, _ *sim.Link) {
		n.At(1005*time.Millisecond, b.Crash)
		n.At(2*time.Second, b.Restart)
	}, fault: "host down"},
	{name: "rules", setup: func(n *sim.Network, _, _ *sim.Host, _ *sim.Link) {
		n.Script(&sim.Rule{Name: "lose two SYNs", From: "A", Match: sim.Exactly(wire.FlagSYN), Count: 2, Action: sim.ActDrop})
		n.Script(&sim.Rule{Name: "hold a SYN+ACK", From: "B", Match: sim.Exactly(wire.FlagSYN | wire.FlagACK), Count: 1, Action: sim.ActDelay, Delay: 5 * time.Second})
		n.Script(&sim.Rule{Name: "twice", From: "A", Match: func(s *wire.Segment) bool { return len(s.Payload) > 0 }, Count: 2, Action: sim.ActDup})
		n.Script(&sim.Rule{Name: "a stale copy", From: "B", Match: func(s *wire.Segment) bool { return len(s.Payload) > 0 }, Count: 1, Action: sim.ActDupLate, Delay: time.Second})
	}, fault: "lose two SYNs"},
	{name: "forged", setup: func(n *sim.Network, a, _ *sim.Host, _ *sim.Link) {
		n.Script(&sim.Rule{Name: "lose the forgery", From: "A", Match: sim.Exactly(wire.FlagRST), Count: 1, Action: sim.ActDrop})
		n.At(2*time.Second, func() {
			s := wire.Segment{SrcPort: 7, DstPort: 80, Seq: 1, Flags: wire.FlagRST}
			pkt := wire.AppendPacket(nil, addrA, addrB, &s, 64)
			a.Send(pkt, "a forged RST")
		})
	}, fault: "lose the forgery"},
}

// runFaults runs fr with seed, recording its events and its capture.
func runFaults(t *testing.T, fr faultRun, seed uint64) ([]trace.Event, []byte) {
	t.Helper()
	return runFaultsAt(t, fr, seed, "")
}

// runFaultsAt is runFaults with the capture at one host ("" for every
// sender).
func runFaultsAt(t *testing.T, fr faultRun, seed uint64, at string) ([]trace.Event, []byte) {
	t.Helper()
	n := sim.New(seed)
	rec := record.New(sim.Epoch)
	n.SetObserver(sim.Recording(rec))
	var capture bytes.Buffer
	pw, err := pcap.NewWriterNano(&capture, 0)
	if err != nil {
		t.Fatal(err)
	}
	if at == "" {
		n.SetCapture(pw)
	} else {
		n.SetCaptureAt(pw, at)
	}
	a := n.AddHost("A", addrA, stack.Config{})
	b := n.AddHost("B", addrB, stack.Config{})
	lc := fr.link
	lc.Delay = 10 * time.Millisecond
	l := n.Connect(a, b, lc)
	if fr.setup != nil {
		fr.setup(n, a, b, l)
	}
	ln, err := b.Stack.Listen(n.Now(), srv, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
	if err != nil {
		t.Fatal(err)
	}
	n.RunFor(time.Second)
	data := make([]byte, 20000)
	c.Write(n.Now(), data)
	if s := ln.Accept(); s != nil {
		s.Write(n.Now(), data[:8000])
		n.RunFor(10 * time.Second)
		s.Read(n.Now(), make([]byte, len(data)))
		s.Close(n.Now())
	}
	n.RunFor(10 * time.Second)
	c.Read(n.Now(), make([]byte, len(data)))
	c.Close(n.Now())
	n.RunUntilIdle(10 * time.Minute)
	return rec.Events, capture.Bytes()
}

// A capture at a host is what tcpdump there shows: the host's sends as
// they left, lost or not, and what reached it, when it did — a
// duplicate twice, a corrupted packet as it arrived, nothing while the
// host was down.
func TestCaptureAtHost(t *testing.T) {
	for _, fr := range faultRuns {
		for _, at := range []string{"A", "B"} {
			events, capture := runFaultsAt(t, fr, 1, at)
			recs := readPcap(t, capture)
			var want []trace.Event
			for _, e := range events {
				switch {
				case e.Event == trace.KindSend && e.Host == at && !strings.Contains(e.Cause, "forged"), e.Event == trace.KindRecv && e.Host == at,
					e.Event == trace.KindDrop && e.Peer == at && strings.Contains(e.Cause, "corrupt"):
					want = append(want, e)
				}
			}
			if len(recs) != len(want) {
				t.Errorf("%s at %s: %d packets captured, want %d", fr.name, at, len(recs), len(want))
				continue
			}
			for i, r := range recs {
				e := &want[i]
				p, err := wire.ParsePacketTrusted(r.pkt)
				if e.Event != trace.KindDrop && (err != nil || uint32(p.Segment.Seq) != e.Seq || p.Segment.Flags.String() != e.Flags) || r.t != e.T {
					t.Errorf("%s at %s: packet %d at %v (%v), want the %s at %v of %s seq %d", fr.name, at, i, r.t, err, e.Event, e.T, e.Flags, e.Seq)
					break
				}
			}
		}
	}
}

// Every segment a host puts on the wire is a send, and each copy of it
// ends in one recv or one drop that names it — whatever the fault.
func TestEveryTripEnds(t *testing.T) {
	for _, fr := range faultRuns {
		for seed := uint64(1); seed <= 4; seed++ {
			events, _ := runFaults(t, fr, seed)
			if p := tracecheck.Trips(events, 5); len(p) > 0 {
				t.Errorf("%s, seed %d:\n%s", fr.name, seed, strings.Join(p, "\n"))
			}
			if fr.fault == "" || seed > 1 {
				continue
			}
			// The run's fault shows up as the cause of a drop that
			// follows its send.
			found := false
			for i := range events {
				if e := &events[i]; e.Event == trace.KindDrop && e.Cause == fr.fault {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no drop gives the fault %q as its cause", fr.name, fr.fault)
			}
		}
	}
}

// A lost retransmission is a send that says it is one, then a drop that
// names the fault: the trace keeps both causes.
func TestLostRetransmissionKeepsItsCause(t *testing.T) {
	events, _ := runFaults(t, faultRuns[9], 1) // rules: two SYNs lost
	var syns []trace.Event
	for _, e := range events {
		if e.Host == "A" && e.Flags == "SYN" && (e.Event == trace.KindSend || e.Event == trace.KindDrop) {
			syns = append(syns, e)
		}
	}
	// send, drop, send (retransmission), drop, send (retransmission)
	if len(syns) != 5 {
		t.Fatalf("A's SYN events: %v, want send, drop, send, drop, send", syns)
	}
	for i, e := range syns {
		want := trace.KindSend
		if i%2 == 1 {
			want = trace.KindDrop
		}
		if e.Event != want {
			t.Errorf("SYN event %d is a %s, want a %s", i, e.Event, want)
		}
		switch {
		case e.Event == trace.KindDrop && e.Cause != "lose two SYNs":
			t.Errorf("drop %d: cause %q, want the rule's name", i, e.Cause)
		case e.Event == trace.KindSend && i > 0 && !e.Rule.Retransmission():
			t.Errorf("send %d: cause %q does not say it is a retransmission", i, e.Cause)
		case e.Event == trace.KindDrop && (e.Packet != syns[i-1].Packet || e.T != syns[i-1].T):
			t.Errorf("drop %d does not end the send before it", i)
		}
	}
}

// pcapRecord is one packet of a capture.
type pcapRecord struct {
	t   time.Duration
	pkt []byte
}

func readPcap(t *testing.T, b []byte) []pcapRecord {
	t.Helper()
	if len(b) < 24 {
		t.Fatalf("capture of %d bytes", len(b))
	}
	le := binary.LittleEndian
	var out []pcapRecord
	for r := bytes.NewReader(b[24:]); r.Len() > 0; {
		var h [16]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatal(err)
		}
		ts := time.Unix(int64(le.Uint32(h[0:])), int64(le.Uint32(h[4:]))).UTC()
		pkt := make([]byte, le.Uint32(h[8:]))
		if _, err := io.ReadFull(r, pkt); err != nil {
			t.Fatal(err)
		}
		out = append(out, pcapRecord{ts.Sub(sim.Epoch), pkt})
	}
	return out
}

// The capture is what tcpdump on each sender's interface shows: one
// record for every send in the trace, at its time and of its segment —
// those the network then lost, corrupted or duplicated included, each
// once and as it left (a corrupted packet is captured intact).
func TestCaptureMatchesSends(t *testing.T) {
	for _, fr := range faultRuns {
		events, capture := runFaults(t, fr, 1)
		recs := readPcap(t, capture)
		var sends []trace.Event
		for _, e := range events {
			if e.Event == trace.KindSend {
				sends = append(sends, e)
			}
		}
		if len(recs) != len(sends) {
			t.Errorf("%s: %d packets captured, %d sends traced", fr.name, len(recs), len(sends))
			continue
		}
		for i, r := range recs {
			p, err := wire.ParsePacket(r.pkt)
			s := &sends[i]
			if err != nil {
				t.Errorf("%s: captured packet %d does not parse: %v", fr.name, i, err)
				continue
			}
			if r.t != s.T || p.Segment.Flags.String() != s.Flags || uint32(p.Segment.Seq) != s.Seq || len(p.Segment.Payload) != s.Len {
				t.Errorf("%s: captured packet %d is %v %v, the send is %v %s seq %d", fr.name, i, r.t, p.Segment, s.T, s.Flags, s.Seq)
			}
		}
	}
}
