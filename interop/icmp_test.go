package interop_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/interop"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
	"golang.org/x/sys/unix"
)

// The far side of the router: a second namespace behind a veth pair, the
// kernel's router side 198.51.100.1 / 2001:db8:1::1, the far host .2 / ::2
// (documentation ranges, RFC 5737 and RFC 3849). synack reaches it through
// the test namespace's kernel, which forwards.
const (
	farV4 = "198.51.100.2"
	farV6 = "2001:db8:1::2"
)

// routed is an env whose namespace forwards between synack's TUN and a
// far host over a veth pair: the router's end has MTU routerMTU, the far
// host's farMTU.
type routed struct {
	*env
	far *interop.Netns
}

// sysctl sets key=value inside ns (the /proc/sys/net tree is per
// namespace).
func sysctl(t *testing.T, ns *interop.Netns, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		cmd := ns.Command(context.Background(), "sh", "-c", "echo "+kv[i+1]+" > /proc/sys/"+kv[i])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sysctl %s=%s in %s: %v: %s", kv[i], kv[i+1], ns.Name, err, out)
		}
	}
}

func newRouted(t *testing.T, o envOpts, routerMTU, farMTU string) *routed {
	t.Helper()
	e := newEnv(t, o)
	far := interop.NewNetns(t)
	e.ns.IP(t, "link", "add", "vr", "mtu", routerMTU, "type", "veth", "peer", "name", "vh", "mtu", farMTU, "netns", far.Name)
	e.ns.IP(t, "addr", "add", "198.51.100.1/24", "dev", "vr")
	e.ns.IP(t, "addr", "add", "2001:db8:1::1/64", "dev", "vr", "nodad")
	e.ns.IP(t, "link", "set", "vr", "up")
	far.IP(t, "addr", "add", farV4+"/24", "dev", "vh")
	far.IP(t, "addr", "add", farV6+"/64", "dev", "vh", "nodad")
	far.IP(t, "link", "set", "vh", "up")
	far.IP(t, "route", "add", "default", "via", "198.51.100.1")
	far.IP(t, "-6", "route", "add", "default", "via", "2001:db8:1::1")
	// The router forwards and answers with ICMP without rate limits, so
	// the tests never wait for a token.
	sysctl(t, e.ns, "net/ipv4/ip_forward", "1", "net/ipv6/conf/all/forwarding", "1",
		"net/ipv4/icmp_ratelimit", "0", "net/ipv6/icmp/ratelimit", "0")
	return &routed{env: e, far: far}
}

// farListen opens a kernel listener on the far host.
func (r *routed) farListen(host string) net.Listener { return listenIn(r.t, r.far, host) }

// A Dial towards a destination the router refuses fails at once with the
// errno Linux gives that ICMP, instead of after the SYN retries (about 1.4
// s here, 127 s by default). The router's `unreachable` route answers
// host unreachable (IPv6: no route), its `prohibit` route administratively
// prohibited.
func TestICMPUnreachableFailsDial(t *testing.T) {
	t.Parallel()
	r := newRouted(t, envOpts{cfg: stack.Config{TCP: tcp.Config{SynRetries: 2, RTOInitial: 200 * time.Millisecond}}}, "1500", "1500")
	r.ns.IP(t, "route", "add", "unreachable", "203.0.113.0/25")
	r.ns.IP(t, "route", "add", "prohibit", "203.0.113.128/25")
	r.ns.IP(t, "-6", "route", "add", "unreachable", "2001:db8:2::/48")
	r.ns.IP(t, "-6", "route", "add", "prohibit", "2001:db8:3::/48")
	for _, tc := range []struct {
		addr string
		want syscall.Errno
	}{
		{"203.0.113.7", syscall.EHOSTUNREACH},   // ICMP host unreachable
		{"203.0.113.200", syscall.EHOSTUNREACH}, // ICMP communication administratively prohibited
		{"2001:db8:2::7", syscall.ENETUNREACH},  // ICMPv6 no route to destination
		{"2001:db8:3::7", syscall.EACCES},       // ICMPv6 administratively prohibited
	} {
		start := time.Now()
		_, err := r.dial(net.JoinHostPort(tc.addr, "80"))
		el := time.Since(start)
		var op *net.OpError
		if !errors.Is(err, tc.want) || !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("Dial %s: %v, want dial %v", tc.addr, err, tc.want)
		}
		if el > time.Second {
			t.Errorf("Dial %s failed after %v: it waited for the SYN retries", tc.addr, el)
		}
	}
	c := r.counters()
	if c.ICMPInMsgs < 4 || c.AttemptFails != 4 {
		t.Errorf("ICMPInMsgs %d, AttemptFails %d; want ≥ 4 and 4", c.ICMPInMsgs, c.AttemptFails)
	}
}

// RFC 1191, RFC 8201: the far host (MTU 1500) advertises MSS 1460, so
// synack sends full-sized segments with DF set; the router cannot forward
// them over its 1280-byte end of the link and says so; synack lowers its
// MSS and the transfer completes, every byte intact. Without path MTU
// discovery the connection would stall in retransmissions that never fit.
// (Only synack's direction is bulk: the far host's own large segments
// would meet the same router end, which answers it, not synack.)
func TestPathMTUDiscovery(t *testing.T) {
	t.Parallel()
	r := newRouted(t, envOpts{}, "1280", "1500")
	for _, fam := range []struct{ name, far string }{{"ipv4", farV4}, {"ipv6", farV6}} {
		t.Run(fam.name, func(t *testing.T) {
			ln := r.farListen(fam.far)
			go sinkAndReply(ln)
			c, err := r.dial(ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			withTimeout(t, 30*time.Second, "1 MiB through the 1280-byte link", func(context.Context) error {
				return sendAndCheck(c, 1<<20, 7)
			})
		})
	}
	c := r.counters()
	if c.PathMTUChanges < 2 || c.ICMPOutOfWindow != 0 {
		t.Errorf("PathMTUChanges %d, ICMPOutOfWindow %d; want ≥ 2 (one per family) and 0", c.PathMTUChanges, c.ICMPOutOfWindow)
	}
	// A new connection to the far host starts with the path's MSS: the
	// far kernel sees it in the SYN (TCP_MAXSEG on its side).
	for _, fam := range []struct {
		far  string
		want int
	}{{farV4, 1240 - 12}, {farV6, 1220 - 12}} {
		sc, kc := r.dialKernel(r.farListen(fam.far))
		mss := maxSeg(t, kc)
		if mss > fam.want {
			t.Errorf("%s: the far kernel's MSS towards synack is %d, want ≤ %d (synack's SYN should carry the learnt path MTU)", fam.far, mss, fam.want)
		}
		sc.Close()
		kc.Close()
	}
}

// maxSeg reads TCP_MAXSEG from a kernel socket: the MSS it sends with.
func maxSeg(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var mss int
	var serr error
	raw.Control(func(fd uintptr) { mss, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG) })
	if serr != nil {
		t.Fatal(serr)
	}
	return mss
}

// The MSS setting is a clamp: with it at 536, synack advertises 536, so the
// kernel sends it no larger segment, and sends none larger itself, whatever
// the kernel advertises.
func TestMSSClamp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{cfg: stack.Config{TCP: tcp.Config{MSS: 536}}})
	for _, fam := range families {
		sc, kc := e.dialKernel(e.kernelListen(fam.kernel))
		if mss := maxSeg(t, kc); mss > 536 {
			t.Errorf("%s: the kernel sends segments of %d bytes, want ≤ 536", fam.name, mss)
		}
		row, ok := e.stateOf(sc.LocalAddr(), sc.RemoteAddr())
		if !ok || row.TCB.MSS > 536 {
			t.Errorf("%s: synack sends segments of %d bytes, want ≤ 536", fam.name, row.TCB.MSS)
		}
		go func() {
			defer kc.Close()
			io.Copy(kc, kc)
			kc.(*net.TCPConn).CloseWrite()
		}()
		withTimeout(t, 20*time.Second, fam.name+": 256 KiB through the clamp", func(context.Context) error {
			return exchange(sc, 256<<10, 3)
		})
	}
}

// RFC 791: a far host that does not set DF (IP_PMTUDISC_DONT) sends
// 1500-byte packets; the router fragments them onto the TUN, whose kernel
// side has MTU 1000, and synack reassembles every one: 1 MiB each way
// through its echo server arrives intact.
func TestIPv4FragmentsReassembled(t *testing.T) {
	t.Parallel()
	r := newRouted(t, envOpts{}, "1500", "1500")
	// synack still believes the TUN carries 1500 bytes, so it advertises
	// MSS 1460; only the kernel's side of the TUN is lowered.
	r.ns.IP(t, "link", "set", "dev", r.dev.Name(), "mtu", "1000")
	ln := r.listen(interop.SynackV4)
	go echo(ln)
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	var kc net.Conn
	err := r.far.Do(func() (err error) {
		kc, err = d.Dial("tcp", ln.Addr().String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	withTimeout(t, 30*time.Second, "1 MiB each way in fragments", func(context.Context) error {
		return exchange(kc, 1<<20, 11)
	})
	c := r.counters()
	if c.ReasmOKs < 100 || c.ReasmFails != 0 || c.ReasmReqds < 2*c.ReasmOKs {
		t.Errorf("reassembly: %d datagrams from %d fragments, %d failed; want ≥ 100 datagrams, 2 fragments each, none failed",
			c.ReasmOKs, c.ReasmReqds, c.ReasmFails)
	}
}

// RFC 792, RFC 4443 §4.2: the kernel pings synack over both families and
// gets its echo back; synack's TCP is undisturbed by it.
func TestPingSynack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, fam := range []struct {
		netw, kernel, synack string
		req, reply           uint8
	}{
		{"ip4:icmp", interop.KernelV4, interop.SynackV4, wire.ICMPv4Echo, wire.ICMPv4EchoReply},
		{"ip6:ipv6-icmp", interop.KernelV6, interop.SynackV6, wire.ICMPv6EchoRequest, wire.ICMPv6EchoReply},
	} {
		var pc net.PacketConn
		err := e.ns.Do(func() (err error) {
			pc, err = net.ListenPacket(fam.netw, fam.kernel)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		src, dst := netip.MustParseAddr(fam.kernel), netip.MustParseAddr(fam.synack)
		// The kernel fills in an ICMPv6 checksum itself; ICMPv4's is ours.
		msg := wire.AppendICMP(nil, src, dst, &wire.ICMP{Type: fam.req, Rest: 0xbeef0001, Body: []byte("synack ping")})
		buf := make([]byte, 1500)
		// As ping does, a request a second, five at most: the kernel may
		// drop one while the fresh link settles.
		var until time.Time
		for try := 0; ; {
			if try == 0 || time.Now().After(until) {
				if try++; try > 5 {
					t.Fatalf("%s: no echo reply to 5 requests", fam.netw)
				} else if try > 1 {
					t.Logf("%s: no echo reply within a second; request %d", fam.netw, try)
				}
				if _, err := pc.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
					t.Fatal(err)
				}
				until = time.Now().Add(time.Second)
				pc.SetReadDeadline(until)
			}
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				continue // the second is up: ask again
			}
			m, err := wire.ParseICMP(buf[:n], dst, src)
			if err != nil || m.Type != fam.reply {
				continue // our own request, seen by the raw socket, or other ICMP
			}
			if from.String() != fam.synack || m.Rest != 0xbeef0001 || string(m.Body) != "synack ping" {
				t.Fatalf("%s: reply from %v: %+v", fam.netw, from, m)
			}
			break
		}
	}
	if c := e.counters(); c.ICMPOutMsgs < 2 {
		t.Errorf("ICMPOutMsgs %d, want an echo reply per family at least", c.ICMPOutMsgs)
	}
}
