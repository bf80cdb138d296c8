// Package bench measures synack side by side with gVisor's netstack on the
// same kind of in-memory link, with Linux loopback as a reference column
// (DESIGN.md, "Performance targets"). It is a module of its own so that
// gVisor never enters the main module's dependencies; see README.md.
//
// Every benchmark runs against each peer in peerNames through the peer
// interface: two hosts (or, for linux, the kernel's loopback) that a
// client dials and a server listens on, driven through net.Conn.
package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/netconn"
	sstack "github.com/synack/synack/stack"
	stcp "github.com/synack/synack/tcp"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// peer is one stack under test: a server host that listens and a client
// host that dials, joined by a link (or the kernel's loopback).
type peer interface {
	name() string
	// listen listens on the server host, on a free port.
	listen() (net.Listener, error)
	// dial connects from the client host to addr, a listener's Addr().String().
	dial(addr string) (net.Conn, error)
	// close tears both hosts down.
	close()
}

// Peer names, in the order of the columns.
var peerNames = []string{"synack", "gvisor", "linux"}

// linkOpts describes the in-memory link between the two hosts.
type linkOpts struct {
	mtu  int     // IP MTU of the link
	loss float64 // probability of dropping each packet, each direction
	seed uint64  // seeds the loss PRNG of each direction

	bn  *bottleneck // if set, each direction goes through a shaper (shaper.go), after the loss
	buf int         // send and receive buffers of both user-space stacks; 0: bufSize

	cc  stcp.CongestionControl // synack's congestion control (set by the peer's name)
	gcc string                 // gVisor's: "" (its default, reno) or "cubic"
}

// errNoLoss: the kernel's loopback cannot lose packets for us.
var errNoLoss = errors.New("linux loopback has no loss column")

// Settings shared by the two user-space stacks so that they compare
// fairly: synack's defaults (tcp.Config.Defaults) given to gVisor too.
const (
	bufSize      = 256 << 10 // send and receive buffer, bytes (synack's default)
	linkQueueLen = link.PipeQueueLen
	ephemLow     = 32768 // Linux's, and synack's, ephemeral range
	ephemHigh    = 60999
)

// Documentation addresses (RFC 5737) for the in-memory links.
var (
	clientAddr = netip.MustParseAddr("192.0.2.1")
	serverAddr = netip.MustParseAddr("192.0.2.2")
)

func newPeer(name string, o linkOpts) (peer, error) {
	switch name {
	case "synack":
		return newSynackPeer("synack", o)
	case "synack-reno":
		o.cc = stcp.CongestionReno
		return newSynackPeer("synack-reno", o)
	case "gvisor":
		return newGvisorPeer("gvisor", o)
	case "gvisor-cubic":
		o.gcc = "cubic"
		return newGvisorPeer("gvisor-cubic", o)
	case "linux":
		if o.loss > 0 || o.bn != nil {
			return nil, errNoLoss
		}
		return linuxPeer{}, nil
	}
	return nil, fmt.Errorf("unknown peer %q", name)
}

// ---- synack ----

type synackPeer struct {
	peerName       string
	client, server *netconn.Stack
	dataLink       *shaper // the client→server shaper of a bottleneck, or nil
}

func newSynackPeer(name string, o linkOpts) (*synackPeer, error) {
	ea, eb := link.Pipe(o.mtu)
	var dataLink *shaper
	if o.bn != nil {
		sa, sb := newShapedEndpoint(ea, *o.bn), newShapedEndpoint(eb, *o.bn)
		ea, eb, dataLink = sa, sb, sa.s
	}
	if o.loss > 0 {
		// Faults apply to what each end sends: both directions lose.
		ea = link.NewFaulty(ea, link.Faults{Loss: o.loss}, o.seed)
		eb = link.NewFaulty(eb, link.Faults{Loss: o.loss}, o.seed+1)
	}
	// Defaults throughout (the MSS follows the link's MTU), but for
	// TIME-WAIT reuse on (as Linux's tcp_tw_reuse=2 gives the linux column
	// on loopback, and as the gvisor peer gets), so that connection cycles
	// do not run out of ephemeral ports.
	cfg := sstack.Config{TWReuse: sstack.TWReuseOn}
	cfg.TCP.CongestionControl = o.cc
	cfg.TCP.RcvBuf, cfg.TCP.SndBuf = o.buf, o.buf // 0: the default, bufSize
	p := &synackPeer{peerName: name, client: netconn.New(cfg), server: netconn.New(cfg), dataLink: dataLink}
	if err := p.client.AddLink(ea, netip.PrefixFrom(clientAddr, 24)); err != nil {
		p.close()
		return nil, err
	}
	if err := p.server.AddLink(eb, netip.PrefixFrom(serverAddr, 24)); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *synackPeer) name() string { return p.peerName }

func (p *synackPeer) listen() (net.Listener, error) {
	// Keepalive off, as gonet's connections have it.
	lc := netconn.ListenConfig{Stack: p.server, KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(serverAddr, 0).String())
}

func (p *synackPeer) dial(addr string) (net.Conn, error) {
	d := netconn.Dialer{Stack: p.client, KeepAlive: -1}
	return d.Dial("tcp", addr)
}

func (p *synackPeer) close() {
	p.client.Close()
	p.server.Close()
}

// ---- gVisor ----

type gvisorPeer struct {
	peerName       string
	client, server *gstack.Stack
	cancel         context.CancelFunc
	wg             sync.WaitGroup
	forwarded      [2]atomic.Uint64 // packets passed client→server, server→client
	shapers        [2]*shaper       // client→server, server→client, with a bottleneck
}

const gvisorNIC tcpip.NICID = 1

// SetGvisorTCP gives a gVisor stack synack's TCP settings (SACK on,
// send and receive buffers of buf bytes, default and max, TIME-WAIT
// reuse), so that the two compare fairly; the in-memory peer and
// cmd/gvisor-serve both use it.
func SetGvisorTCP(s *gstack.Stack, buf int) error {
	sack := tcpip.TCPSACKEnabled(true)
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: buf, Max: buf}
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: tcp.MinBufferSize, Default: buf, Max: buf}
	reuse := tcpip.TCPTimeWaitReuseGlobal
	for _, o := range []struct {
		what string
		opt  tcpip.SettableTransportProtocolOption
	}{{"SACK", &sack}, {"send buffer", &snd}, {"receive buffer", &rcv}, {"TIME-WAIT reuse", &reuse}} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, o.opt); err != nil {
			return fmt.Errorf("gvisor %s: %s", o.what, err)
		}
	}
	return nil
}

func newGvisorHost(ep *channel.Endpoint, addr netip.Addr, buf int, cc string) (*gstack.Stack, error) {
	s := gstack.New(gstack.Options{
		NetworkProtocols:   []gstack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []gstack.TransportProtocolFactory{tcp.NewProtocol}, // gVisor's default, NewReno
	})
	fail := func(what string, err tcpip.Error) (*gstack.Stack, error) {
		s.Destroy()
		return nil, fmt.Errorf("gvisor %s: %s", what, err)
	}
	if buf == 0 {
		buf = bufSize
	}
	if err := SetGvisorTCP(s, buf); err != nil {
		s.Destroy()
		return nil, err
	}
	if cc != "" {
		opt := tcpip.CongestionControlOption(cc)
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &opt); err != nil {
			return fail("congestion control", err)
		}
	}
	if err := s.SetPortRange(ephemLow, ephemHigh); err != nil {
		return fail("port range", err)
	}
	if err := s.CreateNIC(gvisorNIC, ep); err != nil {
		return fail("CreateNIC", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr.As4()), PrefixLen: 24},
	}
	if err := s.AddProtocolAddress(gvisorNIC, pa, gstack.AddressProperties{}); err != nil {
		return fail("AddProtocolAddress", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: gvisorNIC}})
	return s, nil
}

func newGvisorPeer(name string, o linkOpts) (*gvisorPeer, error) {
	ea := channel.New(linkQueueLen, uint32(o.mtu), "")
	eb := channel.New(linkQueueLen, uint32(o.mtu), "")
	client, err := newGvisorHost(ea, clientAddr, o.buf, o.gcc)
	if err != nil {
		return nil, err
	}
	server, err := newGvisorHost(eb, serverAddr, o.buf, o.gcc)
	if err != nil {
		client.Destroy()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &gvisorPeer{peerName: name, client: client, server: server, cancel: cancel}
	if o.bn != nil {
		for i, to := range []*channel.Endpoint{eb, ea} {
			p.shapers[i] = newShaper(*o.bn, func(b []byte) {
				np := gstack.NewPacketBuffer(gstack.PacketBufferOptions{Payload: buffer.MakeWithData(b)})
				to.InjectInbound(ipv4.ProtocolNumber, np)
				np.DecRef()
			})
		}
	}
	p.wg.Add(2)
	go p.forward(ctx, ea, eb, o.loss, o.seed, &p.forwarded[0], p.shapers[0])
	go p.forward(ctx, eb, ea, o.loss, o.seed+1, &p.forwarded[1], p.shapers[1])
	return p, nil
}

// forward is one direction of the wire: it takes what from's stack sent and
// injects it into to's stack as a fresh packet, as gVisor's own
// link/pipe does, losing a fraction loss of them by a seeded PRNG. With a
// shaper, the packet is copied into it instead, which injects it later.
func (p *gvisorPeer) forward(ctx context.Context, from, to *channel.Endpoint, loss float64, seed uint64, count *atomic.Uint64, sh *shaper) {
	defer p.wg.Done()
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for {
		pkt := from.ReadContext(ctx)
		if pkt == nil {
			return
		}
		if loss > 0 && rng.Float64() < loss {
			pkt.DecRef()
			continue
		}
		if sh != nil {
			b := pkt.ToBuffer()
			sh.send(b.Flatten())
			b.Release()
			pkt.DecRef()
			count.Add(1)
			continue
		}
		np := gstack.NewPacketBuffer(gstack.PacketBufferOptions{Payload: pkt.ToBuffer()})
		proto := pkt.NetworkProtocolNumber
		pkt.DecRef()
		count.Add(1)
		to.InjectInbound(proto, np)
		np.DecRef()
	}
}

func (p *gvisorPeer) name() string { return p.peerName }

func (p *gvisorPeer) listen() (net.Listener, error) {
	return gonet.ListenTCP(p.server, tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4(serverAddr.As4())}, ipv4.ProtocolNumber)
}

func (p *gvisorPeer) dial(addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	fa := tcpip.FullAddress{NIC: gvisorNIC, Addr: tcpip.AddrFrom4(ap.Addr().As4()), Port: ap.Port()}
	c, err := gonet.DialTCP(p.client, fa, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err // a nil *TCPConn must not become a non-nil net.Conn
	}
	return c, nil
}

func (p *gvisorPeer) close() {
	p.cancel()
	p.wg.Wait()
	for _, s := range p.shapers {
		if s != nil {
			s.close()
		}
	}
	p.client.Destroy()
	p.server.Destroy()
}

// ---- Linux loopback (reference column) ----

type linuxPeer struct{}

func (linuxPeer) name() string { return "linux" }

func (linuxPeer) listen() (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
}

func (linuxPeer) dial(addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1}
	return d.Dial("tcp", addr)
}

func (linuxPeer) close() {}

// mss is the payload of a full-sized segment on a link of this MTU with
// TCP timestamps (12 option bytes), which all three peers negotiate.
func mss(mtu int) int { return mtu - 20 - 20 - 12 }

// server accepts connections on a peer's server host and runs handle on
// each in a goroutine of its own.
type server struct {
	ln   net.Listener
	addr string
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{} // connections whose handler runs
}

func serve(p peer, handle func(net.Conn)) (*server, error) {
	ln, err := p.listen()
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln, addr: ln.Addr().String(), conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handle(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	return s, nil
}

// stop closes the listener, closes the connections whose handlers still
// run (so that a stalled connection cannot hang it), and waits for the
// handlers to return. Close the clients' connections first.
func (s *server) stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// ioSize is the size of every Read and Write buffer of bulk transfers.
const ioSize = 64 << 10

// bufPool holds the servers' ioSize buffers, so that a connection cycle
// does not cost the harness a 64 KiB allocation (and its GC) whatever the
// stack.
var bufPool = sync.Pool{New: func() any { return new([ioSize]byte) }}

// echo writes back what it reads until EOF, then closes.
func echo(c net.Conn) {
	defer c.Close()
	bp := bufPool.Get().(*[ioSize]byte)
	defer bufPool.Put(bp)
	buf := bp[:]
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// sink serves rounds of a bulk transfer: it reads an 8-byte big-endian
// length L, reads and discards L bytes, and answers one byte; until EOF,
// then closes.
func sink(c net.Conn) {
	defer c.Close()
	bp := bufPool.Get().(*[ioSize]byte)
	defer bufPool.Put(bp)
	buf := bp[:]
	for {
		if _, err := io.ReadFull(c, buf[:8]); err != nil {
			return
		}
		left := int64(binary.BigEndian.Uint64(buf[:8]))
		for left > 0 {
			n, err := c.Read(buf[:min(int64(len(buf)), left)])
			left -= int64(n)
			if err != nil {
				return
			}
		}
		if _, err := c.Write(buf[:1]); err != nil {
			return
		}
	}
}

// sendRound is the client's side of one round of sink: it sends total
// bytes from buf (reused), in Writes of len(buf), and waits for the answer.
// If stall > 0, a round that makes no progress for that long fails with
// os.ErrDeadlineExceeded (a deadline set before each Write): a stack that
// stops sending must not hang the benchmark.
func sendRound(c net.Conn, buf []byte, total int64, stall time.Duration) error {
	progress := func() {
		if stall > 0 {
			c.SetDeadline(time.Now().Add(stall))
		}
	}
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(total))
	progress()
	if _, err := c.Write(hdr[:]); err != nil {
		return err
	}
	for left := total; left > 0; {
		n := min(int64(len(buf)), left)
		progress()
		if _, err := c.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	progress()
	if _, err := io.ReadFull(c, hdr[:1]); err != nil {
		return fmt.Errorf("waiting for the end of the round: %w", err)
	}
	if stall > 0 {
		c.SetDeadline(time.Time{})
	}
	return nil
}

// diagnoser is implemented by peers that can say what their connections
// are doing, for the message of a failed round.
type diagnoser interface{ diag() string }

func diagnose(p peer) string {
	if d, ok := p.(diagnoser); ok {
		return d.diag()
	}
	return ""
}

func (p *synackPeer) diag() string {
	var b strings.Builder
	for _, h := range []struct {
		name string
		s    *netconn.Stack
	}{{"client", p.client}, {"server", p.server}} {
		h.s.Do(func(st *sstack.Stack, _ time.Time) {
			fmt.Fprintf(&b, "\n%s counters %+v", h.name, st.Counters())
			for _, ci := range st.Snapshot() {
				fmt.Fprintf(&b, "\n%s conn %+v", h.name, ci)
			}
		})
	}
	return b.String()
}

func (p *gvisorPeer) diag() string {
	var b strings.Builder
	for _, h := range []struct {
		name string
		s    *gstack.Stack
	}{{"client", p.client}, {"server", p.server}} {
		for _, e := range h.s.RegisteredEndpoints() {
			if ep, ok := e.(*tcp.Endpoint); ok {
				var info tcpip.TCPInfoOption
				ep.GetSockOpt(&info)
				fmt.Fprintf(&b, "\n%s endpoint %+v", h.name, info)
			}
		}
		fmt.Fprintf(&b, "\n%s TCP stats %+v", h.name, h.s.Stats().TCP)
	}
	fmt.Fprintf(&b, "\npackets forwarded client→server %d, server→client %d", p.forwarded[0].Load(), p.forwarded[1].Load())
	return b.String()
}

// retransmitter is implemented by the user-space peers: segments
// retransmitted by both hosts so far.
type retransmitter interface{ retrans() uint64 }

func (p *synackPeer) retrans() uint64 {
	var n uint64
	for _, s := range []*netconn.Stack{p.client, p.server} {
		if c, err := s.Counters(); err == nil {
			n += c.RetransSegs
		}
	}
	return n
}

func (p *gvisorPeer) retrans() uint64 {
	return p.client.Stats().TCP.Retransmits.Value() + p.server.Stats().TCP.Retransmits.Value()
}

// dataLinkBytes is the IP bytes the client→server bottleneck has carried
// (queued and not dropped), for its utilisation; 0 without one.
type dataLinker interface{ dataLinkBytes() uint64 }

func (p *synackPeer) dataLinkBytes() uint64 {
	if p.dataLink == nil {
		return 0
	}
	return p.dataLink.sentBytes.Load()
}

func (p *gvisorPeer) dataLinkBytes() uint64 {
	if p.shapers[0] == nil {
		return 0
	}
	return p.shapers[0].sentBytes.Load()
}
