package interop_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/synack/synack/interop"
	"github.com/synack/synack/link"
)

var lossySeed = flag.Uint64("interop.seed", 1, "seed of the lossy link's faults and the transfer sizes")

// With synack's link losing 10%, duplicating 5% and reordering 5% of the
// packets each way, 20 concurrent connections — 10 from the kernel to
// synack's echo server, 10 from synack to the kernel's — carry up to
// 1 MiB each way, every byte checked by SHA-256.
func TestLossyLink(t *testing.T) {
	t.Parallel()
	seed := *lossySeed
	e := newEnv(t, envOpts{
		faults: &link.Faults{Loss: 0.10, Dup: 0.05, Reorder: 0.05, Dir: link.Both},
		seed:   seed,
	})
	sln := e.listen(interop.SynackV4)
	go echo(sln)
	kln := e.kernelListen(interop.KernelV4)
	go echo(kln)

	r := rand.New(rand.NewPCG(seed, 2))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fails []error
	)
	start := time.Now()
	var total int
	for i := range 20 {
		n := r.IntN(1<<20 + 1)
		if i < 2 {
			n = 1 << 20 // the largest, both directions
		}
		total += n
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var err error
			if i%2 == 0 {
				c, err = e.kernelDial(net.Dialer{}, sln.Addr().String())
			} else {
				c, err = e.dial(kln.Addr().String())
			}
			if err == nil {
				err = exchange(c, n, uint64(i))
			}
			if err != nil {
				mu.Lock()
				fails = append(fails, fmt.Errorf("connection %d (%d bytes, from %s): %w",
					i, n, map[bool]string{true: "kernel", false: "synack"}[i%2 == 0], err))
				mu.Unlock()
			}
		}()
	}
	withTimeout(t, 150*time.Second, "lossy transfers", func(context.Context) error {
		wg.Wait()
		return nil
	})
	st := e.faultStats()
	c := e.counters()
	t.Logf("%.1f MiB each way in %v; link: %d packets, %d dropped, %d duplicated, %d reordered; synack retransmitted %d",
		float64(total)/(1<<20), time.Since(start).Round(time.Millisecond),
		st.Packets, st.Dropped, st.Duplicated, st.Reordered, c.RetransSegs)
	for _, err := range fails {
		t.Error(err)
	}
	if st.Dropped == 0 || st.Duplicated == 0 || st.Reordered == 0 {
		t.Errorf("the faults did not all happen: %+v", st)
	}
}
