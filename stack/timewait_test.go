package stack_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// closeMany opens n connections from a to b, at most parallel at a time,
// and closes each from a's side first, so that a keeps them in TIME-WAIT.
func closeMany(t *testing.T, net *sim.Network, a, b *sim.Host, n, parallel int) {
	t.Helper()
	// Each remote port gives another 28,232 ephemeral ports (RFC 6056).
	var lns []*stack.Listener
	for p := uint16(80); p < 84; p++ {
		ln, err := b.Stack.Listen(net.Now(), netip.AddrPortFrom(b.Addr(), p), 1024)
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
	}
	for _, ln := range lns {
		acceptAndCloseOnFIN(net, ln)
	}
	opened, active := 0, 0
	var pump func()
	pump = func() {
		for active < parallel && opened < n {
			c, err := a.Stack.Dial(net.Now(), netip.AddrPort{}, lns[opened%len(lns)].Addr())
			if err != nil {
				t.Fatalf("dial %d: %v", opened, err)
			}
			opened++
			active++
			c.SetNotifier(stack.NotifyFunc(func() {
				net.After(0, func() {
					if c.State() == tcp.StateEstablished {
						c.Close(net.Now())
						active--
						pump()
					}
				})
			}))
		}
	}
	net.After(0, pump)
	for opened < n || active > 0 {
		net.Step()
	}
	// Let the last closes finish; TIME-WAIT lasts 60 s, so stop well short.
	net.RunFor(5 * time.Second)
}

// acceptAndCloseOnFIN accepts every connection and closes each once the
// peer's FIN arrives.
func acceptAndCloseOnFIN(net *sim.Network, ln *stack.Listener) {
	ln.SetNotifier(stack.NotifyFunc(func() {
		net.After(0, func() {
			for c := ln.Accept(); c != nil; c = ln.Accept() {
				c.SetNotifier(stack.NotifyFunc(func() {
					net.After(0, func() {
						if c.State() == tcp.StateCloseWait {
							c.Close(net.Now())
						}
					})
				}))
			}
		})
	}))
}

// A TIME-WAIT entry costs at most 128 bytes, index and timer included
// (DESIGN.md's target; Linux spends about 510); the full TCB is freed.
func TestTimeWaitMemory(t *testing.T) {
	const n = 100_000
	net := sim.New(7)
	a := net.AddHost("A", addrA, stack.Config{TimeWaitMax: 2 * n})
	b := net.AddHost("B", addrB, stack.Config{})
	net.Connect(a, b, sim.LinkConfig{Delay: time.Millisecond})
	per := heapGrowth(n, func() { closeMany(t, net, a, b, n, 100) })
	conns, half, tw := a.Stack.Len()
	if conns != 0 || half != 0 || tw != n {
		t.Fatalf("A holds %d conns, %d half-open, %d TIME-WAIT; want 0, 0, %d", conns, half, tw, n)
	}
	if c, _, _ := b.Stack.Len(); c != 0 {
		t.Fatalf("B still holds %d connections", c)
	}
	t.Logf("TIME-WAIT entry: %.0f bytes of heap each (limit 128)", per)
	if per > 128 {
		t.Fatalf("TIME-WAIT entry costs %.0f bytes, limit 128", per)
	}
	// And they all go after 2MSL, leaving nothing.
	net.RunFor(61 * time.Second)
	if _, _, tw := a.Stack.Len(); tw != 0 {
		t.Fatalf("%d TIME-WAIT entries outlived 2MSL", tw)
	}
	runtime.KeepAlive(net)
}
