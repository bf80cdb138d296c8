package netconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/wire"
)

// spray is a client's one link over several queues of a sharded server,
// as a multi-queue device's kernel may spread one flow: the k-th packet of
// a flow goes on queue k mod n, so every handshake's SYN takes queue 0 and
// its ACK queue 1. It notes which queue each flow's replies came up on.
type spray struct {
	eps []link.Endpoint

	mu      sync.Mutex
	sent    map[uint16]int          // client port → packets sent
	replies map[uint16]map[int]bool // client port → queues its replies took
}

func newSpray(eps []link.Endpoint) *spray {
	return &spray{eps: eps, sent: map[uint16]int{}, replies: map[uint16]map[int]bool{}}
}

func (s *spray) MTU() int { return s.eps[0].MTU() }

func (s *spray) WritePacket(pkt []byte) error {
	p, err := wire.ParsePacket(pkt)
	if err != nil {
		return err
	}
	s.mu.Lock()
	q := s.sent[p.Segment.SrcPort] % len(s.eps)
	s.sent[p.Segment.SrcPort]++
	s.mu.Unlock()
	return s.eps[q].WritePacket(pkt)
}

func (s *spray) Attach(r link.Receiver) {
	for i, ep := range s.eps {
		if r == nil {
			ep.Attach(nil)
			continue
		}
		ep.Attach(sprayIn{s, i, r})
	}
}

func (s *spray) Close() error {
	for _, ep := range s.eps {
		ep.Close()
	}
	return nil
}

type sprayIn struct {
	s *spray
	q int
	r link.Receiver
}

func (in sprayIn) DeliverPacket(pkt []byte) {
	if p, err := wire.ParsePacket(pkt); err == nil {
		in.s.mu.Lock()
		m := in.s.replies[p.Segment.DstPort]
		if m == nil {
			m = map[int]bool{}
			in.s.replies[p.Segment.DstPort] = m
		}
		m[in.q] = true
		in.s.mu.Unlock()
	}
	in.r.DeliverPacket(pkt)
}

// A sharded server whose client spreads every flow over two queues — the
// SYN on one, the ACK that completes the handshake on the other, the data
// alternating — serves every connection: each packet is steered to its
// connection's shard, whatever queue it came on. Each shard writes on its
// own queue, so a flow's replies all come up on its home shard's queue.
func TestShardedSynAndAckOnDifferentQueues(t *testing.T) {
	const n = 64
	a0, b0 := link.Pipe(1500)
	a1, b1 := link.Pipe(1500)
	sp := newSpray([]link.Endpoint{a0, a1})
	client, server := New(stack.Config{}), NewSharded(stack.Config{}, 2)
	t.Cleanup(func() { client.Close(); server.Close() })
	if err := client.AddLink(sp, prefixA); err != nil {
		t.Fatal(err)
	}
	if err := server.AddQueues([]link.Endpoint{b0, b1}, prefixB); err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("tcp", "192.0.2.2:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	conns := make(chan *Conn, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := Dialer{Stack: client, Timeout: 10 * time.Second}
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			conns <- c.(*Conn)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			msg := bytes.Repeat([]byte{byte(i)}, 3000+i)
			if _, err := c.Write(msg); err != nil {
				errs <- err
				return
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("connection %d: echo differs (%v)", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Both shards hold connections, and each flow's replies took one queue,
	// its home shard's.
	perShard := make([]int, server.Shards())
	i := 0
	server.Do(func(st *stack.Stack, _ time.Time) {
		perShard[i], _, _ = st.Len()
		i++
	})
	if perShard[0] == 0 || perShard[1] == 0 {
		t.Errorf("connections per shard %v: want both shards used", perShard)
	}
	close(conns)
	sp.mu.Lock()
	for c := range conns {
		id := stack.ID{Local: c.sc.RemoteAddr(), Remote: c.sc.LocalAddr()}
		home := server.group.Home(id)
		if q := sp.replies[c.sc.LocalAddr().Port()]; len(q) != 1 || !q[home] {
			t.Errorf("%v: replies came up on queues %v, want only %d (its shard's)", id, q, home)
		}
		if sp.sent[c.sc.LocalAddr().Port()] < 3 {
			t.Errorf("%v: %d packets sent, want the SYN, the ACK and data on alternate queues", id, sp.sent[c.sc.LocalAddr().Port()])
		}
	}
	sp.mu.Unlock()
	cnt, err := server.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if cnt.PassiveOpens != n || cnt.OutRsts != 0 || cnt.Drops[stack.DropNoConn] != 0 {
		t.Errorf("server: %d passive opens, %d RSTs, %d segments for no connection; want %d, 0, 0",
			cnt.PassiveOpens, cnt.OutRsts, cnt.Drops[stack.DropNoConn], n)
	}
}

// With shards, a port a connection holds is in use in every shard: a
// second Dial from it fails with EADDRINUSE even when its tuple's home is
// the other shard, as one stack answers.
func TestShardedDialFromBoundPort(t *testing.T) {
	ea, eb := link.Pipe(1500)
	client, server := NewSharded(stack.Config{}, 2), New(stack.Config{})
	t.Cleanup(func() { client.Close(); server.Close() })
	if err := client.AddLink(ea, prefixA); err != nil {
		t.Fatal(err)
	}
	if err := server.AddLink(eb, prefixB); err != nil {
		t.Fatal(err)
	}
	local := netip.MustParseAddrPort("192.0.2.1:45000")
	dst := func(port uint16) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr("192.0.2.2"), port) }
	home := client.group.Home(stack.ID{Local: local, Remote: dst(80)})
	other := uint16(81)
	for client.group.Home(stack.ID{Local: local, Remote: dst(other)}) == home {
		other++
	}
	for _, p := range []uint16{80, other} {
		ln, err := server.Listen("tcp", dst(p).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				if _, err := ln.Accept(); err != nil {
					return
				}
			}
		}()
	}
	d := Dialer{Stack: client, LocalAddr: net.TCPAddrFromAddrPort(local), Timeout: 5 * time.Second}
	if _, err := d.Dial("tcp", dst(80).String()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Dial("tcp", dst(other).String()); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("a second dial from %v (home shard %d, the first's %d): %v, want EADDRINUSE",
			local, client.group.Home(stack.ID{Local: local, Remote: dst(other)}), home, err)
	}
}

// Closing a sharded listener closes its part in every shard: Accept
// returns net.ErrClosed and later SYNs, to either shard, are refused.
func TestShardedListenerClose(t *testing.T) {
	ea, eb := link.Pipe(1500)
	client, server := New(stack.Config{}), NewSharded(stack.Config{}, 2)
	t.Cleanup(func() { client.Close(); server.Close() })
	if err := client.AddLink(ea, prefixA); err != nil {
		t.Fatal(err)
	}
	if err := server.AddLink(eb, prefixB); err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen("tcp", addrB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Listen("tcp", addrB); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("a second listener on %s: %v, want EADDRINUSE", addrB, err)
	}
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	ln.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
	for range 8 { // ports spread over both shards
		if _, err := client.Dial("tcp", addrB); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial after the listener closed: %v, want ECONNREFUSED", err)
		}
	}
	if _, err := server.Listen("tcp", addrB); err != nil {
		t.Errorf("listening again after Close: %v", err)
	}
}
