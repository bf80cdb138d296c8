package ip

import (
	"net/netip"
	"syscall"

	"github.com/synack/synack/wire"
)

// Path MTU bounds. Linux never lowers an IPv4 path below ip_rt_min_pmtu
// (552), so a forged report cannot make it send tiny segments; RFC 8201 §4
// forbids going below IPv6's minimum link MTU.
const (
	MinPMTU4 = 552
	MinPMTU6 = 1280
)

// Error is what an ICMP error means for TCP: the errno and whether Linux
// calls it hard (icmp_err_convert, icmpv6_err_convert).
type Error struct {
	Errno syscall.Errno
	Fatal bool
}

// unreach4 is Linux's icmp_err_convert for destination-unreachable codes
// 0–15 (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). Code 4,
// fragmentation needed, is a path MTU report instead.
var unreach4 = [16]Error{
	{syscall.ENETUNREACH, false},  // net unreachable
	{syscall.EHOSTUNREACH, false}, // host unreachable
	{syscall.ENOPROTOOPT, true},   // protocol unreachable
	{syscall.ECONNREFUSED, true},  // port unreachable
	{syscall.EMSGSIZE, false},     // fragmentation needed
	{syscall.EOPNOTSUPP, false},   // source route failed
	{syscall.ENETUNREACH, true},   // destination network unknown
	{syscall.EHOSTDOWN, true},     // destination host unknown
	{syscall.ENONET, true},        // source host isolated
	{syscall.ENETUNREACH, true},   // network administratively prohibited
	{syscall.EHOSTUNREACH, true},  // host administratively prohibited
	{syscall.ENETUNREACH, false},  // network unreachable for TOS
	{syscall.EHOSTUNREACH, false}, // host unreachable for TOS
	{syscall.EHOSTUNREACH, true},  // communication administratively prohibited
	{syscall.EHOSTUNREACH, true},  // host precedence violation
	{syscall.EHOSTUNREACH, true},  // precedence cutoff in effect
}

// unreach6 is Linux's icmpv6_err_convert for destination-unreachable codes
// 0–6 (RFC 4443 §3.1).
var unreach6 = [7]Error{
	{syscall.ENETUNREACH, false},  // no route to destination
	{syscall.EACCES, true},        // administratively prohibited
	{syscall.EHOSTUNREACH, false}, // beyond scope of source address
	{syscall.EHOSTUNREACH, false}, // address unreachable
	{syscall.ECONNREFUSED, true},  // port unreachable
	{syscall.EACCES, true},        // source address failed policy
	{syscall.EACCES, true},        // reject route
}

// plateaus are RFC 1191 §7's MTU plateaus, for a Fragmentation Needed from
// a router too old to say the next-hop MTU (§5).
var plateaus = [...]int{32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68}

// IsEcho says whether m is an echo request, which a host answers.
func IsEcho(v6 bool, m *wire.ICMP) bool {
	return !v6 && m.Type == wire.ICMPv4Echo || v6 && m.Type == wire.ICMPv6EchoRequest
}

// EchoReply is the answer to the echo request m (RFC 792, RFC 4443 §4.2):
// the same identifier, sequence number and data.
func EchoReply(v6 bool, m *wire.ICMP) wire.ICMP {
	r := wire.ICMP{Type: wire.ICMPv4EchoReply, Rest: m.Rest, Body: m.Body}
	if v6 {
		r.Type = wire.ICMPv6EchoReply
	}
	return r
}

// ErrorOf maps an ICMP error to its errno; ok is false for one TCP does not
// act on (path MTU reports included: see PMTUReport).
func ErrorOf(v6 bool, m *wire.ICMP) (Error, bool) {
	switch {
	case !v6 && m.Type == wire.ICMPv4Unreachable && int(m.Code) < len(unreach4) && m.Code != wire.ICMPv4CodeFragNeeded:
		return unreach4[m.Code], true
	case v6 && m.Type == wire.ICMPv6Unreachable:
		if int(m.Code) < len(unreach6) {
			return unreach6[m.Code], true
		}
		return Error{syscall.EPROTO, true}, true
	case !v6 && m.Type == wire.ICMPv4TimeExceeded, v6 && m.Type == wire.ICMPv6TimeExceeded:
		return Error{syscall.EHOSTUNREACH, false}, true
	case !v6 && m.Type == wire.ICMPv4ParamProblem, v6 && m.Type == wire.ICMPv6ParamProblem:
		return Error{syscall.EPROTO, true}, true
	}
	return Error{}, false
}

// PMTUReport returns the MTU a Fragmentation Needed (RFC 1191 §4) or Packet
// Too Big (RFC 4443 §3.2) reports.
func PMTUReport(v6 bool, m *wire.ICMP) (int, bool) {
	switch {
	case v6 && m.Type == wire.ICMPv6PacketTooBig:
		return int(min(m.Rest, 1<<16)), true
	case !v6 && m.Type == wire.ICMPv4Unreachable && m.Code == wire.ICMPv4CodeFragNeeded:
		if mtu := int(m.Rest & 0xffff); mtu != 0 {
			return mtu, true
		}
		// RFC 1191 §5: an old router leaves the field zero; guess the
		// plateau below the quoted datagram's length.
		if len(m.Body) < wire.IPv4MinHeaderLen {
			return 0, false
		}
		l := int(wire.IPv4(m.Body).TotalLen())
		for _, p := range plateaus {
			if p < l {
				return p, true
			}
		}
		return plateaus[len(plateaus)-1], true
	}
	return 0, false
}

// ClampPMTU raises a reported MTU to the floor of dst's family.
func ClampPMTU(dst netip.Addr, mtu int) int {
	if dst.Is4() {
		return max(mtu, MinPMTU4)
	}
	return max(mtu, MinPMTU6)
}

// MSSFor is what an MTU leaves for a segment's data in a's family: the IP
// header and an option-less TCP header come off (RFC 9293 §3.7.1).
func MSSFor(a netip.Addr, mtu int) int {
	if a.Is4() {
		return mtu - wire.IPv4MinHeaderLen - wire.TCPMinHeaderLen
	}
	return mtu - wire.IPv6HeaderLen - wire.TCPMinHeaderLen
}

// TimeExceeded builds the ICMP Time Exceeded, fragment reassembly time
// exceeded, that tells the sender of a datagram which never came whole,
// quoting its first fragment (RFC 792, RFC 4443 §3.3; RFC 1122 §3.3.2 and
// RFC 8200 §4.5 ask for it only when the first fragment came). It returns
// the message and the addresses to send it from and to; ok is false for a
// datagram that carried ICMP, lest two hosts answer each other's errors
// (RFC 1122 §3.2.2), and for a source that is not unicast.
func TimeExceeded(first []byte) (from, to netip.Addr, m wire.ICMP, ok bool) {
	var src, dst netip.Addr
	var proto uint8
	m = wire.ICMP{Code: wire.ICMPv4CodeReasmTime, Body: first}
	switch {
	case len(first) >= wire.IPv4MinHeaderLen && first[0]>>4 == 4:
		v := wire.IPv4(first)
		src, dst, proto, m.Type = v.Src(), v.Dst(), v.Protocol(), wire.ICMPv4TimeExceeded
	case len(first) >= wire.IPv6HeaderLen && first[0]>>4 == 6:
		v := wire.IPv6(first)
		src, dst, proto, m.Type = v.Src(), v.Dst(), v.NextHeader(), wire.ICMPv6TimeExceeded
		m.Code = wire.ICMPv6CodeReasm
		if proto == 44 && len(first) > wire.IPv6HeaderLen {
			proto = first[wire.IPv6HeaderLen] // the fragment header's next header
		}
	default:
		return from, to, m, false
	}
	if proto == wire.ProtoICMP || proto == wire.ProtoICMPv6 || !src.IsGlobalUnicast() && !src.IsLoopback() {
		return from, to, m, false
	}
	return dst, src, m, true
}
