package stack_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/synack/synack/internal/ip"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/wire"
)

// Add sums every counter: a field left out would make a Group's counters
// lie.
func TestCountersAddEveryField(t *testing.T) {
	var a stack.Counters
	v := reflect.ValueOf(&a).Elem()
	n := 1
	// leaves calls f with every counter, by its path: arrays and structs
	// (the TCBs' tcp.LossStats) hold counters too.
	var leaves func(path string, f reflect.Value, do func(string, reflect.Value))
	leaves = func(path string, f reflect.Value, do func(string, reflect.Value)) {
		switch f.Kind() {
		case reflect.Array:
			for i := range f.Len() {
				leaves(fmt.Sprintf("%s[%d]", path, i), f.Index(i), do)
			}
		case reflect.Struct:
			for i := range f.NumField() {
				leaves(path+"."+f.Type().Field(i).Name, f.Field(i), do)
			}
		default:
			do(path, f)
		}
	}
	leaves("Counters", v, func(path string, f reflect.Value) {
		switch f.Kind() {
		case reflect.Uint64:
			f.SetUint(uint64(n))
		case reflect.Int64, reflect.Int:
			f.SetInt(int64(n))
		default:
			t.Fatalf("counter %s of kind %v: teach Add and this test", path, f.Kind())
		}
		n++
	})
	var sum stack.Counters
	sum.Add(&a)
	sum.Add(&a)
	want := map[string]string{}
	leaves("Counters", v, func(path string, f reflect.Value) { want[path] = fmt.Sprint(f.Interface()) })
	leaves("Counters", reflect.ValueOf(&sum).Elem(), func(path string, f reflect.Value) {
		got := fmt.Sprint(f.Interface())
		if got == want[path] || got == fmt.Sprint(reflect.Zero(f.Type())) {
			t.Errorf("Add leaves %s out: %s after adding %s twice", path, got, want[path])
		}
	})
}

// A packet is steered to the shard its connection lives in, from either
// end's point of view: the segments a peer sends, and ICMP errors quoting
// the segments we sent. Fragments go to shard 0, which reassembles them.
func TestSteerFindsHome(t *testing.T) {
	g := stack.NewGroup(stack.Config{}, 2)
	rng := rand.New(rand.NewPCG(3, 4))
	pairs := [][2]netip.Addr{{addrA, addrB}, {addr6A, netip.MustParseAddr("2001:db8::2")}}
	used := map[int]int{}
	for _, p := range pairs {
		remote, local := p[0], p[1]
		for range 200 {
			r := netip.AddrPortFrom(remote, uint16(1024+rng.IntN(60000)))
			l := netip.AddrPortFrom(local, 80)
			home := g.Home(stack.ID{Local: l, Remote: r})
			used[home]++
			seg := packet(r, l, wire.FlagACK, 1, 2, wire.Options{}, []byte("x"))
			if got := g.Steer(seg); got != home {
				t.Fatalf("%v→%v: a segment steered to shard %d, its home is %d", r, l, got, home)
			}
			// The ICMP error a router returns for the segment we sent.
			sent := packet(l, r, wire.FlagACK, 2, 1, wire.Options{}, nil)
			m := wire.ICMP{Type: wire.ICMPv4Unreachable, Code: 1, Body: sent}
			if local.Is6() {
				m.Type = wire.ICMPv6Unreachable
			}
			icmp := wire.AppendICMPPacket(nil, remote, local, &m)
			if got := g.Steer(icmp); got != home {
				t.Fatalf("%v→%v: an ICMP error steered to shard %d, its connection's home is %d", r, l, got, home)
			}
			if local.Is4() {
				big := packet(r, l, wire.FlagACK, 1, 2, wire.Options{}, make([]byte, 64))
				for i, f := range ip.Fragment(big, 16, 7) {
					if got := g.Steer(f); got != 0 {
						t.Fatalf("fragment %d steered to shard %d, want 0", i, got)
					}
				}
			}
		}
	}
	if used[0] < 100 || used[1] < 100 {
		t.Errorf("400 connections spread %d / %d over two shards", used[0], used[1])
	}
	for _, bad := range [][]byte{nil, {0x45}, {0x60, 0, 0}, make([]byte, 40)} {
		if got := g.Steer(bad); got != 0 {
			t.Errorf("malformed %x steered to %d, want 0", bad, got)
		}
	}
}

// Each shard dials only from ports whose tuple is at home there, and runs
// out of them only when its share of the range is used.
func TestGroupDialStaysHome(t *testing.T) {
	g := stack.NewGroup(stack.Config{EphemeralLow: 40000, EphemeralHigh: 40099}, 2)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	remote := netip.AddrPortFrom(addrA, 80)
	total := 0
	for i := range g.Len() {
		s := g.Shard(i)
		if err := s.AddLink(&capture{}, netip.MustParsePrefix("192.0.2.2/24")); err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			c, err := s.Dial(now, netip.AddrPort{}, remote)
			if err != nil {
				break
			}
			n++
			if h := g.Home(c.ID()); h != i {
				t.Fatalf("shard %d dialled %v, whose home is shard %d", i, c.ID(), h)
			}
		}
		if n < 30 {
			t.Errorf("shard %d found %d ports of 100", i, n)
		}
		total += n
	}
	if total != 100 {
		t.Errorf("the shards dialled %d connections from a range of 100 ports", total)
	}
	// A port given by the caller must be dialled in its home shard.
	local := netip.MustParseAddrPort("192.0.2.2:50000")
	h := g.Home(stack.ID{Local: local, Remote: remote})
	if _, err := g.Shard(1-h).Dial(now, local, remote); err == nil {
		t.Error("a shard dialled a tuple of another shard")
	}
	if _, err := g.Shard(h).Dial(now, local, remote); err != nil {
		t.Errorf("home shard: %v", err)
	}
	if !g.Shard(h).PortBound(local) || g.Shard(1-h).PortBound(local) {
		t.Error("PortBound does not say which shard holds the port")
	}
}

// A SYN in fragments reaches shard 0, which reassembles it and hands the
// datagram to the SYN's home shard; there the listener answers it.
func TestGroupHandsOffReassembled(t *testing.T) {
	g := stack.NewGroup(stack.Config{}, 2)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	caps := []*capture{{keep: true}, {keep: true}}
	srv := netip.AddrPortFrom(addrB, 80)
	for i := range 2 {
		i := i
		s := g.Shard(i)
		if err := s.AddLink(caps[i], netip.MustParsePrefix("192.0.2.2/24")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Listen(now, srv, 0); err != nil {
			t.Fatal(err)
		}
		s.SetHandoff(func(to int, pkt []byte) {
			if to == i {
				t.Errorf("shard %d handed a packet to itself", i)
			}
			g.Shard(to).Deliver(now, pkt)
		})
	}
	// A peer port whose tuple lives in shard 1.
	var peer netip.AddrPort
	for p := uint16(40000); ; p++ {
		peer = netip.AddrPortFrom(addrA, p)
		if g.Home(stack.ID{Local: srv, Remote: peer}) == 1 {
			break
		}
	}
	syn := packet(peer, srv, wire.FlagSYN, 1000, 0, synOpts(), nil)
	for _, f := range ip.Fragment(syn, 16, 9) {
		g.Shard(g.Steer(f)).Deliver(now, f)
	}
	if out := caps[0].segs(); len(out) != 0 {
		t.Errorf("shard 0 answered %v", out)
	}
	out := caps[1].segs()
	if len(out) != 1 || out[0].Flags != wire.FlagSYN|wire.FlagACK {
		t.Fatalf("the SYN's home shard sent %v, want a SYN+ACK", out)
	}
	if c0 := g.Shard(0).Counters(); c0.ReasmOKs != 1 {
		t.Errorf("shard 0 rebuilt %d datagrams, want 1", c0.ReasmOKs)
	}
}
