package ip

import (
	"net/netip"
	"testing"
	"time"
)

func TestPMTUCache(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	dst := netip.MustParseAddr("198.51.100.7")
	var c PMTUCache
	if _, ok := c.Lookup(t0, dst); ok {
		t.Fatal("an empty cache knows a path MTU")
	}
	if !c.Learn(t0, dst, 1400) {
		t.Fatal("Learn(1400) on an empty cache = false")
	}
	// A higher report does not raise it (RFC 1191 §6.3: increases come
	// only from expiry); a lower one lowers it.
	if c.Learn(t0, dst, 1450) {
		t.Error("Learn(1450) over 1400 = true")
	}
	if !c.Learn(t0, dst, 1300) {
		t.Error("Learn(1300) under 1400 = false")
	}
	if mtu, ok := c.Lookup(t0.Add(pmtuLife-1), dst); !ok || mtu != 1300 {
		t.Errorf("Lookup before expiry = %d, %v; want 1300", mtu, ok)
	}
	if _, ok := c.Lookup(t0.Add(pmtuLife), dst); ok {
		t.Error("the path MTU outlived its 10 minutes")
	}
	// An expired entry is replaced even by a higher MTU.
	if !c.Learn(t0.Add(pmtuLife), dst, 1450) {
		t.Error("Learn after expiry = false")
	}
}

func TestPMTUCacheBounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var c PMTUCache
	for i := range pmtuMax + 1 {
		c.Learn(t0, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), 1280)
	}
	if len(c.m) != pmtuMax || len(c.order) != pmtuMax {
		t.Fatalf("cache holds %d (order %d), bound %d", len(c.m), len(c.order), pmtuMax)
	}
	first := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8})
	if _, ok := c.Lookup(t0, first); ok {
		t.Error("the oldest destination was not the one evicted")
	}
}

func TestTimeExceededShortQuote(t *testing.T) {
	for _, q := range [][]byte{nil, {0x45}, {0x60, 0, 0}, make([]byte, 19)} {
		if _, _, _, ok := TimeExceeded(q); ok {
			t.Errorf("TimeExceeded(% x) = ok", q)
		}
	}
}
