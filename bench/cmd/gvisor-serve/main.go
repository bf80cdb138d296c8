// Command gvisor-serve is `synack serve` with gVisor's netstack in place of
// synack: it opens a TUN device, runs a gVisor stack on it through
// gvisor.dev/gvisor/pkg/tcpip/link/fdbased (on the TUN descriptor, so
// without GSO: fdbased enables GSO on sockets only), and serves the same
// applications (bench/internal/apps, a copy of serve's) on a gonet
// listener. It is the gVisor column of cmd/tunbench.
//
//	ip netns exec NS gvisor-serve --tun tun0 --addr 192.0.2.2/24 --port 5001 --app echo
//
// The kernel's side of the device is configured by whoever created it, as
// for `synack serve`. SIGINT or SIGTERM closes every connection, prints
// the stack's TCP counters on stdout and exits; with SYNACK_MEMPROFILE
// set, SIGUSR1 writes the stack's heap in use, as synack serve's does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/synack/synack/bench"
	"github.com/synack/synack/internal/apps"
	"github.com/synack/synack/internal/memprof"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"
)

type addrList []string

func (a *addrList) String() string     { return strings.Join(*a, ",") }
func (a *addrList) Set(s string) error { *a = append(*a, s); return nil }

func main() {
	// The TUN benchmark's figures of the stack's heap, as synack serve's
	// (off unless SYNACK_MEMPROFILE is set; see internal/memprof).
	defer memprof.Start(memprof.Owners{
		Stack: []string{"gvisor.dev/gvisor"},
		App:   []string{"github.com/synack/synack/internal/apps", "main"},
	})()
	var addrs addrList
	tunName := flag.String("tun", "", "TUN device to use; created if it does not exist (required)")
	flag.Var(&addrs, "addr", "the stack's address, IP/PREFIX; once IPv4 and once IPv6 for a dual-stack host (required)")
	port := flag.Int("port", 0, "TCP port to listen on (required)")
	app := flag.String("app", "", "application: "+strings.Join(apps.Names, ", ")+" (required)")
	mtu := flag.Int("mtu", 0, "set the TUN device's MTU (default: leave it)")
	backlog := flag.Int("backlog", 128, "listen backlog (as synack serve's default)")
	gro := flag.Bool("gro", false, "turn on fdbased's generic receive offload (GRO)")
	bufSize := flag.Int("buf", 256<<10, "send and receive buffer per connection, bytes (default and max; synack's default)")
	flag.Parse()
	if err := run(*tunName, addrs, *port, *app, *mtu, *backlog, *gro, *bufSize); err != nil {
		fmt.Fprintln(os.Stderr, "gvisor-serve:", err)
		os.Exit(1)
	}
}

func run(tunName string, addrs []string, port int, app string, mtu, backlog int, gro bool, bufSize int) error {
	if tunName == "" || len(addrs) == 0 || port < 1 || port > 65535 || !apps.Valid(app) {
		flag.Usage()
		return errors.New("--tun, --addr, --port and --app are required")
	}
	var prefixes []netip.Prefix
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return fmt.Errorf("--addr %q: %v", a, err)
		}
		prefixes = append(prefixes, p)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	fd, name, err := openTUN(tunName)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if mtu != 0 {
		if err := setMTU(name, mtu); err != nil {
			return err
		}
	}
	devMTU, err := getMTU(name)
	if err != nil {
		return err
	}

	s, err := newStack(fd, uint32(devMTU), prefixes, gro, bufSize)
	if err != nil {
		return err
	}

	// One listening endpoint on the port: IPv6 with dual-stack when an IPv6
	// address is given (V6Only off, so it takes IPv4 too), IPv4 otherwise.
	proto := ipv4.ProtocolNumber
	for _, p := range prefixes {
		if p.Addr().Is6() {
			proto = ipv6.ProtocolNumber
		}
	}
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(tcp.ProtocolNumber, proto, &wq)
	if terr != nil {
		return fmt.Errorf("endpoint: %s", terr)
	}
	if proto == ipv6.ProtocolNumber {
		ep.SocketOptions().SetV6Only(false)
	}
	if terr := ep.Bind(tcpip.FullAddress{Port: uint16(port)}); terr != nil {
		return fmt.Errorf("bind port %d: %s", port, terr)
	}
	if terr := ep.Listen(backlog); terr != nil {
		return fmt.Errorf("listen: %s", terr)
	}
	ln := gonet.NewTCPListener(s, &wq, ep)

	attrs := []any{"tun", name, "mtu", devMTU, "port", port, "app", app, "gro", gro}
	for _, p := range prefixes {
		attrs = append(attrs, "addr", p.String())
	}
	log.Info("serving", attrs...)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	apps.Serve(ctx, ln, app, log)

	fmt.Printf("gvisor-serve: counters of %s\n", name)
	printStats(s)
	s.Close()
	s.Wait()
	return nil
}

// newStack is a gVisor stack with one NIC, an fdbased endpoint on the TUN
// descriptor, the given addresses and a default route through the NIC.
// TCP settings are synack's defaults, as in bench/peers.go: NewReno, SACK
// on, buffers of bufSize (default and max), TIME-WAIT reuse.
func newStack(fd int, mtu uint32, prefixes []netip.Prefix, gro bool, bufSize int) (*stack.Stack, error) {
	le, err := fdbased.New(&fdbased.Options{
		FDs: []int{fd},
		MTU: mtu,
		// No GSO: fdbased turns it on for socket descriptors only, and
		// this is a TUN device (no IFF_VNET_HDR). No checksum offloads
		// either: a TUN device without a virtio-net header hands over and
		// takes packets with their checksums complete, so gVisor
		// verifies and computes them in software, as synack does.
		GRO: gro,
	})
	if err != nil {
		return nil, fmt.Errorf("fdbased: %v", err)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	fail := func(what string, err tcpip.Error) (*stack.Stack, error) {
		s.Destroy()
		return nil, fmt.Errorf("%s: %s", what, err)
	}
	if err := bench.SetGvisorTCP(s, bufSize); err != nil {
		s.Destroy()
		return nil, err
	}
	const nic tcpip.NICID = 1
	if err := s.CreateNIC(nic, le); err != nil {
		return fail("CreateNIC", err)
	}
	var routes []tcpip.Route
	for _, p := range prefixes {
		pa := tcpip.ProtocolAddress{AddressWithPrefix: tcpip.AddressWithPrefix{
			Address: tcpip.AddrFromSlice(p.Addr().AsSlice()), PrefixLen: p.Bits()}}
		if p.Addr().Is4() {
			pa.Protocol = ipv4.ProtocolNumber
			routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, NIC: nic})
		} else {
			pa.Protocol = ipv6.ProtocolNumber
			routes = append(routes, tcpip.Route{Destination: header.IPv6EmptySubnet, NIC: nic})
		}
		if err := s.AddProtocolAddress(nic, pa, stack.AddressProperties{}); err != nil {
			return fail("address "+p.String(), err)
		}
	}
	// Everything goes out through the TUN device: it is a point-to-point
	// link, as synack treats it.
	s.SetRouteTable(routes)
	return s, nil
}

func printStats(s *stack.Stack) {
	st := s.Stats()
	t := st.TCP
	for _, r := range []struct {
		name string
		c    *tcpip.StatCounter
	}{
		{"ActiveOpens", t.ActiveConnectionOpenings}, {"PassiveOpens", t.PassiveConnectionOpenings},
		{"CurrEstab", t.CurrentEstablished}, {"EstabResets", t.EstablishedResets},
		{"InSegs", t.ValidSegmentsReceived}, {"InvalidSegs", t.InvalidSegmentsReceived},
		{"OutSegs", t.SegmentsSent}, {"RetransSegs", t.Retransmits}, {"OutRsts", t.ResetsSent},
		{"ChecksumErrors", t.ChecksumErrors},
		{"ListenOverflowSynDrop", t.ListenOverflowSynDrop}, {"ListenOverflowAckDrop", t.ListenOverflowAckDrop},
		{"SynCookiesSent", t.ListenOverflowSynCookieSent}, {"SynCookiesRecv", t.ListenOverflowSynCookieRcvd},
		{"SynCookiesFailed", t.ListenOverflowInvalidSynCookieRcvd},
		{"DroppedPackets", st.DroppedPackets},
	} {
		fmt.Printf("%-24s %d\n", r.name, r.c.Value())
	}
}

// openTUN opens (creating if need be) the TUN device name with IFF_TUN |
// IFF_NO_PI, as link/tun does, and returns its descriptor and name.
func openTUN(name string) (int, string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, "", err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("attach %s: %w", name, err)
	}
	return fd, ifr.Name(), nil
}

func ctlSocket() (int, error) {
	return unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
}

func getMTU(name string) (int, error) {
	ctl, err := ctlSocket()
	if err != nil {
		return 0, err
	}
	defer unix.Close(ctl)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(ctl, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, fmt.Errorf("%s: read MTU: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

func setMTU(name string, mtu int) error {
	ctl, err := ctlSocket()
	if err != nil {
		return err
	}
	defer unix.Close(ctl)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(ctl, unix.SIOCSIFMTU, ifr); err != nil {
		return fmt.Errorf("%s: set MTU %d: %w", name, mtu, err)
	}
	return nil
}
