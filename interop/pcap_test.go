package interop_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/internal/tsharktest"
	"github.com/synack/synack/interop"
	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// A capture of a clean run — connections both ways over IPv4 and IPv6,
// data both ways, both close orders — opened by tshark shows no malformed
// packet and no TCP analysis warning: no retransmission, duplicate ACK,
// zero window, lost or unseen segment.
func TestPcapCleanRun(t *testing.T) {
	t.Parallel()
	interop.RequireCommand(t, "tshark", "tshark")
	// A process that was not scheduled for nearly a second (a loaded
	// machine) makes even the SYN retransmit: such a run proves nothing
	// about synack, and is run again, three times at most.
	const inconclusive = 900 * time.Millisecond
	for attempt := 1; ; attempt++ {
		path := filepath.Join(t.TempDir(), "clean.pcap")
		var gap time.Duration
		ok := t.Run(fmt.Sprintf("run%d", attempt), func(t *testing.T) {
			gap = cleanRun(t, path)
		})
		if !ok {
			return
		}
		pkts := tsharktest.Decode(t, path, "frame.number")
		if len(pkts) < 100 {
			t.Fatalf("capture has %d packets", len(pkts))
		}
		// The kernel now and then writes a TCP checksum as 0xffff rather
		// than 0x0000 (both verify; Wireshark warns, citing RFC 1624):
		// about one packet in 65,536 of the kernel's, none of synack's.
		filter := "_ws.malformed || (_ws.expert.severity >= warning && !tcp.analysis.window_full && !(tcp.checksum.ffff && ip.src == " + interop.KernelV4 + ")) || (tcp.analysis.flags && !tcp.analysis.window_update && !tcp.analysis.window_full)"
		if *queues > 1 {
			// The kernel spreads a flow's packets over the queues, so
			// data can come up out of order, and synack's duplicate ACK
			// for it is RFC 5681 §4.2's immediate ACK, not a fault.
			filter = "(" + filter + ") && !(tcp.analysis.duplicate_ack && ip.src == " + interop.SynackV4 + ")"
		}
		// The payloads are random bytes: decoded as an application
		// protocol that some port maps to (tshark took one for AMS), they
		// would be "malformed". Every port's payload is data.
		bad := tsharktest.Run(t, "-r", path, "-n", "-d", "tcp.port==1-65535,data",
			"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-Y", filter)
		s := strings.TrimSpace(bad)
		if s == "" {
			t.Logf("%d packets, no warning (the process was unscheduled for %v at most)", len(pkts), gap.Round(time.Millisecond))
			return
		}
		lines := strings.Split(s, "\n")
		msg := fmt.Sprintf("tshark finds %d packets to complain about among %d:\n%s\n%s", len(lines), len(pkts),
			strings.Join(lines[:min(len(lines), 30)], "\n"), tsharktest.Run(t, "-r", path, "-n", "-q", "-z", "expert"))
		if gap < inconclusive || attempt == 3 {
			t.Fatalf("%s\n(the process was unscheduled for %v at most)", msg, gap.Round(time.Millisecond))
		}
		t.Logf("run %d inconclusive: the process was unscheduled for %v; %s", attempt, gap.Round(time.Millisecond), msg)
	}
}

// cleanRun runs the clean workload with a capture written to path, and
// returns the longest time the process went unscheduled meanwhile.
func cleanRun(t *testing.T, path string) time.Duration {
	gap := watchStalls(t)
	// A clean run must not depend on the machine's load: a process that
	// is not scheduled for a few hundred milliseconds (CI machines are
	// shared) would make either side retransmit, or a receiving
	// application's buffer fill. So both sides' minimum RTO is 5 s, both
	// sides' tail loss probes are off (a probe is due after two smoothed
	// RTTs, here well under a millisecond), and the receive buffers hold a
	// whole transfer; the segments each side sends are otherwise its own.
	e := newEnv(t, envOpts{pcapPath: path, cfg: stack.Config{TCP: tcp.Config{RTOMin: 5 * time.Second, RcvBuf: 4 << 20, TLP: tcp.Off}}})
	e.ns.Sysctl(t, "net.ipv4.tcp_early_retrans", "0")
	dev := e.dev.Name()
	e.ns.IP(t, "route", "replace", "192.0.2.0/24", "dev", dev, "proto", "kernel", "scope", "link", "src", interop.KernelV4, "rto_min", "5s")
	e.ns.IP(t, "-6", "route", "replace", "2001:db8::/64", "dev", dev, "proto", "kernel", "metric", "256", "rto_min", "5s")
	bigBuf := func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
		})
		return serr
	}
	for _, fam := range families {
		// One direction at a time, each receiver reading at once, so
		// that nothing stalls on flow control.
		sln := e.listen(fam.synack)
		go sinkAndReply(sln)
		var kln net.Listener
		err := e.ns.Do(func() (err error) {
			lc := net.ListenConfig{Control: bigBuf}
			kln, err = lc.Listen(context.Background(), "tcp", net.JoinHostPort(fam.kernel, "0"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer kln.Close()
		go sinkAndReply(kln)
		withTimeout(t, 60*time.Second, fam.name, func(context.Context) error {
			for i, n := range []int{0, 1, 1000, 100 << 10, 1 << 20} {
				c, err := e.kernelDial(net.Dialer{Control: bigBuf}, sln.Addr().String())
				if err != nil {
					return err
				}
				if err := sendAndCheck(c, n, uint64(i)); err != nil {
					return err
				}
				sc, err := e.dial(kln.Addr().String())
				if err != nil {
					return err
				}
				if err := sendAndCheck(sc, n, uint64(i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	checkNoLeftovers(t, e)
	e.st.Close()

	return gap()
}

// sinkAndReply serves ln: read to EOF, answer with the SHA-256 of what was
// read, close.
func sinkAndReply(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			h := sha256.New()
			if _, err := io.Copy(h, c); err != nil {
				return
			}
			c.Write(h.Sum(nil))
		}()
	}
}

// sendAndCheck sends n pseudo-random bytes on c, half-closes, and checks
// that the peer answers with their SHA-256.
func sendAndCheck(c net.Conn, n int, seed uint64) error {
	defer c.Close()
	data := randomBytes(n, seed)
	if _, err := c.Write(data); err != nil {
		return err
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return err
	}
	got, err := readAllTimeout(c, 30*time.Second)
	if err != nil {
		return err
	}
	if want := sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		return fmt.Errorf("%d bytes: the peer's SHA-256 differs", n)
	}
	return nil
}

// A capture and link faults on a TUN opened with offloads, as `synack
// serve --pcap F --loss P` runs by default: the tap takes the kernel's
// coalesced, partially checksummed segments in batches and hands them on
// to the fault injector one by one, and they must still verify.
func TestPcapUnderFaultsWithOffload(t *testing.T) {
	f := link.Faults{Loss: 0.01, Dir: link.Both}
	e := newEnv(t, envOpts{faults: &f, seed: 3, pcap: true, offload: true})
	ln := e.listen(interop.SynackV4)
	defer ln.Close()
	go sinkAndReply(ln)
	withTimeout(t, 60*time.Second, "1 MiB through a capture and 1% loss", func(context.Context) error {
		c, err := e.kernelDial(net.Dialer{}, ln.Addr().String())
		if err != nil {
			return err
		}
		return sendAndCheck(c, 1<<20, 5)
	})
	// 1 MiB is a few dozen coalesced segments and their ACKs.
	if pkts := tsharktest.Decode(t, e.pcap, "frame.number"); len(pkts) < 20 {
		t.Errorf("the capture holds %d packets", len(pkts))
	}
}
