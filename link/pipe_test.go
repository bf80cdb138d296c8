package link

import (
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// collect returns a Receiver that sends a copy of each packet to the
// returned channel.
func collect(n int) (Receiver, chan []byte) {
	ch := make(chan []byte, n)
	return ReceiverFunc(func(p []byte) { ch <- append([]byte(nil), p...) }), ch
}

func numbered(i uint32, size int) []byte {
	p := make([]byte, size)
	binary.BigEndian.PutUint32(p, i)
	return p
}

func TestPipeBothWaysInOrder(t *testing.T) {
	a, b := Pipe(1500)
	defer a.Close()
	defer b.Close()
	ra, toA := collect(200)
	rb, toB := collect(200)
	a.Attach(ra)
	b.Attach(rb)
	const n = 100
	done := make(chan error, 2)
	for _, w := range []Endpoint{a, b} {
		go func() {
			for i := range uint32(n) {
				if err := w.WritePacket(numbered(i, 40+int(i))); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for name, ch := range map[string]chan []byte{"a->b": toB, "b->a": toA} {
		for i := range uint32(n) {
			p := <-ch
			if got := binary.BigEndian.Uint32(p); got != i || len(p) != 40+int(i) {
				t.Fatalf("%s: packet %d is #%d len %d", name, i, got, len(p))
			}
		}
	}
	sa, sb := a.(*PipeEndpoint).Stats(), b.(*PipeEndpoint).Stats()
	if sa.Sent != n || sb.Sent != n || sa.Delivered != n || sb.Delivered != n {
		t.Fatalf("stats a=%+v b=%+v", sa, sb)
	}
}

func TestPipeMTU(t *testing.T) {
	a, b := Pipe(100)
	defer a.Close()
	defer b.Close()
	if a.MTU() != 100 || b.MTU() != 100 {
		t.Fatalf("MTU %d %d", a.MTU(), b.MTU())
	}
	r, ch := collect(4)
	b.Attach(r)
	for _, size := range []int{101, 100, 65535, 1} {
		if err := a.WritePacket(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{100, 1} {
		if p := <-ch; len(p) != want {
			t.Fatalf("got %d bytes, want %d", len(p), want)
		}
	}
	if s := a.(*PipeEndpoint).Stats(); s.TooBig != 2 || s.Sent != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// The pipe copies: the writer may reuse its buffer at once.
func TestPipeCopies(t *testing.T) {
	a, b := Pipe(1500)
	defer a.Close()
	defer b.Close()
	r, ch := collect(2)
	b.Attach(r)
	buf := []byte("first")
	a.WritePacket(buf)
	copy(buf, "XXXXX")
	a.WritePacket(buf)
	if p := <-ch; string(p) != "first" {
		t.Fatalf("got %q", p)
	}
	if p := <-ch; string(p) != "XXXXX" {
		t.Fatalf("got %q", p)
	}
}

func TestPipeBadMTU(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Pipe(0) did not panic")
		}
	}()
	Pipe(0)
}

func TestPipeClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(1500)
		pa := a.(*PipeEndpoint)
		release := make(chan struct{})
		got := 0
		a.Attach(ReceiverFunc(func([]byte) {
			got++
			<-release
		}))
		for range 5 {
			b.WritePacket([]byte{1})
		}
		synctest.Wait() // a's goroutine is inside the first delivery
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		close(release)
		synctest.Wait()
		if got != 1 {
			t.Fatalf("%d deliveries, want 1: queued packets must go with Close", got)
		}
		select {
		case <-pa.done:
		default:
			t.Fatal("delivery goroutine still running after Close")
		}
		if err := a.WritePacket([]byte{1}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after Close: %v, want net.ErrClosed", err)
		}
		if err := b.WritePacket([]byte{1}); err != nil {
			t.Fatalf("write to closed peer: %v, want nil (lost on the wire)", err)
		}
		if s := b.(*PipeEndpoint).Stats(); s.PeerClosed != 1 || s.Sent != 5 {
			t.Fatalf("b stats %+v", s)
		}
		b.Close()
	})
}

// bubbleGoroutines counts the goroutines of this synctest bubble running
// fn. runtime.NumGoroutine would also count other tests' goroutines that
// are still winding down outside the bubble.
func bubbleGoroutines(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if strings.Contains(head, "synctest bubble") && strings.Contains(g, fn) {
			n++
		}
	}
	return n
}

func TestPipeNoGoroutineLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const run = "link.(*PipeEndpoint).run("
		var eps []Endpoint
		for range 10 {
			a, b := Pipe(1500)
			r, _ := collect(10)
			a.Attach(r)
			b.WritePacket([]byte{1})
			eps = append(eps, a, b)
		}
		synctest.Wait()
		if n := bubbleGoroutines(run); n != 20 {
			t.Errorf("%d delivery goroutines, want 20", n)
		}
		for _, e := range eps {
			e.Close()
		}
		synctest.Wait()
		if n := bubbleGoroutines(run); n != 0 {
			t.Errorf("%d delivery goroutines after Close, want 0", n)
		}
		// synctest.Test itself also fails if any goroutine is left blocked.
	})
}

func TestPipeQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(1500)
		defer a.Close()
		defer b.Close()
		release := make(chan struct{})
		var seen []uint32
		b.Attach(ReceiverFunc(func(p []byte) {
			if len(seen) == 0 {
				<-release
			}
			seen = append(seen, binary.BigEndian.Uint32(p))
		}))
		a.WritePacket(numbered(0, 4))
		synctest.Wait() // the receiver holds packet 0; the queue is empty
		const extra = 10
		for i := range uint32(PipeQueueLen + extra) {
			a.WritePacket(numbered(i+1, 4))
		}
		if s := a.(*PipeEndpoint).Stats(); s.QueueFull != extra || s.Sent != PipeQueueLen+1 {
			t.Fatalf("stats %+v", s)
		}
		close(release)
		synctest.Wait()
		if len(seen) != PipeQueueLen+1 {
			t.Fatalf("delivered %d, want %d", len(seen), PipeQueueLen+1)
		}
		for i, v := range seen {
			if v != uint32(i) {
				t.Fatalf("packet %d is #%d", i, v)
			}
		}
	})
}

func TestPipeBeforeAttach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(1500)
		defer a.Close()
		defer b.Close()
		pb := b.(*PipeEndpoint)
		a.WritePacket([]byte{1})
		synctest.Wait()
		r, ch := collect(10)
		b.Attach(r)
		a.WritePacket([]byte{2})
		synctest.Wait()
		b.Attach(nil)
		a.WritePacket([]byte{3})
		synctest.Wait()
		if len(ch) != 1 || (<-ch)[0] != 2 {
			t.Fatal("want only packet 2 delivered")
		}
		if s := pb.Stats(); s.NoReceiver != 2 || s.Delivered != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// The receiver may close its own end from inside a delivery (a stack
// shutting down on a packet): Close must not wait for itself.
func TestPipeCloseFromReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(1500)
		defer a.Close()
		b.Attach(ReceiverFunc(func([]byte) { b.Close() }))
		a.WritePacket([]byte{1})
		a.WritePacket([]byte{2})
		synctest.Wait()
		if s := b.(*PipeEndpoint).Stats(); s.Delivered != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// In steady state a packet costs no allocation: buffers come back through
// the free list.
func TestPipeZeroAlloc(t *testing.T) {
	a, b := Pipe(1500)
	defer a.Close()
	defer b.Close()
	got := make(chan struct{}, 1)
	b.Attach(ReceiverFunc(func([]byte) { got <- struct{}{} }))
	pkt := make([]byte, 1500)
	step := func() {
		a.WritePacket(pkt)
		<-got
	}
	for range 10 {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Fatalf("%v allocations per packet, want 0", n)
	}
}

// BenchmarkPipe moves packets one way with a window of half the queue,
// like a flow-controlled sender, so nothing is dropped and the figure is
// the link's own cost per packet.
func BenchmarkPipe(b *testing.B) {
	for _, size := range []int{64, 1500, 65535} {
		b.Run(byteSize(size), func(b *testing.B) {
			x, y := Pipe(65535)
			defer x.Close()
			defer y.Close()
			window := make(chan struct{}, PipeQueueLen/2)
			y.Attach(ReceiverFunc(func([]byte) { <-window }))
			pkt := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				window <- struct{}{}
				x.WritePacket(pkt)
			}
			for range cap(window) { // wait for the last deliveries
				window <- struct{}{}
			}
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds(), "pkts/s")
			if s := x.(*PipeEndpoint).Stats(); s.QueueFull != 0 {
				b.Fatalf("dropped %d", s.QueueFull)
			}
		})
	}
}

func byteSize(n int) string {
	switch n {
	case 64:
		return "64B"
	case 1500:
		return "1500B"
	}
	return "64KiB"
}

type batchRecorder struct {
	mu      sync.Mutex
	batches []int
	pkts    []byte
	first   chan struct{} // the first delivery waits for it
}

func (r *batchRecorder) DeliverPacket(p []byte) { r.DeliverBatch([][]byte{p}, false) }
func (r *batchRecorder) DeliverBatch(ps [][]byte, _ bool) {
	r.mu.Lock()
	r.batches = append(r.batches, len(ps))
	for _, p := range ps {
		r.pkts = append(r.pkts, p[0])
	}
	first := len(r.batches) == 1
	r.mu.Unlock()
	if first {
		<-r.first
	}
}

// Packets that queue while the receiver is busy reach a BatchReceiver in
// one call, in order.
func TestPipeBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(1500)
		defer a.Close()
		defer b.Close()
		r := &batchRecorder{first: make(chan struct{})}
		b.Attach(r)
		a.WritePacket([]byte{0})
		synctest.Wait() // the reader is inside the first delivery
		for i := 1; i <= 10; i++ {
			a.WritePacket([]byte{byte(i)})
		}
		close(r.first)
		synctest.Wait()
		r.mu.Lock()
		defer r.mu.Unlock()
		if !slices.Equal(r.batches, []int{1, 10}) {
			t.Errorf("batches %v, want [1 10]", r.batches)
		}
		for i, p := range r.pkts {
			if int(p) != i {
				t.Fatalf("packets %v: out of order", r.pkts)
			}
		}
	})
}
