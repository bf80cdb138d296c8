package wire

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/synack/synack/seq"
)

func TestTCPView(t *testing.T) {
	seg := TCP(unhex(t, capturedSYN4)[20:])
	if err := seg.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"SrcPort", seg.SrcPort(), uint16(41668)},
		{"DstPort", seg.DstPort(), uint16(80)},
		{"Seq", seg.Seq(), seq.Num(1059810334)},
		{"Ack", seg.Ack(), seq.Num(0)},
		{"DataOffset", seg.DataOffset(), 10},
		{"HeaderLen", seg.HeaderLen(), 40},
		{"Flags", seg.Flags(), FlagSYN},
		{"Window", seg.Window(), uint16(64240)},
		{"Checksum", seg.Checksum(), uint16(0x4db2)},
		{"Urgent", seg.Urgent(), uint16(0)},
		{"Options", fmt.Sprintf("%x", seg.Options()), "020405b40402080a006a2f410000000001030307"},
		{"Payload", len(seg.Payload()), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if seg.Payload() != nil {
		t.Error("empty payload should be nil")
	}
}

func TestTCPViewPayloadCapped(t *testing.T) {
	// Payload must not let an append overwrite what follows the segment in
	// the caller's buffer.
	buf := tcpRaw(FlagACK, nil, []byte("abc"))
	buf = append(buf, "tail"...)
	p := TCP(buf[:23]).Payload()
	if string(p) != "abc" || cap(p) != 3 {
		t.Fatalf("Payload = %q cap %d, want \"abc\" cap 3", p, cap(p))
	}
	_ = append(p, 'X')
	if string(buf[23:]) != "tail" {
		t.Fatal("append to Payload overwrote the bytes after it")
	}
}

func TestParseTCPMalformed(t *testing.T) {
	withDoff := func(b []byte, words byte) []byte {
		b[12] = words << 4
		return b
	}
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"nil", nil, ErrTruncated},
		{"19 bytes", make([]byte, 19), ErrTruncated},
		{"data offset 0", withDoff(tcpRaw(FlagACK, nil, nil), 0), ErrBadDataOffset},
		{"data offset 4", withDoff(tcpRaw(FlagACK, nil, nil), 4), ErrBadDataOffset},
		{"data offset past end", withDoff(tcpRaw(FlagACK, nil, nil), 6), ErrBadDataOffset},
		{"data offset 15, 59 bytes", withDoff(tcpRaw(FlagACK, nil, make([]byte, 39)), 15), ErrBadDataOffset},
		{"option length 0", tcpRaw(FlagSYN, mustUnhex("0200 0000"), nil), ErrBadOptionLength},
		{"option length 1", tcpRaw(FlagSYN, mustUnhex("0201 0000"), nil), ErrBadOptionLength},
		{"unknown option length 1", tcpRaw(FlagSYN, mustUnhex("fe01 0000"), nil), ErrBadOptionLength},
		{"MSS length 3", tcpRaw(FlagSYN, mustUnhex("0203 0501"), nil), ErrBadOptionLength},
		{"MSS length 6", tcpRaw(FlagSYN, mustUnhex("0206 05b4 0000 0000"), nil), ErrBadOptionLength},
		{"wscale length 4", tcpRaw(FlagSYN, mustUnhex("0304 0700"), nil), ErrBadOptionLength},
		{"sackOK length 3", tcpRaw(FlagSYN, mustUnhex("0403 0000"), nil), ErrBadOptionLength},
		{"timestamp length 8", tcpRaw(FlagACK, mustUnhex("0808 0000 0001 0000"), nil), ErrBadOptionLength},
		{"SACK without blocks", tcpRaw(FlagACK, mustUnhex("0502 0000"), nil), ErrBadOptionLength},
		{"SACK length 9", tcpRaw(FlagACK, mustUnhex("0509 0000 0001 0000 0002 0000"), nil), ErrBadOptionLength},
		{"SACK length 14", tcpRaw(FlagACK, mustUnhex("050e 0000 0001 0000 0002 0000 0000 0000"), nil), ErrBadOptionLength},
		{"timestamp past header end", tcpRaw(FlagACK, mustUnhex("0101 080a"), nil), ErrOptionTruncated},
		{"unknown option past header end", tcpRaw(FlagACK, mustUnhex("0101 fe08"), nil), ErrOptionTruncated},
		{"kind without length byte", tcpRaw(FlagACK, mustUnhex("0101 0102"), nil), ErrOptionTruncated},
		// The payload is not option space: an option may not run into it.
		{"option running into payload", tcpRaw(FlagACK, mustUnhex("0101 080a"), make([]byte, 20)), ErrOptionTruncated},
	}
	for _, c := range cases {
		s, err := ParseTCP(c.b)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
		if !segEqual(s, Segment{}) {
			t.Errorf("%s: a failed parse returned %v, want the zero Segment", c.name, s)
		}
	}
}

func TestParseTCPOptionEdges(t *testing.T) {
	cases := []struct {
		name string
		opts string
		want Options
	}{
		{"none", "", Options{}},
		{"NOPs only", "0101 0101", Options{}},
		{"EOL hides junk", "0204 05b4 00ff ffff", Options{HasMSS: true, MSS: 1460}},
		{"EOL first", "0002 0405 b400 0000", Options{}},
		{"unknown kind skipped", "1e06 0000 0000 0204 0218 0000", Options{HasMSS: true, MSS: 536}},
		{"unknown kind length 2", "fe02 0204 0218 0000", Options{HasMSS: true, MSS: 536}},
		// RFC 7323 §2.3: shifts above 14 are treated as 14.
		{"wscale 14 kept", "0103 030e", Options{HasWScale: true, WScale: 14}},
		{"wscale 15 clamped", "0103 030f", Options{HasWScale: true, WScale: 14}},
		{"wscale 255 clamped", "0103 03ff", Options{HasWScale: true, WScale: 14}},
		{"duplicate MSS: last wins", "0204 05b4 0204 0218", Options{HasMSS: true, MSS: 536}},
		{"sackOK", "0101 0402", Options{SACKPermitted: true}},
		{"timestamps", "0101 080a 0000 0001 ffff ffff", Options{HasTimestamp: true, TSVal: 1, TSEcr: 0xffffffff}},
		{"one SACK block", "0101 050a 0000 000a 0000 0014", Options{NumSACK: 1, SACK: [4]SACKBlock{{10, 20}}}},
		{"four SACK blocks", "0101 0522 0000 0001 0000 0002 0000 0003 0000 0004 0000 0005 0000 0006 0000 0007 0000 0008",
			Options{NumSACK: 4, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}},
		{"second SACK option replaces first", "050a 0000 0001 0000 0002 050a 0000 0003 0000 0004 0000 0000",
			Options{NumSACK: 1, SACK: [4]SACKBlock{{3, 4}}}},
		{"trailing kind after EOL", "0101 0100", Options{}},
	}
	for _, c := range cases {
		s, err := ParseTCP(tcpRaw(FlagACK, unhex(t, c.opts), nil))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.Opts != c.want {
			t.Errorf("%s: Opts = %+v, want %+v", c.name, s.Opts, c.want)
		}
	}
}

func TestParseTCPCaptured(t *testing.T) {
	for _, c := range []struct {
		name, pkt string
		hl        int
		want      Segment
	}{
		{"v4", capturedSYN4, 20, Segment{SrcPort: 41668, DstPort: 80, Seq: 1059810334, Flags: FlagSYN, Wnd: 64240,
			Opts: Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 6958913, HasWScale: true, WScale: 7}}},
		{"v6", capturedSYN6, 40, Segment{SrcPort: 41668, DstPort: 80, Seq: 1059810334, Flags: FlagSYN, Wnd: 64800,
			Opts: Options{HasMSS: true, MSS: 1440, SACKPermitted: true, HasTimestamp: true, TSVal: 2602319361, HasWScale: true, WScale: 7}}},
	} {
		b := unhex(t, c.pkt)
		s, err := ParseTCP(b[c.hl:])
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !segEqual(s, c.want) {
			t.Errorf("%s: got %v\nwant %v", c.name, s, c.want)
		}
		// Linux's option layout is ours too, so re-serializing the SYN
		// reproduces the capture byte for byte, checksum included.
		ph := Pseudo{IPv4(b).Src(), IPv4(b).Dst()}
		if c.hl == 40 {
			ph = Pseudo{IPv6(b).Src(), IPv6(b).Dst()}
		}
		if out := AppendTCP(nil, &s, ph); !bytes.Equal(out, b[c.hl:]) {
			t.Errorf("%s: AppendTCP = %x\nwant          %x", c.name, out, b[c.hl:])
		}
	}
}

// roundTripOptions is every combination of the options AppendTCP writes.
func roundTripOptions() []Options {
	var all []Options
	blocks := [4]SACKBlock{{100, 200}, {300, 400}, {0xfffffff0, 0x10}, {7, 9}}
	for mask := range 16 {
		for nsack := 0; nsack <= MaxSACKBlocks; nsack++ {
			o := Options{
				HasMSS:        mask&1 != 0,
				SACKPermitted: mask&2 != 0,
				HasTimestamp:  mask&4 != 0,
				HasWScale:     mask&8 != 0,
				NumSACK:       uint8(nsack),
			}
			if o.HasMSS {
				o.MSS = 1460
			}
			if o.HasTimestamp {
				o.TSVal, o.TSEcr = 0xdeadbeef, 42
			}
			if o.HasWScale {
				o.WScale = 14
			}
			copy(o.SACK[:nsack], blocks[:nsack])
			all = append(all, o)
		}
	}
	return all
}

// fittingSACK is how many SACK blocks fit beside the other options when
// they are packed without padding: the rule AppendTCP promises.
func fittingSACK(o Options) uint8 {
	base := 0
	if o.HasMSS {
		base += 4
	}
	if o.SACKPermitted {
		base += 2
	}
	if o.HasTimestamp {
		base += 10
	}
	if o.HasWScale {
		base += 3
	}
	n := min(o.NumSACK, MaxSACKBlocks)
	for n > 0 && (base+2+8*int(n)+3)/4*4 > MaxOptionsLen {
		n--
	}
	return n
}

func TestTCPRoundTrip(t *testing.T) {
	payloads := [][]byte{nil, []byte("x"), []byte("hello, world"), bytes.Repeat([]byte{0xa5}, 1460)}
	phs := []Pseudo{ph4, ph6}
	for _, o := range roundTripOptions() {
		for _, p := range payloads {
			for _, ph := range phs {
				in := Segment{SrcPort: 443, DstPort: 51000, Seq: 0xfffffffe, Ack: 77, Flags: FlagACK | FlagPSH,
					Wnd: 1024, Urgent: 3, Opts: o, Payload: p}
				out := AppendTCP(nil, &in, ph)
				if len(out) != TCPHeaderLen(&in.Opts)+len(p) {
					t.Fatalf("%v: wrote %d bytes, TCPHeaderLen says %d+%d", in, len(out), TCPHeaderLen(&in.Opts), len(p))
				}
				if hl := TCP(out).HeaderLen(); hl%4 != 0 || hl > 60 {
					t.Fatalf("%v: header length %d", in, hl)
				}
				if !VerifyTCPChecksum(out, ph) {
					t.Fatalf("%v: checksum does not verify", in)
				}
				got, err := ParseTCP(out)
				if err != nil {
					t.Fatalf("%v: %v (%x)", in, err, out)
				}
				want := in
				want.Opts.NumSACK = fittingSACK(o)
				want.Opts.SACK = [4]SACKBlock{}
				copy(want.Opts.SACK[:want.Opts.NumSACK], o.SACK[:])
				if !segEqual(got, want) {
					t.Fatalf("round trip:\n got %v\nwant %v\nwire %x", got, want, out)
				}
			}
		}
	}
}

func TestAppendTCPAppends(t *testing.T) {
	prefix := []byte("prefix")
	s := Segment{SrcPort: 1, DstPort: 2, Flags: FlagRST}
	out := AppendTCP(prefix, &s, ph4)
	if string(out[:6]) != "prefix" || len(out) != 26 {
		t.Fatalf("AppendTCP did not append: %q", out)
	}
	if !VerifyTCPChecksum(out[6:], ph4) {
		t.Fatal("checksum does not verify after a prefix")
	}
	// Stale bytes in dst's spare capacity must not leak into the header.
	dirty := bytes.Repeat([]byte{0xff}, 100)[:0]
	out = AppendTCP(dirty, &Segment{Opts: Options{HasWScale: true, WScale: 2}}, ph4)
	out[16], out[17] = 0, 0
	if got, want := fmt.Sprintf("%x", out), "0000000000000000000000006000000000000000"+"01030302"; got != want {
		t.Fatalf("dirty buffer leaked:\n got %s\nwant %s", got, want)
	}
}

func TestTCPHeaderLen(t *testing.T) {
	cases := []struct {
		o    *Options
		want int
	}{
		{nil, 20},
		{&Options{}, 20},
		{&Options{HasMSS: true}, 24},
		{&Options{SACKPermitted: true}, 24},
		{&Options{HasTimestamp: true}, 32},
		{&Options{HasTimestamp: true, SACKPermitted: true}, 32},
		{&Options{HasMSS: true, SACKPermitted: true, HasTimestamp: true, HasWScale: true}, 40},
		{&Options{HasTimestamp: true, NumSACK: 1}, 44},
		{&Options{HasTimestamp: true, NumSACK: 3}, 60},
		{&Options{HasTimestamp: true, NumSACK: 4}, 60}, // fourth block dropped
		{&Options{NumSACK: 4}, 56},
		{&Options{NumSACK: 200}, 56}, // clamped to MaxSACKBlocks
	}
	for _, c := range cases {
		if got := TCPHeaderLen(c.o); got != c.want {
			t.Errorf("TCPHeaderLen(%+v) = %d, want %d", c.o, got, c.want)
		}
	}
}

func TestTCPAllocs(t *testing.T) {
	b := unhex(t, capturedSYN4)[20:]
	var s Segment
	if n := testing.AllocsPerRun(100, func() { s, _ = ParseTCP(b) }); n != 0 {
		t.Errorf("ParseTCP allocates %v times", n)
	}
	s.Opts.NumSACK = 2
	s.Payload = make([]byte, 100)
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { AppendTCP(buf, &s, ph6) }); n != 0 {
		t.Errorf("AppendTCP with capacity allocates %v times", n)
	}
}

func BenchmarkParseTCP(b *testing.B) {
	pkt := unhex(b, capturedSYN4)[20:]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTCP(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTCP(b *testing.B) {
	s := Segment{Flags: FlagACK, Opts: Options{HasTimestamp: true, NumSACK: 1}, Payload: make([]byte, 1448)}
	buf := make([]byte, 0, 1600)
	b.ReportAllocs()
	for b.Loop() {
		AppendTCP(buf, &s, ph4)
	}
}
