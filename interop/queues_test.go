package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/synack/synack/stack"
)

// On a device of two queues, with a stack of two shards, the kernel's
// connections spread over both queues and both shards, and every one of
// them works: the packets of a flow are steered to its shard whichever
// queue the kernel put them on (the SYN, with no flow history, on one
// chosen by hash; the rest where the SYN+ACK came up).
func TestTwoQueues(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			e := newEnv(t, envOpts{queues: 2})
			sln := e.listen(fam.synack)
			go echo(sln)
			const n = 48
			withTimeout(t, 60*time.Second, "connections", func(context.Context) error {
				var wg sync.WaitGroup
				errs := make(chan error, n)
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c, err := e.kernelDial(net.Dialer{}, sln.Addr().String())
						if err != nil {
							errs <- err
							return
						}
						defer c.Close()
						msg := bytes.Repeat([]byte{byte(i)}, 20000+i)
						go c.Write(msg)
						got := make([]byte, len(msg))
						if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
							errs <- fmt.Errorf("connection %d: echo differs (%v)", i, err)
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				return nil
			})
			var opens []uint64
			e.st.Do(func(st *stack.Stack, _ time.Time) { opens = append(opens, st.Counters().PassiveOpens) })
			reads := []uint64{e.devs[0].Stats().Reads, e.devs[1].Stats().Reads}
			t.Logf("passive opens per shard %v, packets read per queue %v", opens, reads)
			if len(opens) != 2 || opens[0] == 0 || opens[1] == 0 || opens[0]+opens[1] != n {
				t.Errorf("passive opens per shard %v: want %d spread over both", opens, n)
			}
			if reads[0] == 0 || reads[1] == 0 {
				t.Errorf("packets read per queue %v: want both queues used", reads)
			}
			// No connection was reset or failed, on either side. An RST
			// synack sent is not a failure by itself: a segment held up
			// in one queue while the flow's later packets come up the
			// other (a reader parked in the Go runtime's poller can wait
			// for sysmon's 10 ms poll when both cores are busy) may
			// arrive after the connection closed, and the RST that
			// answers it is RFC 9293 §3.10.7.1's, as Linux's would be.
			c := e.counters()
			if c.EstabResets != 0 || c.AttemptFails != 0 {
				t.Errorf("synack: %d connections reset, %d attempts failed", c.EstabResets, c.AttemptFails)
			}
			k := e.kernelSNMP()
			if k["TcpEstabResets"] != 0 || k["TcpAttemptFails"] != 0 {
				t.Errorf("kernel: TcpEstabResets %d, TcpAttemptFails %d", k["TcpEstabResets"], k["TcpAttemptFails"])
			}
			t.Logf("RSTs sent by synack: %d", c.OutRsts)
		})
	}
}
