package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/synack/synack/link"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/link/tun"
	"github.com/synack/synack/netconn"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// netFlags are the options serve and dial share: the TUN device, the
// addresses, the TCP settings, the capture, the link's faults and the log.
type netFlags struct {
	tun   string
	addrs addrList
	mtu   int

	rcvbuf, sndbuf, mss int
	keepalive           time.Duration
	keepInterval        time.Duration
	keepCount           int
	userTimeout         time.Duration
	finTimeout          time.Duration
	retries             int
	synRetries          int
	synackRetries       int
	msl                 time.Duration
	pcap                string
	syncookies          string
	congestion          string
	backlog             int
	offload             bool
	queues              int
	loss, dup, reorder  float64
	seed                uint64
	logFormat           string
}

// addrList is the repeatable --addr.
type addrList []string

func (a *addrList) String() string     { return strings.Join(*a, ",") }
func (a *addrList) Set(s string) error { *a = append(*a, s); return nil }

func (f *netFlags) register(fs *flag.FlagSet) {
	d := tcp.Config{}.Defaults()
	fs.StringVar(&f.tun, "tun", "", "TUN device to use; created if it does not exist (required)")
	fs.Var(&f.addrs, "addr", "synack's address, IP or IP/PREFIX; once IPv4 and once IPv6 for a dual-stack host (required)")
	fs.IntVar(&f.mtu, "mtu", 0, "set the TUN device's MTU (default: leave it)")
	fs.IntVar(&f.rcvbuf, "rcvbuf", d.RcvBuf, "receive buffer per connection, bytes")
	fs.IntVar(&f.sndbuf, "sndbuf", d.SndBuf, "send buffer per connection, bytes")
	fs.IntVar(&f.mss, "mss", 0, "MSS clamp: the most synack advertises and sends (default: what the link's MTU allows; path MTU discovery lowers it further)")
	fs.DurationVar(&f.keepalive, "keepalive", 0, "idle time before the first keepalive probe (default: keepalive off)")
	fs.DurationVar(&f.keepInterval, "keepalive-interval", d.KeepInterval, "time between keepalive probes")
	fs.IntVar(&f.keepCount, "keepalive-count", d.KeepCount, "unanswered keepalive probes before the connection is dropped")
	fs.DurationVar(&f.userTimeout, "user-timeout", 0, "RFC 5482 user timeout: drop a connection whose data stays unacknowledged this long (default: none)")
	fs.DurationVar(&f.finTimeout, "fin-timeout", d.FinWait2Timeout, "FIN-WAIT-2 timeout of an orphaned connection")
	fs.IntVar(&f.retries, "retries", d.Retries, "data retransmissions before giving up (ETIMEDOUT)")
	fs.IntVar(&f.synRetries, "syn-retries", d.SynRetries, "SYN retransmissions before a connect gives up")
	fs.IntVar(&f.synackRetries, "synack-retries", d.SynAckRetries, "SYN+ACK retransmissions before a half-open connection is dropped")
	fs.DurationVar(&f.msl, "msl", d.MSL, "maximum segment lifetime; TIME-WAIT lasts 2*MSL")
	fs.StringVar(&f.pcap, "pcap", "", "write every packet crossing the TUN device (after the faults) to this pcap file")
	fs.StringVar(&f.syncookies, "syncookies", "auto", "SYN cookies: auto (when the SYN queue is full), always or never")
	fs.StringVar(&f.congestion, "congestion", d.CongestionControl.String(), "congestion control, as Linux's tcp_congestion_control: cubic (RFC 9438 with HyStart++) or reno (NewReno)")
	fs.IntVar(&f.backlog, "backlog", 128, "accept queue length")
	fs.Float64Var(&f.loss, "loss", 0, "probability that synack's link loses a packet, each way (0..1)")
	fs.Float64Var(&f.dup, "dup", 0, "probability that synack's link duplicates a packet (0..1)")
	fs.Float64Var(&f.reorder, "reorder", 0, "probability that synack's link delivers a packet 10 ms late, so later ones overtake it (0..1)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the link's faults (default: random, logged)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.IntVar(&f.queues, "queues", 1, "open the TUN device with this many queues (IFF_MULTI_QUEUE), one per shard of the stack, for more than one core")
	fs.BoolVar(&f.offload, "offload", true, "ask the kernel for checksum and TCP segmentation offload on the TUN device (64 KB segments each way); --offload=false for plain packets")
}

// config checks the flags and returns the stack's settings and the
// addresses. Its errors are usage errors.
func (f *netFlags) config() (stack.Config, []netip.Prefix, error) {
	var cfg stack.Config
	if f.tun == "" {
		return cfg, nil, errors.New("--tun is required")
	}
	if len(f.addrs) == 0 {
		return cfg, nil, errors.New("--addr is required")
	}
	if f.queues < 1 || f.queues > 64 {
		return cfg, nil, fmt.Errorf("--queues %d: want 1 to 64", f.queues)
	}
	if f.queues > 1 && (f.loss > 0 || f.dup > 0 || f.reorder > 0) {
		return cfg, nil, errors.New("--loss, --dup and --reorder take one queue: a link's faults are one sequence of draws")
	}
	prefixes, err := parseAddrs(f.addrs)
	if err != nil {
		return cfg, nil, err
	}
	positive := []struct {
		name string
		ok   bool
	}{
		{"--rcvbuf", f.rcvbuf > 0}, {"--sndbuf", f.sndbuf > 0},
		{"--keepalive-interval", f.keepInterval > 0}, {"--keepalive-count", f.keepCount > 0},
		{"--fin-timeout", f.finTimeout > 0}, {"--retries", f.retries > 0},
		{"--syn-retries", f.synRetries > 0}, {"--synack-retries", f.synackRetries > 0},
		{"--msl", f.msl > 0}, {"--backlog", f.backlog > 0},
		{"--keepalive", f.keepalive >= 0}, {"--user-timeout", f.userTimeout >= 0},
	}
	for _, p := range positive {
		if !p.ok {
			return cfg, nil, fmt.Errorf("%s must be positive", p.name)
		}
	}
	if f.mss != 0 && (f.mss < 88 || f.mss > 65495) {
		return cfg, nil, fmt.Errorf("--mss must be between 88 and 65495, not %d", f.mss)
	}
	if f.mtu != 0 && (f.mtu < 1280 && len(prefixes) > 0 && hasV6(prefixes) || f.mtu < 68 || f.mtu > 65535) {
		return cfg, nil, fmt.Errorf("--mtu %d out of range (68..65535, at least 1280 with IPv6)", f.mtu)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"--loss", f.loss}, {"--dup", f.dup}, {"--reorder", f.reorder}} {
		if p.v < 0 || p.v > 1 {
			return cfg, nil, fmt.Errorf("%s must be between 0 and 1", p.name)
		}
	}
	mode, ok := stack.ParseCookieMode(f.syncookies)
	if !ok {
		return cfg, nil, fmt.Errorf("--syncookies must be auto, always or never, not %q", f.syncookies)
	}
	cc, ok := tcp.ParseCongestionControl(f.congestion)
	if !ok {
		return cfg, nil, fmt.Errorf("--congestion must be cubic or reno, not %q", f.congestion)
	}
	if f.logFormat != "text" && f.logFormat != "json" {
		return cfg, nil, fmt.Errorf("--log-format must be text or json, not %q", f.logFormat)
	}
	cfg = stack.Config{
		TCP: tcp.Config{
			MSS:             uint16(f.mss),
			RcvBuf:          f.rcvbuf,
			SndBuf:          f.sndbuf,
			SynRetries:      f.synRetries,
			SynAckRetries:   f.synackRetries,
			Retries:         f.retries,
			MSL:             f.msl,
			FinWait2Timeout: f.finTimeout,
			KeepAlive:       f.keepalive > 0,
			KeepIdle:        f.keepalive,
			KeepInterval:    f.keepInterval,
			KeepCount:       f.keepCount,
			UserTimeout:     f.userTimeout,

			CongestionControl: cc,
		},
		Backlog:    f.backlog,
		SynCookies: mode,
	}
	return cfg, prefixes, nil
}

func hasV6(ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Addr().Is6() {
			return true
		}
	}
	return false
}

// parseAddrs parses --addr values: IP or IP/PREFIX, at most one IPv4 and
// one IPv6, unicast. A bare IP gets a host prefix.
func parseAddrs(vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var v4, v6 bool
	for _, s := range vals {
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil && a.Zone() != "" {
				err = errors.New("zone")
			}
			if err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || !p.IsValid() {
			return nil, fmt.Errorf("--addr %q: want an IP address or IP/PREFIX, such as 192.0.2.2/24 or 2001:db8::2/64", s)
		}
		a := p.Addr().Unmap()
		p = netip.PrefixFrom(a, min(p.Bits(), a.BitLen()))
		if a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
			return nil, fmt.Errorf("--addr %q: want a unicast address", s)
		}
		if a.Is4() && v4 || a.Is6() && v6 {
			return nil, fmt.Errorf("--addr given twice for IPv%d: %s", map[bool]int{true: 4, false: 6}[a.Is4()], s)
		}
		v4, v6 = v4 || a.Is4(), v6 || a.Is6()
		out = append(out, p)
	}
	return out, nil
}

// logger returns the slog logger the flags ask for, writing to w.
func (f *netFlags) logger(w io.Writer) *slog.Logger {
	if f.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// keepAlive returns the keepalive settings for Dialer and ListenConfig:
// off unless --keepalive is given, and then the interval and count of the
// flags (carried by the stack's tcp.Config: -1 keeps them).
func (f *netFlags) keepAlive() (time.Duration, net.KeepAliveConfig) {
	if f.keepalive <= 0 {
		return -1, net.KeepAliveConfig{}
	}
	return f.keepalive, net.KeepAliveConfig{Enable: true, Idle: f.keepalive, Interval: -1, Count: -1}
}

// openTUN opens the device; tests replace it.
var openTUN = tun.OpenWith

// network is what a running serve or dial holds: the TUN, the capture,
// the faults and the stack.
type network struct {
	dev    *tun.Device   // the first queue
	devs   []*tun.Device // every queue (--queues)
	st     *netconn.Stack
	faulty *link.Faulty
	pcapF  *os.File
	pcapW  *pcap.Writer
	seed   uint64 // of the faults
}

// open opens the TUN device and starts the stack on it with the flags'
// addresses. Errors are one line each, for the user.
func (f *netFlags) open(cfg stack.Config, prefixes []netip.Prefix) (*network, error) {
	n := &network{}
	var devs []*tun.Device
	var err error
	if f.queues > 1 {
		devs, err = tun.OpenQueues(f.tun, f.queues, tun.Options{Offload: f.offload})
	} else {
		var dev *tun.Device
		dev, err = openTUN(f.tun, tun.Options{Offload: f.offload})
		devs = []*tun.Device{dev}
	}
	if err != nil {
		return nil, err
	}
	n.dev, n.devs = devs[0], devs
	dev := n.dev
	if f.mtu != 0 {
		if err := dev.SetMTU(f.mtu); err != nil {
			n.closeDevs()
			return nil, err
		}
	}
	eps := make([]link.Endpoint, len(devs))
	for i, d := range devs {
		eps[i] = d
	}
	if f.pcap != "" {
		fh, err := os.Create(f.pcap)
		if err != nil {
			n.closeDevs()
			return nil, fmt.Errorf("--pcap: %w", err)
		}
		w, err := pcap.NewWriter(fh, 0)
		if err != nil {
			fh.Close()
			n.closeDevs()
			return nil, fmt.Errorf("--pcap: %w", err)
		}
		n.pcapF, n.pcapW = fh, w
		for i := range eps {
			eps[i] = pcap.Tap(eps[i], w, nil) // one capture of every queue
		}
	}
	if f.loss > 0 || f.dup > 0 || f.reorder > 0 {
		seed := f.seed
		if seed == 0 {
			seed = uint64(time.Now().UnixNano())
		}
		n.seed = seed
		n.faulty = link.NewFaulty(eps[0], link.Faults{Loss: f.loss, Dup: f.dup, Reorder: f.reorder, Dir: link.Both}, seed)
		eps[0] = n.faulty // one queue: config refuses faults with more
	}
	n.st = netconn.NewSharded(cfg, len(eps))
	if err := n.st.AddQueues(eps, prefixes...); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

// closeDevs closes every queue.
func (n *network) closeDevs() {
	for _, d := range n.devs {
		d.Close()
	}
}

// counters returns the stack's counters.
func (n *network) counters() stack.Counters {
	c, _ := n.st.Counters()
	return c
}

// drain waits, up to d, for every full connection to finish (TIME-WAIT
// records aside), so that the last FINs and ACKs are exchanged before the
// link goes away.
func (n *network) drain(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		var conns int
		if n.st.Do(func(st *stack.Stack, _ time.Time) { c, _, _ := st.Len(); conns += c }) != nil || conns == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// close stops the stack (which closes the link) and the capture.
func (n *network) close() error {
	err := n.st.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	n.closeDevs()
	if n.pcapF != nil {
		if werr := n.pcapW.Err(); werr != nil && err == nil {
			err = fmt.Errorf("--pcap: %w", werr)
		}
		if cerr := n.pcapF.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("--pcap: %w", cerr)
		}
	}
	return err
}

// printCounters writes the counters, one "name value" a line, as nstat.
func (n *network) printCounters(w io.Writer) {
	c := n.counters()
	rows := []struct {
		name string
		v    any
	}{
		{"ActiveOpens", c.ActiveOpens}, {"PassiveOpens", c.PassiveOpens},
		{"AttemptFails", c.AttemptFails}, {"EstabResets", c.EstabResets},
		{"CurrEstab", c.CurrEstab}, {"InSegs", c.InSegs}, {"OutSegs", c.OutSegs},
		{"RetransSegs", c.RetransSegs}, {"InErrs", c.InErrs}, {"OutRsts", c.OutRsts},
		{"SynCookiesSent", c.SynCookiesSent}, {"SynCookiesRecv", c.SynCookiesRecv},
		{"SynCookiesFailed", c.SynCookiesFailed}, {"ListenOverflows", c.ListenOverflows},
		{"TimeWaitOverflows", c.TimeWaitOverflows},
		{"ICMPInMsgs", c.ICMPInMsgs}, {"ICMPInErrors", c.ICMPInErrors}, {"ICMPOutMsgs", c.ICMPOutMsgs},
		{"OutOfWindowICMPs", c.ICMPOutOfWindow}, {"PathMTUChanges", c.PathMTUChanges},
		{"ReasmReqds", c.ReasmReqds}, {"ReasmOKs", c.ReasmOKs}, {"ReasmFails", c.ReasmFails}, {"ReasmTimeouts", c.ReasmTimeouts},
	}
	c.Loss.Each(func(name string, v int) {
		rows = append(rows, struct {
			name string
			v    any
		}{name, v})
	})
	for i, name := range stack.DropNames() {
		rows = append(rows, struct {
			name string
			v    any
		}{"Drop/" + name, c.Drops[i]})
	}
	if n.faulty != nil {
		s := n.faulty.Stats()
		rows = append(rows, []struct {
			name string
			v    any
		}{{"Link/Packets", s.Packets}, {"Link/Dropped", s.Dropped}, {"Link/Duplicated", s.Duplicated}, {"Link/Reordered", s.Reordered}}...)
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-24s %v\n", r.name, r.v)
	}
}

// usageError prints one line about a mistake and where the usage is, and
// returns errUsage (exit 2).
func usageError(stderr io.Writer, cmd string, err error) error {
	fmt.Fprintf(stderr, "synack %s: %v\nRun 'synack %s --help' for usage.\n", cmd, err, cmd)
	return errUsage
}
