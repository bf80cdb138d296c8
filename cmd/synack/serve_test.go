package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/synack/synack/infer"
	"github.com/synack/synack/interop"
	"github.com/synack/synack/link/tun"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
)

// Mistakes in serve's and dial's flags print one clear line and exit 2,
// before any device is touched (no root needed).
func TestServeDialUsageErrors(t *testing.T) {
	// No case may reach a device: it would be the host's namespace.
	defer func(f func(string, tun.Options) (*tun.Device, error)) { openTUN = f }(openTUN)
	openTUN = func(name string, _ tun.Options) (*tun.Device, error) {
		t.Errorf("a usage error opened TUN device %q", name)
		return nil, errors.New("test: no device")
	}
	ok := []string{"--tun", "tun0", "--addr", "192.0.2.2/24"}
	cases := []struct {
		cmd  string
		args []string
		want string
	}{
		{"serve", []string{"--addr", "192.0.2.2", "--port", "80", "--app", "echo"}, "--tun is required"},
		{"serve", []string{"--tun", "tun0", "--port", "80", "--app", "echo"}, "--addr is required"},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--addr", "192.0.2.3"), "--addr given twice for IPv4"},
		{"serve", []string{"--tun", "tun0", "--addr", "192.0.2.300/24", "--port", "80", "--app", "echo"}, `--addr "192.0.2.300/24": want an IP address or IP/PREFIX`},
		{"serve", []string{"--tun", "tun0", "--addr", "fe80::1%eth0", "--port", "80", "--app", "echo"}, `want an IP address or IP/PREFIX`},
		{"serve", []string{"--tun", "tun0", "--addr", "0.0.0.0", "--port", "80", "--app", "echo"}, "want a unicast address"},
		{"serve", append(ok, "--app", "echo"), "--port must be between 1 and 65535"},
		{"serve", append(ok, "--port", "80", "--app", "chargen"), `--app must be one of echo, discard, close, sink, http, not "chargen"`},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--loss", "1.5"), "--loss must be between 0 and 1"},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--syncookies", "sometimes"), "--syncookies must be auto, always or never"},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--log-format", "xml"), "--log-format must be text or json"},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--congestion", "bbr"), `--congestion must be cubic or reno, not "bbr"`},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--msl", "0s"), "--msl must be positive"},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--mss", "20"), "--mss must be between 88 and 65495"},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--no-such-flag"), "flag provided but not defined"},
		{"serve", append(ok, "--port", "80", "--app", "echo", "extra"), `unexpected argument "extra"`},
		{"serve", append(ok, "--port", "80", "--app", "echo", "--trace", "t.bin"), "the extension does not say the format"},
		{"dial", append(ok, "--trace-keep", "0", "--trace", "t.svg", "192.0.2.1:80"), "--trace-keep must be at least 1"},
		{"dial", ok, "want one HOST:PORT"},
		{"dial", append(ok, "example.com:80"), `"example.com:80": want IP:PORT`},
		{"dial", append(ok, "192.0.2.1"), `want IP:PORT`},
		{"dial", append(ok, "--app", "http", "192.0.2.1:80"), `--app must be one of echo, close, sink, not "http"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		var err error
		if c.cmd == "serve" {
			err = runServe(context.Background(), c.args, &out, &errb)
		} else {
			err = runDial(context.Background(), c.args, strings.NewReader(""), &out, &errb)
		}
		if !errors.Is(err, errUsage) {
			t.Errorf("%s %q: err %v, want a usage error (exit 2)", c.cmd, c.args, err)
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s %q: stderr %q lacks %q", c.cmd, c.args, errb.String(), c.want)
		}
	}
	for _, cmd := range []string{"serve", "dial"} {
		var out, errb bytes.Buffer
		var err error
		if cmd == "serve" {
			err = runServe(context.Background(), []string{"--help"}, &out, &errb)
		} else {
			err = runDial(context.Background(), []string{"--help"}, nil, &out, &errb)
		}
		if !errors.Is(err, errHelp) || !strings.Contains(errb.String(), "usage: synack "+cmd) || !strings.Contains(errb.String(), "-keepalive-interval") {
			t.Errorf("%s --help: %v\n%s", cmd, err, errb.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cliNetns makes a namespace with a persistent TUN device named dev whose
// kernel side is configured (192.0.2.1/24, 2001:db8::1/64, up), as a user
// would before running serve or dial.
func cliNetns(t *testing.T, dev string) *interop.Netns {
	ns := interop.NewNetns(t)
	ns.IP(t, "tuntap", "add", "dev", dev, "mode", "tun")
	ns.ConfigureKernelSide(t, dev)
	return ns
}

// running is a serve or dial running in a namespace.
type running struct {
	cancel         context.CancelFunc
	exited         chan struct{} // closed when the command returns
	err            error         // what it returned, once exited
	stdout, stderr *syncBuffer
}

// done returns a channel that yields the command's result once it has
// returned (as often as asked).
func (r *running) done() <-chan error {
	ch := make(chan error, 1)
	go func() {
		<-r.exited
		ch <- r.err
	}()
	return ch
}

// start runs the command in the namespace until stop.
func start(t *testing.T, ns *interop.Netns, cmd string, stdin io.Reader, args ...string) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, exited: make(chan struct{}), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() {
		defer close(r.exited)
		r.err = ns.Do(func() error {
			if cmd == "serve" {
				return runServe(ctx, args, r.stdout, r.stderr)
			}
			return runDial(ctx, args, stdin, r.stdout, r.stderr)
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.exited:
		case <-time.After(20 * time.Second):
			t.Errorf("synack %s still running 20 s after it was stopped", cmd)
		}
	})
	return r
}

// waitFor waits until the output holds s.
func (r *running) waitFor(t *testing.T, b *syncBuffer, s string) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.String(), s) {
		select {
		case err := <-r.done():
			t.Fatalf("exited (%v) before printing %q:\n%s\n%s", err, s, r.stdout, r.stderr)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("no %q after 20 s:\n%s\n%s", s, r.stdout, r.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends the "signal" and returns serve's result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done():
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("did not exit 20 s after the signal")
	}
	return nil
}

// The README's example: serve --app http on a TUN in a namespace, fetched
// by curl from the kernel's side, over IPv4 and IPv6; on the signal it
// prints the counters and exits cleanly.
func TestServeHTTP(t *testing.T) {
	curl := interop.RequireCommand(t, "curl", "curl")
	_ = curl
	ns := cliNetns(t, "syn0")
	r := start(t, ns, "serve", nil, "--tun", "syn0", "--addr", "192.0.2.2/24", "--addr", "2001:db8::2/64", "--port", "80", "--app", "http")
	r.waitFor(t, r.stderr, "msg=serving")
	for _, url := range []string{"http://192.0.2.2/", "http://[2001:db8::2]/", "http://192.0.2.2/other"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := ns.Command(ctx, "curl", "-sS", "--max-time", "20", url).CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(out), "Hello from synack") {
			t.Fatalf("curl %s: %v\n%s\nserve's log:\n%s", url, err, out, r.stderr)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, r.stderr)
	}
	out := r.stdout.String()
	for _, want := range []string{"counters of syn0", "PassiveOpens             3", "EstabResets              0", "Drop/not-tcp"} {
		if !strings.Contains(out, want) {
			t.Errorf("counters lack %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"msg=serving", "tun=syn0", "addr=192.0.2.2/24", "addr=2001:db8::2/64", "msg=accepted", "msg=\"shutting down\""} {
		if !strings.Contains(r.stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, r.stderr)
		}
	}
}

// serve --app echo with JSON logs: a kernel client's data comes back and
// its half-close is answered with synack's FIN; a connection still open at
// the signal is closed by synack (the kernel reads EOF).
func TestServeEchoJSON(t *testing.T) {
	ns := cliNetns(t, "syn0")
	r := start(t, ns, "serve", nil, "--tun", "syn0", "--addr", "192.0.2.2", "--port", "7", "--app", "echo",
		"--log-format", "json", "--msl", "1s", "--pcap", t.TempDir()+"/serve.pcap")
	r.waitFor(t, r.stderr, `"msg":"serving"`)
	dial := func() *net.TCPConn {
		var c net.Conn
		err := ns.Do(func() (err error) {
			c, err = net.DialTimeout("tcp", "192.0.2.2:7", 20*time.Second)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.TCPConn)
	}
	c := dial()
	msg := strings.Repeat("echo me ", 100000)
	go func() {
		c.Write([]byte(msg))
		c.CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != msg {
		t.Fatalf("echo: %d bytes, %v; want %d bytes back and EOF", len(got), err, len(msg))
	}
	idle := dial()
	idle.Write([]byte("x"))
	buf := make([]byte, 1)
	idle.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(idle, buf); err != nil {
		t.Fatal(err)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, r.stderr)
	}
	if n, err := idle.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("the connection open at shutdown: read %d, %v; want EOF (synack's FIN)", n, err)
	}
	msgs := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(r.stderr.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		msgs[rec["msg"].(string)] = true
	}
	for _, m := range []string{"serving", "accepted", "closed", "shutting down"} {
		if !msgs[m] {
			t.Errorf("JSON log lacks %q:\n%s", m, r.stderr)
		}
	}
}

// What a user gets wrong outside the flags exits non-zero with one line:
// no permission to use TUN, a device another process holds.
func TestServeErrors(t *testing.T) {
	ns := cliNetns(t, "syn0")
	args := []string{"--tun", "syn1", "--addr", "192.0.2.2/24", "--port", "80", "--app", "echo"}
	var out, errb bytes.Buffer
	err := ns.Do(func() error {
		// Capabilities belong to the thread, which Do discards.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return err
		}
		return runServe(context.Background(), args, &out, &errb)
	})
	if err == nil || errors.Is(err, errUsage) || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		t.Errorf("serve without CAP_NET_ADMIN: %v, want a permission error naming CAP_NET_ADMIN", err)
	}

	r := start(t, ns, "serve", nil, "--tun", "syn0", "--addr", "192.0.2.2/24", "--port", "80", "--app", "discard")
	r.waitFor(t, r.stderr, "msg=serving")
	err = ns.Do(func() error {
		return runServe(context.Background(), []string{"--tun", "syn0", "--addr", "192.0.2.3/24", "--port", "80", "--app", "echo"}, &out, &errb)
	})
	if !errors.Is(err, syscall.EBUSY) || strings.Contains(err.Error(), "\n") {
		t.Errorf("a second serve on the same device: %v, want one line with EBUSY", err)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}

// dial without --app is nc: stdin goes to a kernel echo server, which
// sees the half-close, and what comes back goes to stdout. dial to a
// closed port fails with ECONNREFUSED; dial --app echo serves a kernel
// peer.
func TestDial(t *testing.T) {
	ns := cliNetns(t, "syn0")
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", "[2001:db8::1]:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c) // returns at dial's FIN
			}()
		}
	}()
	base := []string{"--tun", "syn0", "--addr", "192.0.2.2/24", "--addr", "2001:db8::2/64"}
	input := strings.Repeat("hello over synack\n", 10000)
	r := start(t, ns, "dial", strings.NewReader(input), append(base, ln.Addr().String())...)
	select {
	case err := <-r.done():
		if err != nil {
			t.Fatalf("dial: %v\n%s", err, r.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("dial still running after 30 s:\n%s", r.stderr)
	}
	if got := r.stdout.String(); got != input {
		t.Errorf("dial's stdout: %d bytes, want the %d of stdin back", len(got), len(input))
	}

	var out, errb bytes.Buffer
	err = ns.Do(func() error {
		return runDial(context.Background(), append(base, "192.0.2.1:1"), strings.NewReader(""), &out, &errb)
	})
	if !errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errUsage) {
		t.Errorf("dial to a closed port: %v, want ECONNREFUSED", err)
	}

	// --app echo: the kernel's side sends and half-closes, dial echoes.
	var kln net.Listener
	err = ns.Do(func() (err error) {
		kln, err = net.Listen("tcp", "192.0.2.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer kln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := kln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.Write([]byte("ping"))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	r = start(t, ns, "dial", nil, append(base, "--app", "echo", kln.Addr().String())...)
	select {
	case s := <-got:
		if s != "ping" {
			t.Errorf("kernel got %q back from dial --app echo, want ping", s)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no echo after 30 s:\n%s", r.stderr)
	}
	select {
	case err := <-r.done():
		if err != nil {
			t.Errorf("dial --app echo: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("dial --app echo did not exit after the echo:\n%s", r.stderr)
	}
}

// --congestion names the algorithm as Linux's tcp_congestion_control; the
// default is cubic, as Linux's.
func TestCongestionFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want tcp.CongestionControl
	}{
		{nil, tcp.CongestionCubic},
		{[]string{"--congestion", "reno"}, tcp.CongestionReno},
		{[]string{"--congestion", "cubic"}, tcp.CongestionCubic},
	} {
		var f netFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(append([]string{"--tun", "tun0", "--addr", "192.0.2.2/24"}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := f.config()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.TCP.CongestionControl != tc.want {
			t.Errorf("%v: congestion control %v, want %v", tc.args, cfg.TCP.CongestionControl, tc.want)
		}
	}
}

// serve --trace: a kernel client's connection — handshake, data both
// ways, the client's half-close, synack's FIN — recorded as it happened:
// JSON lines with wall-clock times, every segment both ways, synack's
// states with their rules, its timers and the application's calls; and
// the same connection as a text ladder.
func TestServeTrace(t *testing.T) {
	ns := cliNetns(t, "syn0")
	dir := t.TempDir()
	for _, file := range []string{dir + "/serve.json", dir + "/serve.txt"} {
		before := time.Now()
		r := start(t, ns, "serve", nil, "--tun", "syn0", "--addr", "192.0.2.2", "--port", "7", "--app", "echo",
			"--msl", "1s", "--trace", file, "--trace-filter", ":7", "--pcap", file+".pcap")
		r.waitFor(t, r.stderr, "msg=serving")
		var c net.Conn
		if err := ns.Do(func() (err error) {
			c, err = net.DialTimeout("tcp", "192.0.2.2:7", 20*time.Second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		msg := strings.Repeat("trace me ", 2000)
		go func() {
			c.Write([]byte(msg))
			c.(*net.TCPConn).CloseWrite()
		}()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != msg {
			t.Fatalf("echo: %d bytes, %v", len(got), err)
		}
		// The kernel's last ACK takes synack from LAST-ACK to CLOSED.
		time.Sleep(200 * time.Millisecond)
		if err := r.stop(t); err != nil {
			t.Fatalf("serve: %v\n%s", err, r.stderr)
		}
		after := time.Now()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(file, ".txt") {
			for _, want := range []string{"192.0.2.1", "synack", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED",
				"SYN,ACK", "FIN,", "app: accept", "app: close"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("%s lacks %q:\n%s", file, want, b)
				}
			}
			continue
		}
		var epoch time.Time
		var states []string
		seen := map[string]bool{}
		var last time.Duration
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var e struct {
				T                                int64
				Host, Event, Flags, From, To     string
				Conn                             string
				Cause, Text, Call, Timer, Action string
				Len                              int
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("line %d is not JSON: %q", i+1, line)
			}
			if i == 0 {
				_, at, ok := strings.Cut(e.Text, " trace from ")
				if epoch, err = time.Parse(time.RFC3339Nano, at); !ok || err != nil {
					t.Fatalf("first line %q: no wall-clock start", line)
				}
				if epoch.Before(before) || epoch.After(after) {
					t.Errorf("trace starts at %v, not while serve ran (%v to %v)", epoch, before, after)
				}
				continue
			}
			if d := time.Duration(e.T); d < last || epoch.Add(d).After(after) {
				t.Errorf("line %d: time %v out of order or after the run", i+1, d)
			} else {
				last = d
			}
			switch e.Event {
			case "state":
				if e.Cause == "" {
					t.Errorf("state change without its rule: %s", line)
				}
				if strings.Contains(e.Conn, "→") { // not the listener's own
					states = append(states, e.From+">"+e.To)
				}
			case "send", "recv":
				k := e.Event + " " + strings.ReplaceAll(e.Flags, "PSH,", "")
				if e.Len > 0 {
					k += " data"
				}
				seen[k] = true
				if strings.Contains(e.Flags, "FIN") {
					seen[e.Event+" FIN"] = true
				}
			case "timer":
				seen["timer "+e.Action] = true
			case "user":
				seen["user "+e.Call] = true
			}
		}
		for _, want := range []string{"recv SYN", "send SYN,ACK", "recv ACK", "recv ACK data", "send ACK data",
			"recv FIN", "send FIN", "timer set", "timer cancel", "user accept", "user read", "user send", "user close"} {
			if !seen[want] {
				t.Errorf("the trace lacks %q (has %v)", want, seen)
			}
		}
		want := "LISTEN>SYN-RECEIVED SYN-RECEIVED>ESTABLISHED ESTABLISHED>CLOSE-WAIT CLOSE-WAIT>LAST-ACK LAST-ACK>CLOSED"
		if got := strings.Join(states, " "); got != want {
			t.Errorf("states\n  %s\nwant\n  %s", got, want)
		}
		// synack draw of the same connection, from serve's --pcap,
		// infers synack's states: each one the trace shows it went
		// through, in order (a state it cannot show is left out, none is
		// wrong).
		in, err := os.Open(file + ".pcap")
		if err != nil {
			t.Fatal(err)
		}
		capt, err := infer.Read(in)
		in.Close()
		if err != nil || len(capt.Conns) != 1 {
			t.Fatalf("the --pcap capture: %v, %d connections", err, len(capt.Conns))
		}
		var inferred []string
		for _, h := range capt.Conns[0].Hosts {
			if h.Addr.Port() != 7 {
				continue
			}
			for _, ch := range h.Changes {
				inferred = append(inferred, ch.From+">"+ch.To)
			}
		}
		if !isSubsequence(inferred, states) || len(inferred) < 2 {
			t.Errorf("synack draw infers synack's states\n  %v\nthe trace recorded\n  %v", inferred, states)
		}
	}
}

// dial --trace FILE.html: the connection dial opened to a kernel echo
// server, as an HTML report: synack's side goes SYN-SENT, ESTABLISHED,
// FIN-WAIT-1 (stdin's EOF), then TIME-WAIT or CLOSED.
func TestDialTrace(t *testing.T) {
	ns := cliNetns(t, "syn0")
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", "192.0.2.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	file := t.TempDir() + "/dial.html"
	input := strings.Repeat("hello\n", 100)
	r := start(t, ns, "dial", strings.NewReader(input), "--tun", "syn0", "--addr", "192.0.2.2/24", "--msl", "1s", "--trace", file, ln.Addr().String())
	select {
	case err := <-r.done():
		if err != nil {
			t.Fatalf("dial: %v\n%s", err, r.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("dial still running after 30 s:\n%s", r.stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<!DOCTYPE html>", "recorded by synack dial", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "app: connect", "app: close-write"} {
		if !strings.Contains(page, want) {
			t.Errorf("the trace lacks %q", want)
		}
	}
}

// The pictures of --trace keep the connections heard from last, each
// bounded; JSON keeps nothing. Bad --trace flags are usage errors.
func TestTraceKeep(t *testing.T) {
	f := traceFlags{file: t.TempDir() + "/t.txt", keep: 3}
	if err := f.check(); err != nil {
		t.Fatal(err)
	}
	tr, err := f.open("serve", "synack")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		conn := fmt.Sprintf("192.0.2.2:80→192.0.2.1:%d", 40000+i)
		for k := range 3 {
			e := trace.Event{T: time.Duration(i*10+k) * time.Millisecond, Host: "synack", Event: trace.KindUser, Conn: conn, Call: "read", N: k + 1}
			if tr.take(&e) {
				t.Fatal("the recorder was asked to keep an event")
			}
		}
	}
	if len(tr.conns) != 3 {
		t.Fatalf("%d connections kept, want 3", len(tr.conns))
	}
	if err := tr.close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.file)
	for i := range 10 {
		if has := strings.Contains(string(b), fmt.Sprintf(":%d", 40000+i)); has != (i >= 7) {
			t.Errorf("connection %d drawn: %v, want %v", i, has, i >= 7)
		}
	}
	for _, c := range []struct {
		f    traceFlags
		want string
	}{
		{traceFlags{file: "t.bin", keep: 1}, "the extension does not say the format"},
		{traceFlags{file: "t.json", format: "pdf", keep: 1}, "--trace-format must be json, text, svg or html"},
		{traceFlags{file: "t.svg", keep: 0}, "--trace-keep must be at least 1"},
		{traceFlags{file: "t.svg", keep: 1, filter: "port80"}, "--trace-filter"},
		{traceFlags{filter: ":80"}, "go with --trace FILE"},
	} {
		if err := c.f.check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.f, err, c.want)
		}
	}
	for _, c := range []struct {
		filter string
		a, b   string
		want   bool
	}{{"80", "192.0.2.2:80", "192.0.2.1:4000", true}, {":81", "192.0.2.2:80", "192.0.2.1:4000", false},
		{"192.0.2.1", "192.0.2.2:80", "192.0.2.1:4000", true}, {"192.0.2.1:4001", "192.0.2.2:80", "192.0.2.1:4000", false}} {
		m, err := parseTraceFilter(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		if got := m(netip.MustParseAddrPort(c.a), netip.MustParseAddrPort(c.b)); got != c.want {
			t.Errorf("--trace-filter %s on %s→%s: %v", c.filter, c.a, c.b, got)
		}
	}
}

// isSubsequence: every element of a is in b, in order.
func isSubsequence(a, b []string) bool {
	i := 0
	for _, x := range b {
		if i < len(a) && a[i] == x {
			i++
		}
	}
	return i == len(a)
}
