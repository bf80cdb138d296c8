package sim_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/wire"
)

// Mode (a): a single-threaded run in virtual time, the applications driving
// the stacks' API directly. A script drops B's first FIN: B retransmits it
// after its RTO, A (waiting in FIN-WAIT-2) ACKs it and enters TIME-WAIT,
// and 2MSL later A is CLOSED — a minute of virtual time in microseconds.
func Example() {
	n := sim.New(1)
	a := n.AddHost("A", netip.MustParseAddr("192.0.2.1"), stack.Config{})
	b := n.AddHost("B", netip.MustParseAddr("192.0.2.2"), stack.Config{})
	n.Connect(a, b, sim.LinkConfig{Delay: 10 * time.Millisecond})
	n.Script(&sim.Rule{From: "B", Match: sim.Flags(wire.FlagFIN), Count: 1, Action: sim.ActDrop})

	ln, _ := b.Stack.Listen(n.Now(), netip.MustParseAddrPort("192.0.2.2:80"), 0)
	c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, ln.Addr())
	n.RunFor(time.Second)
	server := ln.Accept()
	fmt.Println("after 1 s:", c.State(), server.State())

	c.Write(n.Now(), []byte("hello"))
	c.CloseWrite(n.Now())
	n.RunFor(time.Second)
	buf := make([]byte, 16)
	k, _ := server.Read(n.Now(), buf)
	_, err := server.Read(n.Now(), buf)
	fmt.Printf("B read %q, then %v\n", buf[:k], err)

	server.Close(n.Now()) // this FIN is lost
	n.RunFor(100 * time.Millisecond)
	fmt.Println("FIN lost:", c.State(), server.State())
	n.RunFor(5 * time.Second)
	fmt.Println("retransmitted:", c.State(), server.State())
	n.RunFor(2 * time.Minute)
	fmt.Println("after 2MSL:", c.State())
	// Output:
	// after 1 s: ESTABLISHED ESTABLISHED
	// B read "hello", then EOF
	// FIN lost: FIN-WAIT-2 LAST-ACK
	// retransmitted: TIME-WAIT CLOSED
	// after 2MSL: CLOSED
}
