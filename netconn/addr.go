package netconn

import (
	"net"
	"net/netip"
	"strconv"
)

// parseAddr parses a "host:port" address for network, which must be
// "tcp", "tcp4" or "tcp6". The host must be an IP address: netconn does no
// name resolution. An empty or unspecified host is allowed only when
// wildcard is set (Listen), and comes back as the unspecified address of
// the network's family. The port must be numeric.
func parseAddr(network, address string, wildcard bool) (netip.AddrPort, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return netip.AddrPort{}, net.UnknownNetworkError(network)
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "invalid port", Addr: address}
	}
	var ip netip.Addr
	if host == "" {
		if !wildcard {
			return netip.AddrPort{}, &net.AddrError{Err: "missing address", Addr: address}
		}
		ip = netip.IPv6Unspecified()
		if network == "tcp4" {
			ip = netip.IPv4Unspecified()
		}
		return netip.AddrPortFrom(ip, uint16(p)), nil
	}
	ip, err = netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, &net.AddrError{Err: "not an IP address (netconn does no name resolution)", Addr: host}
	}
	ip = ip.Unmap()
	if (network == "tcp4" && !ip.Is4()) || (network == "tcp6" && !ip.Is6()) {
		return netip.AddrPort{}, &net.AddrError{Err: "no suitable address", Addr: host}
	}
	if ip.IsUnspecified() && !wildcard {
		return netip.AddrPort{}, &net.AddrError{Err: "unspecified address", Addr: host}
	}
	return netip.AddrPortFrom(ip, uint16(p)), nil
}

// tcpAddr converts a netip.AddrPort, or returns nil (an untyped nil
// net.Addr, so that an OpError prints no "<nil>") for the zero value.
func tcpAddr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}
