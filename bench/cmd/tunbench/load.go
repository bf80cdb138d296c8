package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one measurement found: metric values by key, and notes
// (counters, errors) for the details below the table.
type result struct {
	v    map[string]float64
	note string
}

func newResult() *result { return &result{v: map[string]float64{}} }

func (r *result) notef(format string, args ...any) {
	if r.note != "" {
		r.note += "; "
	}
	r.note += fmt.Sprintf(format, args...)
}

const ioSize = 64 << 10 // every Read and Write of the bulk rows

// bulk: one connection from a kernel socket to the stack. The client
// writes 64 KiB Writes for dur, then half-closes. With app discard, the
// server reads until EOF and closes: the clock stops at the client's EOF,
// when every byte has been delivered and read. With app echo, a reader
// takes back what the server echoes, concurrently, until EOF: the rate is
// of the bytes that came back (each way).
func bulk(e *env, dur time.Duration, r *result) error {
	c, err := e.dial(5 * time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dur + 60*time.Second))
	cpu0 := cpuSeconds(e.srv.pid())
	wbuf := make([]byte, ioSize)
	for i := range wbuf {
		wbuf[i] = byte(i * 7)
	}
	var back atomic.Int64
	readDone := make(chan error, 1)
	start := time.Now()
	go func() {
		rbuf := make([]byte, ioSize)
		for {
			n, err := c.Read(rbuf)
			back.Add(int64(n))
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				readDone <- err
				return
			}
		}
	}()
	var sent int64
	for time.Since(start) < dur {
		n, err := c.Write(wbuf)
		sent += int64(n)
		if err != nil {
			return fmt.Errorf("write after %d bytes: %w", sent, err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	if err := <-readDone; err != nil {
		return fmt.Errorf("read: %w", err)
	}
	el := time.Since(start).Seconds()
	cpu := cpuSeconds(e.srv.pid()) - cpu0
	bytes := sent
	if e.app == "echo" {
		if back.Load() != sent {
			return fmt.Errorf("echo: sent %d bytes, %d came back", sent, back.Load())
		}
	} else if back.Load() != 0 {
		return fmt.Errorf("discard answered %d bytes", back.Load())
	}
	r.v["gbps"] = float64(bytes) * 8 / el / 1e9
	gib := float64(bytes) / (1 << 30)
	if e.app == "echo" {
		gib *= 2 // in and out
	}
	r.v["cpu"] = cpu / gib
	r.notef("%.2f GiB in %.2fs, server CPU %.2fs/GiB", float64(bytes)/(1<<30), el, cpu/gib)
	return nil
}

// pingpong: 1-byte round trips on one connection to the echo app, for dur
// after 200 round trips of warm-up.
func pingpong(e *env, dur time.Duration, r *result) error {
	c, err := e.dial(5 * time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dur + 30*time.Second))
	b := []byte{1}
	rt := func() error {
		if _, err := c.Write(b); err != nil {
			return err
		}
		_, err := io.ReadFull(c, b)
		return err
	}
	for range 200 {
		if err := rt(); err != nil {
			return err
		}
	}
	lat := make([]time.Duration, 0, 1<<20)
	start := time.Now()
	for {
		t0 := time.Now()
		if err := rt(); err != nil {
			return err
		}
		t1 := time.Now()
		lat = append(lat, t1.Sub(t0))
		if t1.Sub(start) >= dur {
			break
		}
	}
	el := time.Since(start).Seconds()
	slices.Sort(lat)
	r.v["rts"] = float64(len(lat)) / el
	r.v["p50"] = float64(pct(lat, 50).Nanoseconds()) / 1e3
	r.v["p99"] = float64(pct(lat, 99).Nanoseconds()) / 1e3
	r.notef("%d round trips, max %v", len(lat), lat[len(lat)-1].Round(time.Microsecond))
	return nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// connRate: clients goroutines (each on a thread of its own inside the
// clients' namespace) each repeat, for dur: connect, write 1 byte, read
// the echo, close. The client closes first, so the client holds
// TIME-WAIT (reused: tcp_tw_reuse=1).
func connRate(e *env, dur time.Duration, clients int, r *result) error {
	var total, failed, slow atomic.Int64
	var firstErr atomic.Value
	var maxLat atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(dur)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.client.enter(); err != nil {
				firstErr.CompareAndSwap(nil, err)
				failed.Add(1)
				return
			}
			d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}
			b := []byte{1}
			for time.Now().Before(end) {
				t0 := time.Now()
				err := func() error {
					c, err := d.Dial("tcp", e.target)
					if err != nil {
						return err
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := c.Write(b); err != nil {
						return err
					}
					_, err = io.ReadFull(c, b)
					return err
				}()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat := time.Since(t0)
				if lat > 500*time.Millisecond {
					slow.Add(1)
				}
				for {
					m := maxLat.Load()
					if int64(lat) <= m || maxLat.CompareAndSwap(m, int64(lat)) {
						break
					}
				}
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	r.v["cps"] = float64(total.Load()) / el
	r.notef("%d cycles, slowest %v", total.Load(), time.Duration(maxLat.Load()).Round(time.Microsecond))
	if slow.Load() > 0 {
		r.notef("%d cycles over 500 ms (a SYN retransmitted?)", slow.Load())
	}
	if failed.Load() > 0 {
		r.notef("%d failed, first: %v", failed.Load(), firstErr.Load())
		if total.Load() == 0 {
			return fmt.Errorf("every cycle failed: %v", firstErr.Load())
		}
	}
	return nil
}

// idleMemory: opens n connections to the app (echo or sink) and holds them
// without sending anything. The memory per connection is the server
// process's RSS after they are all accepted, minus its RSS before (with
// one connection open already, so one-off costs are not counted), over
// n. For the kernel peer, the machine's slab growth over n too (both ends
// of each connection are the kernel's then; it is the whole machine's, so
// other load shows in it).
//
// When the server profiles its heap (e.memprof), the stack's share the
// same way: the growth of the heap in use by the stack's own packages
// (internal/memprof's attribution: the innermost frame of the stack's or
// the application's packages on each allocation's call stack), over n.
// That leaves out the application's goroutines and buffers, the same code
// on every stack, whose cost the kernel server's RSS bounds from above:
// its process holds little but them.
func idleMemory(e *env, n int, settle time.Duration, r *result) error {
	first, err := e.dial(5 * time.Second)
	if err != nil {
		return err
	}
	conns := []net.Conn{first}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	errLog := e.logPath("stderr")
	accepted := func() int {
		b, _ := os.ReadFile(errLog)
		return strings.Count(string(b), "msg=accepted")
	}
	waitFor := func(want int, d time.Duration) int {
		end := time.Now().Add(d)
		for {
			got := accepted()
			if got >= want || time.Now().After(end) {
				return got
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if waitFor(1, 5*time.Second) < 1 {
		return errors.New("the first connection was not accepted")
	}
	time.Sleep(settle / 3)
	rss0, err := rssKB(e.srv.pid())
	if err != nil {
		return fmt.Errorf("%v (server: %v)", err, e.srv.err)
	}
	slab0, _ := slabKB()
	var stack0, app0 int64
	if e.memprof != "" {
		if stack0, app0, _, err = e.heapFigures(); err != nil {
			return err
		}
	}

	const workers = 16
	var mu sync.Mutex
	var failed int
	var firstErr error
	var wg sync.WaitGroup
	for w := range workers {
		share := n / workers
		if w < n%workers {
			share++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.client.enter(); err != nil {
				mu.Lock()
				failed += share
				firstErr = err
				mu.Unlock()
				return
			}
			d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1}
			local := make([]net.Conn, 0, share)
			for range share {
				c, err := d.Dial("tcp", e.target)
				if err != nil {
					mu.Lock()
					failed++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				local = append(local, c)
			}
			mu.Lock()
			conns = append(conns, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	opened := len(conns) - 1
	if failed > 0 {
		r.notef("%d of %d connects failed, first: %v", failed, n, firstErr)
	}
	if opened == 0 {
		return fmt.Errorf("no connection opened: %v", firstErr)
	}
	got := waitFor(1+opened, 20*time.Second) - 1
	if got < opened {
		r.notef("only %d of %d connections accepted", got, opened)
	}
	// Let the RSS settle: until two readings 250 ms apart differ by less
	// than 0.2 %, for at most 5 s.
	time.Sleep(settle / 2)
	rss1, err := rssKB(e.srv.pid())
	if err != nil {
		return err
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		time.Sleep(250 * time.Millisecond)
		v, err := rssKB(e.srv.pid())
		if err != nil {
			return err
		}
		d := v - rss1
		rss1 = v
		if d < 0 {
			d = -d
		}
		if float64(d) < 0.002*float64(v) {
			break
		}
	}
	slab1, _ := slabKB()
	per := float64(got)
	if per <= 0 {
		return errors.New("no connection accepted")
	}
	r.v["kb"] = float64(rss1-rss0) / per
	r.v["slab"] = float64(slab1-slab0) / per
	r.notef("%d connections, RSS %d → %d KiB, machine slab Δ %.2f KiB/conn", got, rss0, rss1, r.v["slab"])
	if e.memprof != "" {
		stack1, app1, sites, err := e.heapFigures()
		if err != nil {
			return err
		}
		r.v["stack"] = float64(stack1-stack0) / 1024 / per
		r.notef("heap in use by the stack %d → %d KiB, by the app %d → %d KiB (%.2f KiB/conn); the stack's largest: %s",
			stack0>>10, stack1>>10, app0>>10, app1>>10, float64(app1-app0)/1024/per, strings.Join(sites[:min(len(sites), 6)], ", "))
	}
	return nil
}
