package interop_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/interop"
	"github.com/synack/synack/netconn"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// accept1 accepts one connection on ln in the background.
func accept1(ln net.Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func recvConn(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no connection accepted in 20 s")
	}
	return nil
}

// pattern is n bytes of a repeating pattern, with its SHA-256.
func pattern(n int) ([]byte, [32]byte) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b, sha256.Sum256(b)
}

// readAllTimeout reads c to EOF or error, with a deadline.
func readAllTimeout(c net.Conn, d time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	return io.ReadAll(c)
}

func wantStates(t *testing.T, got []string, want string) {
	t.Helper()
	if g := strings.Join(got, " "); g != want {
		t.Errorf("synack's states: %s\nwant             %s", g, want)
	}
}

// The kernel half-closes (shutdown(SHUT_WR)) and synack, in CLOSE-WAIT,
// keeps writing; then the reverse: synack half-closes and the kernel
// keeps writing.
func TestHalfClose(t *testing.T) {
	t.Parallel()
	for _, fam := range families {
		t.Run(fam.name+"/kernel-shuts-write", func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ln := e.listen(fam.synack)
			acc := accept1(ln)
			kc, err := e.kernelDial(net.Dialer{}, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer kc.Close()
			sc := recvConn(t, acc)
			kc.Write([]byte("request"))
			if err := kc.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := readAllTimeout(sc, 20*time.Second)
			if err != nil || string(got) != "request" {
				t.Fatalf("synack read %q, %v; want request then EOF", got, err)
			}
			e.waitState(sc.LocalAddr(), sc.RemoteAddr(), tcp.StateCloseWait, 5*time.Second)
			data, sum := pattern(2 << 20)
			errc := make(chan error, 1)
			go func() {
				_, err := sc.Write(data)
				sc.Close()
				errc <- err
			}()
			back, err := readAllTimeout(kc, 30*time.Second)
			if err != nil || sha256.Sum256(back) != sum {
				t.Fatalf("kernel read %d bytes (want %d, same SHA-256), %v", len(back), len(data), err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("synack write in CLOSE-WAIT: %v", err)
			}
			e.waitState(sc.LocalAddr(), sc.RemoteAddr(), tcp.StateClosed, 10*time.Second)
			wantStates(t, e.record(sc.LocalAddr(), sc.RemoteAddr()).states,
				"LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED")
		})
		t.Run(fam.name+"/synack-shuts-write", func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ln := e.kernelListen(fam.kernel)
			acc := accept1(ln)
			sc, err := e.dial(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			kc := recvConn(t, acc)
			sc.Write([]byte("request"))
			if err := sc.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := readAllTimeout(kc, 20*time.Second)
			if err != nil || string(got) != "request" {
				t.Fatalf("kernel read %q, %v; want request then EOF", got, err)
			}
			e.waitState(sc.LocalAddr(), sc.RemoteAddr(), tcp.StateFinWait2, 5*time.Second)
			data, sum := pattern(2 << 20)
			errc := make(chan error, 1)
			go func() {
				_, err := kc.Write(data)
				kc.Close()
				errc <- err
			}()
			back, err := readAllTimeout(sc, 30*time.Second)
			if err != nil || sha256.Sum256(back) != sum {
				t.Fatalf("synack read %d bytes (want %d, same SHA-256), %v", len(back), len(data), err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("kernel write after synack's FIN: %v", err)
			}
			waitTimeWait(t, e, sc.LocalAddr(), sc.RemoteAddr())
		})
	}
}

// waitTimeWait waits for synack's connection to enter TIME-WAIT. A loaded
// kernel sometimes sends its FIN twice; the second arrives after it has
// taken synack's ACK and freed the socket, so synack's ACK of the
// duplicate is answered with RST, which ends TIME-WAIT (RFC 1337
// protection off, as on Linux, which does the same). That end is accepted
// too, and only that one.
func waitTimeWait(t *testing.T, e *env, local, remote net.Addr) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		if row, ok := e.stateOf(local, remote); ok && row.State == tcp.StateTimeWait {
			return
		}
		rec := e.record(local, remote)
		if n := len(rec.causes); n >= 2 && rec.states[len(rec.states)-2] == "TIME-WAIT" && rec.causes[n-1] == tcp.CauseRSTTimeWait {
			t.Logf("TIME-WAIT entered, then ended by the kernel's RST to the ACK of a duplicate FIN")
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.waitState(local, remote, tcp.StateTimeWait, 0) // fails, with the transitions
}

// Both close orders. The kernel closes first: synack goes CLOSE-WAIT →
// LAST-ACK → CLOSED and the kernel keeps TIME-WAIT. synack closes first:
// synack shows TIME-WAIT in its snapshot and frees it after 2*MSL (here
// 2 × 300 ms).
func TestCloseOrders(t *testing.T) {
	t.Parallel()
	const msl = 300 * time.Millisecond
	for _, fam := range families {
		t.Run(fam.name+"/kernel-first", func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ln := e.listen(fam.synack)
			acc := accept1(ln)
			kc, err := e.kernelDial(net.Dialer{}, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			sc := recvConn(t, acc)
			kc.Write([]byte("bye"))
			kc.Close()
			if got, err := readAllTimeout(sc, 20*time.Second); err != nil || string(got) != "bye" {
				t.Fatalf("synack read %q, %v; want bye then EOF", got, err)
			}
			e.waitState(sc.LocalAddr(), sc.RemoteAddr(), tcp.StateCloseWait, 5*time.Second)
			sc.Close()
			e.waitState(sc.LocalAddr(), sc.RemoteAddr(), tcp.StateClosed, 10*time.Second)
			wantStates(t, e.record(sc.LocalAddr(), sc.RemoteAddr()).states,
				"LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED")
			// The kernel, which closed first, holds the TIME-WAIT.
			out, err := e.ns.Command(t.Context(), "ss", "-Htan", "state", "time-wait").CombinedOutput()
			if err != nil {
				t.Fatalf("ss: %v: %s", err, out)
			}
			if !strings.Contains(string(out), sc.LocalAddr().(*net.TCPAddr).AddrPort().String()) {
				t.Errorf("the kernel's TIME-WAIT list lacks the connection to %v:\n%s", sc.LocalAddr(), out)
			}
		})
		t.Run(fam.name+"/synack-first", func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: stack.Config{TCP: tcp.Config{MSL: msl}}})
			ln := e.kernelListen(fam.kernel)
			acc := accept1(ln)
			sc, err := e.dial(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			kc := recvConn(t, acc)
			sc.Write([]byte("bye"))
			local, remote := sc.LocalAddr(), sc.RemoteAddr()
			sc.Close()
			if got, err := readAllTimeout(kc, 20*time.Second); err != nil || string(got) != "bye" {
				t.Fatalf("kernel read %q, %v; want bye then EOF", got, err)
			}
			// The kernel's ACK of the FIN, alone (FIN-WAIT-2), before
			// its own FIN: the sequence is then always the same.
			e.waitState(local, remote, tcp.StateFinWait2, 10*time.Second)
			kc.Close()
			row := e.waitState(local, remote, tcp.StateTimeWait, 10*time.Second)
			if _, ok := row.Timers[tcp.TimerTimeWait]; !ok {
				t.Errorf("TIME-WAIT row without its timer: %+v", row)
			}
			e.waitState(local, remote, tcp.StateClosed, 10*time.Second)
			gone := time.Now()
			r := e.record(local, remote)
			wantStates(t, r.states, "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED")
			if n := len(r.at); n >= 2 {
				entered := r.at[n-2]
				if lived := r.at[n-1].Sub(entered); lived < 2*msl {
					t.Errorf("TIME-WAIT lasted %v, want 2*MSL = %v", lived, 2*msl)
				}
				if gone.Sub(entered) < 2*msl {
					t.Errorf("TIME-WAIT freed %v after it began, before 2*MSL = %v", gone.Sub(entered), 2*msl)
				}
			}
		})
	}
}

// Aborts both ways: the kernel's close with SO_LINGER{0} makes synack's
// Read fail with ECONNRESET; synack's SetLinger(0) and Close make the
// kernel's recv fail with ECONNRESET.
func TestAbort(t *testing.T) {
	t.Parallel()
	for _, fam := range families {
		t.Run(fam.name+"/by-kernel", func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ln := e.listen(fam.synack)
			acc := accept1(ln)
			kc, err := e.kernelDial(net.Dialer{}, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			sc := recvConn(t, acc)
			kc.Write([]byte("x"))
			if _, err := io.ReadFull(sc, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			kc.SetLinger(0)
			kc.Close()
			sc.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = sc.Read(make([]byte, 10))
			var op *net.OpError
			if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) {
				t.Fatalf("synack Read after the kernel's abort: %v, want *net.OpError ECONNRESET", err)
			}
			e.waitState(sc.LocalAddr(), sc.RemoteAddr(), tcp.StateClosed, 5*time.Second)
		})
		t.Run(fam.name+"/by-synack", func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ln := e.kernelListen(fam.kernel)
			acc := accept1(ln)
			sc, err := e.dial(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			kc := recvConn(t, acc)
			sc.Write([]byte("x"))
			if _, err := io.ReadFull(kc, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			sc.SetLinger(0)
			local, remote := sc.LocalAddr(), sc.RemoteAddr()
			sc.Close()
			kc.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = kc.Read(make([]byte, 10))
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("kernel recv after synack's abort: %v, want ECONNRESET", err)
			}
			if row, ok := e.stateOf(local, remote); ok {
				t.Errorf("synack keeps %v after abort", row.State)
			}
		})
	}
}

// Dial to a port nobody listens on fails with ECONNREFUSED (the kernel's
// RST); to an address that never answers, with ETIMEDOUT after the SYN
// retries (2, from an initial RTO of 200 ms: 1.4 s).
func TestDialErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{cfg: stack.Config{TCP: tcp.Config{SynRetries: 2, RTOInitial: 200 * time.Millisecond}}})
	for _, fam := range families {
		_, err := e.dial(net.JoinHostPort(fam.kernel, "1"))
		var op *net.OpError
		if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("%s: Dial to a closed port: %v, want dial ECONNREFUSED", fam.name, err)
		}
		// .99 is on the TUN's subnet but nobody's: the kernel, not
		// forwarding, drops the SYNs without a word.
		silent := strings.TrimSuffix(fam.kernel, "1") + "99"
		start := time.Now()
		_, err = e.dial(net.JoinHostPort(silent, "80"))
		if !errors.Is(err, syscall.ETIMEDOUT) {
			t.Errorf("%s: Dial to a silent address: %v, want ETIMEDOUT", fam.name, err)
		}
		if el := time.Since(start); el < 1400*time.Millisecond {
			t.Errorf("%s: gave up after %v, before the SYN retries' 1.4 s", fam.name, el)
		}
	}
	c := e.counters()
	if c.AttemptFails < 4 {
		t.Errorf("AttemptFails %d, want 4", c.AttemptFails)
	}
}

// Keepalive both ways. synack's probes (idle 1 s, every 1 s, 3 unanswered
// kill) keep an idle connection alive because the kernel answers them;
// the kernel's probes (TCP_KEEPIDLE 1 s, same interval and count) are
// answered by synack. Either side would reset the connection after 4 s of
// unanswered probes; it is idle for 6 s and then still carries data.
func TestKeepalive(t *testing.T) {
	t.Parallel()
	ka := net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3}
	t.Run("synack-probes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{})
		ln := e.kernelListen(interop.KernelV4)
		acc := accept1(ln)
		d := netconn.Dialer{Stack: e.st, KeepAliveConfig: ka}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		kc := recvConn(t, acc)
		idleThenCheck(t, e, c, kc)
	})
	t.Run("kernel-probes", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOpts{})
		lc := netconn.ListenConfig{Stack: e.st, KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(interop.SynackV4, "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		acc := accept1(ln)
		kc, err := e.kernelDial(net.Dialer{KeepAliveConfig: ka}, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer kc.Close()
		sc := recvConn(t, acc)
		idleThenCheck(t, e, sc, kc)
	})
}

// idleThenCheck leaves the connection idle for 6 s, checks that probes
// went both ways, then that data still flows both ways.
func idleThenCheck(t *testing.T, e *env, sc, kc net.Conn) {
	t.Helper()
	// Let the handshake's segments settle before counting.
	time.Sleep(100 * time.Millisecond)
	before := e.record(sc.LocalAddr(), sc.RemoteAddr())
	time.Sleep(6 * time.Second)
	after := e.record(sc.LocalAddr(), sc.RemoteAddr())
	sent, recv := after.sent-before.sent, after.recv-before.recv
	t.Logf("while idle: synack sent %d segments, received %d", sent, recv)
	if sent < 3 || recv < 3 {
		t.Errorf("while idle 6 s: synack sent %d and received %d segments, want ≥ 3 each (probes and answers)", sent, recv)
	}
	for _, p := range [][2]net.Conn{{sc, kc}, {kc, sc}} {
		if _, err := p[0].Write([]byte("ping")); err != nil {
			t.Fatalf("write after idle: %v", err)
		}
		p[1].SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(p[1], buf); err != nil || !bytes.Equal(buf, []byte("ping")) {
			t.Fatalf("read after idle: %q %v", buf, err)
		}
	}
	if row, ok := e.stateOf(sc.LocalAddr(), sc.RemoteAddr()); !ok || row.State != tcp.StateEstablished {
		t.Errorf("synack's connection after idle: %v %v, want ESTABLISHED", row.State, ok)
	}
}
