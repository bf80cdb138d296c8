package bench

import (
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

func bRun(b *testing.B) func(string, func(testing.TB)) bool {
	return func(name string, f func(testing.TB)) bool {
		return b.Run(name, func(b *testing.B) { f(b) })
	}
}

// connect serves handle on p and dials it once; stop tears both down.
func connect(tb testing.TB, p peer, handle func(net.Conn)) (c net.Conn, stop func()) {
	srv, err := serve(p, handle)
	if err != nil {
		tb.Fatal(err)
	}
	c, err = p.dial(srv.addr)
	if err != nil {
		srv.stop()
		tb.Fatal(err)
	}
	return c, func() { c.Close(); srv.stop() }
}

// BenchmarkBulk is one connection's bulk throughput: the client writes
// b.N × 64 KiB in Writes of 64 KiB, the server reads (64 KiB Reads) and
// discards, and the clock stops when the server has read the last byte.
func BenchmarkBulk(b *testing.B) {
	for _, lc := range linkCases {
		b.Run(lc.name, func(b *testing.B) {
			forEachPeer(b, bRun(b), lc.opts, func(tb testing.TB, p peer) {
				b := tb.(*testing.B)
				c, stop := connect(b, p, sink)
				defer stop()
				buf := make([]byte, ioSize)
				// With loss, a round that makes no progress for 10 s is a
				// stall (see README.md), not a slow transfer: an RTO backed
				// off that far needs ~6 losses of one segment in a row.
				var stall time.Duration
				if lc.opts.loss > 0 {
					stall = 10 * time.Second
				}
				// Warm up: past slow start, buffers grown.
				if err := sendRound(c, buf, 1<<20, stall); err != nil {
					b.Fatal(err, diagnose(p))
				}
				b.SetBytes(ioSize)
				b.ResetTimer()
				if err := sendRound(c, buf, int64(b.N)*ioSize, stall); err != nil {
					b.Fatalf("%s stalled after part of %d bytes: %v%s", p.name(), int64(b.N)*ioSize, err, diagnose(p))
				}
			})
		})
	}
}

// cycleListeners is how many listening ports BenchmarkOpenEchoClose
// spreads its connections over. Each cycle leaves a TIME-WAIT at the
// client, 60 s long on all three peers, and a client has 28,232 ephemeral
// ports (32768–60999) per destination: on one listener, a peer doing more
// cycles than that within a minute would measure its TIME-WAIT reuse
// instead of a cycle, and a faster peer (larger b.N) would hit that
// sooner than a slower one. 16 listeners give 450,000 cycles of headroom.
const cycleListeners = 16

// BenchmarkOpenEchoClose is connection cycles: dial, write one byte, the
// server echoes it, the client reads it and closes (the active close, so
// the client's stack holds TIME-WAIT), the server reads EOF and closes.
func BenchmarkOpenEchoClose(b *testing.B) {
	forEachPeer(b, bRun(b), linkOpts{mtu: 1500}, func(tb testing.TB, p peer) {
		b := tb.(*testing.B)
		var addrs []string
		for range cycleListeners {
			srv, err := serve(p, echo)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.stop()
			addrs = append(addrs, srv.addr)
		}
		var one [1]byte
		b.ResetTimer()
		for i := range b.N {
			c, err := p.dial(addrs[i%len(addrs)])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(one[:]); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, one[:]); err != nil {
				b.Fatal(err)
			}
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
	})
}

// BenchmarkPingPong is 1-byte round trips on one connection.
func BenchmarkPingPong(b *testing.B) {
	forEachPeer(b, bRun(b), linkOpts{mtu: 1500}, func(tb testing.TB, p peer) {
		b := tb.(*testing.B)
		c, stop := connect(b, p, echo)
		defer stop()
		var one [1]byte
		b.ResetTimer()
		for range b.N {
			if _, err := c.Write(one[:]); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, one[:]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rt/s")
	})
}

// idleConns is how many connections BenchmarkIdleConnMemory opens.
const idleConns = 2000

// BenchmarkIdleConnMemory is the Go heap held per idle ESTABLISHED
// connection endpoint: each op opens idleConns connections between fresh
// hosts and measures HeapAlloc (after GC) before and after; B/conn is the
// difference over the 2 × idleConns endpoints (client and server ends,
// each with its net.Conn), averaged over the ops. The kernel's sockets are
// not in the Go heap, so linux is skipped.
func BenchmarkIdleConnMemory(b *testing.B) {
	for _, name := range peerNames {
		b.Run(name, func(b *testing.B) {
			if name == "linux" {
				b.Skip("kernel socket memory is not in the Go heap")
			}
			var total float64
			for range b.N {
				total += idleConnBytes(b, name)
			}
			b.ReportMetric(total/float64(b.N), "B/conn")
		})
	}
}

func idleConnBytes(b *testing.B, name string) float64 {
	b.StopTimer()
	p, err := newPeer(name, linkOpts{mtu: 1500})
	if err != nil {
		b.Fatal(err)
	}
	defer p.close()
	var (
		mu       sync.Mutex
		accepted = make([]net.Conn, 0, idleConns)
		all      = make(chan struct{})
	)
	srv, err := serve(p, func(c net.Conn) {
		mu.Lock()
		accepted = append(accepted, c)
		if len(accepted) == idleConns {
			close(all)
		}
		mu.Unlock()
	})
	if err != nil {
		b.Fatal(err)
	}
	dialed := make([]net.Conn, 0, idleConns)
	// One connection first, so that what every stack allocates once (a
	// listener's queue, the first table entries) is not counted.
	warm, err := p.dial(srv.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer warm.Close()
	time.Sleep(50 * time.Millisecond)
	before := heapAfterGC()
	b.StartTimer()
	for range idleConns - 1 {
		c, err := p.dial(srv.addr)
		if err != nil {
			b.Fatal(err)
		}
		dialed = append(dialed, c)
	}
	<-all
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // let the last ACKs land
	after := heapAfterGC()
	runtime.KeepAlive(dialed)
	for _, c := range dialed {
		c.Close()
	}
	mu.Lock()
	for _, c := range accepted {
		c.Close()
	}
	mu.Unlock()
	srv.stop()
	return float64(after-before) / float64(2*(idleConns-1))
}

func heapAfterGC() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkSteadyStateAllocs is heap allocations per full-sized segment
// (1448 payload bytes at MTU 1500 with timestamps) in a steady bulk
// transfer, counted over the whole process: both stacks, the link, and
// the client and server loops. allocs/op is allocations per segment.
func BenchmarkSteadyStateAllocs(b *testing.B) {
	const mtu = 1500
	for _, name := range peerNames {
		b.Run(name, func(b *testing.B) {
			if name == "linux" {
				b.Skip("the kernel's segments are not Go allocations")
			}
			p, err := newPeer(name, linkOpts{mtu: mtu})
			if err != nil {
				b.Fatal(err)
			}
			defer p.close()
			c, stop := connect(b, p, sink)
			defer stop()
			buf := make([]byte, ioSize)
			// Warm up: pools, free lists and buffers at their steady size.
			for range 4 {
				if err := sendRound(c, buf, 4<<20, 0); err != nil {
					b.Fatal(err)
				}
			}
			seg := int64(mss(mtu))
			b.SetBytes(seg)
			b.ReportAllocs()
			b.ResetTimer()
			if err := sendRound(c, buf, int64(b.N)*seg, 0); err != nil {
				b.Fatal(err)
			}
		})
	}
}
