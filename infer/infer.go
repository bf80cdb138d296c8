package infer

import (
	"net/netip"
	"strconv"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// infer groups the segments and replays each connection's ends.
func (c *Capture) infer() {
	c.group()
	// Each address's state at the end of the 4-tuple's last incarnation:
	// a new SYN may reopen it from TIME-WAIT (RFC 9293 §3.6.1).
	prev := map[tuple]map[netip.AddrPort]tcp.State{}
	for _, cn := range c.Conns {
		cn.end = c.End
		cn.estimateDelays()
		cn.markForeign()
		cn.analyse()
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
			fin[cn.Ends[h]] = r.st
		}
		prev[k] = fin
		cn.events = append(tl[0], tl[1]...)
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
