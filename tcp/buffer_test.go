package tcp

import (
	"bytes"
	"testing"
	"time"
)

// A connection holds its buffers only while they hold bytes: once the
// application has read everything, the receive buffer goes back to the
// pool, and once the peer has acknowledged everything, the send buffer
// does; the next data takes them from there rather than allocating.
func TestBuffersGoBackWhenDrained(t *testing.T) {
	p := newPair(t, Config{}, Config{})
	p.open()
	if p.a.snd.buf != nil || p.b.rcv.buf != nil {
		t.Fatal("buffers held before any data")
	}
	msg := bytes.Repeat([]byte("synack "), 3000) // 21 kB
	round := func() {
		t.Helper()
		if n, err := p.a.Send(p.now, msg); n != len(msg) || err != nil {
			t.Fatalf("Send: %d, %v", n, err)
		}
		if p.a.snd.buf == nil {
			t.Fatal("no send buffer with data queued")
		}
		p.run(time.Second)
		got, _ := readAll(p.b, p.now)
		if !bytes.Equal(got, msg) {
			t.Fatalf("B read %d bytes, want %d", len(got), len(msg))
		}
		p.run(time.Second)
		if p.a.snd.buf != nil {
			t.Errorf("A keeps a %d-byte send buffer with everything acknowledged", len(p.a.snd.buf))
		}
		if p.b.rcv.buf != nil {
			t.Errorf("B keeps a %d-byte receive buffer with everything read", len(p.b.rcv.buf))
		}
	}
	round()
	pooled := p.a.io.PoolBytes()
	if pooled == 0 {
		t.Fatal("the drained buffers are not in the pool")
	}
	round()
	if got := p.a.io.PoolBytes(); got != pooled {
		t.Errorf("the pool held %d bytes after the first round, %d after the second: the buffers did not go round", pooled, got)
	}
}

// Bytes written ahead of RCV.NXT (out of order) keep the receive buffer
// even when nothing is readable.
func TestReceiveBufferKeptForOutOfOrderData(t *testing.T) {
	h := newHarness(t).established()
	read := func(want int) {
		t.Helper()
		buf := make([]byte, 1000)
		if n, err := h.c.Receive(h.now, buf); n != want || err != nil {
			t.Fatalf("Receive: %d, %v; want %d bytes", n, err, want)
		}
	}
	h.in("P. 5001:5101(100) ack 1001")
	h.in("P. 5201:5301(100) ack 1001") // a hole at 5101
	read(100)
	if h.c.rcv.buf == nil {
		t.Fatal("a Receive that emptied the readable bytes dropped the data held ahead")
	}
	h.in("P. 5101:5201(100) ack 1001")
	read(200)
	if h.c.rcv.buf != nil {
		t.Errorf("a %d-byte receive buffer kept with everything read", len(h.c.rcv.buf))
	}
}

// The pool keeps at most PoolMax bytes, and only the sizes it can hand
// out again.
func TestPoolBounded(t *testing.T) {
	var p bufPool
	for range 10 {
		p.put(make([]byte, 256<<10))
	}
	if p.held > PoolMax || p.held != 4*256<<10 {
		t.Errorf("pool holds %d bytes after ten 256 KiB buffers, want %d", p.held, 4*256<<10)
	}
	p.put(make([]byte, 100))
	p.put(make([]byte, 2<<20))
	if p.held != 4*256<<10 {
		t.Errorf("pool kept a buffer it cannot hand out: %d bytes", p.held)
	}
	b := p.get(5000, 8192, 256<<10)
	if len(b) != 256<<10 || p.held != 3*256<<10 {
		t.Errorf("get(5000) gave %d bytes, pool left with %d; want the largest, 256 KiB", len(b), p.held)
	}
	if b := p.get(5000, 8192, 64<<10); len(b) != 8192 {
		t.Errorf("get with a 64 KiB limit gave %d bytes, want a new 8 KiB buffer (none free fits)", len(b))
	}
	var none *bufPool
	none.put(b)
	if b := none.get(10, 4096, 4096); len(b) != 4096 {
		t.Errorf("a nil pool's get gave %d bytes", len(b))
	}
}
