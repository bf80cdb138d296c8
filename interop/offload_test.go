package interop_test

import (
	"context"
	"github.com/synack/synack/link/tun"
	"net"
	"testing"
)

// With offloads on, the kernel hands synack coalesced segments and takes
// synack's super-segments, and every byte still arrives, both ways, over
// IPv4 and IPv6 (the bulk tests check each connection by SHA-256). If the
// kernel refuses offload the test fails: this kernel is expected to grant
// it.
func TestOffloadBulkBothWays(t *testing.T) {
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			e := newEnv(t, envOpts{offload: true})
			if !e.dev.Offload() {
				t.Fatal("the kernel refused TUNSETOFFLOAD")
			}
			sln := e.listen(fam.synack)
			go echo(sln)
			kln := e.kernelListen(fam.kernel)
			go echo(kln)
			withTimeout(t, bulkTimeout(), "bulk", func(context.Context) error {
				sizes := []int{0, 1, 1448, 65536, 1 << 20, 4 << 20}
				runBulk(t, sizes, func() (net.Conn, error) { return e.kernelDial(net.Dialer{}, sln.Addr().String()) })
				runBulk(t, sizes, func() (net.Conn, error) { return e.dial(kln.Addr().String()) })
				return nil
			})
			var st tun.Stats
			for _, d := range e.devs {
				x := d.Stats()
				st.GSOIn, st.GSOOut, st.Malformed = st.GSOIn+x.GSOIn, st.GSOOut+x.GSOOut, st.Malformed+x.Malformed
			}
			t.Logf("%s: %d coalesced segments in, %d super-segments out, %d malformed", fam.name, st.GSOIn, st.GSOOut, st.Malformed)
			if st.GSOIn == 0 || st.GSOOut == 0 {
				t.Errorf("offload unused: %d coalesced segments in, %d super-segments out", st.GSOIn, st.GSOOut)
			}
			if st.Malformed != 0 {
				t.Errorf("%d packets read were malformed", st.Malformed)
			}
			checkNoLeftovers(t, e)
		})
	}
}
