package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Addresses: documentation ranges only (RFC 5737). The kernel's side (the
// clients) has .1, the stack under test .2; floodSrc is the spoofed source
// of the SYN flood, an address nobody holds, so the SYN+ACKs go unanswered.
const (
	clientIP = "192.0.2.1"
	stackIP  = "192.0.2.2"
	prefix   = "/24"
	floodSrc = "198.51.100.9"
	floodNet = "198.51.100.0/24"
	port     = 5001
	tunDev   = "tbtun0"
	vethC    = "tbveth0" // the clients' end of the kernel's veth pair
	vethS    = "tbveth1" // the server's end
	backlog  = 128       // synack serve's default --backlog, given to all three
)

// Peers, in the order of the columns.
var allPeers = []string{"synack", "synack-2q", "gvisor", "kernel", "reflect"}

// defaultPeers run unless -peers says otherwise. Asked for by name:
// synack-2q, synack serve on a two-queue TUN with two shards; reflect,
// the TUN path's floor (cmd/tun-reflect), for the rows it can answer.
var defaultPeers = []string{"synack", "gvisor", "kernel"}

// bins are the server programs.
type bins struct {
	synack, gvisor, kernel, reflect string
}

// env is one peer set up for one measurement: the namespaces, the server
// process with its app, and where the clients go.
type env struct {
	peer   string
	mtu    int
	app    string
	client *netns // the kernel's sockets (the clients) live here
	server *netns // the kernel peer's server; the same as client otherwise
	dev    string // the clients' side of the link: the TUN or the veth
	srv    *proc
	logDir string
	tag    string // for file names
	target string // host:port of the server
	// memprof is where the server writes its heap figures on SIGUSR1
	// (SYNACK_MEMPROFILE, internal/memprof); "" when it does not.
	memprof string
}

// newEnv sets up peer with the server running app on a link of this MTU;
// with memprof, the server writes its heap figures when asked (heapFigures).
func newEnv(o *opts, peer string, mtu int, app, tag string, memprof bool) (e *env, err error) {
	e = &env{peer: peer, mtu: mtu, app: app, logDir: o.logDir, tag: tag,
		target: net.JoinHostPort(stackIP, strconv.Itoa(port))}
	defer func() {
		if err != nil {
			e.close()
			e = nil
		}
	}()
	if e.client, err = newNetns("c"); err != nil {
		return e, err
	}
	e.server = e.client
	c := e.client
	// The clients: TIME-WAIT reuse for new connections (the clients close
	// first in the connection-rate rows, and at thousands a second they
	// would run out of ports within the 60 s of TIME-WAIT), and a wide
	// ephemeral range for the 10,000 idle connections.
	for _, kv := range [][2]string{
		{"net.ipv4.tcp_tw_reuse", "1"},
		{"net.ipv4.ip_local_port_range", "10000 65000"},
	} {
		if err = c.sysctl(kv[0], kv[1]); err != nil {
			return e, err
		}
	}
	var bin string
	var args []string
	switch peer {
	case "synack", "synack-2q", "gvisor", "reflect":
		queues := o.queues
		if peer == "synack-2q" {
			queues = 2
		}
		e.dev = tunDev
		// A persistent TUN device, so that it is configured before the
		// server attaches; it goes with the namespace.
		for _, a := range [][]string{
			tuntap(tunDev, peer, queues),
			{"link", "set", tunDev, "mtu", strconv.Itoa(mtu)},
			{"addr", "add", clientIP + prefix, "dev", tunDev},
			{"link", "set", tunDev, "up"},
		} {
			if err = c.ip(a...); err != nil {
				return e, err
			}
		}
		args = []string{"serve", "--tun", tunDev, "--addr", stackIP + prefix, "--port", strconv.Itoa(port), "--app", app}
		if queues > 1 {
			args = append(args, "--queues", strconv.Itoa(queues))
		}
		bin = o.bins.synack
		if peer == "reflect" {
			bin, args = o.bins.reflect, args[1:]
		}
		if peer == "gvisor" {
			bin = o.bins.gvisor
			args = args[1:]
			if o.gro {
				args = append(args, "--gro")
			}
		}
	case "kernel":
		e.dev = vethC
		if e.server, err = newNetns("k"); err != nil {
			return e, err
		}
		s := e.server
		// The pair is made inside the clients' namespace, its peer end
		// moved straight to the server's: the host's namespace never
		// sees either end.
		for _, a := range []struct {
			n    *netns
			args []string
		}{
			{c, []string{"link", "add", vethC, "type", "veth", "peer", "name", vethS, "netns", s.name}},
			{c, []string{"link", "set", vethC, "mtu", strconv.Itoa(mtu)}},
			{s, []string{"link", "set", vethS, "mtu", strconv.Itoa(mtu)}},
			{c, []string{"addr", "add", clientIP + prefix, "dev", vethC}},
			{s, []string{"addr", "add", stackIP + prefix, "dev", vethS}},
			{c, []string{"link", "set", vethC, "up"}},
			{s, []string{"link", "set", vethS, "up"}},
			// SYN+ACKs to the flood's spoofed source go back over the
			// pair, as the user-space stacks send theirs back into the
			// TUN; the clients' namespace, which does not forward, drops
			// them.
			{s, []string{"route", "add", floodNet, "dev", vethS}},
		} {
			if err = a.n.ip(a.args...); err != nil {
				return e, err
			}
		}
		for _, kv := range [][2]string{
			{"net.core.somaxconn", strconv.Itoa(backlog)}, // Go's listen backlog
			{"net.ipv4.conf.all.rp_filter", "0"},
			{"net.ipv4.conf.default.rp_filter", "0"},
			{"net.ipv4.conf." + vethS + ".rp_filter", "0"},
		} {
			if err = s.sysctl(kv[0], kv[1]); err != nil {
				return e, err
			}
		}
		bin = o.bins.kernel
		args = []string{"--addr", stackIP, "--port", strconv.Itoa(port), "--app", app}
	default:
		return e, fmt.Errorf("unknown peer %q", peer)
	}
	errLog := e.logPath("stderr")
	var environ []string
	if memprof {
		e.memprof = e.logPath("memprof")
		environ = []string{"SYNACK_MEMPROFILE=" + e.memprof}
	}
	if e.srv, err = startEnv(e.server, environ, e.logPath("stdout"), errLog, bin, args...); err != nil {
		return e, err
	}
	// Ready when it logs "serving".
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(errLog)
		if strings.Contains(string(b), "msg=serving") {
			return e, nil
		}
		if e.srv.exited() || time.Now().After(deadline) {
			return e, fmt.Errorf("%s did not start: %s", e.srv.name, lastLines(string(b), 5))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) logPath(what string) string {
	return filepath.Join(e.logDir, fmt.Sprintf("%s-%s.%s", e.tag, e.peer, what))
}

// close stops the server (SIGTERM: it closes its connections and prints
// its counters) and deletes the namespaces. It returns the server's
// stdout (the counters of synack and gVisor).
func (e *env) close() string {
	var out string
	if e.srv != nil {
		e.srv.stop(5 * time.Second)
		b, _ := os.ReadFile(e.logPath("stdout"))
		out = string(b)
	}
	if e.server != nil && e.server != e.client {
		e.server.del()
	}
	if e.client != nil {
		e.client.del()
	}
	return out
}

// dial connects from the clients' namespace to the server.
func (e *env) dial(timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := e.client.do(func() error {
		var err error
		d := net.Dialer{Timeout: timeout, KeepAlive: -1}
		c, err = d.Dial("tcp", e.target)
		return err
	})
	return c, err
}

// url is the http app's page.
func (e *env) url() string { return "http://" + e.target + "/" }

// linkDrops is what the clients' side of the link dropped on the way to
// the stack (TX drops): for a TUN device, packets the reader did not take
// in time (its queue is txqueuelen, 500, long).
func (e *env) linkDrops() int64 {
	out, err := e.client.output("ip", "-s", "-j", "link", "show", e.dev)
	if err != nil {
		return -1
	}
	var v []struct {
		Stats64 struct {
			TX struct {
				Dropped int64 `json:"dropped"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if json.Unmarshal([]byte(out), &v) != nil || len(v) == 0 {
		return -1
	}
	return v[0].Stats64.TX.Dropped
}

// kernelCounters returns the kernel server's SYN-cookie and listen-queue
// counters (nstat), for the kernel peer.
func (e *env) kernelCounters() string {
	out, err := e.server.output("nstat", "-az", "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv", "TcpExtSyncookiesFailed",
		"TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies", "TcpPassiveOpens")
	if err != nil {
		return ""
	}
	return out
}

// counters picks the named counters out of a server's "name value" lines
// (synack's and gvisor-serve's output, or nstat's).
func counters(out string, names ...string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for _, n := range names {
			if f[0] == n && f[1] != "0" {
				fmt.Fprintf(&b, " %s=%s", strings.TrimPrefix(n, "TcpExt"), f[1])
			}
		}
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// tuntap is the ip(8) command that makes the persistent TUN device: one
// of several queues for synack with -queues.
func tuntap(dev, peer string, queues int) []string {
	a := []string{"tuntap", "add", "dev", dev, "mode", "tun"}
	if strings.HasPrefix(peer, "synack") && queues > 1 {
		a = append(a, "multi_queue")
	}
	return a
}

// heapFigures asks the server for its heap figures (SIGUSR1) and returns
// them: bytes in use by the stack's packages, by the application's, and
// the lines naming the stack's largest allocation sites.
func (e *env) heapFigures() (stack, app int64, sites []string, err error) {
	os.Remove(e.memprof)
	e.srv.signal(syscall.SIGUSR1)
	var b []byte
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err = os.ReadFile(e.memprof); err == nil {
			break
		}
		if e.srv.exited() || time.Now().After(end) {
			return 0, 0, nil, fmt.Errorf("no heap figures from %s: %v", e.srv.name, err)
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "stack":
			stack = v
		case "app":
			app = v
		case "site":
			sites = append(sites, strings.Join(f[1:], " "))
		}
	}
	return stack, app, sites, nil
}
