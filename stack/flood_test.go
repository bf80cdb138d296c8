package stack_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

type floodResult struct {
	ok, failed  int
	maxHalfOpen int
	cookiesSent uint64
	cookiesOK   uint64
	wscaleKept  int
}

// flood runs a SYN flood from spoofed sources at B while A's application
// tries to connect every few seconds.
func flood(t *testing.T, mode stack.CookieMode) floodResult {
	t.Helper()
	n := sim.New(99)
	a := n.AddHost("A", addrA, stack.Config{})
	b := n.AddHost("B", addrB, stack.Config{SynCookies: mode, Backlog: 64, SynBacklog: 64})
	n.Connect(a, b, sim.LinkConfig{Delay: 5 * time.Millisecond})
	ln, _ := b.Stack.Listen(n.Now(), netip.AddrPortFrom(addrB, 80), 0)
	var res floodResult
	ln.SetNotifier(stack.NotifyFunc(func() {
		n.After(0, func() {
			for c := ln.Accept(); c != nil; c = ln.Accept() {
				if c.TCB().Status().WScale {
					res.wscaleKept++
				}
				c.Close(n.Now())
			}
		})
	}))
	// The attacker: 2,000 SYNs a second from spoofed 198.51.100.0/24
	// addresses for 3 minutes, never completing a handshake.
	rng := n.Rand()
	const rate = 2000
	for i := 0; i < 180*rate; i++ {
		at := time.Duration(i) * time.Second / rate
		n.At(at, func() {
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + rng.IntN(254))}), uint16(1024+rng.IntN(60000)))
			a.Send(packet(src, netip.AddrPortFrom(addrB, 80), wire.FlagSYN, seq.Num(rng.Uint32()), 0, synOpts(), nil), "spoofed SYN")
			_, half, _ := b.Stack.Len()
			res.maxHalfOpen = max(res.maxHalfOpen, half)
		})
	}
	// The legitimate client: 20 connection attempts, one every 5 s.
	for i := 0; i < 20; i++ {
		n.At(time.Duration(10+5*i)*time.Second, func() {
			c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
			if err != nil {
				t.Fatal(err)
			}
			c.SetNotifier(stack.NotifyFunc(func() {
				n.After(0, func() {
					switch c.State() {
					case tcp.StateEstablished:
						res.ok++
						c.Close(n.Now())
						c.SetNotifier(nil)
					case tcp.StateClosed:
						if c.Err() != nil {
							res.failed++
						}
						c.SetNotifier(nil)
					}
				})
			}))
		})
	}
	n.RunFor(6 * time.Minute)
	cnt := b.Stack.Counters()
	res.cookiesSent, res.cookiesOK = cnt.SynCookiesSent, cnt.SynCookiesRecv
	return res
}

// Under a SYN flood, cookies (mode auto) keep legitimate clients served;
// without them the legitimate client fails while the backlog is full. The
// SYN queue never grows past its bound either way.
func TestSYNFlood(t *testing.T) {
	never := flood(t, stack.CookiesNever)
	auto := flood(t, stack.CookiesAuto)
	t.Logf("cookies never: %d/20 connected, %d failed, SYN queue peak %d", never.ok, never.failed, never.maxHalfOpen)
	t.Logf("cookies auto:  %d/20 connected, %d failed, SYN queue peak %d, %d cookies sent, %d accepted, window scale kept on %d",
		auto.ok, auto.failed, auto.maxHalfOpen, auto.cookiesSent, auto.cookiesOK, auto.wscaleKept)
	if auto.ok != 20 {
		t.Errorf("with cookies auto, %d/20 legitimate connections succeeded, want all", auto.ok)
	}
	if never.ok+never.failed != 20 {
		t.Errorf("with cookies never, %d succeeded and %d failed: every attempt must end", never.ok, never.failed)
	}
	if never.ok > 2 {
		t.Errorf("with cookies never, %d/20 legitimate connections succeeded during the flood; the backlog should have kept them out", never.ok)
	}
	for _, r := range []floodResult{never, auto} {
		if r.maxHalfOpen > 64 {
			t.Errorf("SYN queue reached %d entries, bound 64", r.maxHalfOpen)
		}
	}
	if auto.cookiesOK < 20 || auto.wscaleKept < 20 {
		t.Errorf("cookie connections %d, with window scaling %d: want 20 each (timestamps carry it)", auto.cookiesOK, auto.wscaleKept)
	}
}
