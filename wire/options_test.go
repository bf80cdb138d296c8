package wire

import (
	"errors"
	"fmt"
	"testing"
)

func TestAppendOptionsLayout(t *testing.T) {
	sack := [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"none", Options{}, ""},
		// Linux SYN: mss, sackOK, TS, nop, wscale.
		{"linux SYN", Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 1, HasWScale: true, WScale: 7},
			"020405b4 0402080a 00000001 00000000 01030307"},
		// Linux SYN-ACK without timestamps: mss, nop, nop, sackOK, nop, wscale.
		{"linux SYN-ACK no TS", Options{HasMSS: true, MSS: 1460, SACKPermitted: true, HasWScale: true, WScale: 7},
			"020405b4 01010402 01030307"},
		{"MSS only", Options{HasMSS: true, MSS: 536}, "02040218"},
		{"wscale only", Options{HasWScale: true, WScale: 0}, "01030300"},
		{"TS only", Options{HasTimestamp: true, TSVal: 0x01020304, TSEcr: 0x05060708},
			"0101080a 01020304 05060708"},
		{"TS + SACK", Options{HasTimestamp: true, TSVal: 9, TSEcr: 10, NumSACK: 1, SACK: sack},
			"0101080a 00000009 0000000a 0101050a 00000001 00000002"},
		{"four SACK blocks", Options{NumSACK: 4, SACK: sack},
			"01010522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008"},
		// 12 + 36 > 40 aligned, 10 + 34 > 40 packed: the fourth block goes.
		{"TS + four SACK blocks", Options{HasTimestamp: true, NumSACK: 4, SACK: sack},
			"0101080a 00000000 00000000 0101051a 00000001 00000002 00000003 00000004 00000005 00000006"},
		// 12 + 4 + 28 > 40 aligned but 10 + 3 + 26 = 39 packed: no NOPs,
		// padded with EOL.
		{"TS + wscale + three SACK blocks packed", Options{HasTimestamp: true, HasWScale: true, WScale: 3, NumSACK: 3, SACK: sack},
			"080a 00000000 00000000 030303 051a 00000001 00000002 00000003 00000004 00000005 00000006 00"},
		// 4 + 12 + 4 + 20 = 40: still fits aligned.
		{"everything with two SACK blocks", Options{HasMSS: true, MSS: 1, SACKPermitted: true, HasTimestamp: true, HasWScale: true, WScale: 1, NumSACK: 2, SACK: sack},
			"02040001 0402080a 00000000 00000000 01030301 01010512 00000001 00000002 00000003 00000004"},
	}
	for _, c := range cases {
		got := fmt.Sprintf("%x", AppendOptions(nil, &c.o))
		want := fmt.Sprintf("%x", unhex(t, c.want))
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
		if n := OptionsLen(&c.o); n != len(want)/2 || n%4 != 0 {
			t.Errorf("%s: OptionsLen = %d, wrote %d", c.name, n, len(want)/2)
		}
	}
}

func TestParseOptionsResets(t *testing.T) {
	o := Options{HasMSS: true, MSS: 9, NumSACK: 1}
	if err := ParseOptions(unhex(t, "0103 0305"), &o); err != nil {
		t.Fatal(err)
	}
	if want := (Options{HasWScale: true, WScale: 5}); o != want {
		t.Fatalf("ParseOptions kept stale fields: %+v", o)
	}
	if err := ParseOptions(unhex(t, "0200"), &o); !errors.Is(err, ErrBadOptionLength) {
		t.Fatalf("err = %v, want ErrBadOptionLength", err)
	}
}

func TestAppendOptionsAppends(t *testing.T) {
	out := AppendOptions([]byte{0xaa}, &Options{HasMSS: true, MSS: 1460})
	if got := fmt.Sprintf("%x", out); got != "aa020405b4" {
		t.Fatalf("AppendOptions = %s", got)
	}
}
