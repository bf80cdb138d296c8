package stack_test

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// The proxy case: B answers for every address. Each path a forwarded SYN
// can take — completed, refused, never answered, reset mid-handshake —
// leaves no state behind, and no more than the bound are in flight.
func TestForwarder(t *testing.T) {
	far := netip.MustParseAddrPort("198.51.100.7:443")
	setup := func(t *testing.T, decide func(n *sim.Network, r *stack.ForwarderRequest)) (*sim.Network, *sim.Host, *sim.Host) {
		n, a, b, _ := twoHosts(t, 8, sim.LinkConfig{}, stack.Config{TCP: tcp.Config{SynRetries: 2}}, stack.Config{ForwarderMaxInFlight: 3})
		b.Stack.SetForwarder(func(r *stack.ForwarderRequest) {
			if r.ID().Local != far {
				t.Errorf("request for %v, want %v", r.ID().Local, far)
			}
			decide(n, r)
		})
		return n, a, b
	}
	clean := func(t *testing.T, b *sim.Host) {
		t.Helper()
		if c, h, tw := b.Stack.Len(); c+h != 0 || tw > 1 {
			t.Fatalf("forwarder left %d conns, %d half-open, %d TIME-WAIT", c, h, tw)
		}
		if k := b.Stack.ForwarderInFlight(); k != 0 {
			t.Fatalf("%d forwarder slots still held", k)
		}
	}

	t.Run("completed after the upstream answered", func(t *testing.T) {
		var sc *stack.Conn
		n, a, b := setup(t, func(n *sim.Network, r *stack.ForwarderRequest) {
			n.After(50*time.Millisecond, func() { // "dialing the upstream"
				c, err := r.Complete(n.Now())
				if err != nil {
					t.Error(err)
				}
				sc = c
			})
		})
		c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, far)
		n.RunFor(time.Second)
		if c.State() != tcp.StateEstablished || sc == nil || sc.State() != tcp.StateEstablished {
			t.Fatalf("client %v, forwarded %v", c.State(), sc)
		}
		if sc.LocalAddr() != far {
			t.Fatalf("forwarded connection answers as %v, want %v", sc.LocalAddr(), far)
		}
		if k := b.Stack.ForwarderInFlight(); k != 0 {
			t.Fatalf("established connection still holds %d slots", k)
		}
		c.Close(n.Now())
		n.RunFor(time.Second)
		sc.Close(n.Now())
		n.RunFor(2 * time.Minute)
		clean(t, b)
	})

	// A SYN+FIN is not a SYN LISTEN takes (tcp.ListenDecide, as Linux):
	// the forwarder is not asked, and the port answers as a closed one.
	t.Run("SYN+FIN not forwarded", func(t *testing.T) {
		asked := 0
		n, a, b := setup(t, func(n *sim.Network, r *stack.ForwarderRequest) { asked++ })
		src := netip.AddrPortFrom(addrA, 40000)
		a.Send(packet(src, far, wire.FlagSYN|wire.FlagFIN, 1000, 0, synOpts(), nil), "SYN+FIN")
		n.RunFor(time.Second)
		if asked != 0 {
			t.Fatalf("the forwarder was asked %d times about a SYN+FIN", asked)
		}
		clean(t, b)
	})

	t.Run("refused", func(t *testing.T) {
		n, a, b := setup(t, func(n *sim.Network, r *stack.ForwarderRequest) { r.Refuse(n.Now()) })
		c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, far)
		n.RunFor(time.Second)
		if !errors.Is(c.Err(), syscall.ECONNREFUSED) {
			t.Fatalf("client: %v, want ECONNREFUSED", c.Err())
		}
		clean(t, b)
	})

	t.Run("never answered", func(t *testing.T) {
		n, a, b := setup(t, func(*sim.Network, *stack.ForwarderRequest) {})
		c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, far)
		n.RunFor(5 * time.Minute)
		if !errors.Is(c.Err(), syscall.ETIMEDOUT) {
			t.Fatalf("client: %v, want ETIMEDOUT", c.Err())
		}
		clean(t, b)
	})

	t.Run("reset mid-handshake", func(t *testing.T) {
		n, a, b := setup(t, func(n *sim.Network, r *stack.ForwarderRequest) { r.Complete(n.Now()) })
		// A forged SYN: the forwarded connection's SYN+ACK reaches A's
		// stack, which knows no such connection and answers RST.
		a.Send(packet(netip.AddrPortFrom(addrA, 40001), far, wire.FlagSYN, 1000, 0, synOpts(), nil), "forged SYN")
		n.RunFor(100 * time.Millisecond)
		if got := a.Stack.Counters().OutRsts; got != 1 {
			t.Fatalf("A sent %d RSTs, want 1", got)
		}
		if got := b.Stack.Counters().AttemptFails; got != 1 {
			t.Fatalf("B counted %d failed attempts, want 1 (SYN-RECEIVED → LISTEN)", got)
		}
		clean(t, b)
	})

	t.Run("in flight is bounded", func(t *testing.T) {
		var held []*stack.ForwarderRequest
		n, a, b := setup(t, func(_ *sim.Network, r *stack.ForwarderRequest) { held = append(held, r) })
		for i := 0; i < 10; i++ {
			a.Send(packet(netip.AddrPortFrom(addrA, uint16(41000+i)), far, wire.FlagSYN, 1000, 0, synOpts(), nil), "SYN")
		}
		n.RunFor(100 * time.Millisecond)
		if len(held) != 3 || b.Stack.Counters().Drops[stack.DropForwarderFull] != 7 {
			t.Fatalf("%d requests handed out, %d dropped; want 3 and 7", len(held), b.Stack.Counters().Drops[stack.DropForwarderFull])
		}
		for _, r := range held {
			r.Refuse(n.Now())
		}
		n.RunFor(time.Second)
		clean(t, b)
	})
}
