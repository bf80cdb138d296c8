package sim_test

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	srv   = netip.AddrPortFrom(addrB, 80)
)

// recorder keeps packet events as lines.
type recorder struct{ lines []string }

func (r *recorder) Packet(now time.Time, e *sim.PacketEvent) {
	if e.Seg != nil {
		r.lines = append(r.lines, fmt.Sprintf("%v %s>%s %v %s %s", now.Sub(sim.Epoch), e.From.Name, e.To.Name, e.Kind, e.Seg.Flags, e.Why))
	}
}
func (r *recorder) Conn(time.Time, *sim.Host, stack.ID, *tcp.Event) {}
func (r *recorder) HostEvent(now time.Time, h *sim.Host, what string) {
	r.lines = append(r.lines, fmt.Sprintf("%v %s %s", now.Sub(sim.Epoch), h.Name, what))
}

func (r *recorder) count(kind sim.PacketKind, flags wire.Flags) int {
	n := 0
	for _, l := range r.lines {
		if len(l) > 0 && contains(l, " "+kind.String()+" "+flags.String()+" ") {
			n++
		}
	}
	return n
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func pair(seed uint64, lc sim.LinkConfig) (*sim.Network, *sim.Host, *sim.Host, *sim.Link, *recorder) {
	n := sim.New(seed)
	r := &recorder{}
	n.SetObserver(r)
	a := n.AddHost("A", addrA, stack.Config{})
	b := n.AddHost("B", addrB, stack.Config{})
	if lc.Delay == 0 {
		lc.Delay = 10 * time.Millisecond
	}
	l := n.Connect(a, b, lc)
	return n, a, b, l, r
}

// A scripted rule: drop the first SYN from A; A retransmits after the
// initial RTO and the connection opens at about 1 s + one RTT.
func TestScriptedDrop(t *testing.T) {
	n, a, b, _, r := pair(1, sim.LinkConfig{})
	b.Stack.Listen(n.Now(), srv, 0)
	rule := n.Script(&sim.Rule{Name: "lose the first SYN", From: "A", Match: sim.Exactly(wire.FlagSYN), Count: 1, Action: sim.ActDrop})
	c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
	n.RunFor(500 * time.Millisecond)
	if c.State() != tcp.StateSynSent {
		t.Fatalf("at 0.5 s: %v, want SYN-SENT", c.State())
	}
	n.RunFor(time.Second)
	if c.State() != tcp.StateEstablished || rule.Acted() != 1 {
		t.Fatalf("at 1.5 s: %v, rule acted %d times", c.State(), rule.Acted())
	}
	if r.count(sim.PacketDropped, wire.FlagSYN) != 1 {
		t.Fatalf("trace:\n%v", r.lines)
	}
}

// A scripted delay: the first SYN+ACK is held for 3 minutes. The SYN
// retransmission gets a fresh SYN+ACK that opens the connection; when the
// held one finally arrives, the established client answers it with a
// challenge ACK (RFC 5961 §4) and nothing changes.
func TestScriptedDelay(t *testing.T) {
	n, a, b, _, _ := pair(1, sim.LinkConfig{})
	b.Stack.Listen(n.Now(), srv, 0)
	n.Script(&sim.Rule{Name: "hold the first SYN+ACK", From: "B", Match: sim.Exactly(wire.FlagSYN | wire.FlagACK), Count: 1, Action: sim.ActDelay, Delay: 3 * time.Minute})
	c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
	n.RunFor(2 * time.Second)
	if c.State() != tcp.StateEstablished {
		t.Fatalf("%v: the SYN retransmission should have opened the connection", c.State())
	}
	n.RunFor(4 * time.Minute)
	if c.State() != tcp.StateEstablished {
		t.Fatalf("the late SYN+ACK disturbed the connection: %v", c.State())
	}
}

// A partition loses everything in its window; a host crash loses all
// state, and the peer's next data gets a RST (half-open-peer-restart).
func TestPartitionAndCrash(t *testing.T) {
	n, a, b, l, _ := pair(2, sim.LinkConfig{})
	ln, _ := b.Stack.Listen(n.Now(), srv, 0)
	c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
	n.RunFor(time.Second)
	if ln.Accept() == nil {
		t.Fatal("not accepted")
	}
	l.Partition(n.Elapsed(), n.Elapsed()+10*time.Second)
	c.Write(n.Now(), []byte("during the partition"))
	n.RunFor(5 * time.Second)
	if st := c.TCB().Status(); st.SendQueue == 0 {
		t.Fatal("data crossed a partition")
	}
	n.RunFor(20 * time.Second)
	if st := c.TCB().Status(); st.SendQueue != 0 {
		t.Fatal("data not delivered after the partition healed")
	}
	b.Crash()
	b.Restart()
	c.Write(n.Now(), []byte("after the reboot"))
	n.RunFor(time.Second)
	if !errors.Is(c.Err(), syscall.ECONNRESET) {
		t.Fatalf("after the peer rebooted: %v, want ECONNRESET", c.Err())
	}
}

// Same seed, same run; another seed, another run.
func TestDeterminism(t *testing.T) {
	run := func(seed uint64) []string {
		n, a, b, _, r := pair(seed, sim.LinkConfig{Loss: 0.2, Dup: 0.1, Reorder: 0.1, Jitter: 5 * time.Millisecond})
		ln, _ := b.Stack.Listen(n.Now(), srv, 0)
		c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
		n.RunFor(10 * time.Second)
		c.Write(n.Now(), make([]byte, 100_000))
		n.RunFor(time.Minute)
		c.Close(n.Now())
		if sc := ln.Accept(); sc != nil {
			sc.Close(n.Now())
		}
		n.RunUntilIdle(time.Hour)
		return r.lines
	}
	a, b, c := run(11), run(11), run(12)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("the same seed gave different runs")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds gave the same run")
	}
}

// Bandwidth and the queue limit: a 1 MB/s link with a 5 ms queue drops
// what would wait longer; corruption is caught by the checksum.
func TestBandwidthQueueCorruption(t *testing.T) {
	n, a, b, _, r := pair(3, sim.LinkConfig{Bandwidth: 1_000_000, Queue: 5 * time.Millisecond, Corrupt: 0.05})
	ln, _ := b.Stack.Listen(n.Now(), srv, 0)
	c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, srv)
	n.RunFor(time.Second)
	sc := ln.Accept()
	payload := make([]byte, 200_000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	sent, got := 0, 0
	buf := make([]byte, 64<<10)
	start := n.Elapsed()
	for i := 0; i < 100_000 && got < len(payload); i++ {
		if sent < len(payload) {
			k, _ := c.Write(n.Now(), payload[sent:])
			sent += k
		}
		n.RunFor(5 * time.Millisecond)
		for {
			k, _ := sc.Read(n.Now(), buf)
			for j := 0; j < k; j++ {
				if buf[j] != payload[got+j] {
					t.Fatalf("byte %d corrupted", got+j)
				}
			}
			got += k
			if k == 0 {
				break
			}
		}
	}
	took := n.Elapsed() - start
	if got != len(payload) || took < 200*time.Millisecond {
		t.Fatalf("got %d bytes in %v: a 1 MB/s link needs at least 200 ms", got, took)
	}
	queueDrops := 0
	for _, l := range r.lines {
		if contains(l, "link queue full") {
			queueDrops++
		}
	}
	if queueDrops == 0 || b.Stack.Counters().InErrs == 0 {
		t.Fatalf("queue drops %d, checksum failures %d: both faults should show", queueDrops, b.Stack.Counters().InErrs)
	}
}
