package stack_test

import (
	"net/netip"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
)

// wire2 joins two stacks with no goroutines: what one writes is queued,
// and pump delivers the queue to the other. Buffers are reused, so the
// harness itself allocates nothing once warm.
type wire2 struct {
	st   [2]*stack.Stack
	q    [2][][]byte // packets waiting for st[i]
	free [][]byte
	now  time.Time
	mtu  int
}

type wireEnd struct {
	w  *wire2
	to int
}

func (e *wireEnd) MTU() int             { return e.w.mtu }
func (e *wireEnd) Attach(link.Receiver) {}
func (e *wireEnd) Close() error         { return nil }
func (e *wireEnd) WritePacket(p []byte) error {
	var b []byte
	if n := len(e.w.free); n > 0 {
		b, e.w.free = e.w.free[n-1][:0], e.w.free[:n-1]
	}
	e.w.q[e.to] = append(e.w.q[e.to], append(b, p...))
	return nil
}

func newWire2(mtu int) *wire2 {
	w := &wire2{mtu: mtu, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i, a := range []netip.Addr{addrA, addrB} {
		w.st[i] = stack.New(stack.Config{Seed: 1})
		if err := w.st[i].AddLink(&wireEnd{w: w, to: 1 - i}, netip.PrefixFrom(a, 24)); err != nil {
			panic(err)
		}
	}
	return w
}

// pump delivers queued packets until none are left, a microsecond of
// virtual time per round, firing timers as they fall due; it returns the
// packets delivered.
func (w *wire2) pump() int {
	n := 0
	for len(w.q[0])+len(w.q[1]) > 0 {
		w.now = w.now.Add(time.Microsecond)
		for i := range 2 {
			q := w.q[i]
			w.q[i] = nil
			for _, p := range q {
				w.st[i].Deliver(w.now, p)
				w.free = append(w.free, p)
				n++
			}
			w.q[i] = append(q[:0], w.q[i]...)
		}
		for _, s := range w.st {
			if at, ok := s.NextDeadline(); ok && !at.After(w.now) {
				s.Tick(w.now)
			}
		}
	}
	return n
}

// BenchmarkSteadyStateTransfer: one connection moving data from A to B
// with the stacks driven directly (no goroutines, no clock): ns, bytes and
// allocations per segment carried, once the connection is warm. The
// target (DESIGN.md) is zero allocations per segment.
func BenchmarkSteadyStateTransfer(b *testing.B) {
	for _, mtu := range []int{1500, 65535} {
		b.Run("mtu="+strconv.Itoa(mtu), func(b *testing.B) {
			w := newWire2(mtu)
			ln, _ := w.st[1].Listen(w.now, netip.AddrPortFrom(addrB, 80), 0)
			c, _ := w.st[0].Dial(w.now, netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
			w.pump()
			s := ln.Accept()
			chunk := make([]byte, 64<<10)
			buf := make([]byte, 64<<10)
			move := func() int {
				segs := 0
				for left := len(chunk); left > 0; {
					n, _ := c.Write(w.now, chunk[len(chunk)-left:])
					left -= n
					segs += w.pump()
					for {
						k, _ := s.Read(w.now, buf)
						if k == 0 {
							break
						}
						segs += w.pump()
					}
				}
				return segs
			}
			for range 16 { // warm: windows open, buffers grown
				move()
			}
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			b.ResetTimer()
			segs := 0
			for b.Loop() {
				segs += move()
			}
			b.ReportMetric(float64(segs)/float64(b.N), "packets/op")
		})
	}
}

// BenchmarkIdleConnections opens b.N connections (2·b.N TCBs: both ends
// live in this process) and leaves them idle in ESTABLISHED: heap bytes per
// TCB, index and timers included. -benchtime 500000x holds a million TCBs.
func BenchmarkIdleConnections(b *testing.B) {
	w := newWire2(1500)
	for i := range w.st {
		w.st[i] = stack.New(stack.Config{Seed: 1, EphemeralLow: 1024, EphemeralHigh: 65535})
		addr := []netip.Addr{addrA, addrB}[i]
		if err := w.st[i].AddLink(&wireEnd{w: w, to: 1 - i}, netip.PrefixFrom(addr, 24)); err != nil {
			b.Fatal(err)
		}
	}
	var lns []*stack.Listener
	for port := range uint16(20) { // 64,000 ports from A to each of B's 20 listeners
		ln, _ := w.st[1].Listen(w.now, netip.AddrPortFrom(addrB, 80+port), 1<<20)
		lns = append(lns, ln)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]*stack.Conn, 0, 2*b.N)
	b.ResetTimer()
	for i := range b.N {
		ln := lns[i%len(lns)]
		c, err := w.st[0].Dial(w.now, netip.AddrPort{}, ln.Addr())
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		w.pump()
		conns = append(conns, c, ln.Accept())
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(2*b.N), "B/TCB")
	if n, _, _ := w.st[0].Len(); n != b.N {
		b.Fatalf("A holds %d connections, want %d", n, b.N)
	}
	runtime.KeepAlive(conns)
}
