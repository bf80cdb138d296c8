package netconn

import (
	"io"
	"testing"
	"time"
	"unsafe"

	"github.com/synack/synack/stack"
)

// wakeups reports which of c's wake-up channels exist.
func wakeups(c *Conn) (r, w bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.rsig != nil, c.wsig != nil
}

// A connection holds a wake-up channel only for a call that had to wait:
// not after Dial (which waited for the handshake), nor after a Write the
// send buffer took whole or a Read that found data; a Read that waited
// keeps its channel for the next wait.
func TestWakeupChannelsOnlyForWaiters(t *testing.T) {
	h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
	ca, cb, ln := h.connect(t)
	defer ln.Close()
	if r, w := wakeups(ca); r || w {
		t.Errorf("after Dial: read channel %v, write channel %v; want neither", r, w)
	}
	if r, w := wakeups(cb); r || w {
		t.Errorf("after Accept: read channel %v, write channel %v; want neither", r, w)
	}
	msg := []byte("hello")
	if _, err := ca.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(cb, got); err != nil { // may wait for the data
		t.Fatal(err)
	}
	if r, w := wakeups(ca); r || w {
		t.Errorf("after a Write the buffer took: read channel %v, write channel %v; want neither", r, w)
	}
	// The data is there before the Read: it does not wait.
	if _, err := cb.Write(msg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		ca.s.mu.Lock()
		defer ca.s.mu.Unlock()
		return ca.sc.Readable() == len(msg)
	})
	if _, err := io.ReadFull(ca, got); err != nil {
		t.Fatal(err)
	}
	if r, _ := wakeups(ca); r {
		t.Error("a Read that found data made a read channel")
	}
	// A Read with nothing to read waits, on a channel of its own.
	done := make(chan error, 1)
	go func() {
		_, err := ca.Read(got)
		done <- err
	}()
	waitFor(t, func() bool { r, _ := wakeups(ca); return r })
	if _, err := cb.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("timed out")
		}
	}
}

// A Conn is one allocation per connection, and the heap rounds it up to a
// size class: it fits the 128-byte one (the next is 144).
func TestConnSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 128 {
		t.Errorf("netconn.Conn is %d bytes, over the 128-byte size class", n)
	}
}
