package infer

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// infer groups the segments and replays each connection's ends.
func (c *Capture) infer() {
	c.group()
	// Each address's state at the end of the 4-tuple's last incarnation:
	// a new SYN may reopen it from TIME-WAIT (RFC 9293 §3.6.1).
	prev := map[tuple]map[netip.AddrPort]tcp.State{}
	// A listener: an address and port that answered SYNs in more than one
	// incarnation, or a well-known port.
	answered := map[netip.AddrPort]int{}
	for _, cn := range c.Conns {
		for _, s := range cn.Segs {
			if s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK {
				answered[s.Src]++
				break
			}
		}
	}
	for _, cn := range c.Conns {
		cn.listener = answered[cn.Ends[1]] > 1 || cn.Ends[1].Port() < 1024
		cn.end = c.End
		cn.estimateDelays()
	}
	// An address beside the capture point in one connection is beside it
	// in all: the same host, the same capture.
	// (Every estimate must agree: a forged handshake's answer can come
	// at once from anywhere.)
	near := map[netip.Addr]bool{}
	far := map[netip.Addr]bool{}
	for _, cn := range c.Conns {
		for h := range 2 {
			if !cn.delayKnown[h] {
				continue
			}
			if cn.Near[h] {
				near[cn.Ends[h].Addr()] = true
			} else {
				far[cn.Ends[h].Addr()] = true
			}
		}
	}
	for a := range far {
		delete(near, a)
	}
	addrDelay := map[netip.Addr]time.Duration{}
	for _, cn := range c.Conns {
		for h := range 2 {
			if a := cn.Ends[h].Addr(); cn.delayKnown[h] {
				addrDelay[a] = max(addrDelay[a], cn.Delay[h])
			}
		}
	}
	for _, cn := range c.Conns {
		for h := range 2 {
			if near[cn.Ends[h].Addr()] && !cn.delayKnown[h] {
				cn.Near[h] = true
			}
		}
	}
	for _, cn := range c.Conns {
		cn.markForeign()
		cn.markCopies()
		cn.analyse()
		cn.guessDelays(addrDelay)
		tl := cn.timelines()
		k := key(cn.Segs[0])
		last := prev[k]
		fin := map[netip.AddrPort]tcp.State{}
		for h := range 2 {
			cn.Hosts[h] = &Host{Addr: cn.Ends[h]}
			r := &replica{cn: cn, h: cn.Hosts[h], side: h}
			st, had := last[cn.Ends[h]]
			r.run(tl[h], st, had)
			cn.Hosts[h] = r.h
			if h == 1 && !cn.Near[1] && !cn.listener && r.h.Initial == "LISTEN" && len(r.h.Changes) > 0 {
				// Its own SYN may have been lost before the capture
				// point: SYN-SENT (a simultaneous open), not LISTEN.
				r.h.Changes[0].Unverified = true
				r.h.Unknown = append(r.h.Unknown, "it answered a SYN but is not seen to listen (one incarnation, not a well-known port): it was in LISTEN, or in SYN-SENT with its own SYN lost before the capture point (a simultaneous open)")
			}
			if cn.MidStream {
				// Each follows from the ESTABLISHED taken at the start.
				for i := range r.h.Changes {
					r.h.Changes[i].Unverified = true
				}
			}
			if !cn.Near[h] && cn.onlySyns(h) && len(r.h.Changes) > 0 {
				// A lone SYN's source address is not verified.
				for i := range r.h.Changes {
					r.h.Changes[i].Unverified = true
				}
				r.h.Unknown = append(r.h.Unknown, "only SYNs came from this address, away from the capture point: a SYN's source is not verified (a spoofed SYN, as in a SYN flood, looks the same), so its states are those its sender would have, if it sent them")
			}
			fin[cn.Ends[h]] = r.st
		}
		prev[k] = fin
		cn.events = append(tl[0], tl[1]...)
		for h := range 2 {
			cn.Hosts[h].Bytes = cn.bytes(h)
		}
		cn.anomalies()
	}
}

// anomalies writes the connection's findings.
func (cn *Conn) anomalies() {
	syn := false
	for _, s := range cn.Segs {
		if s.has(wire.FlagSYN) {
			syn = true
		}
	}
	estab := func(h *Host) bool {
		for _, st := range h.States() {
			if st == "ESTABLISHED" {
				return true
			}
		}
		return false
	}
	if syn && !cn.MidStream && (!estab(cn.Hosts[0]) || !estab(cn.Hosts[1])) {
		cn.Anomalies = append(cn.Anomalies, "handshake never completed")
	}
	count := map[string]int{}
	var order []string
	for _, s := range cn.Segs {
		for _, m := range s.marks {
			if m.Kind == MarkRTT {
				continue
			}
			if count[m.Kind] == 0 {
				order = append(order, m.Kind)
			}
			count[m.Kind]++
		}
	}
	for _, k := range order {
		cn.Anomalies = append(cn.Anomalies, plural(count[k], k))
	}
	for _, h := range cn.Hosts {
		for i, ch := range h.Changes {
			if ch.To == "TIME-WAIT" {
				for _, nx := range h.Changes[i+1:] {
					if nx.From == "TIME-WAIT" {
						cn.Anomalies = append(cn.Anomalies, h.Addr.String()+" left TIME-WAIT within "+fmtDur(nx.T-ch.T))
						break
					}
				}
			}
		}
	}
}

func plural(n int, what string) string { return strconv.Itoa(n) + " × " + what }

// onlySyns: end h sent nothing but SYNs (and RSTs) in this incarnation.
func (cn *Conn) onlySyns(h int) bool {
	for _, s := range cn.Segs {
		if s.from == h && !s.foreign && !s.has(wire.FlagRST) && (!s.has(wire.FlagSYN) || s.has(wire.FlagACK)) {
			return false
		}
	}
	return true
}

// guessDelays gives an end away from the capture point whose delay no
// handshake showed one: half its ACKs' least round trip, else the
// longest its address showed in another connection.
func (cn *Conn) guessDelays(addr map[netip.Addr]time.Duration) {
	for h := range 2 {
		if cn.delayKnown[h] || cn.Near[h] {
			continue
		}
		var least time.Duration
		for _, s := range cn.Segs {
			if s.from == h && s.rtt > 0 && (least == 0 || s.rtt < least) {
				least = s.rtt
			}
		}
		cn.Delay[h] = max(least/2, addr[cn.Ends[h].Addr()])
	}
}

// bytes is the payload end h sent, each sequence number once (a
// retransmission is not counted again): from its ISN+1, or the lowest
// sequence number captured when the handshake was not, to the highest
// captured, without its SYN and FIN.
func (cn *Conn) bytes(h int) int64 {
	var lo, hi uint32
	seen := false
	if isn, ok := cn.isn(h); ok {
		lo, hi, seen = isn+1, isn+1, true
	}
	for _, s := range cn.Segs {
		if s.from != h || s.foreign || s.Len == 0 || s.has(wire.FlagRST) {
			continue
		}
		start := s.Seq
		if s.has(wire.FlagSYN) {
			start++
		}
		end := start + uint32(s.Len)
		if !seen {
			lo, hi, seen = start, end, true
			continue
		}
		if after(lo, start) && cn.MidStream {
			lo = start
		}
		if after(end, hi) {
			hi = end
		}
	}
	if !seen || !after(hi, lo) {
		return 0
	}
	return int64(hi - lo)
}

// Translate puts infer's words — marks, notes, anomalies — into lang
// ("en" or "zh").
func Translate(s, lang string) string { return tr(s, lang) }

// markCopies marks each segment that repeats an earlier one of its end.
func (cn *Conn) markCopies() {
	type k struct {
		from     int
		seq, ack uint32
		flags    wire.Flags
		n        int
	}
	seen := map[k]bool{}
	for _, s := range cn.Segs {
		key := k{s.from, s.Seq, s.Ack, s.Flags, s.Len}
		s.copyOf = seen[key]
		seen[key] = true
	}
}
