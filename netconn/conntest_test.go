package netconn

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/synack/synack/link"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// faultLog collects what the faulty links of a test did.
type faultLog struct {
	seeds atomic.Uint64
	mu    sync.Mutex
	links []*link.Faulty
}

func (l *faultLog) wrap(e link.Endpoint, f link.Faults) link.Endpoint {
	x := link.NewFaulty(e, f, l.seeds.Add(1))
	l.mu.Lock()
	l.links = append(l.links, x)
	l.mu.Unlock()
	return x
}

func (l *faultLog) stats() (s link.Stats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.links {
		st := x.Stats()
		s.Packets += st.Packets
		s.Dropped += st.Dropped
		s.Reordered += st.Reordered
	}
	return s
}

// makePipe returns a nettest.MakePipe: each pipe is a connection between
// two fresh Stacks over a fresh link.Pipe, both ends wrapped in faults if
// faults is not nil (each with its own seed, from log), each Stack of
// shards shards. It runs in real time, as nettest does.
func makePipe(cfg stack.Config, faults *link.Faults, log *faultLog, shards int) nettest.MakePipe {
	return func() (c1, c2 net.Conn, stop func(), err error) {
		ea, eb := link.Pipe(1500)
		if faults != nil {
			ea = log.wrap(ea, *faults)
			eb = log.wrap(eb, *faults)
		}
		a, b := NewSharded(cfg, shards), NewSharded(cfg, shards)
		stop = func() {
			if c1 != nil {
				c1.Close()
			}
			if c2 != nil {
				c2.Close()
			}
			a.Close()
			b.Close()
		}
		defer func() {
			if err != nil {
				stop()
			}
		}()
		if err = a.AddLink(ea, prefixA); err != nil {
			return
		}
		if err = b.AddLink(eb, prefixB); err != nil {
			return
		}
		ln, err := b.Listen("tcp", "192.0.2.2:0")
		if err != nil {
			return
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		c1, err = a.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		c2 = <-accepted
		return c1, c2, stop, nil
	}
}

// TestConn is the acceptance test: nettest's net.Conn contract over a
// perfect link.
func TestConn(t *testing.T) {
	nettest.TestConn(t, makePipe(stack.Config{}, nil, nil, 1))
}

// TestConnSharded is the contract with both ends sharded in two, each
// over one link: every packet is steered to its connection's shard, the
// listener is in both, and dials take their ports from either.
func TestConnSharded(t *testing.T) {
	nettest.TestConn(t, makePipe(stack.Config{}, nil, nil, 2))
}

// TestConnFaulty runs nettest's contract over a link that loses, reorders
// and delays packets in both directions. A small RTO keeps recovery in
// the milliseconds that nettest's real-time tests allow.
func TestConnFaulty(t *testing.T) {
	cfg := stack.Config{TCP: tcp.Config{RTOMin: 10 * time.Millisecond, RTOInitial: 50 * time.Millisecond}}
	f := &link.Faults{Loss: 0.02, Reorder: 0.02, Jitter: 500 * time.Microsecond, ReorderHold: 2 * time.Millisecond}
	var log faultLog
	nettest.TestConn(t, makePipe(cfg, f, &log, 1))
	st := log.stats()
	t.Logf("faults: %d packets, %d dropped, %d reordered", st.Packets, st.Dropped, st.Reordered)
	if st.Dropped == 0 || st.Reordered == 0 {
		t.Errorf("the faults never happened: %+v", st)
	}
}
