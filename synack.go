// Package synack is a user-space TCP/IP stack with standard net types:
// one import for the common case. Attach it to a TUN device (or to any
// link, or make an in-memory pair for tests), then Dial, DialContext and
// Listen as with package net; Forward serves connections to any
// destination address, as tun2socks and VPNs need.
//
//	n, err := synack.OpenTUN("tun0", synack.Config{}, netip.MustParsePrefix("192.0.2.2/24"))
//	ln, err := n.Listen("tcp", "192.0.2.2:80")
//
// Settings are in Config; its fields name the Linux sysctls they mirror
// (net.ipv4.tcp_syncookies, tcp_max_tw_buckets, tcp_tw_reuse, and in
// Config.TCP tcp_syn_retries, tcp_fin_timeout, tcp_keepalive_time…).
//
// The layers below stay public for those who drive them: netconn (this
// API's net types over a stack), stack (the sans-IO stack: segments, ticks
// and calls in, with a time passed in), tcp (one connection's state
// machine), link and link/tun (the links), sim (the simulated network).
package synack

import (
	"net/netip"

	"github.com/synack/synack/link"
	"github.com/synack/synack/link/tun"
	"github.com/synack/synack/netconn"
	"github.com/synack/synack/stack"
)

// Config is a stack's settings; the zero value is Linux's defaults.
type Config = stack.Config

// ForwardRequest is a connection to an address the stack does not own,
// offered to a Forward handler: Accept it as that address, or Refuse it.
type ForwardRequest = netconn.ForwardRequest

// Net is a user-space stack on its links. Dial, DialContext and Listen
// return net.Conn and net.Listener; Forward serves every other
// destination; Close ends every connection and closes the links.
type Net struct {
	*netconn.Stack
}

// OpenTUN creates (or opens) the TUN device name ("" lets the kernel
// choose), with checksum and TCP segmentation offload where the kernel
// grants it (tun.Options), and runs a stack on it owning addrs. It needs CAP_NET_ADMIN;
// the kernel's side of the device is configured as usual (ip addr, ip
// link set up).
func OpenTUN(name string, cfg Config, addrs ...netip.Prefix) (*Net, error) {
	dev, err := tun.OpenWith(name, tun.Options{Offload: true})
	if err != nil {
		return nil, err
	}
	n, err := Attach(dev, cfg, addrs...)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return n, nil
}

// Attach runs a stack on ep, owning addrs.
func Attach(ep link.Endpoint, cfg Config, addrs ...netip.Prefix) (*Net, error) {
	s := netconn.New(cfg)
	if err := s.AddLink(ep, addrs...); err != nil {
		s.Close()
		return nil, err
	}
	return &Net{s}, nil
}

// Pipe returns two stacks joined by an in-memory link, owning a and b:
// for tests, and for examples that need no privileges.
func Pipe(cfg Config, a, b netip.Prefix) (*Net, *Net, error) {
	pa, pb := link.Pipe(1500)
	na, err := Attach(pa, cfg, a)
	if err != nil {
		pb.Close()
		return nil, nil, err
	}
	nb, err := Attach(pb, cfg, b)
	if err != nil {
		na.Close()
		return nil, nil, err
	}
	return na, nb, nil
}
