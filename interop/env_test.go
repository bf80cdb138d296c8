package interop_test

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synack/synack/interop"
	"github.com/synack/synack/link"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/link/tun"
	"github.com/synack/synack/netconn"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/wire"
)

// env is one test's world: a namespace, a TUN in it with the kernel's
// side configured, and a synack stack on the other side.
type env struct {
	t      *testing.T
	ns     *interop.Netns
	dev    *tun.Device   // the first queue
	devs   []*tun.Device // every queue (-interop.queues)
	st     *netconn.Stack
	faults []*link.Faulty // one per queue
	pcap   string         // capture file, if asked
	rec    *recorder
}

type envOpts struct {
	cfg      stack.Config
	faults   *link.Faults // on synack's link, if set
	seed     uint64
	pcap     bool   // capture synack's link to a file (env.pcap)
	pcapPath string // the file, if not in a temporary directory
	offload  bool   // open the TUN with offloads (as -interop.offload does for all)
	// noOffload opens it without, whatever -interop.offload says: for
	// captures whose segments should be the size they are on a wire
	// (TestDrawAgreesWithTshark), not the kernel's coalesced 64 KB.
	noOffload bool
	queues    int // queues and shards, if not -interop.queues
}

var (
	offload = flag.Bool("interop.offload", false, "open every test's TUN device with checksum and TSO offload")
	queues  = flag.Int("interop.queues", 1, "open every test's TUN device with this many queues (IFF_MULTI_QUEUE), one per shard of the stack")
)

// recorder is the stack's Observer: per connection, its state
// transitions and segment counts. It is called under the stack's lock.
type recorder struct {
	mu   sync.Mutex
	conn map[stack.ID]*connRecord
}

type connRecord struct {
	states     []string    // "SYN-SENT", "ESTABLISHED", ...
	at         []time.Time // when each state was entered
	causes     []tcp.Cause // the rule behind each transition
	sent, recv int
}

func (r *recorder) get(id stack.ID) *connRecord {
	c := r.conn[id]
	if c == nil {
		c = &connRecord{}
		r.conn[id] = c
	}
	return c
}

func (r *recorder) SegmentSent(_ time.Time, id stack.ID, _ *wire.Segment, _ tcp.Cause) {
	r.mu.Lock()
	r.get(id).sent++
	r.mu.Unlock()
}

func (r *recorder) SegmentReceived(_ time.Time, id stack.ID, _ *wire.Segment) {
	r.mu.Lock()
	r.get(id).recv++
	r.mu.Unlock()
}

func (r *recorder) PacketDropped(time.Time, stack.Drop, error) {}

func (r *recorder) ConnEvent(now time.Time, id stack.ID, e *tcp.Event) {
	if e.Kind != tcp.EventState {
		return
	}
	r.mu.Lock()
	c := r.get(id)
	if len(c.states) == 0 {
		c.states = append(c.states, e.From.String())
		c.at = append(c.at, now)
	}
	c.states = append(c.states, e.To.String())
	c.at = append(c.at, now)
	c.causes = append(c.causes, e.Cause)
	r.mu.Unlock()
}

// record returns a copy of what was recorded for synack's connection
// local↔remote.
func (e *env) record(local, remote net.Addr) connRecord {
	r := e.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.conn[idOf(local, remote)]
	if c == nil {
		return connRecord{}
	}
	return connRecord{states: slices.Clone(c.states), at: slices.Clone(c.at), causes: slices.Clone(c.causes), sent: c.sent, recv: c.recv}
}

func idOf(local, remote net.Addr) stack.ID {
	l, r := local.(*net.TCPAddr).AddrPort(), remote.(*net.TCPAddr).AddrPort()
	return stack.ID{Local: netip.AddrPortFrom(l.Addr().Unmap(), l.Port()),
		Remote: netip.AddrPortFrom(r.Addr().Unmap(), r.Port())}
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	ns := interop.NewNetns(t)
	e := &env{t: t, ns: ns}
	err := ns.Do(func() (err error) {
		n := *queues
		if o.queues > 0 {
			n = o.queues
		}
		e.devs, err = tun.OpenQueues("", n, tun.Options{Offload: (*offload || o.offload) && !o.noOffload})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.dev = e.devs[0]
	t.Cleanup(func() { // after the stack's Close, which closes them too
		for _, d := range e.devs {
			d.Close()
		}
	})
	ns.ConfigureKernelSide(t, e.dev.Name())

	eps := make([]link.Endpoint, len(e.devs))
	for i, d := range e.devs {
		eps[i] = d
	}
	if o.pcap || o.pcapPath != "" {
		e.pcap = o.pcapPath
		if e.pcap == "" {
			e.pcap = filepath.Join(t.TempDir(), "synack.pcap")
		}
		f, err := os.Create(e.pcap)
		if err != nil {
			t.Fatal(err)
		}
		w, err := pcap.NewWriter(f, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		for i := range eps {
			eps[i] = pcap.Tap(eps[i], w, nil)
		}
	}
	if o.faults != nil {
		for i := range eps {
			f := link.NewFaulty(eps[i], *o.faults, o.seed+uint64(i))
			e.faults = append(e.faults, f)
			eps[i] = f
		}
	}
	e.rec = &recorder{conn: make(map[stack.ID]*connRecord)}
	if o.cfg.Observer == nil {
		o.cfg.Observer = e.rec
	}
	e.st = netconn.NewSharded(o.cfg, len(eps))
	t.Cleanup(func() { e.st.Close() })
	err = e.st.AddQueues(eps,
		netip.PrefixFrom(netip.MustParseAddr(interop.SynackV4), interop.PrefixLen4),
		netip.PrefixFrom(netip.MustParseAddr(interop.SynackV6), interop.PrefixLen6))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// faultStats sums the queues' fault counts.
func (e *env) faultStats() (s link.Stats) {
	for _, f := range e.faults {
		x := f.Stats()
		s.Packets += x.Packets
		s.Dropped += x.Dropped
		s.Reordered += x.Reordered
		s.Duplicated += x.Duplicated
		s.Sent += x.Sent
		s.Corrupted += x.Corrupted
	}
	return s
}

// families are the address pairs every data test runs over.
var families = []struct {
	name           string
	kernel, synack string
}{
	{"ipv4", interop.KernelV4, interop.SynackV4},
	{"ipv6", interop.KernelV6, interop.SynackV6},
}

// kernelListen opens a kernel listener inside the namespace.
func (e *env) kernelListen(host string) net.Listener { return listenIn(e.t, e.ns, host) }

// listenIn opens a kernel listener on host, port 0 chosen, inside ns.
func listenIn(t *testing.T, ns *interop.Netns, host string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dialKernel connects synack to the kernel listener ln and returns both
// ends: synack's and the kernel's accepted one.
func (e *env) dialKernel(ln net.Listener) (*netconn.Conn, net.Conn) {
	e.t.Helper()
	acc := accept1(ln)
	sc, err := e.dial(ln.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	return sc, recvConn(e.t, acc)
}

// kernelDial connects a kernel socket from inside the namespace.
func (e *env) kernelDial(d net.Dialer, addr string) (*net.TCPConn, error) {
	var c net.Conn
	if d.Timeout == 0 {
		d.Timeout = 20 * time.Second
	}
	if d.KeepAlive == 0 && !d.KeepAliveConfig.Enable {
		d.KeepAlive = -1
	}
	err := e.ns.Do(func() (err error) {
		c, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// listen opens a synack listener on host, port 0 chosen.
func (e *env) listen(host string) net.Listener {
	e.t.Helper()
	ln, err := e.st.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ln.Close() })
	return ln
}

// dial connects from synack, keepalive off unless asked.
func (e *env) dial(addr string) (*netconn.Conn, error) {
	d := netconn.Dialer{Stack: e.st, KeepAlive: -1, Timeout: 30 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*netconn.Conn), nil
}

// snapshot returns synack's connection table.
func (e *env) snapshot() []stack.ConnInfo {
	var rows []stack.ConnInfo
	e.st.Do(func(st *stack.Stack, _ time.Time) { rows = append(rows, st.Snapshot()...) })
	return rows
}

func (e *env) counters() stack.Counters {
	c, _ := e.st.Counters()
	return c
}

// stateOf returns the state of synack's connection local↔remote, and false
// if the stack holds nothing for it.
func (e *env) stateOf(local, remote net.Addr) (stack.ConnInfo, bool) {
	id := idOf(local, remote)
	for _, row := range e.snapshot() {
		if row.ID == id {
			return row, true
		}
	}
	return stack.ConnInfo{}, false
}

// waitState polls until synack's connection is in want (or, with
// tcp.StateClosed, gone), for up to d.
func (e *env) waitState(local, remote net.Addr, want tcp.State, d time.Duration) stack.ConnInfo {
	e.t.Helper()
	end := time.Now().Add(d)
	for {
		row, ok := e.stateOf(local, remote)
		if (!ok && want == tcp.StateClosed) || (ok && row.State == want) {
			return row
		}
		if time.Now().After(end) {
			// The transitions and their rules tell a flake's story.
			rec := e.record(local, remote)
			var lines []string
			for i, c := range rec.causes {
				lines = append(lines, rec.states[len(rec.states)-len(rec.causes)+i]+": "+c.String())
			}
			story := strings.Join(lines, "\n\t")
			if ok {
				e.t.Fatalf("synack %v↔%v in %v after %v, want %v; its transitions:\n\t%s", local, remote, row.State, d, want, story)
			}
			e.t.Fatalf("synack %v↔%v gone after %v, want %v; its transitions:\n\t%s", local, remote, d, want, story)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// echo serves ln with an echo service: write back what is read, close
// after the peer's FIN (with CloseWrite first, then Close).
func echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
			c.(interface{ CloseWrite() error }).CloseWrite()
		}()
	}
}

// exchange writes n random bytes (from seed) to c, half-closes, and reads
// everything back; it checks that the SHA-256 of what came back is that of
// what was sent.
func exchange(c net.Conn, n int, seed uint64) error {
	defer c.Close()
	want := sha256.New()
	errc := make(chan error, 1)
	go func() {
		r := rand.New(rand.NewPCG(seed, uint64(n)))
		buf := make([]byte, 64<<10)
		left := n
		for left > 0 {
			b := buf[:min(left, len(buf))]
			fill(r, b)
			want.Write(b)
			if _, err := c.Write(b); err != nil {
				errc <- fmt.Errorf("write: %w", err)
				return
			}
			left -= len(b)
		}
		errc <- c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	got := sha256.New()
	m, rerr := io.Copy(got, c)
	werr := <-errc
	if werr != nil {
		return werr
	}
	if rerr != nil {
		return fmt.Errorf("read after %d of %d bytes: %w", m, n, rerr)
	}
	if m != int64(n) {
		return fmt.Errorf("%d bytes back, sent %d", m, n)
	}
	if string(got.Sum(nil)) != string(want.Sum(nil)) {
		return fmt.Errorf("%d bytes back with a different SHA-256", n)
	}
	return nil
}

// withTimeout runs f and fails the test if it has not returned after d.
func withTimeout(t *testing.T, d time.Duration, what string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- f(ctx) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(d + 5*time.Second):
		t.Fatalf("%s: still running after %v", what, d)
	}
}

// fill fills b from r.
func fill(r *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// randomBytes returns n bytes from seed.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	fill(rand.New(rand.NewPCG(seed, uint64(n))), b)
	return b
}

// watchStalls starts a 1 ms ticker; the function it returns stops it and
// tells the longest gap between ticks: how long, at worst, the process
// went unscheduled (a loaded machine), which some tests must know to
// judge their run.
func watchStalls(t *testing.T) func() time.Duration {
	stop := make(chan struct{})
	done := make(chan time.Duration, 1)
	go func() {
		var worst time.Duration
		last := time.Now()
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				done <- max(worst, time.Since(last))
				return
			case now := <-tk.C:
				worst = max(worst, now.Sub(last))
				last = now
			}
		}
	}()
	var once sync.Once
	var worst time.Duration
	f := func() time.Duration {
		once.Do(func() { close(stop); worst = <-done })
		return worst
	}
	t.Cleanup(func() { f() })
	return f
}
