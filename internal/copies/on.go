//go:build synack_copies

package copies

import "sync/atomic"

// Enabled reports whether copies are counted (the synack_copies tag).
const Enabled = true

var counts [NumSites]atomic.Uint64

// Add counts n bytes copied at s.
func Add(s Site, n int) { counts[s].Add(uint64(n)) }

// Snapshot returns the bytes copied at each site so far.
func Snapshot() (c [NumSites]uint64) {
	for i := range counts {
		c[i] = counts[i].Load()
	}
	return c
}
