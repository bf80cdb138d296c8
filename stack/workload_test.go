package stack_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/synack/synack/internal/pattern"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// peer is one side's application: it writes size bytes of its stream,
// half-closes, reads the other stream to EOF checking every byte, then
// closes.
type peer struct {
	n         *sim.Network
	c         *stack.Conn
	sendKey   uint64
	recvKey   uint64
	size      int
	sent      int
	got       int
	wroteFIN  bool
	eof       bool
	closed    bool
	err       error
	corrupt   bool
	scheduled bool
	buf       []byte
}

func (p *peer) Notify() {
	if !p.scheduled {
		p.scheduled = true
		p.n.After(0, p.pump)
	}
}

func (p *peer) pump() {
	p.scheduled = false
	if p.closed {
		return
	}
	now := p.n.Now()
	if st := p.c.State(); st == tcp.StateSynSent || st == tcp.StateSynReceived {
		return // like a blocking dial: wait for the handshake
	}
	if err := p.c.Err(); err != nil && p.c.State() == tcp.StateClosed {
		p.err, p.closed = err, true
		return
	}
	for p.sent < p.size && p.err == nil {
		k := min(p.size-p.sent, len(p.buf))
		pattern.Fill(p.buf[:k], p.sendKey, p.sent)
		w, err := p.c.Write(now, p.buf[:k])
		if err != nil {
			p.err = err
			break
		}
		if w == 0 {
			break
		}
		p.sent += w
	}
	if p.sent == p.size && !p.wroteFIN && p.err == nil {
		p.wroteFIN = true
		if err := p.c.CloseWrite(now); err != nil {
			p.err = err
		}
	}
	for !p.eof && p.err == nil {
		k, err := p.c.Read(now, p.buf)
		if !pattern.Match(p.buf[:k], p.recvKey, p.got) {
			p.corrupt = true
		}
		p.got += k
		if err == io.EOF {
			p.eof = true
		} else if err != nil {
			p.err = err
		}
		if k == 0 {
			break
		}
	}
	if (p.eof && p.wroteFIN) || p.err != nil {
		p.closed = true
		p.c.Close(now)
	}
}

// traceHash digests every packet and connection event of a run.
type traceHash struct {
	h     hash.Hash
	final map[string]tcp.State // last state of each connection, by host and 4-tuple
}

func (t *traceHash) Packet(now time.Time, e *sim.PacketEvent) {
	var b [9]byte
	binary.BigEndian.PutUint64(b[:], uint64(now.UnixNano()))
	b[8] = byte(e.Kind)
	t.h.Write(b[:])
	t.h.Write([]byte(e.From.Name + e.To.Name + e.Why))
	// The headers carry every sequence number, flag and option, and the
	// TCP checksum over the payload: hashing them is enough.
	t.h.Write(e.Pkt[:min(len(e.Pkt), 80)])
}

func (t *traceHash) Conn(now time.Time, h *sim.Host, id stack.ID, e *tcp.Event) {
	if e.Kind == tcp.EventState {
		t.final[h.Name+" "+id.String()] = e.To
	}
	fmt.Fprintf(t.h, "%d %s %v %d %v %v %v %v %s\n", now.UnixNano(), h.Name, id, e.Kind, e.From, e.To, e.Timer, e.Action, e.Cause)
}

func (t *traceHash) HostEvent(now time.Time, h *sim.Host, what string) {
	fmt.Fprintf(t.h, "%d %s %s\n", now.UnixNano(), h.Name, what)
}

type workloadResult struct {
	trace          [32]byte
	bytes          int64
	virtual        time.Duration
	failed         []string
	clients, conns int
}

// runWorkload opens conns connections from A to B, at most parallel at a
// time, each moving a random 0..maxSize bytes each way over a faulty link,
// and checks every byte and every final state.
func runWorkload(t *testing.T, seed uint64, conns, parallel, maxSize int, lc sim.LinkConfig) workloadResult {
	cfg := stack.Config{TCP: tcp.Config{SynRetries: 12, SynAckRetries: 12}}
	n, a, b, _ := twoHosts(t, seed, lc, cfg, cfg)
	th := &traceHash{h: sha256.New(), final: map[string]tcp.State{}}
	n.SetObserver(th)
	rng := n.Rand()
	l, err := b.Stack.Listen(n.Now(), netip.AddrPortFrom(addrB, 80), 1024)
	if err != nil {
		t.Fatal(err)
	}
	var servers, clients []*peer
	buf := make([]byte, 16<<10)
	l.SetNotifier(stack.NotifyFunc(func() {
		n.After(0, func() {
			for c := l.Accept(); c != nil; c = l.Accept() {
				p := &peer{n: n, c: c, size: rng.IntN(maxSize + 1), buf: buf,
					sendKey: uint64(c.RemoteAddr().Port())<<1 | 1, recvKey: uint64(c.RemoteAddr().Port()) << 1}
				c.SetNotifier(p)
				servers = append(servers, p)
				p.pump()
			}
		})
	}))
	active := 0
	start := func() {
		for active < parallel && len(clients) < conns {
			c, err := a.Stack.Dial(n.Now(), netip.AddrPort{}, netip.AddrPortFrom(addrB, 80))
			if err != nil {
				t.Fatalf("dial %d: %v", len(clients), err)
			}
			p := &peer{n: n, c: c, size: rng.IntN(maxSize + 1), buf: buf,
				sendKey: uint64(c.LocalAddr().Port()) << 1, recvKey: uint64(c.LocalAddr().Port())<<1 | 1}
			active++
			c.SetNotifier(p)
			clients = append(clients, p)
			pp := p
			n.After(0, func() { pp.pump() })
		}
	}
	// Start a new connection whenever one finishes.
	done := map[*peer]bool{}
	var poll func()
	poll = func() {
		for _, p := range clients {
			if p.closed && !done[p] {
				done[p] = true
				active--
			}
		}
		start()
		if len(done) < conns {
			n.After(50*time.Millisecond, poll)
		}
	}
	n.After(0, poll)
	if !n.RunUntilIdle(24 * time.Hour) {
		t.Fatalf("seed %d: network did not go idle", seed)
	}
	res := workloadResult{virtual: n.Elapsed(), clients: len(clients), conns: len(servers)}
	for i, p := range clients {
		var s *peer
		for _, q := range servers {
			if q.c.RemoteAddr() == p.c.LocalAddr() {
				s = q
			}
		}
		switch {
		case s == nil:
			res.failed = append(res.failed, fmt.Sprintf("client %d (%v): never accepted; err %v", i, p.c.LocalAddr(), p.err))
		case p.err != nil || s.err != nil:
			res.failed = append(res.failed, fmt.Sprintf("conn %d (%v): client err %v, server err %v", i, p.c.LocalAddr(), p.err, s.err))
		case p.corrupt || s.corrupt:
			res.failed = append(res.failed, fmt.Sprintf("conn %d: corrupted bytes", i))
		case p.got != s.size || s.got != p.size || !p.eof || !s.eof:
			res.failed = append(res.failed, fmt.Sprintf("conn %d: client got %d/%d (eof %v), server got %d/%d (eof %v)", i, p.got, s.size, p.eof, s.got, p.size, s.eof))
		}
		if s != nil {
			res.bytes += int64(p.size + s.size)
		}
	}
	for k, st := range th.final {
		if st != tcp.StateClosed && st != tcp.StateListen {
			res.failed = append(res.failed, fmt.Sprintf("%s ended in %v", k, st))
		}
	}
	if len(th.final) < 2*len(clients) {
		res.failed = append(res.failed, fmt.Sprintf("only %d connection ends traced for %d connections", len(th.final), len(clients)))
	}
	for _, h := range []*sim.Host{a, b} {
		if c, hf, tw := h.Stack.Len(); c+hf+tw != 0 {
			res.failed = append(res.failed, fmt.Sprintf("host %s: %d conns, %d half-open, %d TIME-WAIT left", h.Name, c, hf, tw))
		}
	}
	copy(res.trace[:], th.h.Sum(nil))
	return res
}

var faultyLink = sim.LinkConfig{
	Delay: 5 * time.Millisecond, Jitter: 3 * time.Millisecond,
	Loss: 0.10, Dup: 0.05, Reorder: 0.05,
}

// The acceptance test: 1,000 connections, random sizes 0..1 MiB both
// ways, 10% loss, 5% duplication, reordering and jitter; every byte intact
// and in order, every connection CLOSED — and the same seed gives the same
// trace.
func TestThousandConnectionsOverFaultyNetwork(t *testing.T) {
	conns, maxSize := 1000, 1<<20
	if testing.Short() {
		conns, maxSize = 100, 256<<10
	}
	r1 := runWorkload(t, 42, conns, 100, maxSize, faultyLink)
	for _, f := range r1.failed {
		t.Error(f)
	}
	t.Logf("%d connections, %d MB moved, %v virtual; trace %x", r1.clients, r1.bytes>>20, r1.virtual, r1.trace[:8])
	if t.Failed() {
		return
	}
	r2 := runWorkload(t, 42, conns, 100, maxSize, faultyLink)
	if r1.trace != r2.trace {
		t.Fatalf("same seed, different traces: %x vs %x", r1.trace[:8], r2.trace[:8])
	}
	r3 := runWorkload(t, 43, 20, 10, 64<<10, faultyLink)
	if r3.trace == r1.trace {
		t.Fatal("different seeds gave the same trace")
	}
}
