// Package sim is a deterministic simulated network: hosts each running a
// real stack.Stack, links with delay, jitter, bandwidth, queue limits, loss,
// duplication, reordering, corruption and partitions, host crash and
// restart, all in virtual time.
//
// # Two ways to drive it
//
// (a) A single-threaded loop. Applications are callbacks on the stack's
// API, scheduled with Network.At or run when a connection notifies. Every
// random decision comes from one PCG seeded by the run's seed, and events at
// the same instant run in the order they were scheduled, so a run is a pure
// function of (scenario, seed, code): the same seed gives a byte-identical
// trace. The scenario catalogue and the explorer use this mode.
//
//	n := sim.New(1)
//	a := n.AddHost("A", netip.MustParseAddr("192.0.2.1"), stack.Config{})
//	b := n.AddHost("B", netip.MustParseAddr("192.0.2.2"), stack.Config{})
//	n.Connect(a, b, sim.LinkConfig{Delay: 10 * time.Millisecond, Loss: 0.1})
//	l, _ := b.Stack.Listen(n.Now(), netip.MustParseAddrPort("192.0.2.2:80"), 0)
//	c, _ := a.Stack.Dial(n.Now(), netip.AddrPort{}, l.Addr())
//	n.RunFor(time.Minute)
//
// (b) Ordinary goroutines using package netconn's net.Conn inside a
// testing/synctest bubble, over link.Pipe wrapped in link.NewFaulty: time
// is virtual inside the bubble, so a two-hour keepalive passes at once, and
// users' own code runs unchanged over a lossy network. See package
// netconn's documentation and its TestKeepAliveDeadPeer.
//
// # Traces
//
// A Recorder, set as the network's Observer, keeps the run as package
// trace's events, which trace draws as ladder diagrams, SVG and HTML.
// Every packet a host puts on a link is reported sent, then each of its
// copies delivered, dropped (with the fault) or corrupted; SetCapture's
// pcap has one record per packet sent, as it left; SetCaptureAt's has what
// tcpdump on one host would see: its sends as they left, and what reached it.
package sim
