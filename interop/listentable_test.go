package interop_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/synack/synack/internal/listentable"
	"github.com/synack/synack/interop"
	"github.com/synack/synack/link/tun"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// The listener table (internal/listentable) against a Linux listener:
// each row's segment is written as a raw packet into a TUN device whose
// other side is the kernel of a namespace, with net.ipv4.tcp_syncookies
// set for the mode; what the kernel answers is read back from the device,
// and the state it keeps is read with ss. Nobody answers the kernel, so
// its replies are all there is. stack's TestListenerTable checks the same
// rows against synack.
func TestListenerTableLinux(t *testing.T) {
	t.Parallel()
	interop.RequireCommand(t, "ss", "iproute2")
	for _, m := range listentable.Modes {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			k := newRawKernel(t, m)
			for i, r := range listentable.Rows {
				if !r.Applies(m) {
					continue
				}
				t.Run(r.Name, func(t *testing.T) { k.row(t, m, &r, uint16(41000+100*i)) })
			}
		})
	}
}

// rawKernel is a namespace whose kernel we talk to with raw packets.
type rawKernel struct {
	ns      *interop.Netns
	dev     *tun.Device
	pkts    chan wire.Segment
	kernel  netip.Addr
	us      netip.Addr
	syncook string
}

func newRawKernel(t *testing.T, m listentable.Mode) *rawKernel {
	k := &rawKernel{ns: interop.NewNetns(t), pkts: make(chan wire.Segment, 256),
		kernel: netip.MustParseAddr(interop.KernelV4), us: netip.MustParseAddr(interop.SynackV4)}
	err := k.ns.Do(func() (err error) {
		k.dev, err = tun.Open("")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.dev.Close() })
	k.ns.ConfigureKernelSide(t, k.dev.Name())
	k.syncook = map[listentable.Mode]string{listentable.Never: "0", listentable.AutoIdle: "1",
		listentable.AutoOverflow: "1", listentable.Always: "2"}[m]
	k.ns.Sysctl(t, "net.ipv4.tcp_syncookies", k.syncook)
	k.dev.Attach(linkFunc(func(pkt []byte) {
		p, err := wire.ParsePacket(pkt)
		if err != nil || p.Src != k.kernel || p.Dst != k.us {
			return // router solicitations and the like
		}
		s := p.Segment
		s.Payload = nil
		select {
		case k.pkts <- s:
		default:
		}
	}))
	return k
}

type linkFunc func([]byte)

func (f linkFunc) DeliverPacket(p []byte) { f(p) }

// listen opens a kernel listener with the given backlog (Go's net.Listen
// would take somaxconn) and returns its port.
func (k *rawKernel) listen(t *testing.T, backlog int) uint16 {
	var fd int
	var port uint16
	err := k.ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: k.kernel.As4()}); err != nil {
			return err
		}
		if err := unix.Listen(fd, backlog); err != nil {
			return err
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return err
		}
		port = uint16(sa.(*unix.SockaddrInet4).Port)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return port
}

func (k *rawKernel) send(t *testing.T, sport, dport uint16, flags wire.Flags, sq, ack seq.Num, data int) {
	t.Helper()
	s := wire.Segment{SrcPort: sport, DstPort: dport, Seq: sq, Ack: ack, Flags: flags, Wnd: 65535, Payload: make([]byte, data)}
	if flags&wire.FlagSYN != 0 {
		s.Opts = wire.Options{HasMSS: true, MSS: 1400}
	}
	if err := k.dev.WritePacket(wire.AppendPacket(nil, k.us, k.kernel, &s, 0)); err != nil {
		t.Fatal(err)
	}
}

// replies collects what the kernel sends to sport within d.
func (k *rawKernel) replies(sport uint16, d time.Duration) []wire.Segment {
	var got []wire.Segment
	end := time.After(d)
	for {
		select {
		case s := <-k.pkts:
			if s.DstPort == sport {
				got = append(got, s)
			}
		case <-end:
			return got
		}
	}
}

// cookiesSent reads TcpExt SyncookiesSent in the namespace.
func (k *rawKernel) cookiesSent(t *testing.T) int {
	t.Helper()
	var b []byte
	err := k.ns.Do(func() (err error) {
		b, err = os.ReadFile("/proc/thread-self/net/netstat")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" {
			continue
		}
		for j, n := range names {
			if n == "SyncookiesSent" && j < len(vals) {
				v, _ := strconv.Atoi(vals[j])
				return v
			}
		}
	}
	t.Fatal("no TcpExt SyncookiesSent in /proc/net/netstat")
	return 0
}

// state reads what the kernel holds for the 4-tuple ending in sport.
func (k *rawKernel) state(t *testing.T, sport uint16) listentable.State {
	t.Helper()
	out, err := k.ns.Command(context.Background(), "ss", "-Htan").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	peer := fmt.Sprintf("%s:%d", k.us, sport)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[4] != peer {
			continue
		}
		switch f[0] {
		case "SYN-RECV":
			return listentable.HalfOpen
		case "ESTAB":
			return listentable.Established
		}
		t.Fatalf("the kernel holds %s in %s", peer, f[0])
	}
	return listentable.NoConn
}

func (k *rawKernel) row(t *testing.T, m listentable.Mode, r *listentable.Row, sport uint16) {
	backlog := 16
	if m == listentable.AutoOverflow {
		backlog = 1
	}
	port := k.listen(t, backlog)
	if m == listentable.AutoOverflow {
		// Fill the SYN queue with SYNs nobody completes until the kernel
		// answers one with a cookie (tcp_conn_request).
		before := k.cookiesSent(t)
		for i := uint16(1); k.cookiesSent(t) == before; i++ {
			if i > 8 {
				t.Fatalf("no cookie after %d SYNs to a listener of backlog 1", i-1)
			}
			k.send(t, sport+i, port, wire.FlagSYN, 100, 0, 0)
			k.replies(sport+i, 50*time.Millisecond)
		}
	}
	const peerISN, blindAck = 7000, 12345
	ack := seq.Num(blindAck)
	if r.ValidCookie {
		before := k.cookiesSent(t)
		k.send(t, sport, port, wire.FlagSYN, peerISN, 0, 0)
		got := k.replies(sport, 300*time.Millisecond)
		if len(got) != 1 || got[0].Flags != wire.FlagSYN|wire.FlagACK {
			t.Fatalf("the SYN for a cookie was answered with %v", got)
		}
		if k.cookiesSent(t) == before {
			t.Fatal("the SYN+ACK carried no cookie")
		}
		ack = got[0].Seq + 1
	}
	sq := seq.Num(peerISN)
	if r.Flags&wire.FlagSYN == 0 {
		sq++
	}
	k.send(t, sport, port, r.Flags, sq, ack, r.Data)
	got := k.replies(sport, 300*time.Millisecond)
	if want := r.Reply(m); !want.Matches(got, sq, ack) {
		t.Errorf("answered with %v, want %v", got, want)
	}
	if st, want := k.state(t, sport), r.State(m); st != want {
		t.Errorf("the kernel holds %v, want %v", st, want)
	}
}
