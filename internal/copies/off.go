//go:build !synack_copies

package copies

// Enabled reports whether copies are counted (the synack_copies tag).
const Enabled = false

// Add counts n bytes copied at s; without the synack_copies tag it does
// nothing.
func Add(Site, int) {}

// Snapshot returns the bytes copied at each site: all zero without the
// synack_copies tag.
func Snapshot() (c [NumSites]uint64) { return c }
