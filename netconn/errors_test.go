package netconn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// These tests run in a synctest bubble: time is virtual, so a timeout of
// seconds passes at once and the time it took is exact.

// wantOpError checks that err is a *net.OpError for op whose chain holds
// target, as errors.Is sees it with the kernel's sockets.
func wantOpError(t *testing.T, err error, op string, target error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T), want a *net.OpError", err, err)
	}
	if oe.Op != op || oe.Net != "tcp" {
		t.Errorf("OpError{Op: %q, Net: %q}, want Op %q, Net \"tcp\"", oe.Op, oe.Net, op)
	}
	if !errors.Is(err, target) {
		t.Errorf("error %v does not wrap %v", err, target)
	}
}

// dead returns a fault wrapper that drops every packet both ways once
// *off is set: a peer that vanished without a word.
func dead(off *atomic.Bool) func(link.Endpoint) link.Endpoint {
	return faulty(link.Faults{Dir: link.Both, Drop: func([]byte) bool { return off.Load() }}, 1)
}

// Dialing a port with no listener: the peer answers RST (RFC 9293
// §3.10.7.1), the dial fails with ECONNREFUSED.
func TestDialRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		_, err := h.a.Dial("tcp", "192.0.2.2:81")
		wantOpError(t, err, "dial", syscall.ECONNREFUSED)
		if oe := err.(*net.OpError); oe.Addr.String() != "192.0.2.2:81" {
			t.Errorf("OpError.Addr = %v", oe.Addr)
		}
	})
}

// SYNs into a black hole: after SynRetries retransmissions with
// exponential back-off (1 s, 2 s, then 4 s waiting for the last) the dial
// fails with ETIMEDOUT.
func TestDialTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var off atomic.Bool
		off.Store(true)
		h := newHosts(t, stack.Config{TCP: tcp.Config{SynRetries: 2}}, stack.Config{}, nil, dead(&off))
		start := time.Now()
		_, err := h.a.Dial("tcp", addrB)
		wantOpError(t, err, "dial", syscall.ETIMEDOUT)
		if got, want := time.Since(start), 7*time.Second; got != want {
			t.Errorf("gave up after %v, want %v", got, want)
		}
	})
}

// DialContext: cancelling the context aborts the attempt, returns the
// context's error, and leaves nothing in the stack.
func TestDialContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var off atomic.Bool
		off.Store(true)
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, dead(&off))
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(500*time.Millisecond, cancel)
		_, err := h.a.DialContext(ctx, "tcp", addrB)
		wantOpError(t, err, "dial", context.Canceled)
		wantNoConns(t, h.a)

		// A Dialer's Timeout is a deadline: DeadlineExceeded, Timeout().
		start := time.Now()
		d := Dialer{Stack: h.a, Timeout: 2 * time.Second}
		_, err = d.Dial("tcp", addrB)
		wantOpError(t, err, "dial", context.DeadlineExceeded)
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("%v: Timeout() = false, want true", err)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("timed out after %v, want 2s", got)
		}
		wantNoConns(t, h.a)

		// An already-cancelled context fails before any SYN.
		_, err = h.a.DialContext(ctx, "tcp", addrB)
		wantOpError(t, err, "dial", context.Canceled)
	})
}

func wantNoConns(t *testing.T, s *Stack) {
	t.Helper()
	s.Do(func(st *stack.Stack, _ time.Time) {
		if c, h, _ := st.Len(); c != 0 || h != 0 {
			t.Errorf("stack holds %d connections, %d half-open; want none", c, h)
		}
	})
}

// The peer's SetLinger(0) + Close sends RST: Read fails with ECONNRESET.
func TestReadReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca, cb, _ := h.connect(t)
		if err := cb.SetLinger(0); err != nil {
			t.Fatal(err)
		}
		if err := cb.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := ca.Read(make([]byte, 10))
		wantOpError(t, err, "read", syscall.ECONNRESET)
		_, err = ca.Write([]byte("x"))
		wantOpError(t, err, "write", syscall.ECONNRESET)
	})
}

// Close with data received and never read resets the connection, as Linux
// does (RFC 2525 §2.17).
func TestCloseUnreadResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca, cb, _ := h.connect(t)
		if _, err := ca.Write([]byte("unread")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the data has arrived at B
		cb.Close()
		_, err := ca.Read(make([]byte, 10))
		wantOpError(t, err, "read", syscall.ECONNRESET)
	})
}

// Deadlines: a Read blocked past its deadline fails with a timeout that
// wraps os.ErrDeadlineExceeded; moving the deadline while blocked takes
// effect; a past deadline fails at once even with data waiting; a cleared
// deadline lets the data through.
func TestDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca, cb, _ := h.connect(t)
		buf := make([]byte, 10)

		start := time.Now()
		ca.SetReadDeadline(start.Add(time.Second))
		_, err := ca.Read(buf)
		wantOpError(t, err, "read", os.ErrDeadlineExceeded)
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("%v: Timeout() = false, want true", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("Read timed out after %v, want 1s", got)
		}

		// Extended while blocked: from 1 s to 3 s at 0.5 s.
		start = time.Now()
		ca.SetReadDeadline(start.Add(time.Second))
		time.AfterFunc(500*time.Millisecond, func() { ca.SetReadDeadline(start.Add(3 * time.Second)) })
		_, err = ca.Read(buf)
		wantOpError(t, err, "read", os.ErrDeadlineExceeded)
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("Read timed out after %v, want 3s", got)
		}

		// Moved into the past while blocked: fails at once.
		start = time.Now()
		ca.SetReadDeadline(time.Time{})
		time.AfterFunc(time.Second, func() { ca.SetReadDeadline(time.Unix(1, 0)) })
		_, err = ca.Read(buf)
		wantOpError(t, err, "read", os.ErrDeadlineExceeded)
		if got := time.Since(start); got != time.Second {
			t.Errorf("Read timed out after %v, want 1s", got)
		}

		// A past deadline wins over data already there.
		if _, err := cb.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		_, err = ca.Read(buf)
		wantOpError(t, err, "read", os.ErrDeadlineExceeded)
		ca.SetReadDeadline(time.Time{})
		if n, err := ca.Read(buf); err != nil || string(buf[:n]) != "data" {
			t.Fatalf("Read = %q, %v; want \"data\"", buf[:n], err)
		}

		// Write: the peer reads nothing, the buffers fill, the deadline
		// ends the Write with how much was queued.
		start = time.Now()
		ca.SetWriteDeadline(start.Add(5 * time.Second))
		n, err := ca.Write(make([]byte, 4<<20))
		wantOpError(t, err, "write", os.ErrDeadlineExceeded)
		if n == 0 || n >= 4<<20 {
			t.Errorf("Write queued %d bytes, want some but not all", n)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("Write timed out after %v, want 5s", got)
		}
		_, err = ca.Write([]byte("x"))
		wantOpError(t, err, "write", os.ErrDeadlineExceeded)
	})
}

// After Close every method fails with net.ErrClosed, and Close wakes a
// Read, a Write and an Accept that are blocked.
func TestClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca, cb, ln := h.connect(t)

		readErr := make(chan error, 1)
		go func() {
			_, err := ca.Read(make([]byte, 10))
			readErr <- err
		}()
		writeErr := make(chan error, 1)
		go func() {
			_, err := ca.Write(make([]byte, 4<<20)) // B never reads: blocks
			writeErr <- err
		}()
		acceptErr := make(chan error, 1)
		go func() {
			_, err := ln.Accept()
			acceptErr <- err
		}()
		synctest.Wait() // all three are blocked
		if err := ca.Close(); err != nil {
			t.Fatal(err)
		}
		wantOpError(t, <-readErr, "read", net.ErrClosed)
		wantOpError(t, <-writeErr, "write", net.ErrClosed)
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-acceptErr; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
		if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
		if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("second Listener.Close: %v, want net.ErrClosed", err)
		}

		_, err := ca.Read(nil)
		wantOpError(t, err, "read", net.ErrClosed)
		_, err = ca.Write(nil)
		wantOpError(t, err, "write", net.ErrClosed)
		wantOpError(t, ca.Close(), "close", net.ErrClosed)
		wantOpError(t, ca.CloseWrite(), "close", net.ErrClosed)
		wantOpError(t, ca.CloseRead(), "close", net.ErrClosed)
		wantOpError(t, ca.SetDeadline(time.Time{}), "set", net.ErrClosed)
		wantOpError(t, ca.SetReadDeadline(time.Time{}), "set", net.ErrClosed)
		wantOpError(t, ca.SetWriteDeadline(time.Time{}), "set", net.ErrClosed)
		wantOpError(t, ca.SetLinger(0), "set", net.ErrClosed)
		wantOpError(t, ca.SetNoDelay(true), "set", net.ErrClosed)
		wantOpError(t, ca.SetKeepAlive(true), "set", net.ErrClosed)
		_ = cb
	})
}

// Half-close: after CloseWrite the peer reads the data then io.EOF, and
// can still answer; Write after CloseWrite fails with EPIPE.
func TestHalfClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca, cb, _ := h.connect(t)
		if _, err := ca.Write([]byte("request")); err != nil {
			t.Fatal(err)
		}
		if err := ca.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if err := ca.CloseWrite(); err != nil {
			t.Errorf("second CloseWrite: %v, want nil as shutdown(2)", err)
		}
		_, err := ca.Write([]byte("more"))
		wantOpError(t, err, "write", syscall.EPIPE)

		got, err := io.ReadAll(cb)
		if err != nil || string(got) != "request" {
			t.Fatalf("B read %q, %v; want \"request\" then EOF", got, err)
		}
		if _, err := cb.Write([]byte("response")); err != nil {
			t.Fatal(err)
		}
		cb.Close()
		got, err = io.ReadAll(ca)
		if err != nil || string(got) != "response" {
			t.Fatalf("A read %q, %v; want \"response\" then EOF", got, err)
		}
		if n, err := ca.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
		}
	})
}

// CloseRead: Read returns what is buffered, then io.EOF instead of
// blocking.
func TestCloseRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		ca, cb, _ := h.connect(t)
		cb.Write([]byte("buffered"))
		synctest.Wait()
		if err := ca.CloseRead(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(ca)
		if err != nil || string(got) != "buffered" {
			t.Fatalf("read %q, %v; want \"buffered\" then EOF", got, err)
		}
		// A Read blocked when CloseRead is called returns io.EOF.
		ca2, _, _ := newHosts(t, stack.Config{}, stack.Config{}, nil, nil).connect(t)
		done := make(chan error, 1)
		go func() {
			_, err := ca2.Read(make([]byte, 1))
			done <- err
		}()
		synctest.Wait()
		ca2.CloseRead()
		if err := <-done; err != io.EOF {
			t.Errorf("blocked Read after CloseRead: %v, want io.EOF", err)
		}
	})
}

// Bad arguments fail as package net's do.
func TestBadAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
		var unknown net.UnknownNetworkError
		var addrErr *net.AddrError
		for _, tt := range []struct {
			network, address string
			want             any
		}{
			{"udp", addrB, &unknown},
			{"tcp", "example.com:80", &addrErr},
			{"tcp", "192.0.2.2", &addrErr},
			{"tcp", "192.0.2.2:http", &addrErr},
			{"tcp6", addrB, &addrErr},
			{"tcp", ":80", &addrErr},
		} {
			_, err := h.a.Dial(tt.network, tt.address)
			if !errors.As(err, tt.want) {
				t.Errorf("Dial(%q, %q) = %v (%T), want a %T inside", tt.network, tt.address, err, err, tt.want)
			}
		}
		// No host has that address: the SYNs go out on the only IPv4
		// link and nobody answers.
		_, err := h.a.Dial("tcp", "198.51.100.1:80")
		wantOpError(t, err, "dial", syscall.ETIMEDOUT)
		_, err = h.a.Dial("tcp", "[2001:db8::2]:80") // no IPv6 address
		wantOpError(t, err, "dial", syscall.ENETUNREACH)
		_, err = h.b.Listen("tcp", "192.0.2.9:80") // not ours
		wantOpError(t, err, "listen", syscall.EADDRNOTAVAIL)
		if _, err := h.b.Listen("tcp", addrB); err != nil {
			t.Fatal(err)
		}
		_, err = h.b.Listen("tcp", addrB)
		wantOpError(t, err, "listen", syscall.EADDRINUSE)
	})
}
