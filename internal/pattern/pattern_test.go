package pattern

import "testing"

func TestFillMatch(t *testing.T) {
	b := make([]byte, 3<<20) // longer than the table: wraps
	Fill(b, 7, 12345)
	if !Match(b, 7, 12345) {
		t.Fatal("a stream does not match itself")
	}
	if Match(b[1:], 7, 12345) {
		t.Fatal("a stream shifted by one byte still matches")
	}
	if Match(b[:4096], 8, 12345) {
		t.Fatal("another stream's bytes match")
	}
}
