// Command tunbench measures synack over a real TUN device, where users run
// it, next to gVisor's netstack on the same kind of TUN device and the
// kernel's own TCP over a veth pair (issue 12). The clients are the
// kernel's sockets in a network namespace: this program's own Go clients
// for bulk transfer, ping-pong, connection rate and idle connections, and
// Debian's iperf (iperf 2), ab, wrk and hping3.
//
//	cd bench && go run ./cmd/tunbench            # full run, about 20 minutes
//	cd bench && go run ./cmd/tunbench -smoke     # every row once, tiny sizes
//	cd bench && go run ./cmd/tunbench -rows bulk,pingpong -rounds 5
//
// It must run as root (namespaces, TUN devices). It builds `synack serve`
// (../cmd/synack), gvisor-serve and kernel-serve (./cmd/...) first.
// Every namespace it makes is named tunbench-<pid>-..., uses documentation
// addresses only (192.0.2.0/24, 198.51.100.0/24), and is deleted at the
// end, also after an error or a signal; every process it starts is ended
// by its PID. The host's own namespace is not touched.
//
// Rounds are interleaved (in each round, every row runs on synack, gVisor,
// the kernel in turn), each measurement on fresh namespaces and a fresh
// server; the table shows the median of the rounds. See bench/README.md,
// "Over TUN".
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type opts struct {
	rounds  int
	dur     time.Duration // of each bulk, ping-pong, connection-rate, iperf, ab, wrk measurement
	conns   int           // idle connections held
	floodN  int           // ab requests during a SYN flood
	settle  time.Duration // waits: for a SYN flood to fill the queue, for RSS to settle
	abSock  time.Duration // ab's socket timeout (-s) during a SYN flood
	gro     bool          // gVisor's fdbased GRO
	peers   []string
	queues  int // synack serve's --queues
	rows    []string
	logDir  string
	keep    bool
	bins    bins
	verbose bool
}

// metric is one row of the table.
type metric struct {
	key   string // in result.v
	label string
	unit  string
	prec  int // decimals
	// noRatio: the synack/gVisor column means nothing for this row (the
	// load offered, not the stacks' performance).
	noRatio bool
}

// test is one measurement, run on each peer in each round; it gives one
// or more rows.
type test struct {
	id      string
	app     string
	mtu     int
	tool    string // an external client it needs, or ""
	run     func(o *opts, e *env, r *result) error
	metrics []metric
	// counters: the server counters worth a note after this test
	counters bool
	// reflects: tun-reflect can answer this test's client (one segment
	// in flight each way, echo): it runs on the reflect peer.
	reflects bool
	// memprof: the server runs with SYNACK_MEMPROFILE set (internal/memprof)
	memprof bool
	// peers it runs on, if not every one
	peers []string
}

// runsOn reports whether t runs on peer.
func (t test) runsOn(peer string) bool {
	if peer == "reflect" {
		return t.reflects
	}
	return len(t.peers) == 0 || slices.Contains(t.peers, peer)
}

func tests() []test {
	bulkRun := func(o *opts, e *env, r *result) error { return bulk(e, o.dur, r) }
	gbps := func(label string) []metric { return []metric{{"gbps", label, "Gbit/s", 2, false}} }
	// The server process's user + system CPU per GiB moved (in and out for
	// echo). The kernel's TCP runs in softirq too, partly charged to
	// whichever process was running, so its figure is a lower bound.
	bulkMetrics := func(label string) []metric {
		return append(gbps(label), metric{"cpu", label + ": server CPU", "s/GiB", 2, false})
	}
	floodTest := func(iv string, rate string) test {
		arg, name := "-i "+iv, "flood-"+iv
		if iv == "flood" {
			arg, name = "--flood", "flood-max"
		}
		return test{id: name, app: "http", mtu: 1500, tool: "hping3", counters: true,
			run: func(o *opts, e *env, r *result) error { return flood(e, iv, o.floodN, o.settle, o.abSock, r) },
			metrics: []metric{
				{key: "ok", label: "SYN flood " + arg + " (" + rate + "): ab -c 8 success", unit: "%", prec: 1, noRatio: true},
				{"p99", "SYN flood " + arg + ": ab p99", "ms", 0, false},
				{key: "pps", label: "SYN flood " + arg + ": SYNs sent", unit: "/s", noRatio: true},
			}}
	}
	return []test{
		{id: "bulk-1500", app: "discard", mtu: 1500, run: bulkRun, metrics: bulkMetrics("bulk kernel → stack, MTU 1500")},
		{id: "bulk-65535", app: "discard", mtu: 65535, run: bulkRun, metrics: bulkMetrics("bulk kernel → stack, MTU 65535")},
		{id: "echo-1500", app: "echo", mtu: 1500, run: bulkRun, metrics: bulkMetrics("bulk echo both ways (each way), MTU 1500")},
		{id: "echo-65535", app: "echo", mtu: 65535, run: bulkRun, metrics: bulkMetrics("bulk echo both ways (each way), MTU 65535")},
		{id: "pingpong", app: "echo", mtu: 1500, reflects: true,
			run: func(o *opts, e *env, r *result) error { return pingpong(e, o.dur, r) },
			metrics: []metric{
				{"rts", "1-byte ping-pong", "rt/s", 0, false},
				{"p50", "1-byte ping-pong p50", "µs", 1, false},
				{"p99", "1-byte ping-pong p99", "µs", 1, false},
			}},
		{id: "conn-1", app: "echo", mtu: 1500, reflects: true,
			run:     func(o *opts, e *env, r *result) error { return connRate(e, o.dur, 1, r) },
			metrics: []metric{{"cps", "connect + 1-byte echo + close, 1 client", "conn/s", 0, false}}},
		{id: "conn-32", app: "echo", mtu: 1500, reflects: true,
			run:     func(o *opts, e *env, r *result) error { return connRate(e, o.dur, 32, r) },
			metrics: []metric{{"cps", "connect + 1-byte echo + close, 32 clients", "conn/s", 0, false}}},
		{id: "idle-echo", app: "echo", mtu: 1500,
			run:     func(o *opts, e *env, r *result) error { return idleMemory(e, o.conns, o.settle, r) },
			metrics: []metric{{"kb", "memory per idle connection, echo app (process RSS)", "KiB", 2, false}}},
		{id: "idle-sink", app: "sink", mtu: 1500,
			run:     func(o *opts, e *env, r *result) error { return idleMemory(e, o.conns, o.settle, r) },
			metrics: []metric{{"kb", "memory per idle connection, sink app (process RSS)", "KiB", 2, false}}},
		// The stack's share: the heap in use by the stack's own packages
		// per idle connection, from the server's heap profile (see
		// idleMemory); the kernel's is not in a Go heap.
		{id: "idle-echo-stack", app: "echo", mtu: 1500, memprof: true, peers: []string{"synack", "gvisor"},
			run:     func(o *opts, e *env, r *result) error { return idleMemory(e, o.conns, o.settle, r) },
			metrics: []metric{{"stack", "the stack's share per idle connection, echo app (heap in use by its packages)", "KiB", 2, false}}},
		{id: "idle-sink-stack", app: "sink", mtu: 1500, memprof: true, peers: []string{"synack", "gvisor"},
			run:     func(o *opts, e *env, r *result) error { return idleMemory(e, o.conns, o.settle, r) },
			metrics: []metric{{"stack", "the stack's share per idle connection, sink app (heap in use by its packages)", "KiB", 2, false}}},
		{id: "iperf-1500", app: "discard", mtu: 1500, tool: "iperf",
			run:     func(o *opts, e *env, r *result) error { return iperf2(e, o.dur, r) },
			metrics: gbps("iperf2 → discard, MTU 1500")},
		{id: "iperf-65535", app: "discard", mtu: 65535, tool: "iperf",
			run:     func(o *opts, e *env, r *result) error { return iperf2(e, o.dur, r) },
			metrics: gbps("iperf2 → discard, MTU 65535")},
		{id: "ab", app: "http", mtu: 1500, tool: "ab",
			run: func(o *opts, e *env, r *result) error { return ab(e, o.dur, r) },
			metrics: []metric{
				{"rps", "ab -c 32 (a connection per request), net/http", "req/s", 0, false},
				{"p99", "ab -c 32 p99", "ms", 0, false},
			}},
		{id: "wrk", app: "http", mtu: 1500, tool: "wrk",
			run: func(o *opts, e *env, r *result) error { return wrk(e, o.dur, r) },
			metrics: []metric{
				{"rps", "wrk -t 2 -c 32 (keep-alive), net/http", "req/s", 0, false},
				{"p99", "wrk -c 32 p99", "ms", 2, false},
			}},
		floodTest("u50", "20k SYN/s asked"),
		floodTest("u20", "50k SYN/s asked"),
		floodTest("u10", "100k SYN/s asked"),
		floodTest("flood", "as fast as hping3 goes"),
	}
}

// smokeRows are the tests -smoke runs when -rows does not say: one of
// each kind (the others differ only in a parameter), so that every piece
// of code runs.
var smokeRows = []string{"bulk-1500", "echo-65535", "pingpong", "conn-32", "idle-sink", "iperf-1500", "ab", "wrk", "flood-u50"}

// interrupted is set by a signal, whose goroutine then cleans up and
// exits: the measurements stop and print nothing more.
var interrupted atomic.Bool

func main() {
	os.Exit(mainErr())
}

func mainErr() (code int) {
	o := &opts{}
	var peers, rows string
	smoke := flag.Bool("smoke", false, "quick check that the benchmark works: one test of each kind ("+strings.Join(smokeRows, ",")+" unless -rows), 1 round, tiny sizes")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; the table shows each row's median")
	flag.DurationVar(&o.dur, "dur", 4*time.Second, "duration of each timed measurement")
	flag.IntVar(&o.conns, "conns", 10000, "idle connections held for the memory rows")
	flag.IntVar(&o.floodN, "flood-requests", 2000, "ab requests made during each SYN flood")
	flag.BoolVar(&o.gro, "gro", false, "turn on gVisor fdbased's GRO (generic receive offload)")
	flag.IntVar(&o.queues, "queues", 1, "synack serve's TUN queues and stack shards (--queues)")
	flag.StringVar(&peers, "peers", strings.Join(defaultPeers, ","), "peers to run, comma-separated, of "+strings.Join(allPeers, ", "))
	flag.StringVar(&rows, "rows", "", "rows to run: comma-separated prefixes of test ids (default: all); -list shows them")
	list := flag.Bool("list", false, "list the test ids and their rows, and exit")
	flag.BoolVar(&o.keep, "keep", false, "keep the servers' logs (the directory is printed)")
	flag.BoolVar(&o.verbose, "v", false, "print every measurement's notes as it finishes")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: tunbench [flags]   (as root, from bench/)\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	all := tests()
	if *list {
		for _, t := range all {
			var labels []string
			for _, m := range t.metrics {
				labels = append(labels, m.label)
			}
			fmt.Printf("%-16s %s\n", t.id, strings.Join(labels, "; "))
		}
		return 0
	}
	o.settle, o.abSock = time.Second, 10*time.Second
	if *smoke {
		o.rounds = 1
		o.dur = 300 * time.Millisecond
		o.conns = 200
		o.floodN = 100
		o.settle, o.abSock = 200*time.Millisecond, 3*time.Second
		if rows == "" {
			rows = strings.Join(smokeRows, ",")
		}
	}
	o.peers = splitList(peers)
	for _, p := range o.peers {
		if !slices.Contains(allPeers, p) {
			fmt.Fprintf(os.Stderr, "tunbench: unknown peer %q (want %s)\n", p, strings.Join(allPeers, ", "))
			return 2
		}
	}
	o.rows = splitList(rows)
	var sel []test
	for _, t := range all {
		if len(o.rows) == 0 || slices.ContainsFunc(o.rows, func(p string) bool { return strings.HasPrefix(t.id, p) }) {
			sel = append(sel, t)
		}
	}
	if len(sel) == 0 {
		fmt.Fprintf(os.Stderr, "tunbench: -rows %q matches no test; -list shows them\n", rows)
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "tunbench: must run as root (network namespaces, TUN devices)")
		return 2
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		fmt.Fprintln(os.Stderr, "tunbench: needs /dev/net/tun:", err)
		return 2
	}

	// However this ends — return, panic, signal — the processes are
	// ended and the namespaces deleted.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigc
		interrupted.Store(true)
		fmt.Fprintf(os.Stderr, "\ntunbench: %v: cleaning up\n", s)
		cleanup()
		if o.logDir != "" && !o.keep {
			os.RemoveAll(o.logDir)
		}
		os.Exit(130)
	}()
	defer cleanup()
	defer func() {
		if p := recover(); p != nil {
			cleanup()
			fmt.Fprintf(os.Stderr, "tunbench: panic: %v\n", p)
			code = 3
		}
	}()
	sweep()

	var err error
	if o.logDir, err = os.MkdirTemp("", "tunbench-"); err != nil {
		fmt.Fprintln(os.Stderr, "tunbench:", err)
		return 1
	}
	failed := false
	defer func() {
		if o.keep || failed {
			fmt.Fprintf(os.Stderr, "tunbench: servers' logs kept in %s\n", o.logDir)
		} else {
			os.RemoveAll(o.logDir)
		}
	}()
	if o.bins, err = build(o.logDir); err != nil {
		fmt.Fprintln(os.Stderr, "tunbench:", err)
		failed = true
		return 1
	}
	for _, t := range sel {
		if t.tool != "" {
			if _, err := exec.LookPath(t.tool); err != nil {
				fmt.Fprintf(os.Stderr, "tunbench: %s needs %s (apt-get install %s)\n", t.id, t.tool, map[string]string{"iperf": "iperf", "ab": "apache2-utils", "wrk": "wrk", "hping3": "hping3"}[t.tool])
				return 2
			}
		}
	}

	// results[test][peer] holds one result per round.
	results := map[string]map[string][]*result{}
	errs := map[string]map[string][]string{}
	start := time.Now()
	load0 := loadAvg()
	for round := 1; round <= o.rounds; round++ {
		for _, t := range sel {
			for _, peer := range o.peers {
				if !t.runsOn(peer) {
					continue
				}
				tag := fmt.Sprintf("r%d-%s", round, t.id)
				t0 := time.Now()
				r, err := measure(o, t, peer, tag)
				if interrupted.Load() {
					select {} // the signal's goroutine cleans up and exits
				}
				if results[t.id] == nil {
					results[t.id] = map[string][]*result{}
					errs[t.id] = map[string][]string{}
				}
				if err != nil {
					failed = true
					errs[t.id][peer] = append(errs[t.id][peer], fmt.Sprintf("round %d: %v", round, err))
					fmt.Fprintf(os.Stderr, "round %d %-11s %-6s FAILED (%.1fs): %v\n", round, t.id, peer, time.Since(t0).Seconds(), err)
					continue
				}
				results[t.id][peer] = append(results[t.id][peer], r)
				var vals []string
				for _, m := range t.metrics {
					if v, ok := r.v[m.key]; ok {
						vals = append(vals, fmt.Sprintf("%s %s", format(v, m.prec), m.unit))
					} else {
						vals = append(vals, "n/a "+m.unit)
					}
				}
				line := fmt.Sprintf("round %d %-11s %-6s %s (%.1fs)", round, t.id, peer, strings.Join(vals, ", "), time.Since(t0).Seconds())
				if o.verbose && r.note != "" {
					line += "\n    " + r.note
				}
				fmt.Fprintln(os.Stderr, line)
			}
		}
	}

	printTable(os.Stdout, o, sel, results, errs, time.Since(start), load0, loadAvg())
	if failed {
		return 1
	}
	return 0
}

// measure runs test t once on peer: fresh namespaces and server, the
// measurement, teardown.
func measure(o *opts, t test, peer, tag string) (*result, error) {
	e, err := newEnv(o, peer, t.mtu, t.app, tag, t.memprof)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	r := newResult()
	err = t.run(o, e, r)
	if err == nil && e.srv.exited() {
		err = fmt.Errorf("%s exited during the measurement: %v", e.srv.name, e.srv.err)
	}
	out := e.close()
	if t.counters || err != nil {
		switch peer {
		case "synack", "synack-2q":
			if c := counters(out, "PassiveOpens", "SynCookiesSent", "SynCookiesRecv", "SynCookiesFailed", "ListenOverflows",
				"Drop/syn-queue-full", "Drop/accept-queue-full", "RetransSegs", "InErrs"); c != "" {
				r.notef("server:%s", c)
			}
		case "gvisor":
			if c := counters(out, "PassiveOpens", "SynCookiesSent", "SynCookiesRecv", "SynCookiesFailed",
				"ListenOverflowSynDrop", "ListenOverflowAckDrop", "RetransSegs", "ChecksumErrors", "DroppedPackets"); c != "" {
				r.notef("server:%s", c)
			}
		}
	}
	if err != nil {
		if r.note != "" {
			err = fmt.Errorf("%w (%s)", err, r.note)
		}
		return nil, err
	}
	return r, nil
}

// build builds the three servers into dir, from the bench module this
// runs in (found from the working directory up).
func build(dir string) (bins, error) {
	var b bins
	wd, err := os.Getwd()
	if err != nil {
		return b, err
	}
	benchDir := ""
	for d := wd; ; d = filepath.Dir(d) {
		if gm, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(gm, []byte("module github.com/synack/synack/bench\n")) {
			benchDir = d
			break
		}
		if filepath.Dir(d) == d {
			return b, errors.New("run from the bench module (cd bench): its go.mod not found above " + wd)
		}
	}
	b = bins{
		synack:  filepath.Join(dir, "synack"),
		gvisor:  filepath.Join(dir, "gvisor-serve"),
		kernel:  filepath.Join(dir, "kernel-serve"),
		reflect: filepath.Join(dir, "tun-reflect"),
	}
	for _, x := range []struct{ dir, out, pkg string }{
		{filepath.Dir(benchDir), b.synack, "./cmd/synack"},
		{benchDir, b.gvisor, "./cmd/gvisor-serve"},
		{benchDir, b.kernel, "./cmd/kernel-serve"},
		{benchDir, b.reflect, "./cmd/tun-reflect"},
	} {
		cmd := exec.Command("go", "build", "-o", x.out, x.pkg)
		cmd.Dir = x.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s (in %s): %v\n%s", x.pkg, x.dir, err, out)
		}
	}
	return b, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func format(v float64, prec int) string {
	s := fmt.Sprintf("%.*f", prec, v)
	// Thousands separators for the big integers (rt/s, conn/s, req/s).
	if prec == 0 && (v >= 10000 || v <= -10000) {
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	return s
}

func printTable(w io.Writer, o *opts, sel []test, results map[string]map[string][]*result, errs map[string]map[string][]string, took time.Duration, load0, load1 string) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n%s, %s, %d CPUs (%s), %s; %d round(s), medians; %s a timed row; %d idle connections; gVisor fdbased GRO %s; took %v; load average %s before, %s after\n\n",
		time.Now().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), cpuModel(), kernelRelease(),
		o.rounds, o.dur, o.conns, map[bool]string{true: "on", false: "off"}[o.gro], took.Round(time.Second), load0, load1)
	// Columns: every peer known, in order; synack-2q only when it ran.
	cols := slices.DeleteFunc(slices.Clone(allPeers), func(p string) bool {
		return !slices.Contains(defaultPeers, p) && !slices.Contains(o.peers, p)
	})
	twoQ := slices.Contains(cols, "synack-2q")
	names := map[string]string{"synack": "synack", "synack-2q": "synack, 2 queues", "gvisor": "gVisor", "kernel": "kernel", "reflect": "floor (tun-reflect)"}
	fmt.Fprintf(w, "| metric |")
	for _, p := range cols {
		fmt.Fprintf(w, " %s |", names[p])
	}
	fmt.Fprintf(w, " synack/gVisor |")
	if twoQ {
		fmt.Fprintf(w, " 2 queues/1 |")
	}
	fmt.Fprintf(w, "\n|%s\n", strings.Repeat("---|", len(cols)+2+map[bool]int{true: 1}[twoQ]))
	for _, t := range sel {
		for _, m := range t.metrics {
			cells := map[string]string{}
			meds := map[string]float64{}
			for _, p := range cols {
				rs := results[t.id][p]
				if !slices.Contains(o.peers, p) || !t.runsOn(p) {
					cells[p] = "—"
					continue
				}
				if len(rs) == 0 {
					cells[p] = "failed"
					continue
				}
				var vals []float64
				for _, r := range rs {
					if v, ok := r.v[m.key]; ok {
						vals = append(vals, v)
					}
				}
				if len(vals) == 0 {
					cells[p] = "n/a"
					continue
				}
				meds[p] = median(vals)
				cells[p] = format(meds[p], m.prec)
				if len(vals) < o.rounds {
					cells[p] += fmt.Sprintf(" (%d of %d rounds)", len(vals), o.rounds)
				}
				if m.key == "kb" && p == "kernel" {
					cells[p] += serverSlab(results[t.id])
				}
			}
			ratio := "—"
			if s, ok := meds["synack"]; ok && !m.noRatio {
				if g, ok := meds["gvisor"]; ok && g != 0 {
					ratio = fmt.Sprintf("%.2f×", s/g)
				}
			}
			fmt.Fprintf(w, "| %s (%s) |", m.label, m.unit)
			for _, p := range cols {
				fmt.Fprintf(w, " %s |", cells[p])
			}
			fmt.Fprintf(w, " %s |", ratio)
			if twoQ {
				q := "—"
				if s, ok := meds["synack"]; ok && s != 0 {
					if s2, ok := meds["synack-2q"]; ok {
						q = fmt.Sprintf("%.2f×", s2/s)
					}
				}
				fmt.Fprintf(w, " %s |", q)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\nDetails (per round; servers' counters that are not zero):\n\n")
	for _, t := range sel {
		for _, p := range o.peers {
			for i, r := range results[t.id][p] {
				if r.note != "" {
					fmt.Fprintf(w, "- %s %s #%d: %s\n", t.id, p, i+1, r.note)
				}
			}
			for _, e := range errs[t.id][p] {
				fmt.Fprintf(w, "- %s %s FAILED %s\n", t.id, p, e)
			}
		}
	}
}

// serverSlab is the kernel's slab memory per idle connection on the
// server's end, for the kernel column: the machine's slab growth when both
// ends are the kernel's, minus the growth when only the client's end is
// (the synack and gVisor runs of the same round), median over rounds. If
// those did not run, it is both ends'.
func serverSlab(byPeer map[string][]*result) string {
	var both, server []float64
	for i, k := range byPeer["kernel"] {
		both = append(both, k.v["slab"])
		var client []float64
		for _, p := range []string{"synack", "gvisor"} {
			if i < len(byPeer[p]) {
				client = append(client, byPeer[p][i].v["slab"])
			}
		}
		if len(client) > 0 {
			server = append(server, k.v["slab"]-median(client))
		}
	}
	switch {
	case len(server) > 0:
		return fmt.Sprintf(" + %.2f slab", median(server))
	case len(both) > 0:
		return fmt.Sprintf(" + %.2f slab (both ends)", median(both))
	}
	return ""
}

// loadAvg is the 1-minute load average: other work on the machine shows
// in it (and tunbench's own, about 2 while it runs).
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func kernelRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return "Linux " + strings.TrimSpace(string(b))
}
