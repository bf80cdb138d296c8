package ip

import (
	"net/netip"
	"time"
)

const (
	// pmtuLife is how long a learnt path MTU is kept (RFC 1191 §6.3
	// suggests 10 minutes, as Linux's ip_rt_mtu_expires).
	pmtuLife = 10 * time.Minute
	// pmtuMax bounds the cache of learnt path MTUs.
	pmtuMax = 4096
)

// PMTUCache remembers the path MTUs learnt from ICMP (RFC 1191, RFC 8201)
// per destination, for new connections, each for pmtuLife, at most pmtuMax
// destinations (the oldest learnt goes first). The zero value is empty and
// ready; it is not safe for concurrent use.
type PMTUCache struct {
	m     map[netip.Addr]pmtuEntry
	order []netip.Addr // m's keys, oldest first, for eviction
}

// pmtuEntry is a learnt path MTU and when it expires.
type pmtuEntry struct {
	mtu     int
	expires int64
}

// Learn remembers a lower path MTU to dst; it returns false when the cache
// already held an unexpired one as low, which it keeps.
func (c *PMTUCache) Learn(now time.Time, dst netip.Addr, mtu int) bool {
	if c.m == nil {
		c.m = make(map[netip.Addr]pmtuEntry)
	}
	e, ok := c.m[dst]
	if ok && e.expires > now.UnixNano() && e.mtu <= mtu {
		return false
	}
	if !ok {
		for len(c.m) >= pmtuMax && len(c.order) > 0 {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, dst)
	}
	c.m[dst] = pmtuEntry{mtu: mtu, expires: now.Add(pmtuLife).UnixNano()}
	return true
}

// Lookup returns the unexpired path MTU learnt for dst.
func (c *PMTUCache) Lookup(now time.Time, dst netip.Addr) (int, bool) {
	e, ok := c.m[dst]
	if !ok || e.expires <= now.UnixNano() {
		return 0, false
	}
	return e.mtu, true
}
