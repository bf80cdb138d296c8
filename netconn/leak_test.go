package netconn

import (
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
)

// Closing both stacks ends every goroutine netconn and its links started,
// and wakes every goroutine blocked in it. Real time: the goroutines are
// counted process-wide.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()

	ea, eb := link.Pipe(1500)
	eb = link.NewFaulty(eb, link.Faults{Loss: 0.01, Jitter: time.Millisecond}, 1)
	a, b := New(stack.Config{}), New(stack.Config{})
	a.AddLink(ea, prefixA)
	b.AddLink(eb, prefixB)
	ln, err := b.Listen("tcp", addrB)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	var blocked []chan error
	for range 5 {
		c, err := a.Dial("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(make([]byte, 64<<10))
		io.ReadFull(c, make([]byte, 64<<10))
		c.SetDeadline(time.Now().Add(time.Hour)) // a pending deadline timer
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1)) // blocks: nothing more comes
			done <- err
		}()
		blocked = append(blocked, done)
	}
	a.Close()
	b.Close()
	for _, done := range blocked {
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Read after Stack.Close: %v, want net.ErrClosed", err)
		}
	}

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
