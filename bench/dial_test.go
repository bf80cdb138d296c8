package bench

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// dialPorts spreads the dials over several listening ports: one
// destination has 28,232 ephemeral ports (32768–60999, as Linux), so
// 100k connections from one address need four.
const dialPorts = 4

// BenchmarkDialHeld dials held connections from one host to another,
// dialInFlight at a time, and keeps every one open to the end: the
// latency of each dial (connect(2) to ESTABLISHED) at p50 and p99, as the
// table of connections grows. The p99 should stay flat from 1k to 100k;
// a SYN dropped and retried shows as a p99 of about 1 s. One op is the
// whole run; use -benchtime 1x.
func BenchmarkDialHeld(b *testing.B) {
	for _, held := range []int{1_000, 16_000, 100_000} {
		for _, name := range []string{"synack", "gvisor"} {
			b.Run(fmt.Sprintf("held=%dk/%s", held/1000, name), func(b *testing.B) {
				if name == "gvisor" && held > 16_000 {
					b.Skip("gVisor is measured up to 16k held connections (memory)")
				}
				var p50, p99 time.Duration
				for range b.N {
					a, z := dialHeld(b, name, held)
					p50, p99 = p50+a, p99+z
				}
				b.ReportMetric(float64(p50.Microseconds())/float64(b.N), "p50-µs")
				b.ReportMetric(float64(p99.Microseconds())/float64(b.N), "p99-µs")
			})
		}
	}
}

// dialInFlight is how many dials are outstanding at once.
const dialInFlight = 64

func dialHeld(b *testing.B, name string, held int) (p50, p99 time.Duration) {
	b.StopTimer()
	p, err := newPeer(name, linkOpts{mtu: 1500})
	if err != nil {
		b.Fatal(err)
	}
	defer p.close()
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	keep := func(c net.Conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() }
	var addrs []string
	for range dialPorts {
		ln, err := p.listen()
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				keep(c)
			}
		}()
	}
	lat := make([]time.Duration, held)
	errs := make(chan error, 1)
	sem := make(chan struct{}, dialInFlight)
	var wg sync.WaitGroup
	b.StartTimer()
	for i := range held {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			c, err := p.dial(addrs[i%dialPorts])
			lat[i] = time.Since(t0)
			if err != nil {
				select {
				case errs <- fmt.Errorf("dial %d: %w", i, err):
				default:
				}
				return
			}
			keep(c)
		}()
	}
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	slices.Sort(lat)
	return lat[held/2], lat[held*99/100]
}
