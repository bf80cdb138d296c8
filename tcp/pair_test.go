package tcp

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/wire"
)

// pair wires two connections back to back through a queue with a fixed
// one-way delay, in virtual time. drop, when set, may discard a segment.
type pair struct {
	t     *testing.T
	now   time.Time
	delay time.Duration
	a, b  *Conn
	q     []flight
	log   []string
	drop  func(from string, s *wire.Segment) bool
}

type flight struct {
	at   time.Time
	to   *Conn
	seg  wire.Segment
	from string
}

type pairOut struct {
	p    *pair
	name string
}

func (o pairOut) Segment(now time.Time, c *Conn, s *wire.Segment, why Cause) {
	p := o.p
	cp := *s
	cp.Payload = append([]byte(nil), s.Payload...)
	to := p.b
	if c == p.b {
		to = p.a
	}
	if p.drop != nil && p.drop(o.name, &cp) {
		p.log = append(p.log, fmt.Sprintf("%s > %v  (dropped)", o.name, cp))
		return
	}
	p.log = append(p.log, fmt.Sprintf("%s > %v", o.name, cp))
	p.q = append(p.q, flight{at: now.Add(p.delay), to: to, seg: cp, from: o.name})
}

type pairObs struct {
	p    *pair
	name string
}

func (o pairObs) Event(now time.Time, c *Conn, e *Event) {
	if e.Kind == EventState {
		recordTransition(e.From, e.To, o.p.t.Name())
		if !Legal(e.From, e.To) {
			o.p.t.Errorf("illegal transition %v -> %v (%s)", e.From, e.To, e.Cause)
		}
		o.p.log = append(o.p.log, fmt.Sprintf("%s %v -> %v", o.name, e.From, e.To))
	}
}

func newPair(t *testing.T, cfgA, cfgB Config) *pair {
	p := &pair{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), delay: 10 * time.Millisecond}
	ca, cb := cfgA.Defaults(), cfgB.Defaults()
	p.a = NewConn(&ca, pairOut{p, "A"}, pairObs{p, "A"})
	p.b = NewConn(&cb, pairOut{p, "B"}, pairObs{p, "B"})
	// One Scratch, as a stack's TCBs share it: their buffers go round.
	sc := new(Scratch)
	p.a.SetScratch(sc)
	p.b.SetScratch(sc)
	return p
}

// run advances virtual time, delivering segments and firing timers, until
// nothing is pending or until limit.
func (p *pair) run(limit time.Duration) {
	end := p.now.Add(limit)
	for i := 0; i < 1_000_000; i++ {
		next := end
		for _, f := range p.q {
			if f.at.Before(next) {
				next = f.at
			}
		}
		for _, c := range []*Conn{p.a, p.b} {
			if d, ok := c.NextDeadline(); ok && d.Before(next) {
				next = d
			}
		}
		if !next.Before(end) && len(p.q) == 0 {
			p.now = end
			return
		}
		if next.After(end) {
			p.now = end
			return
		}
		p.now = next
		var due []flight
		rest := p.q[:0]
		for _, f := range p.q {
			if !f.at.After(p.now) {
				due = append(due, f)
			} else {
				rest = append(rest, f)
			}
		}
		p.q = rest
		for _, f := range due {
			f.to.SegmentArrives(p.now, &f.seg)
		}
		p.a.Tick(p.now)
		p.b.Tick(p.now)
		if next == end {
			return
		}
	}
	p.t.Fatal("run did not settle")
}

func (p *pair) open() {
	p.t.Helper()
	if err := p.b.OpenPassive(p.now, OpenOptions{LocalPort: 80, ISS: 5000}); err != nil {
		p.t.Fatal(err)
	}
	if err := p.a.OpenActive(p.now, OpenOptions{LocalPort: 40000, RemotePort: 80, ISS: 1000}); err != nil {
		p.t.Fatal(err)
	}
	p.run(time.Second)
	if p.a.State() != StateEstablished || p.b.State() != StateEstablished {
		p.t.Fatalf("after handshake: A %v, B %v\n%s", p.a.State(), p.b.State(), strings.Join(p.log, "\n"))
	}
}

func readAll(c *Conn, now time.Time) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Receive(now, buf)
		out = append(out, buf[:n]...)
		if err != nil || n == 0 {
			return out, err
		}
	}
}

func TestPairTransferAndFourWayClose(t *testing.T) {
	p := newPair(t, Config{}, Config{})
	p.open()
	msg := bytes.Repeat([]byte("synack "), 100_000) // 700 kB, beyond both buffers
	var got []byte
	sent := 0
	for i := 0; i < 10000 && (sent < len(msg) || len(got) < len(msg)); i++ {
		if sent < len(msg) {
			n, err := p.a.Send(p.now, msg[sent:])
			if err != nil {
				t.Fatal(err)
			}
			sent += n
		}
		p.run(5 * time.Millisecond)
		b, _ := readAll(p.b, p.now)
		got = append(got, b...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("B read %d bytes, want %d", len(got), len(msg))
	}
	p.a.Close(p.now)
	p.run(time.Second)
	if p.a.State() != StateFinWait2 || p.b.State() != StateCloseWait {
		t.Fatalf("after A's FIN: A %v, B %v\n%s", p.a.State(), p.b.State(), strings.Join(p.log[len(p.log)-10:], "\n"))
	}
	if _, err := p.b.Receive(p.now, make([]byte, 10)); err != io.EOF {
		t.Fatalf("B read after FIN: %v, want EOF", err)
	}
	p.b.Close(p.now)
	p.run(2 * time.Second)
	if p.a.State() != StateTimeWait || p.b.State() != StateClosed {
		t.Fatalf("after B's FIN: A %v, B %v", p.a.State(), p.b.State())
	}
	p.run(61 * time.Second)
	if p.a.State() != StateClosed {
		t.Fatalf("after 2MSL: A %v", p.a.State())
	}
	t.Logf("%d segments; A stats %+v", len(p.log), p.a.Stats())
}

func TestPairLossyTransfer(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			p := newPair(t, Config{}, Config{})
			rng := newTestRand(seed)
			p.open()
			p.drop = func(string, *wire.Segment) bool { return rng.Intn(10) == 0 }
			msg := make([]byte, 300_000)
			for i := range msg {
				msg[i] = byte(rng.Intn(256))
			}
			var got []byte
			sent := 0
			for i := 0; i < 100000 && len(got) < len(msg); i++ {
				if sent < len(msg) {
					n, err := p.a.Send(p.now, msg[sent:])
					if err != nil {
						t.Fatal(err)
					}
					sent += n
				}
				p.run(20 * time.Millisecond)
				b, err := readAll(p.b, p.now)
				if err != nil && err != io.EOF {
					t.Fatal(err)
				}
				got = append(got, b...)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("B read %d bytes, want %d; A %v B %v", len(got), len(msg), p.a.State(), p.b.State())
			}
			p.a.Close(p.now)
			p.run(5 * time.Minute)
			b, err := readAll(p.b, p.now)
			if len(b) != 0 || err != io.EOF {
				t.Fatalf("B: %d bytes, %v; want EOF", len(b), err)
			}
			p.b.Close(p.now)
			p.run(10 * time.Minute)
			if p.a.State() != StateClosed || p.b.State() != StateClosed {
				t.Fatalf("end: A %v B %v (errs %v %v)", p.a.State(), p.b.State(), p.a.Err(), p.b.Err())
			}
			if p.a.Err() != nil || p.b.Err() != nil {
				t.Fatalf("errors: %v %v", p.a.Err(), p.b.Err())
			}
		})
	}
}

type testRand struct{ s uint64 }

func newTestRand(seed int64) *testRand { return &testRand{uint64(seed)*0x9e3779b97f4a7c15 + 1} }
func (r *testRand) Intn(n int) int {
	r.s ^= r.s << 13
	r.s ^= r.s >> 7
	r.s ^= r.s << 17
	return int(r.s % uint64(n))
}
