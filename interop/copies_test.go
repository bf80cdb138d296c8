//go:build synack_copies

package interop_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/synack/synack/internal/copies"
)

// How many times each byte a kernel client sends is copied on its way to
// synack's Read, over a TUN device, with offloads on and off:
// go test -tags synack_copies -run CopiesPerByteTUN -v ./interop. The
// TUN read itself (link-in) is the kernel's copy to user space; after it,
// a byte is copied twice, into the receive buffer and out to Read: what
// arrives while the application holds the stack's lock waits in the
// backlog in the TUN's own buffer (link.OwningReceiver), not a copy.
func TestCopiesPerByteTUN(t *testing.T) {
	for _, off := range []bool{false, true} {
		name := "offload-off"
		if off {
			name = "offload-on"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{offload: off})
			ln := e.listen("192.0.2.2")
			const total = 64 << 20
			got := make(chan int64, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- -1
					return
				}
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				got <- n
			}()
			before := copies.Snapshot()
			withTimeout(t, bulkTimeout(), "bulk", func(context.Context) error {
				c, err := e.kernelDial(net.Dialer{}, ln.Addr().String())
				if err != nil {
					return err
				}
				buf := make([]byte, 1<<20)
				for sent := 0; sent < total; sent += len(buf) {
					if _, err := c.Write(buf); err != nil {
						return err
					}
				}
				c.Close()
				if n := <-got; n != total {
					t.Errorf("read %d bytes, want %d", n, total)
				}
				return nil
			})
			after := copies.Snapshot()
			per := func(s copies.Site) float64 { return float64(after[s]-before[s]) / total }
			var afterRead float64
			for s := copies.Site(0); s < copies.NumSites; s++ {
				if p := per(s); p > 0 {
					t.Logf("%-10s %.3f copies per byte", s, p)
				}
				if s != copies.LinkIn && s != copies.Packet && s != copies.SendRing {
					afterRead += per(s)
				}
			}
			t.Logf("between the TUN read and Read: %.3f copies per byte", afterRead)
			// Into the receive buffer once and out to Read once.
			if p := per(copies.RecvRing); p < 0.999 || p > 1.001 {
				t.Errorf("recv-ring: %.3f copies per byte, want 1", p)
			}
			if p := per(copies.ReadOut); p < 0.999 || p > 1.001 {
				t.Errorf("read-out: %.3f copies per byte, want 1", p)
			}
			// The target: at most two copies; the ring's growth
			// from 4 KiB to its size adds 0.004 over 64 MiB.
			if afterRead > 2.02 {
				t.Errorf("%.3f copies per byte between the TUN read and Read, want at most 2", afterRead)
			}
			for _, s := range []copies.Site{copies.Pipe, copies.Split, copies.LinkOut} {
				if p := per(s); p != 0 {
					t.Errorf("%s: %.3f copies per byte, want none", s, p)
				}
			}
		})
	}
}
