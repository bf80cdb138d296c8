package interop_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/synack/synack/stack"
)

var (
	full    = flag.Bool("interop.full", false, "run the data tests at the issue's full size: 200 connections of 0–8 MiB each (several minutes)")
	nConns  = flag.Int("interop.conns", 200, "connections per bulk test")
	maxSize = flag.Int("interop.maxsize", 512<<10, "largest transfer of a bulk test connection, bytes (sizes are uniform in 0..maxsize)")
	par     = flag.Int("interop.parallel", 8, "connections at a time in a bulk test")
)

// bulkSizes returns the transfer sizes: 0 and the largest always among
// them, the rest uniform, from a seed so a failure is reproducible.
func bulkSizes(seed uint64) []int {
	n, m := *nConns, *maxSize
	if *full {
		n, m = 200, 8<<20
	}
	r := rand.New(rand.NewPCG(seed, 1))
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = r.IntN(m + 1)
	}
	if n > 0 {
		sizes[0] = 0
	}
	if n > 1 {
		sizes[1] = m
	}
	return sizes
}

// bulkTimeout bounds one bulk test: the default size takes seconds, the
// full one minutes.
func bulkTimeout() time.Duration {
	if *full || *maxSize > 8<<20 {
		return 20 * time.Minute
	}
	return 150 * time.Second
}

// runBulk runs exchange over dial() for every size, par at a time.
func runBulk(t *testing.T, sizes []int, dial func() (net.Conn, error)) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, *par)
		mu    sync.Mutex
		fails []error
		total int64
	)
	start := time.Now()
	for i, n := range sizes {
		total += int64(n)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial()
			if err == nil {
				err = exchange(c, n, uint64(i))
			}
			if err != nil {
				mu.Lock()
				fails = append(fails, fmt.Errorf("connection %d (%d bytes): %w", i, n, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	t.Logf("%d connections, %.1f MiB each way in %v (%.1f MiB/s each way)",
		len(sizes), float64(total)/(1<<20), el.Round(time.Millisecond), float64(total)/(1<<20)/el.Seconds())
	for i, err := range fails {
		if i == 5 {
			t.Errorf("... and %d more", len(fails)-5)
			break
		}
		t.Error(err)
	}
}

// The kernel's clients send random amounts to synack's echo server and
// check by SHA-256 that every byte comes back.
func TestBulkKernelToSynackEcho(t *testing.T) {
	for i, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ln := e.listen(fam.synack)
			go echo(ln)
			addr := ln.Addr().String()
			withTimeout(t, bulkTimeout(), "bulk", func(context.Context) error {
				runBulk(t, bulkSizes(uint64(10+i)), func() (net.Conn, error) {
					return e.kernelDial(net.Dialer{}, addr)
				})
				return nil
			})
			checkNoLeftovers(t, e)
		})
	}
}

// synack's Dial sends random amounts to a kernel echo server and checks
// every byte by SHA-256.
func TestBulkSynackToKernelEcho(t *testing.T) {
	for i, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ln := e.kernelListen(fam.kernel)
			go echo(ln)
			addr := ln.Addr().String()
			withTimeout(t, bulkTimeout(), "bulk", func(context.Context) error {
				runBulk(t, bulkSizes(uint64(20+i)), func() (net.Conn, error) {
					return e.dial(addr)
				})
				return nil
			})
			checkNoLeftovers(t, e)
		})
	}
}

// checkNoLeftovers waits for synack to hold no full connection (TIME-WAIT
// records may remain) and reports its drops and resets.
func checkNoLeftovers(t *testing.T, e *env) {
	t.Helper()
	debugKernel(t, e)
	end := time.Now().Add(10 * time.Second)
	for {
		var conns, tw int
		e.st.Do(func(st *stack.Stack, _ time.Time) {
			c, _, w := st.Len()
			conns, tw = conns+c, tw+w
		})
		if conns == 0 {
			c := e.counters()
			t.Logf("synack: %d TIME-WAIT, in %d out %d segments, %d retransmitted, %d RST sent, %d estab resets",
				tw, c.InSegs, c.OutSegs, c.RetransSegs, c.OutRsts, c.EstabResets)
			if c.EstabResets != 0 {
				t.Errorf("%d connections reset", c.EstabResets)
			}
			return
		}
		if time.Now().After(end) {
			for _, r := range e.snapshot() {
				t.Logf("left: %v %v %v", r.ID, r.State, r.Timers)
			}
			t.Fatalf("%d connections left after the test", conns)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
