package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// After a loss repaired by fast recovery, the sender's row in the
// snapshot (what `ss -ti` shows of a Linux socket) tells the story: one
// recovery and a retransmission counted, CUBIC's W_max and K set by the
// reduction, HyStart++ over (RFC 9406 §4.2: a loss ends it), ssthresh
// below the initial one, RTT figures, RACK's reordering window a quarter
// of the minimum RTT (RFC 8985 §6.2), nothing in flight; and the stack's
// nstat-style counters have the recovery too.
func TestSnapshotAfterLoss(t *testing.T) {
	n := sim.New(1)
	a := n.AddHost("A", addrA, stack.Config{})
	b := n.AddHost("B", addrB, stack.Config{})
	n.Connect(a, b, sim.LinkConfig{Delay: 10 * time.Millisecond})
	data := func(s *wire.Segment) bool { return len(s.Payload) > 0 }
	drop := n.Script(&sim.Rule{Name: "lose A's 30th data segment", From: "A", Match: data, Skip: 29, Count: 1, Action: sim.ActDrop})

	ln, err := b.Stack.Listen(n.Now(), netip.AddrPortFrom(addrB, 80), 0)
	if err != nil {
		t.Fatal(err)
	}
	const size = 200 << 10
	got := 0
	buf := make([]byte, 64<<10)
	ln.SetNotifier(n.Waker(func() {
		for c := ln.Accept(); c != nil; c = ln.Accept() {
			s := c
			read := func() {
				for {
					k, _ := s.Read(n.Now(), buf)
					got += k
					if k == 0 {
						return
					}
				}
			}
			s.SetNotifier(n.Waker(read))
			n.After(0, read)
		}
	}))
	c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	out := make([]byte, 16<<10)
	write := func() {
		for sent < size {
			w, err := c.Write(n.Now(), out[:min(len(out), size-sent)])
			if err != nil || w == 0 {
				return
			}
			sent += w
		}
	}
	c.SetNotifier(n.Waker(write))
	n.After(0, write)
	n.RunUntilIdle(time.Minute)

	if got != size || drop.Acted() != 1 {
		t.Fatalf("B read %d of %d bytes, %d segments lost; want all, one", got, size, drop.Acted())
	}
	var row *stack.ConnInfo
	for _, ci := range a.Stack.Snapshot() {
		if ci.ID == c.ID() {
			row = &ci
		}
	}
	if row == nil || row.Compact {
		t.Fatal("A's connection is not in its snapshot as a full TCB")
	}
	st := row.TCB
	cc := st.Congestion
	if st.Recoveries != 1 || st.Retransmits < 1 || st.Timeouts != 0 || st.Undos != 0 {
		t.Errorf("recoveries %d, retransmits %d, timeouts %d, undos %d; want 1, ≥1, 0, 0", st.Recoveries, st.Retransmits, st.Timeouts, st.Undos)
	}
	if cc.Algorithm != "cubic" || cc.WMax <= 0 || cc.K <= 0 || cc.HyStart != "done" || cc.HyStartRound < 1 {
		t.Errorf("congestion %+v; want CUBIC with W_max and K set, HyStart++ done after rounds", cc)
	}
	if st.SSThresh >= 1<<30 || st.SSThresh > cc.WMax || st.CWnd < st.SSThresh {
		t.Errorf("ssthresh %d, cwnd %d, W_max %d; want ssthresh lowered below W_max, cwnd at least ssthresh", st.SSThresh, st.CWnd, cc.WMax)
	}
	if st.SRTT < 20*time.Millisecond || st.RTTVar <= 0 || st.RTO < 200*time.Millisecond || st.MinRTT < 20*time.Millisecond {
		t.Errorf("SRTT %v, RTTVar %v, RTO %v, min RTT %v; want the 20 ms path and the 200 ms floor", st.SRTT, st.RTTVar, st.RTO, st.MinRTT)
	}
	if st.ReoWnd != st.MinRTT/4 || st.Pipe != 0 || st.InRecovery {
		t.Errorf("reordering window %v (min RTT %v), pipe %d, in recovery %v; want min RTT/4, 0, false", st.ReoWnd, st.MinRTT, st.Pipe, st.InRecovery)
	}
	if row.RTT != st.SRTT || row.State != tcp.StateEstablished {
		t.Errorf("row RTT %v, state %v", row.RTT, row.State)
	}
	if l := a.Stack.Counters().Loss; l.SACKRecoveries != 1 || l.Timeouts != 0 {
		t.Errorf("A's counters %+v; want one SACK recovery (TCPSackRecovery)", l)
	}
}
