package interop_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack"
	"github.com/synack/synack/interop"
	"github.com/synack/synack/link/tun"
)

// The forwarder through the one-import API, with the kernel as client: a
// namespace routes 198.51.100.0/24 into a TUN device, and synack, owning
// only 192.0.2.2, serves port 443 of any address there (an echo) and
// refuses the rest with RST — what tun2socks does with a real network.
func TestForwardKernelClient(t *testing.T) {
	t.Parallel()
	ns := interop.NewNetns(t)
	var dev *tun.Device
	if err := ns.Do(func() (err error) { dev, err = tun.Open(""); return err }); err != nil {
		t.Fatal(err)
	}
	ns.ConfigureKernelSide(t, dev.Name())
	ns.IP(t, "route", "add", "198.51.100.0/24", "dev", dev.Name())
	n, err := synack.Attach(dev, synack.Config{}, netip.PrefixFrom(netip.MustParseAddr(interop.SynackV4), interop.PrefixLen4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	asked := make(chan net.Addr, 4)
	n.Forward(func(r *synack.ForwardRequest) {
		asked <- r.LocalAddr()
		if r.LocalAddr().(*net.TCPAddr).Port != 443 {
			r.Refuse()
			return
		}
		c, err := r.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(c, c)
		c.Close()
	})
	dial := func(addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() (err error) { c, err = net.DialTimeout("tcp", addr, 10*time.Second); return err })
		return c, err
	}

	c, err := dial("198.51.100.7:443")
	if err != nil {
		t.Fatalf("the kernel's connection through the forwarder: %v", err)
	}
	if got := (<-asked).String(); got != "198.51.100.7:443" {
		t.Fatalf("the handler was asked about %s", got)
	}
	msg := []byte("through the forwarder, as tun2socks")
	c.Write(msg)
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != string(msg) {
		t.Fatalf("echo through the forwarder: %q, %v", got, err)
	}

	if _, err := dial("198.51.100.9:80"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a refused forward: %v, want ECONNREFUSED", err)
	}
	if got := (<-asked).String(); got != "198.51.100.9:80" {
		t.Fatalf("the handler was asked about %s", got)
	}
}
