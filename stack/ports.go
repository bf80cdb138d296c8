package stack

import "time"

// ephemeralPort picks a local port for t by RFC 6056 §3.3.3 (Algorithm 3,
// "Simple Hash-Based"): a keyed hash of the addresses and remote port
// picks where the search starts, a counter moves it on; tuples in use are
// skipped, and so are those in TIME-WAIT unless tcp_tw_reuse allows them.
// As Linux's __inet_hash_connect, the first port that is free or holds a
// reusable TIME-WAIT is taken, so a range full of TIME-WAIT costs one step
// a Dial, not a scan. reuse reports that the tuple is a TIME-WAIT one.
// In a Group, only tuples at home in this shard are taken.
func (s *Stack) ephemeralPort(now time.Time, t *tuple) (port uint16, reuse, ok bool) {
	lo, hi := uint32(s.cfg.EphemeralLow), uint32(s.cfg.EphemeralHigh)
	num := hi - lo + 1
	probe := *t
	probe.lport = 0
	offset := keyedHash(&s.keys.port, &probe, 0)
	for count := uint32(0); count < num; count++ {
		p := uint16(lo + (offset+s.nextEphem+count)%num)
		probe.lport = p
		if !s.atHome(&probe) || s.conns[probe] != nil || s.half[probe] != nil || s.listenerOn(probe.laddr, p) {
			continue
		}
		_, inTW := s.tw.get(&probe)
		if inTW && !s.twReusable(now, &probe) {
			continue
		}
		s.nextEphem += count + 1
		return p, inTW, true
	}
	return 0, false, false
}
