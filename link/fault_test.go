package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/synack/synack/link/internal/pkttest"
)

// recorder is an inner Endpoint that keeps what is written, with the time,
// and lets a test inject arrivals.
type recorder struct {
	mu     sync.Mutex
	pkts   [][]byte
	at     []time.Time
	recv   Receiver
	closed bool
	err    error
}

func (r *recorder) MTU() int { return 1500 }

func (r *recorder) WritePacket(p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return net.ErrClosed
	}
	r.pkts = append(r.pkts, append([]byte(nil), p...))
	r.at = append(r.at, time.Now())
	return r.err
}

func (r *recorder) Attach(rc Receiver) {
	r.mu.Lock()
	r.recv = rc
	r.mu.Unlock()
}

func (r *recorder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

func (r *recorder) inject(p []byte) {
	r.mu.Lock()
	rc := r.recv
	r.mu.Unlock()
	if rc != nil {
		rc.DeliverPacket(p)
	}
}

func (r *recorder) got() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pkts)
}

func (r *recorder) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.at)
}

func (r *recorder) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// ids returns the numbers (first 4 bytes) of the packets written.
func (r *recorder) ids() []uint32 {
	var out []uint32
	for _, p := range r.got() {
		out = append(out, binary.BigEndian.Uint32(p))
	}
	return out
}

// tcpPacket is a valid IPv4 or IPv6 TCP packet with sequence number i.
func tcpPacket(i uint32, v6 bool) []byte {
	s := pkttest.Segment{
		Src: netip.MustParseAddrPort("192.0.2.1:40000"), Dst: netip.MustParseAddrPort("198.51.100.1:80"),
		Seq: i, Flags: pkttest.ACK, Window: 1000, Payload: []byte("payload"),
	}
	if v6 {
		s.Src = netip.MustParseAddrPort("[2001:db8::1]:40000")
		s.Dst = netip.MustParseAddrPort("[2001:db8::2]:80")
	}
	return s.Build()
}

func run(t *testing.T, f Faults, seed uint64, n int) (*recorder, Stats) {
	t.Helper()
	r := &recorder{}
	x := NewFaulty(r, f, seed)
	for i := range uint32(n) {
		if err := x.WritePacket(tcpPacket(i, i%2 == 1)); err != nil {
			t.Fatal(err)
		}
	}
	x.Close()
	return r, x.Stats()
}

func TestFaultyDeterministic(t *testing.T) {
	f := Faults{Loss: 0.1, Dup: 0.1, Reorder: 0.1, Corrupt: 0.1, ReorderHold: time.Hour}
	r1, s1 := run(t, f, 42, 1000)
	r2, s2 := run(t, f, 42, 1000)
	r3, _ := run(t, f, 43, 1000)
	if s1 != s2 {
		t.Fatalf("stats differ: %+v vs %+v", s1, s2)
	}
	if !slices.EqualFunc(r1.got(), r2.got(), bytes.Equal) {
		t.Fatal("same seed, different packets out")
	}
	if slices.EqualFunc(r1.got(), r3.got(), bytes.Equal) {
		t.Fatal("different seeds, same packets out")
	}
	if s1.Dropped == 0 || s1.Duplicated == 0 || s1.Reordered == 0 || s1.Corrupted == 0 {
		t.Fatalf("some fault never hit: %+v", s1)
	}
	// What went in, less drops, plus duplicates, is what came out, but
	// for what Close found reordered, an hour late (each with its copy).
	out := uint64(len(r1.got()))
	held := s1.Packets - s1.Dropped + s1.Duplicated - out
	if s1.Packets != 1000 || s1.Sent != out || held < s1.Reordered || held > 2*s1.Reordered {
		t.Fatalf("counts do not add up: %+v, %d out", s1, out)
	}
}

// Each fault draws from its own slot, so turning one on does not move the
// others' decisions.
func TestFaultyIndependentDraws(t *testing.T) {
	_, lossOnly := run(t, Faults{Loss: 0.3}, 7, 2000)
	_, all := run(t, Faults{Loss: 0.3, Dup: 0.5, Corrupt: 0.5}, 7, 2000)
	if lossOnly.Dropped != all.Dropped {
		t.Fatalf("drops %d alone, %d with other faults", lossOnly.Dropped, all.Dropped)
	}
}

func TestFaultyLossRate(t *testing.T) {
	const n = 10000
	for _, p := range []float64{0, 0.01, 0.1, 0.5, 1} {
		r, s := run(t, Faults{Loss: p}, 1, n)
		rate := float64(s.Dropped) / n
		// The seed is fixed, so the rate is the same every run; the bound
		// checks that it follows the setting.
		if rate < p-0.02 || rate > p+0.02 {
			t.Errorf("loss %v: dropped %v", p, rate)
		}
		if s.Sent != n-s.Dropped || uint64(len(r.got())) != s.Sent {
			t.Errorf("loss %v: stats %+v, %d out", p, s, len(r.got()))
		}
	}
}

func TestFaultyDup(t *testing.T) {
	r := &recorder{}
	x := NewFaulty(r, Faults{Dup: 1}, 1)
	for i := range uint32(3) {
		x.WritePacket(numbered(i, 8))
	}
	if got := r.ids(); !slices.Equal(got, []uint32{0, 0, 1, 1, 2, 2}) {
		t.Fatalf("got %v", got)
	}
	if s := x.Stats(); s.Duplicated != 3 || s.Sent != 6 {
		t.Fatalf("stats %+v", s)
	}
	_, s := run(t, Faults{Dup: 0.2}, 3, 10000)
	if rate := float64(s.Duplicated) / 10000; rate < 0.18 || rate > 0.22 {
		t.Fatalf("dup rate %v", rate)
	}
}

// A reordered packet arrives ReorderHold late, so the packets sent in the
// meantime overtake it (the simulator's meaning of the word too). Before
// one fault engine, Faulty held it until the next packet had passed.
func TestFaultyReorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		x := NewFaulty(r, Faults{Reorder: 1, ReorderHold: 10 * time.Millisecond}, 1)
		defer x.Close()
		x.WritePacket(numbered(0, 8))
		x.SetFaults(Faults{})
		x.WritePacket(numbered(1, 8))
		time.Sleep(time.Second)
		if got := r.ids(); !slices.Equal(got, []uint32{1, 0}) {
			t.Fatalf("got %v", got)
		}
		if s := x.Stats(); s.Reordered != 1 || s.Sent != 2 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// A duplicated packet that is reordered stays a pair.
func TestFaultyReorderDup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		x := NewFaulty(r, Faults{Reorder: 1, Dup: 1, ReorderHold: 10 * time.Millisecond}, 1)
		defer x.Close()
		x.WritePacket(numbered(0, 8))
		x.SetFaults(Faults{})
		x.WritePacket(numbered(1, 8))
		time.Sleep(time.Second)
		if got := r.ids(); !slices.Equal(got, []uint32{1, 0, 0}) {
			t.Fatalf("got %v", got)
		}
	})
}

// A reordered packet leaves exactly ReorderHold late (DefaultReorderHold
// when unset), in virtual time.
func TestFaultyReorderHold(t *testing.T) {
	for _, hold := range []time.Duration{0, 50 * time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			want := hold
			if want == 0 {
				want = DefaultReorderHold
			}
			r := &recorder{}
			x := NewFaulty(r, Faults{Reorder: 1, ReorderHold: hold}, 1)
			defer x.Close()
			start := time.Now()
			x.WritePacket(numbered(0, 8))
			time.Sleep(time.Second)
			if ts := r.times(); len(ts) != 1 || ts[0].Sub(start) != want {
				t.Fatalf("hold %v: %d packets, at %v; want one at %v", hold, len(ts), ts, want)
			}
		})
	}
}

func TestFaultyCorrupt(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		r := &recorder{}
		x := NewFaulty(r, Faults{Corrupt: 1}, 9)
		for i := range uint32(500) {
			in := tcpPacket(i, v6)
			orig := slices.Clone(in)
			x.WritePacket(in)
			if !bytes.Equal(in, orig) {
				t.Fatal("Faulty changed the caller's buffer")
			}
			out := r.got()[i]
			diff := 0
			for j := range in {
				if in[j] != out[j] {
					diff++
				}
			}
			if diff != 1 {
				t.Fatalf("v6=%v packet %d: %d bytes differ, want 1", v6, i, diff)
			}
			if pkttest.Valid(out) {
				t.Fatalf("v6=%v packet %d: corruption passes the checksums", v6, i)
			}
		}
		if s := x.Stats(); s.Corrupted != 500 {
			t.Fatalf("stats %+v", s)
		}
	}
	// An empty packet has no byte to change and goes through.
	r := &recorder{}
	NewFaulty(r, Faults{Corrupt: 1}, 9).WritePacket(nil)
	if len(r.got()) != 1 {
		t.Fatal("empty packet lost")
	}
}

func TestFaultyDropPredicate(t *testing.T) {
	r := &recorder{}
	var calls int
	isFIN := func(p []byte) bool {
		calls++
		return p[20+13]&pkttest.FIN != 0
	}
	x := NewFaulty(r, Faults{Drop: isFIN}, 1)
	for i, fl := range []uint8{pkttest.SYN, pkttest.ACK, pkttest.FIN | pkttest.ACK, pkttest.ACK} {
		p := pkttest.Segment{
			Src: netip.MustParseAddrPort("192.0.2.1:1"), Dst: netip.MustParseAddrPort("192.0.2.2:2"),
			Seq: uint32(i), Flags: fl,
		}.Build()
		x.WritePacket(p)
	}
	var flags []uint8
	for _, p := range r.got() {
		flags = append(flags, p[20+13])
	}
	if !slices.Equal(flags, []uint8{pkttest.SYN, pkttest.ACK, pkttest.ACK}) || calls != 4 {
		t.Fatalf("flags out %v after %d calls", flags, calls)
	}
	if s := x.Stats(); s.Dropped != 1 || s.Sent != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// Delay and jitter run in virtual time inside a synctest bubble: every
// packet leaves within [Delay, Delay+Jitter), in deadline order, and the
// same seed gives the same schedule.
func TestFaultyDelayJitterSynctest(t *testing.T) {
	const delay, jitter = 100 * time.Millisecond, 50 * time.Millisecond
	var runs [2][]time.Duration
	var orders [2][]uint32
	for k := range runs {
		synctest.Test(t, func(t *testing.T) {
			r := &recorder{}
			x := NewFaulty(r, Faults{Delay: delay, Jitter: jitter}, 5)
			defer x.Close()
			start := time.Now()
			for i := range uint32(100) {
				if err := x.WritePacket(numbered(i, 8)); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(delay - time.Nanosecond)
			synctest.Wait()
			if n := len(r.got()); n != 0 {
				t.Fatalf("%d packets before the delay", n)
			}
			time.Sleep(jitter)
			synctest.Wait()
			if n := len(r.got()); n != 100 {
				t.Fatalf("%d of 100 packets after delay+jitter", n)
			}
			ats := r.times()
			for i, at := range ats {
				d := at.Sub(start)
				if d < delay || d >= delay+jitter {
					t.Fatalf("packet %d left after %v", i, d)
				}
				if i > 0 && at.Before(ats[i-1]) {
					t.Fatalf("packet %d left before its predecessor", i)
				}
				runs[k] = append(runs[k], d)
			}
			orders[k] = r.ids()
			if slices.IsSorted(orders[k]) {
				t.Fatal("jitter reordered nothing")
			}
		})
	}
	if !slices.Equal(runs[0], runs[1]) || !slices.Equal(orders[0], orders[1]) {
		t.Fatal("same seed, different schedule")
	}
}

// A plain delay keeps order, also for packets written later while the
// line is busy, and also when a held packet joins the line.
func TestFaultyDelayKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		x := NewFaulty(r, Faults{Delay: 10 * time.Millisecond}, 5)
		defer x.Close()
		var want []uint32
		for i := range uint32(50) {
			x.WritePacket(numbered(i, 8))
			want = append(want, i)
			time.Sleep(time.Duration(i%3) * time.Millisecond)
		}
		time.Sleep(time.Second)
		if got := r.ids(); !slices.Equal(got, want) {
			t.Fatalf("got %v", got)
		}

		x.SetFaults(Faults{Delay: 10 * time.Millisecond, Reorder: 1, ReorderHold: 5 * time.Millisecond})
		start := time.Now()
		x.WritePacket(numbered(100, 8)) // 10 ms of delay and 5 ms more for reordering
		time.Sleep(time.Second)
		if ats := r.times(); len(ats) != 51 || ats[50].Sub(start) != 15*time.Millisecond {
			t.Fatalf("held+delayed packet: %d out, last at %v", len(ats), ats[len(ats)-1].Sub(start))
		}
	})
}

func TestFaultyClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		x := NewFaulty(r, Faults{Delay: time.Second}, 1)
		for i := range uint32(10) {
			x.WritePacket(numbered(i, 8))
		}
		y := NewFaulty(&recorder{}, Faults{Reorder: 1}, 1)
		y.WritePacket([]byte{1})
		for _, e := range []*Faulty{x, y} {
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		}
		// Stop reports false for a timer that is already stopped: Close
		// stopped them before they were due.
		if x.out.delayTimer.Stop() || y.out.delayTimer.Stop() {
			t.Fatal("Close left a timer running")
		}
		time.Sleep(2 * time.Second)
		if n := len(r.got()); n != 0 {
			t.Fatalf("%d delayed packets left after Close", n)
		}
		if !r.isClosed() {
			t.Fatal("inner not closed")
		}
		if err := x.WritePacket([]byte{1}); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("write after Close: %v", err)
		}
		if s := x.Stats(); s.Sent != 0 || s.Packets != 10 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestFaultyIncoming(t *testing.T) {
	for _, tc := range []struct {
		dir     Direction
		in, out int // of 100 each way, how many pass
	}{
		{Outgoing, 100, 0},
		{Incoming, 0, 100},
		{Both, 0, 0},
	} {
		r := &recorder{}
		x := NewFaulty(r, Faults{Loss: 1, Dir: tc.dir}, 1)
		if x.MTU() != 1500 {
			t.Fatal("MTU not the inner's")
		}
		var in int
		x.Attach(ReceiverFunc(func([]byte) { in++ }))
		for range 100 {
			x.WritePacket([]byte{1})
			r.inject([]byte{2})
		}
		if in != tc.in || len(r.got()) != tc.out {
			t.Errorf("dir %d: %d in, %d out; want %d, %d", tc.dir, in, len(r.got()), tc.in, tc.out)
		}
		x.Attach(nil)
		r.mu.Lock()
		detached := r.recv == nil
		r.mu.Unlock()
		if !detached {
			t.Error("Attach(nil) not passed on")
		}
		x.Close()
		r.inject([]byte{3}) // after Close, arrivals go nowhere
	}
}

// Incoming packets are copied before they are held: the inner link may
// reuse its buffer after DeliverPacket returns.
func TestFaultyIncomingCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{}
		x := NewFaulty(r, Faults{Delay: time.Millisecond, Dir: Incoming}, 1)
		defer x.Close()
		var got [][]byte
		x.Attach(ReceiverFunc(func(p []byte) { got = append(got, slices.Clone(p)) }))
		buf := []byte("one")
		r.inject(buf)
		copy(buf, "two")
		r.inject(buf)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if len(got) != 2 || string(got[0]) != "one" || string(got[1]) != "two" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestFaultyInnerError(t *testing.T) {
	boom := errors.New("boom")
	r := &recorder{err: boom}
	x := NewFaulty(r, Faults{}, 1)
	if err := x.WritePacket([]byte{1}); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	y := NewFaulty(r, Faults{Reorder: 1, ReorderHold: time.Hour}, 1)
	defer y.Close()
	if err := y.WritePacket([]byte{1}); err != nil {
		t.Fatalf("a reordered packet, sent later: %v", err)
	}
}

// Faulty over a Pipe in a bubble: the pipe's goroutines and the delay's
// timers all run in virtual time and all finish.
func TestFaultyOverPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe(1500)
		fa := NewFaulty(a, Faults{Delay: 20 * time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.1}, 3)
		fb := NewFaulty(b, Faults{Delay: 20 * time.Millisecond, Dir: Incoming, Dup: 0.5}, 4)
		defer fa.Close()
		defer fb.Close()
		r, ch := collect(1000)
		fb.Attach(r)
		start := time.Now()
		var wg sync.WaitGroup
		for g := range uint32(4) {
			wg.Go(func() {
				for i := range uint32(100) {
					fa.WritePacket(numbered(g<<16|i, 100))
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Second)
		synctest.Wait()
		sa, sb := fa.Stats(), fb.Stats()
		if sa.Packets != 400 || sb.Packets != sa.Sent || uint64(len(ch)) != sb.Sent {
			t.Fatalf("out %+v in %+v, %d received", sa, sb, len(ch))
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("virtual time %v", d)
		}
	})
}

// A steady flow through a Faulty that passes packets at once allocates
// nothing.
func TestFaultyZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	r := &discard{}
	x := NewFaulty(r, Faults{Loss: 0.01, Dup: 0.01, Corrupt: 0.01, Reorder: 0.01, ReorderHold: time.Hour}, 1)
	defer x.Close()
	pkt := tcpPacket(1, false)
	if n := testing.AllocsPerRun(10000, func() { x.WritePacket(pkt) }); n != 0 {
		t.Fatalf("%v allocations per packet", n)
	}
}

type discard struct{ n int }

func (d *discard) MTU() int                 { return 65535 }
func (d *discard) WritePacket([]byte) error { d.n++; return nil }
func (d *discard) Attach(Receiver)          {}
func (d *discard) Close() error             { return nil }

func BenchmarkFaulty(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    Faults
	}{
		{"passthrough", Faults{}},
		{"loss1%", Faults{Loss: 0.01}},
		{"all1%", Faults{Loss: 0.01, Dup: 0.01, Corrupt: 0.01, Reorder: 0.01, ReorderHold: time.Hour}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			x := NewFaulty(&discard{}, bc.f, 1)
			defer x.Close()
			pkt := tcpPacket(1, false)
			b.ReportAllocs()
			for b.Loop() {
				x.WritePacket(pkt)
			}
		})
	}
}
