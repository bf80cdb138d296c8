package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/synack/synack/link"
)

// record is one parsed pcap record.
type record struct {
	sec, frac  uint32
	incl, orig uint32
	data       []byte
}

type fileHeader struct {
	magic             uint32
	major, minor      uint16
	zone, sigfigs     uint32
	snaplen, linktype uint32
}

// parse reads a little-endian pcap file back, independently of Writer.
func parse(t *testing.T, b []byte) (fileHeader, []record) {
	t.Helper()
	if len(b) < 24 {
		t.Fatalf("file of %d bytes, no header", len(b))
	}
	le := binary.LittleEndian
	h := fileHeader{
		magic: le.Uint32(b[0:]), major: le.Uint16(b[4:]), minor: le.Uint16(b[6:]),
		zone: le.Uint32(b[8:]), sigfigs: le.Uint32(b[12:]),
		snaplen: le.Uint32(b[16:]), linktype: le.Uint32(b[20:]),
	}
	var recs []record
	for b = b[24:]; len(b) > 0; {
		if len(b) < 16 {
			t.Fatalf("torn record header: %d bytes left", len(b))
		}
		r := record{sec: le.Uint32(b[0:]), frac: le.Uint32(b[4:]), incl: le.Uint32(b[8:]), orig: le.Uint32(b[12:])}
		b = b[16:]
		if uint32(len(b)) < r.incl {
			t.Fatalf("torn record: %d of %d bytes", len(b), r.incl)
		}
		r.data, b = b[:r.incl], b[r.incl:]
		recs = append(recs, r)
	}
	return h, recs
}

func TestWriterFormat(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, tc := range []struct {
		nano    bool
		snaplen int
		magic   uint32
		frac    uint32
		wantLen uint32
	}{
		{false, 0, 0xa1b2c3d4, 123456, DefaultSnaplen},
		{true, 0, 0xa1b23c4d, 123456789, DefaultSnaplen},
		{false, 10, 0xa1b2c3d4, 123456, 10},
	} {
		var buf bytes.Buffer
		newW := NewWriter
		if tc.nano {
			newW = NewWriterNano
		}
		w, err := newW(&buf, tc.snaplen)
		if err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 24 {
			t.Fatalf("header is %d bytes", buf.Len())
		}
		pkt := []byte("0123456789abcdef")
		if err := w.WritePacket(ts, pkt); err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(ts.Add(time.Second), pkt[:3]); err != nil {
			t.Fatal(err)
		}
		h, recs := parse(t, buf.Bytes())
		want := fileHeader{magic: tc.magic, major: 2, minor: 4, snaplen: tc.wantLen, linktype: 101}
		if h != want {
			t.Fatalf("header %+v, want %+v", h, want)
		}
		if len(recs) != 2 {
			t.Fatalf("%d records", len(recs))
		}
		r := recs[0]
		n := min(uint32(len(pkt)), tc.wantLen)
		if r.sec != uint32(ts.Unix()) || r.frac != tc.frac || r.incl != n || r.orig != 16 || !bytes.Equal(r.data, pkt[:n]) {
			t.Fatalf("record %+v", r)
		}
		if r := recs[1]; r.sec != uint32(ts.Unix())+1 || r.incl != 3 || r.orig != 3 {
			t.Fatalf("record %+v", r)
		}
	}
}

// A clock before 1970 (a zero time.Time, say) wraps the 32-bit seconds
// but keeps the intervals.
func TestWriterOldClock(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0)
	var t0 time.Time
	w.WritePacket(t0, []byte{1})
	w.WritePacket(t0.Add(1500*time.Millisecond), []byte{2})
	_, recs := parse(t, buf.Bytes())
	if d := recs[1].sec - recs[0].sec; d != 1 || recs[1].frac != 500000 {
		t.Fatalf("interval %d s + %d us", d, recs[1].frac)
	}
}

func TestWriterBadSnaplen(t *testing.T) {
	if _, err := NewWriter(io.Discard, -1); err == nil {
		t.Fatal("negative snaplen accepted")
	}
}

// failAfter fails every write once n bytes have been written.
type failAfter struct{ n int }

var errFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		f.n = 0
		return 0, errFull
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	if _, err := NewWriter(&failAfter{n: 10}, 0); !errors.Is(err, errFull) {
		t.Fatalf("header write error: %v", err)
	}
	// The record header fits, the data does not; then the header fails.
	for _, room := range []int{24 + 16, 24} {
		w, err := NewWriter(&failAfter{n: room}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(time.Now(), []byte("data")); !errors.Is(err, errFull) {
			t.Fatalf("room %d: %v", room, err)
		}
		// Sticky: no more torn records.
		if err := w.WritePacket(time.Now(), nil); !errors.Is(err, errFull) || !errors.Is(w.Err(), errFull) {
			t.Fatalf("room %d: later write %v, Err %v", room, err, w.Err())
		}
	}
	w, _ := NewWriter(io.Discard, 0)
	if w.Err() != nil {
		t.Fatal(w.Err())
	}
}

// Records from many goroutines never interleave.
func TestWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			pkt := bytes.Repeat([]byte{byte(g)}, 100+g)
			for range 200 {
				w.WritePacket(time.Now(), pkt)
			}
		})
	}
	wg.Wait()
	_, recs := parse(t, buf.Bytes())
	if len(recs) != 1600 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		g := int(r.data[0])
		if len(r.data) != 100+g || !bytes.Equal(r.data, bytes.Repeat([]byte{byte(g)}, 100+g)) {
			t.Fatalf("mixed record %v", r.data[:8])
		}
	}
}

// stepClock is a virtual clock that moves 1 ms at each reading.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func TestTapBothDirections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, 0)
		a, b := link.Pipe(1500)
		clk := &stepClock{t: time.Unix(1000, 0)}
		ta := Tap(a, w, clk)
		defer ta.Close()
		defer b.Close()
		if ta.MTU() != 1500 {
			t.Fatal("MTU")
		}
		var atA, atB [][]byte
		ta.Attach(link.ReceiverFunc(func(p []byte) { atA = append(atA, slices.Clone(p)) }))
		b.Attach(link.ReceiverFunc(func(p []byte) { atB = append(atB, slices.Clone(p)) }))
		ta.WritePacket([]byte("out1"))
		synctest.Wait()
		b.WritePacket([]byte("in1"))
		synctest.Wait()
		ta.WritePacket([]byte("out2"))
		synctest.Wait()
		if len(atA) != 1 || len(atB) != 2 {
			t.Fatalf("delivered %d to A, %d to B", len(atA), len(atB))
		}
		_, recs := parse(t, buf.Bytes())
		var got []string
		for i, r := range recs {
			got = append(got, string(r.data))
			if r.sec != 1000 || r.frac != uint32(i+1)*1000 {
				t.Fatalf("record %d stamped %d.%06d", i, r.sec, r.frac)
			}
		}
		if !slices.Equal(got, []string{"out1", "in1", "out2"}) {
			t.Fatalf("recorded %q", got)
		}

		// Detaching passes through; a closed tap records nothing more.
		ta.Attach(nil)
		b.WritePacket([]byte("lost"))
		synctest.Wait()
		if err := ta.Close(); err != nil {
			t.Fatal(err)
		}
		if err := ta.WritePacket([]byte("late")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after Close: %v", err)
		}
		if _, recs := parse(t, buf.Bytes()); len(recs) != 3 {
			t.Fatalf("%d records after detach and Close", len(recs))
		}
	})
}

// With no clock the tap stamps wall time.
func TestTapWallClock(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 0)
	a, b := link.Pipe(1500)
	defer b.Close()
	ta := Tap(a, w, nil)
	defer ta.Close()
	before := time.Now().Unix()
	ta.WritePacket([]byte{1})
	after := time.Now().Unix()
	_, recs := parse(t, buf.Bytes())
	if s := int64(recs[0].sec); s < before || s > after {
		t.Fatalf("stamped %d, not in [%d, %d]", s, before, after)
	}
}

type nopEndpoint struct{ recv link.Receiver }

func (nopEndpoint) MTU() int                  { return 65535 }
func (nopEndpoint) WritePacket([]byte) error  { return nil }
func (e *nopEndpoint) Attach(r link.Receiver) { e.recv = r }
func (nopEndpoint) Close() error              { return nil }

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func TestTapZeroAlloc(t *testing.T) {
	w, _ := NewWriter(io.Discard, 0)
	inner := &nopEndpoint{}
	ta := Tap(inner, w, fixedClock(time.Unix(1, 0)))
	ta.Attach(link.ReceiverFunc(func([]byte) {}))
	pkt := make([]byte, 1500)
	if n := testing.AllocsPerRun(1000, func() {
		ta.WritePacket(pkt)
		inner.recv.DeliverPacket(pkt)
	}); n != 0 {
		t.Fatalf("%v allocations per packet pair", n)
	}
}

func BenchmarkTap(b *testing.B) {
	for _, size := range []int{64, 1500} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			w, _ := NewWriter(io.Discard, 0)
			ta := Tap(&nopEndpoint{}, w, fixedClock(time.Unix(1, 0)))
			pkt := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				ta.WritePacket(pkt)
			}
		})
	}
}
