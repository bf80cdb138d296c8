package wire

import (
	"testing"

	"github.com/synack/synack/seq"
)

func TestSegmentString(t *testing.T) {
	synOpts := Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 1, HasWScale: true, WScale: 7}
	cases := []struct {
		s    Segment
		want string
	}{
		{Segment{Seq: 1000, Flags: FlagSYN, Wnd: 65535, Opts: synOpts},
			"S 1000:1000(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,wscale 7>"},
		{Segment{Seq: 1000, Ack: 5001, Flags: FlagSYN | FlagACK, Wnd: 65535, Opts: synOpts},
			"S. 1000:1000(0) ack 5001 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,wscale 7>"},
		{Segment{Seq: 1, Ack: 1, Flags: FlagPSH | FlagACK, Wnd: 502, Payload: make([]byte, 100),
			Opts: Options{HasTimestamp: true, TSVal: 5, TSEcr: 6, NumSACK: 2, SACK: [4]SACKBlock{{10, 20}, {30, 40}}}},
			"P. 1:101(100) ack 1 win 502 <TS val 5 ecr 6,sack 10:20,sack 30:40>"},
		// The end of the range wraps modulo 2^32.
		{Segment{Seq: 4294967295, Ack: 7, Flags: FlagFIN | FlagACK, Wnd: 100, Payload: []byte("hi")},
			"F. 4294967295:1(2) ack 7 win 100"},
		{Segment{Seq: 9, Flags: FlagRST}, "R 9:9(0) win 0"},
		{Segment{}, "- 0:0(0) win 0"},
		{Segment{Flags: FlagECE | FlagCWR | FlagURG | FlagSYN, Urgent: 1}, "SUEW 0:0(0) win 0"},
	}
	for _, c := range cases {
		if got := c.s.String(); got != c.want {
			t.Errorf("String =\n %q\nwant\n %q", got, c.want)
		}
	}
}

func TestFlagsString(t *testing.T) {
	cases := []struct {
		f           Flags
		long, short string
	}{
		{0, "none", ""},
		{FlagSYN | FlagACK, "SYN,ACK", "S."},
		{FlagFIN | FlagACK, "FIN,ACK", "F."},
		{FlagRST, "RST", "R"},
		{0xff, "SYN,RST,FIN,PSH,ACK,URG,ECE,CWR", "SFRPUEW."},
	}
	for _, c := range cases {
		if got := c.f.String(); got != c.long {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint8(c.f), got, c.long)
		}
		if got := c.f.Short(); got != c.short {
			t.Errorf("Flags(%#x).Short() = %q, want %q", uint8(c.f), got, c.short)
		}
	}
	if !(FlagSYN | FlagACK).Has(FlagSYN) || FlagSYN.Has(FlagSYN|FlagACK) {
		t.Error("Has is wrong")
	}
}

func TestSegmentLen(t *testing.T) {
	cases := []struct {
		f    Flags
		n    int
		want seq.Size
	}{
		{FlagACK, 0, 0},
		{FlagSYN, 0, 1},
		{FlagSYN | FlagFIN, 0, 2},
		{FlagFIN | FlagACK, 10, 11},
		{FlagACK, 1460, 1460},
	}
	for _, c := range cases {
		s := Segment{Flags: c.f, Payload: make([]byte, c.n)}
		if got := s.Len(); got != c.want {
			t.Errorf("Len(%v, %d bytes) = %d, want %d", c.f, c.n, got, c.want)
		}
	}
}
