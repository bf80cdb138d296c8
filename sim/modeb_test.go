package sim_test

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/netconn"
	"github.com/synack/synack/stack"
)

// Mode (b) of the package doc: ordinary goroutines and net.Conn inside a
// synctest bubble, over a link that loses, duplicates and reorders. Time
// is virtual: retransmission timeouts of a second pass instantly, and the
// echo arrives byte for byte.
func TestModeBSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pa, pb := link.Pipe(1500)
		faults := link.Faults{Dir: link.Both, Loss: 0.05, Dup: 0.02, Reorder: 0.02, Delay: 20 * time.Millisecond}
		client, server := netconn.New(stack.Config{}), netconn.New(stack.Config{})
		t.Cleanup(func() { client.Close(); server.Close() })
		client.AddLink(link.NewFaulty(pa, faults, 1), netip.MustParsePrefix("192.0.2.1/24"))
		server.AddLink(link.NewFaulty(pb, faults, 2), netip.MustParsePrefix("192.0.2.2/24"))
		ln, err := server.Listen("tcp", "192.0.2.2:80")
		if err != nil {
			t.Fatal(err)
		}
		go func() { // an echo server
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}()
		start := time.Now()
		c, err := client.Dial("tcp", "192.0.2.2:80")
		if err != nil {
			t.Fatal(err)
		}
		msg := bytes.Repeat([]byte("virtual time "), 20_000)
		go func() {
			c.Write(msg)
			c.(*netconn.Conn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo: %d of %d bytes, %v", len(got), len(msg), err)
		}
		c.Close()
		if took := time.Since(start); took < 40*time.Millisecond {
			t.Fatalf("virtual time did not pass: %v for a round trip of 40 ms", took)
		}
	})
}
