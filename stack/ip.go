package stack

import (
	"net/netip"
	"time"

	"github.com/synack/synack/internal/ip"
	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// The IP layer as a TCP host needs it; its rules and tables are in
// internal/ip, and what is here hands their outcomes to connections and
// counters. ICMP errors about segments we sent go to their connection,
// echo requests are answered, path MTU reports lower the MSS, fragments
// are put back together.

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
	case ip.IsEcho(v6, &m):
		r := ip.EchoReply(v6, &m)
		s.sendICMP(p.Dst, p.Src, &r)
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
	if mtu, ok := ip.PMTUReport(v6, &m); ok {
		took, known = s.pathMTU(now, t, q.Seq, mtu)
	} else if e, ok := ip.ErrorOf(v6, &m); ok {
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

// icmpError hands an error to the connection or half-open connection it
// quotes. known says whether one was found; took whether it passed the RFC
// 5927 check.
func (s *Stack) icmpError(now time.Time, t tuple, q wire.Quoted, e ip.Error) (took, known bool) {
	if c := s.conns[t]; c != nil {
		took = c.tcp.ICMPError(now, q.Seq, e.Errno, e.Fatal)
		s.after(now, c)
		return took, true
	}
	if h := s.half[t]; h != nil {
		// Linux tcp_req_err: a hard error quoting our SYN+ACK drops the
		// request; the listener carries on.
		sc := s.restoreHalf(now, h)
		took = sc.ICMPError(now, q.Seq, e.Errno, e.Fatal)
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
	mtu = ip.ClampPMTU(dst, mtu)
	took = c.tcp.PathMTU(now, quoted, ip.MSSFor(dst, mtu))
	s.after(now, c)
	if took && s.pmtu.Learn(now, dst, mtu) {
		s.stats.PathMTUChanges++
	}
	return took, true
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

// routeMSS is the MSS a new connection over t may use: what the link's MTU
// and any learnt path MTU leave for TCP (RFC 9293 §3.7.1). Config.TCP.MSS,
// when set, clamps it further (tcp.Conn takes the lower).
func (s *Stack) routeMSS(now time.Time, t *tuple) uint16 {
	src, dst := addrOf(t.laddr), addrOf(t.raddr)
	var mtu int
	if n := s.local[src]; n != nil {
		mtu = n.ep.MTU()
	}
	if p, ok := s.pmtu.Lookup(now, dst); ok && (mtu <= 0 || p < mtu) {
		mtu = p
	}
	if mtu <= 0 {
		mtu = 1500 // a link that does not know its MTU: assume Ethernet's
	}
	return uint16(min(max(ip.MSSFor(src, mtu), 88), 0xffff))
}

// fragment files an IP fragment addressed to us and delivers the datagram
// it completes.
func (s *Stack) fragment(now time.Time, pkt []byte, p *wire.Packet) {
	s.stats.ReasmReqds++
	evicted := s.reasm.Evicted()
	whole, res := s.reasm.Add(now, pkt, p)
	s.stats.ReasmFails += uint64(s.reasm.Evicted() - evicted)
	switch res {
	case ip.Done:
		s.stats.ReasmOKs++
		if s.group != nil && s.handoff != nil {
			if h := s.group.Steer(whole); h != s.shard {
				s.handoff(h, whole)
				return
			}
		}
		s.Deliver(now, whole) // a whole packet: no fragment again
	case ip.Pending, ip.Duplicate:
	default:
		s.stats.ReasmFails++
		s.dropPacket(now, DropFragment, wire.ErrFragment)
	}
}

// reasmTimeExceeded tells the sender of a datagram that never came whole.
func (s *Stack) reasmTimeExceeded(first []byte) {
	if from, to, m, ok := ip.TimeExceeded(first); ok {
		s.sendICMP(from, to, &m)
	}
}
