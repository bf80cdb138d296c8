package interop_test

import (
	"net"
	"testing"
	"time"

	"github.com/synack/synack/interop"
	"github.com/synack/synack/tcp"
)

// The evidence for tcp's silent FIN-WAIT-2 timeout (TestFinWait2Timeout):
// a Linux orphan in FIN-WAIT-2 (close(2) after its FIN was ACKed, the peer
// never closing) expires after tcp_fin_timeout without sending anything —
// tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) — and then answers the peer's
// late FIN with RST, as a port with no connection does.
func TestKernelOrphanFinWait2Silent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	e.ns.Sysctl(t, "net.ipv4.tcp_fin_timeout", "1")
	ln := e.listen(interop.SynackV4)
	acc := accept1(ln)
	kc, err := e.kernelDial(net.Dialer{}, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := recvConn(t, acc)
	kc.Close() // an orphan: FIN, and FIN-WAIT-2 once synack ACKs it
	local, remote := sc.LocalAddr(), sc.RemoteAddr()
	e.waitState(local, remote, tcp.StateCloseWait, 5*time.Second)
	recv := e.record(local, remote).recv

	// tcp_fin_time() is max(tcp_fin_timeout, 3.5 RTO): well under 3 s here.
	time.Sleep(3 * time.Second)
	if got := e.record(local, remote).recv; got != recv {
		t.Fatalf("the kernel sent %d segments while its orphan's FIN-WAIT-2 timed out, want none", got-recv)
	}
	if row, _ := e.stateOf(local, remote); row.State != tcp.StateCloseWait {
		t.Fatalf("synack in %v after the kernel's FIN-WAIT-2 timeout, want CLOSE-WAIT", row.State)
	}
	// The kernel has forgotten the connection: synack's FIN meets a RST.
	sc.Close()
	e.waitState(local, remote, tcp.StateClosed, 5*time.Second)
	rec := e.record(local, remote)
	if n := len(rec.states); n == 0 || rec.states[n-1] != "CLOSED" || rec.states[n-2] != "LAST-ACK" {
		t.Fatalf("synack's states %v, want LAST-ACK → CLOSED by the kernel's RST", rec.states)
	}
	if c := rec.causes[len(rec.causes)-1]; c != tcp.CauseRSTReset {
		t.Fatalf("synack's LAST-ACK ended by %q, want the kernel's RST", c)
	}
}
