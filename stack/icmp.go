package stack

import (
	"net/netip"
	"syscall"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// ICMP as a TCP host needs it: errors about segments we sent go to their
// connection, echo requests are answered, path MTU reports lower the MSS.

// Path MTU bounds. Linux never lowers an IPv4 path below ip_rt_min_pmtu
// (552), so a forged report cannot make it send tiny segments; RFC 8201 §4
// forbids going below IPv6's minimum link MTU.
const (
	minPMTU4 = 552
	minPMTU6 = 1280
	// pmtuLife is how long a learnt path MTU is kept (RFC 1191 §6.3
	// suggests 10 minutes, as Linux's ip_rt_mtu_expires).
	pmtuLife = 10 * time.Minute
	// pmtuMax bounds the cache of learnt path MTUs.
	pmtuMax = 4096
)

// icmpErr is what an ICMP error means for TCP: the errno and whether Linux
// calls it hard (icmp_err_convert, icmpv6_err_convert).
type icmpErr struct {
	err   syscall.Errno
	fatal bool
}

// unreach4 is Linux's icmp_err_convert for destination-unreachable codes
// 0–15 (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). Code 4,
// fragmentation needed, is a path MTU report instead.
var unreach4 = [16]icmpErr{
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
var unreach6 = [7]icmpErr{
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

// icmpArrive handles an ICMP or ICMPv6 message addressed to us.
func (s *Stack) icmpArrive(now time.Time, p *wire.Packet) {
	s.stats.ICMPInMsgs++
	v6 := p.Version == 6
	m, err := wire.ParseICMP(p.Payload, p.Src, p.Dst)
	if err != nil {
		s.stats.ICMPInErrors++
		s.dropPacket(now, DropMalformed, err)
		return
	}
	switch {
	case !v6 && m.Type == wire.ICMPv4Echo, v6 && m.Type == wire.ICMPv6EchoRequest:
		s.echoReply(p, &m)
		return
	case !m.IsError(v6):
		s.dropPacket(now, DropICMP, nil) // echo replies, neighbour discovery, ...
		return
	}
	q, err := wire.ParseQuoted(m.Body)
	if err != nil {
		s.dropPacket(now, DropICMP, err)
		return
	}
	// We sent the quoted packet: its source is ours, and the ICMP came back
	// to that address.
	t := tuple{laddr: q.Src.As16(), raddr: q.Dst.As16(), lport: q.SrcPort, rport: q.DstPort}
	if q.Src != p.Dst {
		s.dropPacket(now, DropICMP, nil)
		return
	}
	var took, known bool
	if mtu, ok := pmtuReport(v6, &m); ok {
		took, known = s.pathMTU(now, t, q.Seq, mtu)
	} else if e, ok := icmpError(v6, &m); ok {
		took, known = s.icmpError(now, t, q, e)
	} else {
		// Source quench (RFC 6633), redirects, unknown codes.
		s.dropPacket(now, DropICMP, nil)
		return
	}
	switch {
	case !known:
		s.dropPacket(now, DropICMP, nil)
	case !took:
		s.stats.ICMPOutOfWindow++
	}
}

// icmpError maps an ICMP error to its errno; ok is false for one TCP does
// not act on.
func icmpError(v6 bool, m *wire.ICMP) (icmpErr, bool) {
	switch {
	case !v6 && m.Type == wire.ICMPv4Unreachable && int(m.Code) < len(unreach4) && m.Code != wire.ICMPv4CodeFragNeeded:
		return unreach4[m.Code], true
	case v6 && m.Type == wire.ICMPv6Unreachable:
		if int(m.Code) < len(unreach6) {
			return unreach6[m.Code], true
		}
		return icmpErr{syscall.EPROTO, true}, true
	case !v6 && m.Type == wire.ICMPv4TimeExceeded, v6 && m.Type == wire.ICMPv6TimeExceeded:
		return icmpErr{syscall.EHOSTUNREACH, false}, true
	case !v6 && m.Type == wire.ICMPv4ParamProblem, v6 && m.Type == wire.ICMPv6ParamProblem:
		return icmpErr{syscall.EPROTO, true}, true
	}
	return icmpErr{}, false
}

// pmtuReport returns the MTU a Fragmentation Needed (RFC 1191 §4) or Packet
// Too Big (RFC 4443 §3.2) reports.
func pmtuReport(v6 bool, m *wire.ICMP) (int, bool) {
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

// icmpError hands an error to the connection or half-open connection it
// quotes. known says whether one was found; took whether it passed the RFC
// 5927 check.
func (s *Stack) icmpError(now time.Time, t tuple, q wire.Quoted, e icmpErr) (took, known bool) {
	if c := s.conns[t]; c != nil {
		took = c.tcp.ICMPError(now, q.Seq, e.err, e.fatal)
		s.after(now, c)
		return took, true
	}
	if h := s.half[t]; h != nil {
		// Linux tcp_req_err: a hard error quoting our SYN+ACK drops the
		// request; the listener carries on.
		sc := s.restoreHalf(now, h)
		took = sc.ICMPError(now, q.Seq, e.err, e.fatal)
		s.settleHalf(now, h)
		return took, true
	}
	return false, false // TIME-WAIT records and unknown tuples: nothing in flight
}

// pathMTU applies a path MTU report to the connection it quotes and, if the
// connection believed it, remembers the MTU for the destination.
func (s *Stack) pathMTU(now time.Time, t tuple, quoted seq.Num, mtu int) (took, known bool) {
	c := s.conns[t]
	if c == nil {
		// Linux ignores it for half-open requests too: a SYN+ACK is small.
		return false, s.half[t] != nil
	}
	dst := addrOf(t.raddr)
	if dst.Is4() {
		mtu = max(mtu, minPMTU4)
	} else {
		mtu = max(mtu, minPMTU6)
	}
	took = c.tcp.PathMTU(now, quoted, mssFor(dst, mtu))
	s.after(now, c)
	if took {
		s.learnPMTU(now, dst, mtu)
	}
	return took, true
}

// echoReply answers an echo request (RFC 792, RFC 4443 §4.2) with the same
// identifier, sequence number and data.
func (s *Stack) echoReply(p *wire.Packet, m *wire.ICMP) {
	r := wire.ICMP{Type: wire.ICMPv4EchoReply, Rest: m.Rest, Body: m.Body}
	if p.Version == 6 {
		r.Type = wire.ICMPv6EchoReply
	}
	s.sendICMP(p.Dst, p.Src, &r)
}

// sendICMP writes an ICMP message from one of our addresses.
func (s *Stack) sendICMP(src, dst netip.Addr, m *wire.ICMP) {
	n := s.local[src]
	if n == nil {
		return
	}
	s.stats.ICMPOutMsgs++
	s.buf = wire.AppendICMPPacket(s.buf[:0], src, dst, m)
	n.ep.WritePacket(s.buf)
}

// pmtuEntry is a learnt path MTU and when it expires.
type pmtuEntry struct {
	mtu     int
	expires int64
}

// learnPMTU remembers a lower path MTU to dst for new connections.
func (s *Stack) learnPMTU(now time.Time, dst netip.Addr, mtu int) {
	if s.pmtu == nil {
		s.pmtu = make(map[netip.Addr]pmtuEntry)
	}
	e, ok := s.pmtu[dst]
	if ok && e.expires > now.UnixNano() && e.mtu <= mtu {
		return
	}
	if !ok {
		for len(s.pmtu) >= pmtuMax && len(s.pmtuOrder) > 0 {
			delete(s.pmtu, s.pmtuOrder[0]) // the oldest goes first
			s.pmtuOrder = s.pmtuOrder[1:]
		}
		s.pmtuOrder = append(s.pmtuOrder, dst)
	}
	s.pmtu[dst] = pmtuEntry{mtu: mtu, expires: now.Add(pmtuLife).UnixNano()}
	s.stats.PathMTUChanges++
}

// routeMSS is the MSS a new connection over t may use: what the link's MTU
// and any learnt path MTU leave for TCP (RFC 9293 §3.7.1). Config.TCP.MSS,
// when set, clamps it further (tcp.Conn takes the lower).
func (s *Stack) routeMSS(now time.Time, t *tuple) uint16 {
	src, dst := addrOf(t.laddr), addrOf(t.raddr)
	var mtu int
	if n := s.local[src]; n != nil {
		mtu = n.ep.MTU()
	}
	if e, ok := s.pmtu[dst]; ok && e.expires > now.UnixNano() && (mtu <= 0 || e.mtu < mtu) {
		mtu = e.mtu
	}
	if mtu <= 0 {
		mtu = 1500 // a link that does not know its MTU: assume Ethernet's
	}
	return uint16(min(max(mssFor(src, mtu), 88), 0xffff))
}

// mssFor is what an MTU leaves for a segment's data in a's family: the IP
// header and an option-less TCP header come off (RFC 9293 §3.7.1).
func mssFor(a netip.Addr, mtu int) int {
	if a.Is4() {
		return mtu - wire.IPv4MinHeaderLen - wire.TCPMinHeaderLen
	}
	return mtu - wire.IPv6HeaderLen - wire.TCPMinHeaderLen
}
