//go:build linux

package tun_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/synack/synack/interop"
	"github.com/synack/synack/link"
	"github.com/synack/synack/link/tun"
	"github.com/synack/synack/wire"
)

// openIn opens a TUN device inside ns and closes it at cleanup.
func openIn(t *testing.T, ns *interop.Netns, name string) *tun.Device {
	t.Helper()
	var d *tun.Device
	err := ns.Do(func() (err error) {
		d, err = tun.Open(name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Open with no name creates a device the kernel names; SetMTU changes it as
// ip sees it; Close removes it.
func TestOpenCreatesAndCloseRemoves(t *testing.T) {
	ns := interop.NewNetns(t)
	d := openIn(t, ns, "")
	if !strings.HasPrefix(d.Name(), "tun") {
		t.Errorf("name %q, want tunN", d.Name())
	}
	if d.MTU() != 1500 {
		t.Errorf("MTU %d, want the kernel's default 1500", d.MTU())
	}
	out := ns.IP(t, "-d", "link", "show", d.Name())
	if !strings.Contains(out, "tun type tun") || !strings.Contains(out, "pi off") {
		t.Errorf("ip -d link show: %s\nwant a tun without packet information", out)
	}
	if err := d.SetMTU(1400); err != nil {
		t.Fatal(err)
	}
	if d.MTU() != 1400 {
		t.Errorf("MTU %d after SetMTU(1400)", d.MTU())
	}
	if out := ns.IP(t, "link", "show", d.Name()); !strings.Contains(out, "mtu 1400") {
		t.Errorf("ip link show after SetMTU(1400): %s", out)
	}
	if err := d.SetMTU(10); err == nil {
		t.Error("SetMTU(10) succeeded")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if out := ns.IP(t, "link", "show"); strings.Contains(out, d.Name()+":") {
		t.Errorf("device %s still there after Close:\n%s", d.Name(), out)
	}
	if err := d.WritePacket([]byte{0x45}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WritePacket after Close: %v, want net.ErrClosed", err)
	}
	if err := d.SetMTU(1500); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetMTU after Close: %v, want net.ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A persistent device made by `ip tuntap add` is attached to, and stays
// after Close.
func TestOpenExistingPersistent(t *testing.T) {
	ns := interop.NewNetns(t)
	ns.IP(t, "tuntap", "add", "dev", "syntun0", "mode", "tun")
	ns.IP(t, "link", "set", "syntun0", "mtu", "9000")
	d := openIn(t, ns, "syntun0")
	if d.Name() != "syntun0" || d.MTU() != 9000 {
		t.Errorf("name %q MTU %d, want syntun0 9000", d.Name(), d.MTU())
	}
	// A second process (or Open) cannot attach to it while we have it.
	err := ns.Do(func() error {
		_, err := tun.Open("syntun0")
		return err
	})
	if !errors.Is(err, syscall.EBUSY) || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second Open: %v, want EBUSY explained", err)
	}
	d.Close()
	if out := ns.IP(t, "link", "show", "syntun0"); !strings.Contains(out, "syntun0") {
		t.Errorf("persistent device gone after Close: %s", out)
	}
}

// Bad input gives one clear error wrapping the errno.
func TestOpenErrors(t *testing.T) {
	ns := interop.NewNetns(t)
	err := ns.Do(func() error { _, err := tun.Open("a-name-far-too-long-for-linux"); return err })
	if err == nil || !strings.Contains(err.Error(), "longer than 15") {
		t.Errorf("long name: %v", err)
	}
	err = ns.Do(func() error { _, err := tun.Open("lo"); return err })
	if !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "not a TUN") {
		t.Errorf("Open(lo): %v, want EINVAL explained", err)
	}
	// Without CAP_NET_ADMIN: capabilities are per thread, and Do's thread
	// dies afterwards, so drop them all there.
	err = ns.Do(func() error {
		if err := dropCaps(); err != nil {
			return err
		}
		_, err := tun.Open("synperm0")
		return err
	})
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Errorf("Open without CAP_NET_ADMIN: %v, want a permission error naming CAP_NET_ADMIN", err)
	}
}

// dropCaps drops every capability of the calling thread.
func dropCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	return unix.Capset(&hdr, &data[0])
}

// collector gathers the packets a device delivers.
type collector chan []byte

func (c collector) DeliverPacket(pkt []byte) {
	select {
	case c <- append([]byte(nil), pkt...):
	default:
	}
}

// Packets flow both ways, IPv4 and IPv6: a SYN written to the device
// reaches a kernel listener, whose SYN+ACK the device reads.
func TestPacketsBothWays(t *testing.T) {
	ns := interop.NewNetns(t)
	d := openIn(t, ns, "")
	ns.ConfigureKernelSide(t, d.Name())
	got := make(collector, 64)
	d.Attach(got)

	for _, c := range []struct{ kernel, us string }{
		{interop.KernelV4, interop.SynackV4},
		{interop.KernelV6, interop.SynackV6},
	} {
		var ln net.Listener
		err := ns.Do(func() (err error) {
			ln, err = net.Listen("tcp", net.JoinHostPort(c.kernel, "0"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := uint16(ln.Addr().(*net.TCPAddr).Port)
		kernel, us := netip.MustParseAddr(c.kernel), netip.MustParseAddr(c.us)
		syn := wire.Segment{SrcPort: 40000, DstPort: port, Seq: 1000, Flags: wire.FlagSYN, Wnd: 65535,
			Opts: wire.Options{HasMSS: true, MSS: 1400}}
		if err := d.WritePacket(wire.AppendPacket(nil, us, kernel, &syn, 0)); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(10 * time.Second)
		for found := false; !found; {
			select {
			case pkt := <-got:
				p, err := wire.ParsePacket(pkt)
				if err != nil { // IPv6 router solicitations, MLD: not ours
					continue
				}
				s := p.Segment
				if p.Src == kernel && p.Dst == us && s.SrcPort == port && s.DstPort == 40000 &&
					s.Flags == wire.FlagSYN|wire.FlagACK && s.Ack == 1001 {
					found = true
				}
			case <-deadline:
				t.Fatalf("%s: no SYN+ACK from the kernel", c.kernel)
			}
		}
	}
}

// Close stops the reader goroutine, also while it is blocked in a read and
// while packets arrive; Attach(nil) detaches.
func TestCloseStopsReader(t *testing.T) {
	ns := interop.NewNetns(t)
	before := readers()
	for i := range 3 {
		d := openIn(t, ns, "")
		got := make(collector, 1)
		d.Attach(got)
		if i == 1 {
			d.Attach(nil)
		}
		if i == 2 { // packets flowing: UDP datagrams from the kernel
			ns.ConfigureKernelSide(t, d.Name())
			err := ns.Do(func() error {
				c, err := net.Dial("udp", net.JoinHostPort(interop.SynackV4, "9"))
				if err != nil {
					return err
				}
				defer c.Close()
				for range 100 {
					c.Write([]byte("discard me"))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if n := readers(); n != before {
			t.Fatalf("after Close %d: %d reader goroutines, want %d", i, n, before)
		}
	}
}

// readers counts goroutines in the device's read loop.
func readers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "tun.(*Device).readLoop")
}

var _ link.Endpoint = (*tun.Device)(nil)
