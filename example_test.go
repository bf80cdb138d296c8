package synack_test

import (
	"fmt"
	"io"
	"log"
	"net/netip"

	"github.com/synack/synack"
)

// Hello world: two stacks on an in-memory link, an echo server on one, a
// client on the other, with the standard net types.
func Example() {
	a, b, _ := synack.Pipe(synack.Config{}, netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("192.0.2.2/24"))
	defer a.Close()
	defer b.Close()
	ln, _ := b.Listen("tcp", "192.0.2.2:80")
	go func() { c, _ := ln.Accept(); io.Copy(c, c); c.Close() }()
	c, _ := a.Dial("tcp", "192.0.2.2:80")
	c.Write([]byte("hello"))
	buf := make([]byte, 5)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
	// Output: hello
}

// On a TUN device (as root): the kernel reaches the stack through tun0,
// whose kernel side is configured as usual (ip addr add 192.0.2.1/24 dev
// tun0; ip link set tun0 up).
func ExampleOpenTUN() {
	n, err := synack.OpenTUN("tun0", synack.Config{}, netip.MustParsePrefix("192.0.2.2/24"))
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	ln, err := n.Listen("tcp", "192.0.2.2:80")
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() { io.Copy(c, c); c.Close() }()
	}
}

// Forwarding, as tun2socks and VPNs do: the stack answers connections to
// any address routed to it; the handler accepts them (here: an echo
// server for port 443) or refuses them with RST.
func ExampleNet_Forward() {
	client, proxy, _ := synack.Pipe(synack.Config{}, netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("192.0.2.2/24"))
	defer client.Close()
	defer proxy.Close()
	proxy.Forward(func(r *synack.ForwardRequest) {
		if netip.MustParseAddrPort(r.LocalAddr().String()).Port() != 443 {
			r.Refuse()
			return
		}
		c, err := r.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	})
	c, _ := client.Dial("tcp", "198.51.100.7:443")
	fmt.Println("connected to", c.RemoteAddr())
	c.Write([]byte("via the forwarder"))
	buf := make([]byte, 17)
	io.ReadFull(c, buf)
	fmt.Println(string(buf))
	_, err := client.Dial("tcp", "198.51.100.7:80")
	fmt.Println(err != nil)
	// Output:
	// connected to 198.51.100.7:443
	// via the forwarder
	// true
}
