package netconn

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// Conn is a TCP connection of a Stack. It implements net.Conn, and adds
// what *net.TCPConn adds: CloseRead, CloseWrite, SetLinger, the keepalive
// settings and SetNoDelay. All its methods may be called concurrently.
//
// As with *net.TCPConn, one Read and one Write run at a time: concurrent
// Reads (or Writes) wait for each other, deadlines and Close included, so
// that the bytes of one Write are never interleaved with another's.
type Conn struct {
	s  *shard      // the shard the connection lives in
	sc *stack.Conn // guarded by Stack.mu
	// The addresses as net.Addr, made when first asked for: sc's 4-tuple
	// never changes, so no lock is needed to read it.
	laddr, raddr atomic.Pointer[net.TCPAddr]

	// rsig and wsig (capacity 1) are poked by the stack's Notifier when
	// anything happens to the connection, by Close, and by Conn's own
	// calls that can unblock the other direction; a waiter that wakes
	// looks again. Guarded by Stack.mu, and made by the first call that
	// has to wait (readSig, writeSig), not by one the buffers satisfy at
	// once: a connection whose application only writes (and never blocks)
	// holds none, and one blocked in Read holds rsig alone. Dial drops
	// the wsig it waited on once the connection is established.
	rsig, wsig chan struct{}
	// rmu and wmu let one Read and one Write in at a time. A waiter needs
	// no channel of its own to see a deadline or Close: the call inside
	// sees it and leaves at once, and the waiter, let in, sees it too (as
	// poll.FD's fdMutex serializes reads).
	rmu, wmu sync.Mutex
	rdl, wdl deadline

	// Guarded by Stack.mu; the flags and network share a word, so that a
	// Conn is 128 bytes, a size class of its own (TestConnSizeClass).
	linger     int   // SetLinger's sec; < 0 the default
	closed     bool  // Close was called: every method returns net.ErrClosed
	readClosed bool  // CloseRead: Read returns io.EOF once the buffer is empty
	keepAlive  bool  // keepalive on, as the TCB has it
	network    uint8 // index in networks; never changes
}

// networks are the names Conn.network indexes: the ones parseAddr
// accepts.
var networks = [...]string{"tcp", "tcp4", "tcp6"}

// networkIndex returns network's index in networks (parseAddr has checked it).
func networkIndex(network string) uint8 {
	for i, n := range networks {
		if n == network {
			return uint8(i)
		}
	}
	return 0
}

// connNotifier is a Conn seen by the stack.
type connNotifier Conn

// Notify is called by the stack, under Stack.mu: it must not block.
func (n *connNotifier) Notify() {
	poke(n.rsig)
	poke(n.wsig)
}

// poke wakes c's waiter, if any; a nil c has none.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// readSig returns rsig, made if need be; under Stack.mu.
func (c *Conn) readSig() chan struct{} {
	if c.rsig == nil {
		c.rsig = make(chan struct{}, 1)
	}
	return c.rsig
}

// writeSig returns wsig, made if need be; under Stack.mu.
func (c *Conn) writeSig() chan struct{} {
	if c.wsig == nil {
		c.wsig = make(chan struct{}, 1)
	}
	return c.wsig
}

// pokeLocked wakes the waiters that asked, taking Stack.mu.
func (c *Conn) pokeLocked(r, w bool) {
	c.s.mu.Lock()
	if r {
		poke(c.rsig)
	}
	if w {
		poke(c.wsig)
	}
	c.s.mu.Unlock()
}

// newConn wraps sc; under Stack.mu. The connection starts as a Go
// *net.TCPConn does: no-delay on, keepalive as the stack's tcp.Config has
// it until Dialer or ListenConfig applies its own.
func (s *shard) newConn(sc *stack.Conn, network string) *Conn {
	c := &Conn{
		s:         s,
		sc:        sc,
		network:   networkIndex(network),
		linger:    -1,
		keepAlive: s.st.Config().TCP.KeepAlive,
	}
	sc.SetNotifier((*connNotifier)(c))
	sc.SetNoDelay(s.now(), true)
	s.conns[c] = struct{}{}
	return c
}

// markClosed closes c for its users; under Stack.mu. The stack connection
// lives on as an orphan the stack finishes by itself.
func (c *Conn) markClosed() {
	c.closed = true
	poke(c.rsig) // a blocked call looks again and finds it closed
	poke(c.wsig)
	c.sc.SetNotifier(nil)
	delete(c.s.conns, c)
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: networks[c.network], Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// Read reads data from the connection. It returns io.EOF once the peer's
// FIN has been received and every byte before it read (or after
// CloseRead, once the buffer is empty), and otherwise errors of type
// *net.OpError wrapping syscall.ECONNRESET, syscall.ETIMEDOUT,
// os.ErrDeadlineExceeded or net.ErrClosed.
func (c *Conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.read(b, false)
}

// read is Read under rmu. With peek it takes nothing: it waits until a
// Read would not block and returns how many bytes are waiting.
func (c *Conn) read(b []byte, peek bool) (int, error) {
	s := c.s
	for {
		// As poll.FD.Read: closed first, then a zero-length read
		// succeeds, then a past deadline fails even with data waiting.
		expired := c.rdl.expired()
		s.mu.Lock()
		switch {
		case c.closed:
			s.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		case len(b) == 0 && !peek:
			s.mu.Unlock()
			return 0, nil
		case expired:
			s.mu.Unlock()
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		var n int
		var err error
		if n = c.sc.Readable(); !peek || n == 0 {
			n, err = c.sc.Read(s.now(), b)
		}
		if n == 0 && err == nil && c.readClosed {
			err = io.EOF
		}
		s.rearm()
		if n > 0 || err != nil {
			s.mu.Unlock()
			if n > 0 {
				return n, nil
			}
			if err == io.EOF {
				return 0, io.EOF
			}
			return 0, c.opError("read", err)
		}
		sig := c.readSig() // only a Read that waits makes it
		s.mu.Unlock()
		select {
		case <-sig:
		case <-c.rdl.wait():
		}
	}
}

// copyBufs lend WriteTo its buffers.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// WriteTo writes the connection's data to w until EOF or an error, and
// is what io.Copy from a Conn uses (as *net.TCPConn's WriteTo). Each
// chunk goes through a pooled buffer taken only once data is waiting, so
// an io.Copy waiting on an idle connection holds no buffer of its own
// (io.Copy's would be 32 KiB per connection).
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	var total int64
	for {
		if _, err := c.read(nil, true); err != nil {
			if err == io.EOF {
				return total, nil
			}
			return total, err
		}
		bp := copyBufs.Get().(*[]byte)
		n, err := c.read(*bp, false)
		var werr error
		if n > 0 {
			var m int
			m, werr = w.Write((*bp)[:n])
			total += int64(m)
			if werr == nil && m < n {
				werr = io.ErrShortWrite
			}
		}
		copyBufs.Put(bp)
		switch {
		case werr != nil:
			return total, werr
		case err == io.EOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// Write writes b to the connection, blocking until every byte is queued
// in the send buffer or an error occurs; it returns how many bytes were
// queued. Errors are of type *net.OpError wrapping syscall.EPIPE (after
// CloseWrite or once the connection is closing), syscall.ECONNRESET,
// syscall.ETIMEDOUT, os.ErrDeadlineExceeded or net.ErrClosed.
func (c *Conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	s := c.s
	total := 0
	for {
		expired := c.wdl.expired()
		s.mu.Lock()
		switch {
		case c.closed:
			s.mu.Unlock()
			return total, c.opError("write", net.ErrClosed)
		case expired:
			s.mu.Unlock()
			return total, c.opError("write", os.ErrDeadlineExceeded)
		}
		n, err := c.sc.Write(s.now(), b[total:])
		s.rearm()
		total += n
		if err != nil || total == len(b) {
			s.mu.Unlock()
			if err != nil {
				return total, c.opError("write", err)
			}
			return total, nil
		}
		sig := c.writeSig() // only a Write that waits makes it
		s.mu.Unlock()
		select {
		case <-sig:
		case <-c.wdl.wait():
		}
	}
}

// Close closes the connection as close(2) does: a FIN after the queued
// data, which the stack goes on sending in the background, or a RST if
// received data was never read or after SetLinger(0). Blocked Reads and
// Writes return net.ErrClosed, and so does every later call.
func (c *Conn) Close() error {
	s := c.s
	s.mu.Lock()
	if c.closed {
		s.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	now := s.now()
	if c.linger == 0 {
		c.sc.Abort(now)
	} else {
		c.sc.Close(now)
	}
	c.markClosed()
	s.rearm()
	s.mu.Unlock()
	c.rdl.set(time.Time{})
	c.wdl.set(time.Time{})
	return nil
}

// CloseWrite shuts down the writing side (a half-close): a FIN follows the
// data already queued, later Writes fail with EPIPE, and Read goes on
// until the peer's FIN. Calling it again does nothing, as shutdown(2).
func (c *Conn) CloseWrite() error {
	s := c.s
	s.mu.Lock()
	if c.closed {
		s.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	err := c.sc.CloseWrite(s.now())
	s.rearm()
	poke(c.wsig) // a blocked Write now fails with EPIPE
	s.mu.Unlock()
	if err != nil && !errors.Is(err, tcp.ErrConnectionClosing) {
		return c.opError("close", err)
	}
	return nil
}

// CloseRead shuts down the reading side: Read returns what is already
// buffered, then io.EOF instead of blocking. As on Linux, data that
// arrives later still counts as unread, so Close then resets the
// connection; the peer is not told.
func (c *Conn) CloseRead() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		return c.opError("close", net.ErrClosed)
	}
	c.readClosed = true
	poke(c.rsig)
	return nil
}

// SetLinger sets what Close does with data not yet sent or acknowledged.
// sec < 0 (the default) and sec > 0: the stack goes on sending in the
// background and Close does not block. sec == 0: Close discards it and
// resets the connection (RST), as ABORT (RFC 9293 §3.10.5).
func (c *Conn) SetLinger(sec int) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		return c.opError("set", net.ErrClosed)
	}
	c.linger = sec
	return nil
}

// SetKeepAlive turns keepalive probes (RFC 1122 §4.2.3.6) on or off,
// keeping their idle time, interval and count.
func (c *Conn) SetKeepAlive(keepalive bool) error {
	return c.setKeepAlive(&keepalive, 0, 0, 0)
}

// SetKeepAlivePeriod sets how long the connection must be idle before the
// first keepalive probe, as *net.TCPConn's does (TCP_KEEPIDLE): zero means
// Go's default of 15 s, a negative value leaves it unchanged. It does not
// turn keepalive on. Unlike the kernel, the stack does not round it to
// whole seconds.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	return c.setKeepAlive(nil, keepValue(d, defaultKeepAliveIdle), 0, 0)
}

// SetKeepAliveConfig configures keepalive as *net.TCPConn's does: Enable
// turns it on or off; Idle, Interval and Count set the idle time before
// the first probe, the time between probes, and the probes that may go
// unanswered before the connection is reset with ETIMEDOUT. Zero means
// Go's defaults (15 s, 15 s, 9); a negative value leaves the current
// setting, initially the stack's tcp.Config (2 h, 75 s, 9 by default).
func (c *Conn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	return c.setKeepAlive(&config.Enable,
		keepValue(config.Idle, defaultKeepAliveIdle),
		keepValue(config.Interval, defaultKeepAliveInterval),
		int(keepValue(time.Duration(config.Count), defaultKeepAliveCount)))
}

// Go's keepalive defaults (net.Dialer, net.KeepAliveConfig).
const (
	defaultKeepAliveIdle     = 15 * time.Second
	defaultKeepAliveInterval = 15 * time.Second
	defaultKeepAliveCount    = 9
)

// keepValue maps a net.KeepAliveConfig field to tcp.Conn.SetKeepAlive's
// argument: zero means Go's default, negative "unchanged" (0 there).
func keepValue(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// setKeepAlive turns keepalive on or off (on nil: as it is) and sets the
// values that are not zero.
func (c *Conn) setKeepAlive(on *bool, idle, interval time.Duration, count int) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		return c.opError("set", net.ErrClosed)
	}
	if on != nil {
		c.keepAlive = *on
	}
	c.sc.SetKeepAlive(s.now(), c.keepAlive, idle, interval, count)
	s.rearm()
	return nil
}

// applyKeepAlive configures a new connection as net's newTCPConn does
// from a Dialer's or ListenConfig's KeepAlive and KeepAliveConfig: unless
// KeepAliveConfig.Enable is set, a KeepAlive ≥ 0 turns keepalive on with
// that idle time (0: 15 s) and Go's default interval and count; a
// negative KeepAlive leaves it off. Under Stack.mu.
func (c *Conn) applyKeepAlive(ka time.Duration, cfg net.KeepAliveConfig) {
	if !cfg.Enable && ka >= 0 {
		cfg = net.KeepAliveConfig{Enable: true, Idle: ka}
	}
	if !cfg.Enable {
		return
	}
	c.sc.SetKeepAlive(c.s.now(), true,
		keepValue(cfg.Idle, defaultKeepAliveIdle),
		keepValue(cfg.Interval, defaultKeepAliveInterval),
		int(keepValue(time.Duration(cfg.Count), defaultKeepAliveCount)))
	c.keepAlive = true
}

// SetNoDelay turns Nagle's algorithm (RFC 896) off (true, Go's default)
// or on (false).
func (c *Conn) SetNoDelay(noDelay bool) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.closed {
		return c.opError("set", net.ErrClosed)
	}
	c.sc.SetNoDelay(s.now(), noDelay)
	s.rearm()
	return nil
}

// LocalAddr returns the local address, a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr {
	if a := c.laddr.Load(); a != nil {
		return a
	}
	c.laddr.CompareAndSwap(nil, net.TCPAddrFromAddrPort(c.sc.LocalAddr()))
	return c.laddr.Load()
}

// RemoteAddr returns the remote address, a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr {
	if a := c.raddr.Load(); a != nil {
		return a
	}
	c.raddr.CompareAndSwap(nil, net.TCPAddrFromAddrPort(c.sc.RemoteAddr()))
	return c.raddr.Load()
}

// SetDeadline sets the read and write deadlines; see net.Conn. A deadline
// in the past makes Read and Write fail at once, a change takes effect on
// calls already blocked, and the zero time means none. Timeouts are
// *net.OpError wrapping os.ErrDeadlineExceeded, whose Timeout is true.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.checkOpen("set"); err != nil {
		return err
	}
	c.rdl.set(t)
	c.wdl.set(t)
	c.pokeLocked(true, true) // blocked calls look at the deadline again
	return nil
}

// SetReadDeadline sets the deadline of Read calls; see SetDeadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if err := c.checkOpen("set"); err != nil {
		return err
	}
	c.rdl.set(t)
	c.pokeLocked(true, false)
	return nil
}

// SetWriteDeadline sets the deadline of Write calls; see SetDeadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if err := c.checkOpen("set"); err != nil {
		return err
	}
	c.wdl.set(t)
	c.pokeLocked(false, true)
	return nil
}

func (c *Conn) checkOpen(op string) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.closed {
		return c.opError(op, net.ErrClosed)
	}
	return nil
}
