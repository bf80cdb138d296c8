package wire

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestChecksumVectors(t *testing.T) {
	cases := []struct {
		name    string
		hex     string
		initial uint32
		want    uint16 // folded sum, not complemented
	}{
		// RFC 1071 §3 worked example.
		{"rfc1071", "0001 f203 f4f5 f6f7", 0, 0xddf2},
		// Odd length: the last byte is the high half of a zero-padded word.
		{"odd", "01", 0, 0x0100},
		{"odd3", "0001 f2", 0, 0xf201},
		{"empty", "", 0, 0},
		{"initial only", "", 0x1234, 0x1234},
		// An initial value wider than 16 bits is folded in.
		{"wide initial", "", 0x0001_fffe, 0xffff},
		// End-around carry: 0xffff + 0x0001 = 0x0001 (carry wraps).
		{"carry", "ffff 0001", 0, 0x0001},
		// A nonzero total folds to 0xffff, never to 0.
		{"negative zero", "ffff", 0, 0xffff},
		// 0xffff is a ones'-complement zero, so only the padded odd byte counts.
		{"ones with carries", "ffff ffff ffff ffff ffff ffff ffff ffff ffff ff", 0, 0xff00},
	}
	for _, c := range cases {
		b := unhex(t, c.hex)
		if got := Checksum(b, c.initial); got != c.want {
			t.Errorf("%s: Checksum = %#04x, want %#04x", c.name, got, c.want)
		}
	}
}

func TestIPv4HeaderChecksumKnown(t *testing.T) {
	// A widely published example header whose checksum is 0xb861.
	h := unhex(t, "4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
	if got := ^Checksum(h, 0); got != 0xb861 {
		t.Fatalf("header checksum = %#04x, want 0xb861", got)
	}
	h[10], h[11] = 0xb8, 0x61
	if got := Checksum(h, 0); got != 0xffff {
		t.Fatalf("sum over a correct header = %#04x, want 0xffff", got)
	}
}

// TestChecksumMatchesReference compares the 8-bytes-at-a-time sum with the
// obvious 16-bit loop for every length up to 300 and every tail alignment,
// with random and carry-heavy data.
func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 300)
	for _, fill := range []string{"random", "ones", "alternating"} {
		for i := range buf {
			switch fill {
			case "random":
				buf[i] = byte(r.Uint32())
			case "ones":
				buf[i] = 0xff
			default:
				buf[i] = byte(0xfe + i%2)
			}
		}
		for n := 0; n <= len(buf); n++ {
			b := buf[:n]
			init := r.Uint32()
			s := uint32(refSum(b)) + init>>16 + init&0xffff
			for s > 0xffff {
				s = s>>16 + s&0xffff
			}
			want := uint16(s)
			if got := Checksum(b, init); got != want {
				t.Fatalf("%s n=%d init=%#x: Checksum = %#04x, want %#04x", fill, n, init, got, want)
			}
		}
	}
}

func TestChecksumIncremental(t *testing.T) {
	b := unhex(t, capturedSYN4)
	whole := Checksum(b, 0)
	for cut := 0; cut <= len(b); cut += 2 {
		if got := Checksum(b[cut:], uint32(Checksum(b[:cut], 0))); got != whole {
			t.Fatalf("split at %d: %#04x, want %#04x", cut, got, whole)
		}
	}
}

func TestPseudoSum(t *testing.T) {
	cases := []struct {
		src, dst netip.Addr
		proto    uint8
		n        int
	}{
		{a4src, a4dst, ProtoTCP, 40},
		{netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("255.255.255.254"), ProtoTCP, 65515},
		{a6src, a6dst, ProtoTCP, 40},
		{netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), netip.MustParseAddr("fe80::1"), 17, 70000},
	}
	for _, c := range cases {
		want := refSum(refPseudo(c.src, c.dst, c.proto, c.n))
		if got := (Pseudo{c.src, c.dst}).Sum(c.proto, uint32(c.n)); got != uint32(want) {
			t.Errorf("%v→%v: Sum = %#x, want %#x", c.src, c.dst, got, want)
		}
	}
	// Mixed families fall back to the IPv6 layout with a mapped address.
	mapped := netip.AddrFrom16(a4src.As16())
	if got, want := (Pseudo{a4src, a6dst}).Sum(6, 20), (Pseudo{mapped, a6dst}).Sum(6, 20); got != want {
		t.Errorf("mixed-family Sum = %#x, want the mapped form %#x", got, want)
	}
}

func TestVerifyTCPChecksum(t *testing.T) {
	for _, c := range []struct {
		name string
		pkt  string
		hl   int
		ph   Pseudo
	}{{"v4", capturedSYN4, 20, ph4}, {"v6", capturedSYN6, 40, ph6}} {
		seg := unhex(t, c.pkt)[c.hl:]
		if !VerifyTCPChecksum(seg, c.ph) {
			t.Fatalf("%s: captured SYN does not verify", c.name)
		}
		for _, i := range []int{0, 7, 16, len(seg) - 1} {
			seg[i] ^= 0x10
			if VerifyTCPChecksum(seg, c.ph) {
				t.Errorf("%s: flipping a bit of byte %d went unnoticed", c.name, i)
			}
			seg[i] ^= 0x10
		}
		if VerifyTCPChecksum(seg, Pseudo{c.ph.Dst, netip.MustParseAddr("10.0.0.1")}) {
			t.Errorf("%s: verified against the wrong pseudo-header", c.name)
		}
	}
}

func TestChecksumAllocs(t *testing.T) {
	b := make([]byte, 1500)
	if n := testing.AllocsPerRun(100, func() { Checksum(b, 0) }); n != 0 {
		t.Fatalf("Checksum allocates %v times", n)
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := make([]byte, 1500)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		Checksum(buf, 0)
	}
}
