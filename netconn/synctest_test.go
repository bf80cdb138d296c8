package netconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// A user's test in virtual time: a connection with keepalive (2 h idle,
// 75 s interval, 9 probes, Linux's defaults) whose peer vanishes. Read
// blocks until keepalive gives up, 2 h 11 min 15 s of virtual time after
// the last segment from the peer, and fails with ETIMEDOUT; the test takes
// milliseconds of real time.
func TestKeepAliveDeadPeer(t *testing.T) {
	real0 := time.Now()
	synctest.Test(t, func(t *testing.T) {
		var off atomic.Bool
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, dead(&off))
		ln, err := h.b.Listen("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}()
		d := Dialer{Stack: h.a, KeepAliveConfig: net.KeepAliveConfig{
			Enable: true, Idle: 2 * time.Hour, Interval: 75 * time.Second, Count: 9,
		}}
		c, err := d.Dial("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		c.Write([]byte("ping"))
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // every segment of the exchange has landed
		last := time.Now()
		off.Store(true) // the peer is gone: nothing more in or out

		_, err = c.Read(buf)
		wantOpError(t, err, "read", syscall.ETIMEDOUT)
		if got, want := time.Since(last), 2*time.Hour+9*75*time.Second; got != want {
			t.Errorf("keepalive gave up after %v, want %v", got, want)
		}
	})
	t.Logf("2h11m15s of virtual time in %v of real time", time.Since(real0))
}

// Keepalive follows package net's Dialer: the zero Dialer turns it on
// with 15 s idle, 15 s interval and 9 probes (a dead peer is found after
// 150 s); a negative KeepAlive turns it off (the connection outlives a
// dead peer until its own deadline).
func TestKeepAliveDialerDefaults(t *testing.T) {
	tests := []struct {
		name  string
		d     Dialer
		after time.Duration // until Read fails
		err   error
	}{
		{"zero Dialer: on, 15s/15s/9", Dialer{}, 15*time.Second + 9*15*time.Second, syscall.ETIMEDOUT},
		{"KeepAlive 1m: idle 1m, interval 15s", Dialer{KeepAlive: time.Minute}, time.Minute + 9*15*time.Second, syscall.ETIMEDOUT},
		{"Config counts, interval default", Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: time.Second, Count: 2}}, time.Second + 2*15*time.Second, syscall.ETIMEDOUT},
		{"negative KeepAlive: off", Dialer{KeepAlive: -1}, 3 * time.Hour, os.ErrDeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var off atomic.Bool
				h := newHosts(t, stack.Config{}, stack.Config{}, nil, dead(&off))
				ln, err := h.b.Listen("tcp", addrB)
				if err != nil {
					t.Fatal(err)
				}
				go ln.Accept()
				d := tt.d
				d.Stack = h.a
				c, err := d.Dial("tcp", addrB)
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				start := time.Now()
				off.Store(true)
				c.SetReadDeadline(start.Add(3 * time.Hour))
				_, err = c.Read(make([]byte, 1))
				wantOpError(t, err, "read", tt.err)
				if got := time.Since(start); got != tt.after {
					t.Errorf("Read failed after %v, want %v", got, tt.after)
				}
			})
		})
	}
}

// The setters of *net.TCPConn change the keepalive timer as Go's do on
// Linux: SetKeepAlivePeriod sets the idle time only; SetKeepAlive(false)
// stops the timer.
func TestKeepAliveSetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca, _, _ := h.connect(t)
		timer := func() (time.Duration, bool) {
			var d time.Duration
			var ok bool
			h.a.Do(func(st *stack.Stack, now time.Time) {
				for _, ci := range st.Snapshot() {
					if ci.Local.String() == ca.LocalAddr().String() {
						var at time.Time
						at, ok = ci.Timers[tcp.TimerKeepalive]
						d = at.Sub(now)
					}
				}
			})
			return d, ok
		}
		if d, ok := timer(); !ok || d != 15*time.Second {
			t.Errorf("after Dial: keepalive in %v (armed %v), want 15s", d, ok)
		}
		ca.SetKeepAlivePeriod(time.Hour)
		if d, ok := timer(); !ok || d != time.Hour {
			t.Errorf("after SetKeepAlivePeriod(1h): keepalive in %v (armed %v), want 1h", d, ok)
		}
		ca.SetKeepAlive(false)
		if _, ok := timer(); ok {
			t.Error("after SetKeepAlive(false): keepalive timer still armed")
		}
		ca.SetKeepAlivePeriod(time.Minute) // does not turn it on
		if _, ok := timer(); ok {
			t.Error("SetKeepAlivePeriod turned keepalive on")
		}
		ca.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: -1})
		if d, ok := timer(); !ok || d != time.Minute {
			t.Errorf("after SetKeepAliveConfig{Idle: -1}: keepalive in %v (armed %v), want the 1m kept", d, ok)
		}
	})
}

// Echo over a lossy, duplicating, reordering, delaying link in both
// directions, in virtual time with the stack's default (Linux) RTOs: the
// bytes come back intact and in order.
func TestEchoLossy(t *testing.T) {
	real0 := time.Now()
	var elapsed time.Duration
	synctest.Test(t, func(t *testing.T) {
		f := link.Faults{Loss: 0.05, Dup: 0.01, Reorder: 0.05, Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}
		h := newHosts(t, stack.Config{}, stack.Config{}, faulty(f, 1), faulty(f, 2))
		ln, err := h.b.Listen("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}()
		start := time.Now()
		c, err := h.a.Dial("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 1<<20)
		rand.NewChaCha8([32]byte{1}).Read(want)
		go func() {
			c.Write(want)
			c.(*Conn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("echoed %d bytes, differing from the %d sent", len(got), len(want))
		}
		c.Close()
		elapsed = time.Since(start)
		st := h.ea.(*link.Faulty).Stats()
		if st.Dropped == 0 || st.Reordered == 0 || st.Duplicated == 0 {
			t.Errorf("faults did not happen: %+v", st)
		}
	})
	t.Logf("1 MiB echoed over a lossy link: %v of virtual time, %v of real time", elapsed, time.Since(real0))
}

// Stack.Close is a process exit: each peer gets a FIN (EOF), or a RST
// where data was left unread (ECONNRESET); the closed side's Conns,
// Listeners and Dials fail with net.ErrClosed.
func TestStackClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca1, cb1, ln := h.connect(t)
		go ln.Accept()
		ca2, err := h.a.Dial("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		ca2.Write([]byte("the peer will exit without reading this")) // unread at B
		ln2, err := h.a.Listen("tcp", ":8080")
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		acceptErr := make(chan error, 1)
		go func() { _, err := ln2.Accept(); acceptErr <- err }()
		readErr := make(chan error, 1)
		go func() { _, err := ca1.Read(make([]byte, 1)); readErr <- err }()
		synctest.Wait()

		if err := h.b.Close(); err != nil {
			t.Fatal(err)
		}
		if n, err := ca1.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("peer of a closed stack: Read = %d, %v; want FIN (io.EOF)", n, err)
		}
		if err := <-readErr; err != io.EOF {
			t.Errorf("Read blocked when the peer's stack closed: %v, want io.EOF", err)
		}
		_, err = ca2.Read(make([]byte, 1))
		wantOpError(t, err, "read", syscall.ECONNRESET)
		_, err = cb1.Read(make([]byte, 1))
		wantOpError(t, err, "read", net.ErrClosed)
		if err := h.b.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Stack.Close: %v, want net.ErrClosed", err)
		}
		_, err = h.b.Dial("tcp", "192.0.2.1:8080")
		wantOpError(t, err, "dial", net.ErrClosed)
		if _, err := h.b.Listen("tcp", ":81"); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Listen on a closed stack: %v, want net.ErrClosed", err)
		}

		// A Dial in progress when the stack closes fails too.
		var off atomic.Bool
		off.Store(true)
		h2 := newHosts(t, stack.Config{}, stack.Config{}, nil, dead(&off))
		dialErr := make(chan error, 1)
		go func() { _, err := h2.a.Dial("tcp", addrB); dialErr <- err }()
		synctest.Wait()
		h2.a.Close()
		h.a.Close()
		wantOpError(t, <-dialErr, "dial", net.ErrClosed)
		if err := <-acceptErr; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept on a closed stack: %v, want net.ErrClosed", err)
		}
	})
}

// IPv6 works the same, and a listener on port 0 gets a free port.
func TestIPv6AndPortZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ea, eb := link.Pipe(1500)
		a, b := New(stack.Config{}), New(stack.Config{})
		defer a.Close()
		defer b.Close()
		a.AddLink(ea, netip.MustParsePrefix("2001:db8::1/64"))
		b.AddLink(eb, netip.MustParsePrefix("2001:db8::2/64"))
		ln, err := b.Listen("tcp6", "[2001:db8::2]:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().(*net.TCPAddr)
		if addr.Port == 0 || !addr.IP.Equal(net.ParseIP("2001:db8::2")) {
			t.Fatalf("Addr() = %v, want 2001:db8::2 and a port", addr)
		}
		ln2, err := b.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		if p := ln2.Addr().(*net.TCPAddr).Port; p == addr.Port || p == 0 {
			t.Errorf("second port-0 listener got port %d (first %d)", p, addr.Port)
		}
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Write([]byte("hello over IPv6"))
				c.Close()
			}
		}()
		c, err := a.Dial("tcp6", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := c.RemoteAddr().String(); got != addr.String() {
			t.Errorf("RemoteAddr = %s, want %s", got, addr)
		}
		if la := c.LocalAddr().(*net.TCPAddr); !la.IP.Equal(net.ParseIP("2001:db8::1")) || la.Port == 0 {
			t.Errorf("LocalAddr = %v", la)
		}
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "hello over IPv6" {
			t.Errorf("read %q, %v", got, err)
		}
	})
}

// Small buffers: every Write waits for room many times and every Read
// reopens a closed window, so the wake-ups of both directions are used
// over and over, both ways at once.
func TestSmallBuffers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := stack.Config{TCP: tcp.Config{RcvBuf: 4096, SndBuf: 4096, MSS: 536}}
		h := newHosts(t, cfg, cfg, nil, nil)
		ca, cb, _ := h.connect(t)
		go func() {
			io.Copy(cb, cb)
			cb.Close()
		}()
		want := make([]byte, 256<<10)
		rand.NewChaCha8([32]byte{2}).Read(want)
		go func() {
			ca.Write(want)
			ca.CloseWrite()
		}()
		got, err := io.ReadAll(ca)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("echoed %d bytes (%v), want the %d sent", len(got), err, len(want))
		}
	})
}

// Dialer.LocalAddr fixes the local address and port; a second connection
// from the same address and port to the same peer is EADDRINUSE.
func TestDialerLocalAddr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ln, err := h.b.Listen("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				if _, err := ln.Accept(); err != nil {
					return
				}
			}
		}()
		d := Dialer{Stack: h.a, LocalAddr: &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5555}}
		c, err := d.Dial("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.LocalAddr().String(); got != "192.0.2.1:5555" {
			t.Errorf("LocalAddr = %s, want 192.0.2.1:5555", got)
		}
		_, err = d.Dial("tcp", addrB)
		wantOpError(t, err, "dial", syscall.EADDRINUSE)
		d.LocalAddr = &net.TCPAddr{Port: 0}
		if _, err := d.Dial("tcp", addrB); err != nil {
			t.Errorf("Dial from an unspecified LocalAddr: %v", err)
		}
	})
}

// ListenConfig: KeepAlive applies to accepted connections as in package
// net (zero: on, 15 s; negative: off), and Backlog bounds the accept
// queue (a SYN finding it full is dropped, so a dial waits).
func TestListenConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		keepaliveIn := func(c net.Conn) (time.Duration, bool) {
			var d time.Duration
			var ok bool
			h.b.Do(func(st *stack.Stack, now time.Time) {
				for _, ci := range st.Snapshot() {
					if ci.Local.String() == c.LocalAddr().String() && ci.Remote.String() == c.RemoteAddr().String() {
						if at, on := ci.Timers[tcp.TimerKeepalive]; on {
							d, ok = at.Sub(now), true
						}
					}
				}
			})
			return d, ok
		}
		for _, tt := range []struct {
			lc     ListenConfig
			want   time.Duration
			wantOn bool
		}{
			{ListenConfig{}, 15 * time.Second, true},
			{ListenConfig{KeepAlive: time.Minute}, time.Minute, true},
			{ListenConfig{KeepAlive: -1}, 0, false},
			{ListenConfig{KeepAlive: -1, KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: time.Hour}}, time.Hour, true},
		} {
			lc := tt.lc
			lc.Stack = h.b
			ln, err := lc.Listen(t.Context(), "tcp", "192.0.2.2:0")
			if err != nil {
				t.Fatal(err)
			}
			go h.a.Dial("tcp", ln.Addr().String())
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			if d, on := keepaliveIn(c); on != tt.wantOn || d != tt.want {
				t.Errorf("%+v: accepted conn keepalive in %v (on %v), want %v (on %v)", tt.lc, d, on, tt.want, tt.wantOn)
			}
			c.Close()
			ln.Close()
		}

		lc := ListenConfig{Stack: h.b, Backlog: 1}
		ln, err := lc.Listen(t.Context(), "tcp", "192.0.2.2:81")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.a.Dial("tcp", "192.0.2.2:81"); err != nil {
			t.Fatal(err)
		}
		d := Dialer{Stack: h.a, Timeout: 10 * time.Second}
		_, err = d.Dial("tcp", "192.0.2.2:81")
		wantOpError(t, err, "dial", context.DeadlineExceeded)
		ln.Accept()
		if _, err := d.Dial("tcp", "192.0.2.2:81"); err != nil {
			t.Errorf("Dial once the queue has room: %v", err)
		}
	})
}

// A burst of dials larger than listen(2)'s old default of 128, made while
// the application is not accepting, all complete at once: a netconn
// listener's accept queue is Go's on Linux (somaxconn, 4096), so no SYN is
// dropped for a full queue to wait an initial RTO. Then Accept returns
// every one.
func TestDefaultBacklogTakesABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The burst puts up to 1000 SYNs and then 1000 ACKs in the link at
		// once: a ring of PipeQueueLen (1024) would drop some, and the
		// 1 s SYN retry would count against the backlog, which is what
		// this test is about.
		ea, eb := link.PipeQueue(1500, 4096)
		h := newHostsOn(t, ea, eb, stack.Config{}, stack.Config{}, nil, nil)
		ln, err := h.b.Listen("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		const n = 1000
		errs := make(chan error, n)
		d := Dialer{Stack: h.a, Timeout: 500 * time.Millisecond}
		for range n {
			go func() {
				c, err := d.Dial("tcp", addrB)
				if err == nil {
					defer c.Close()
				}
				errs <- err
			}()
		}
		failed := 0
		for range n {
			if err := <-errs; err != nil {
				failed++
			}
		}
		if failed > 0 {
			t.Fatalf("%d of %d dials failed within 500 ms", failed, n)
		}
		for i := range n {
			c, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept %d: %v", i, err)
			}
			c.Close()
		}
		h.b.Do(func(st *stack.Stack, _ time.Time) {
			if o := st.Counters().ListenOverflows; o != 0 {
				t.Errorf("ListenOverflows = %d, want 0", o)
			}
		})
	})
}

// dataSegs counts the segments with data a stack sends.
type dataSegs struct{ n atomic.Int64 }

func (d *dataSegs) SegmentSent(_ time.Time, _ stack.ID, s *wire.Segment, _ tcp.Cause) {
	if len(s.Payload) > 0 {
		d.n.Add(1)
	}
}
func (d *dataSegs) SegmentReceived(time.Time, stack.ID, *wire.Segment) {}
func (d *dataSegs) PacketDropped(time.Time, stack.Drop, error)         {}
func (d *dataSegs) ConnEvent(time.Time, stack.ID, *tcp.Event)          {}

// Go's default is no-delay: 100 one-byte Writes are 100 segments. With
// Nagle's algorithm on (SetNoDelay(false)) the Writes made while data is
// in flight are held until the ACK and sent together; none is lost or
// stuck.
func TestNoDelay(t *testing.T) {
	for _, nagle := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var segs dataSegs
			h := newHosts(t, stack.Config{Observer: &segs}, stack.Config{}, nil, nil)
			ca, cb, _ := h.connect(t)
			if nagle {
				if err := ca.SetNoDelay(false); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 100 {
				if _, err := ca.Write([]byte{byte(i)}); err != nil {
					t.Fatal(err)
				}
			}
			ca.CloseWrite()
			got, err := io.ReadAll(cb)
			if err != nil || len(got) != 100 {
				t.Fatalf("read %d bytes, %v; want 100", len(got), err)
			}
			for i, b := range got {
				if b != byte(i) {
					t.Fatalf("byte %d = %d", i, b)
				}
			}
			n := segs.n.Load()
			t.Logf("Nagle %v: %d data segments for 100 one-byte writes", nagle, n)
			if nagle && n > 3 || !nagle && n != 100 {
				t.Errorf("Nagle %v: %d data segments for 100 one-byte writes", nagle, n)
			}
		})
	}
}
