package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/synack/synack/internal/netnsgc"
	"golang.org/x/sys/unix"
)

// nsPrefix starts the name of every namespace tunbench makes; the PID of
// the process that made it follows, so that a later run can delete the
// namespaces of a run that was killed (sweep).
const nsPrefix = "tunbench-"

// reg holds what must be undone however the program ends: the namespaces
// it made and the processes it started. cleanup undoes it all; main calls
// it on return, on a panic and on SIGINT, SIGTERM or SIGHUP.
var reg = struct {
	sync.Mutex
	ns    map[string]bool
	procs map[*proc]bool
	done  bool
}{ns: map[string]bool{}, procs: map[*proc]bool{}}

// cleanup ends every process still running (SIGTERM, then SIGKILL, each
// by its PID) and deletes every namespace still there. It may be called
// more than once, from any goroutine.
func cleanup() {
	reg.Lock()
	reg.done = true
	procs := make([]*proc, 0, len(reg.procs))
	for p := range reg.procs {
		procs = append(procs, p)
	}
	names := make([]string, 0, len(reg.ns))
	for n := range reg.ns {
		names = append(names, n)
	}
	reg.Unlock()
	for _, p := range procs {
		p.stop(2 * time.Second)
	}
	for _, n := range names {
		delNetns(n)
	}
}

// sweep deletes the namespaces of earlier tunbench processes that no
// longer exist (killed with SIGKILL, say, which runs no cleanup).
func sweep() {
	for _, name := range netnsgc.Dead(nsPrefix) {
		fmt.Fprintf(os.Stderr, "tunbench: deleting namespace %s left by a dead run\n", name)
		delNetns(name)
	}
}

// netns is a network namespace made by this process.
type netns struct {
	name string
	path string
}

// newNetns creates the namespace tunbench-<pid>-<random>-<role> with its
// loopback up.
func newNetns(role string) (*netns, error) {
	var b [3]byte
	rand.Read(b[:])
	n := &netns{name: fmt.Sprintf("%s%d-%s-%s", nsPrefix, os.Getpid(), hex.EncodeToString(b[:]), role)}
	n.path = filepath.Join("/run/netns", n.name)
	reg.Lock()
	if reg.done {
		reg.Unlock()
		return nil, errors.New("shutting down")
	}
	reg.ns[n.name] = true // before it exists: a signal now still deletes it
	reg.Unlock()
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		n.del()
		return nil, fmt.Errorf("ip netns add %s: %v: %s", n.name, err, bytes.TrimSpace(out))
	}
	if err := n.ip("link", "set", "lo", "up"); err != nil {
		n.del()
		return nil, err
	}
	return n, nil
}

func delNetns(name string) {
	if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "tunbench: ip netns del %s: %v: %s\n", name, err, bytes.TrimSpace(out))
		}
	}
	reg.Lock()
	delete(reg.ns, name)
	reg.Unlock()
}

func (n *netns) del() { delNetns(n.name) }

// ip runs `ip -n NAME args...`.
func (n *netns) ip(args ...string) error {
	args = append([]string{"-n", n.name}, args...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// output runs a command inside the namespace and returns its output.
func (n *netns) output(name string, args ...string) (string, error) {
	args = append([]string{"netns", "exec", n.name, name}, args...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	return string(out), err
}

// enter moves the calling goroutine's thread into the namespace and
// locks the goroutine to it for good: the thread exits with the
// goroutine, never to run anything else. Sockets made on it belong to the
// namespace and may be used from any goroutine.
func (n *netns) enter() error {
	runtime.LockOSThread() // never unlocked
	fd, err := unix.Open(n.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", n.path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", n.name, err)
	}
	return nil
}

// do runs f on a fresh thread inside the namespace and returns its error.
func (n *netns) do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		if err := n.enter(); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// sysctl sets a (per-namespace) net.* sysctl.
func (n *netns) sysctl(key, value string) error {
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	return n.do(func() error {
		// /proc/sys/net shows the namespace of the thread that opens it.
		if err := os.WriteFile(path, []byte(value), 0); err != nil {
			return fmt.Errorf("sysctl %s=%s in %s: %w", key, value, n.name, err)
		}
		return nil
	})
}

// proc is a process started inside a namespace (through `ip netns exec`,
// which execs it: the PID is the program's).
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *bytes.Buffer // stdout, when not sent to a file
	done chan struct{}
	err  error // of Wait, once done is closed
}

// start starts bin in namespace n with stdout and stderr sent to files
// (when the paths are not empty) or kept in memory (stdout) / dropped.
// The process dies with tunbench if tunbench is killed (Pdeathsig), and
// is registered so that cleanup ends it.
func start(n *netns, stdoutPath, stderrPath string, bin string, args ...string) (*proc, error) {
	return startEnv(n, nil, stdoutPath, stderrPath, bin, args...)
}

// startEnv is start with environ added to the program's environment.
func startEnv(n *netns, environ []string, stdoutPath, stderrPath string, bin string, args ...string) (*proc, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, bin}, args...)...)
	if len(environ) > 0 {
		cmd.Env = append(os.Environ(), environ...)
	}
	// Its own process group, so that a ^C at the terminal reaches
	// tunbench only, which then stops everything in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{name: filepath.Base(bin), cmd: cmd, done: make(chan struct{})}
	var files []*os.File
	if stdoutPath != "" {
		f, err := os.Create(stdoutPath)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		cmd.Stdout = f
	} else {
		p.out = new(bytes.Buffer)
		cmd.Stdout = p.out
	}
	if stderrPath != "" {
		f, err := os.Create(stderrPath)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		cmd.Stderr = f
	} else if stdoutPath == "" {
		cmd.Stderr = p.out
	}
	reg.Lock()
	if reg.done {
		reg.Unlock()
		return nil, errors.New("shutting down")
	}
	// Started under the lock, so that cleanup cannot miss it; on the
	// spawner thread, so that Pdeathsig means tunbench's death.
	err := spawn(cmd)
	if err == nil {
		reg.procs[p] = true
	}
	reg.Unlock()
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		for _, f := range files {
			f.Close()
		}
		reg.Lock()
		delete(reg.procs, p)
		reg.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Pdeathsig is sent when the *thread* that forked the child exits, not
// the process. Go ends a thread when a goroutine locked to it returns,
// which the clients' goroutines do (netns.enter), and any thread may have
// forked a child before it ran such a goroutine. So every child is forked
// from one thread kept for it, locked and never ended.
var spawnc = make(chan spawnReq)

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func init() {
	go func() {
		runtime.LockOSThread() // for good: this thread never exits
		for r := range spawnc {
			r.errc <- r.cmd.Start()
		}
	}()
}

func spawn(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	spawnc <- spawnReq{cmd, errc}
	return <-errc
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process, by its PID.
func (p *proc) signal(sig syscall.Signal) {
	if !p.exited() {
		syscall.Kill(p.pid(), sig)
	}
}

// wait waits for the process to exit, up to d; it reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends the process: SIGTERM, and SIGKILL if it has not exited after
// grace.
func (p *proc) stop(grace time.Duration) {
	p.signal(syscall.SIGTERM)
	if !p.wait(grace) {
		p.signal(syscall.SIGKILL)
		p.wait(5 * time.Second)
	}
}

// run runs bin in namespace n to completion, or kills it after timeout
// (or when ctx is done), and returns its combined output.
func run(ctx context.Context, n *netns, timeout time.Duration, bin string, args ...string) (string, error) {
	p, err := start(n, "", "", bin, args...)
	if err != nil {
		return "", err
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.stop(time.Second)
		return p.out.String(), fmt.Errorf("%s: killed after %v", p.name, timeout)
	case <-ctx.Done():
		p.stop(time.Second)
		return p.out.String(), ctx.Err()
	}
	return p.out.String(), p.err
}

// rssKB is a process's resident set (VmRSS), in KiB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// slabKB is the kernel's slab memory (Slab in /proc/meminfo), in KiB: the
// whole machine's.
func slabKB() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Slab:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no Slab")
}

// cpuSeconds is a process's user + system CPU time.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// After the command: state(0) ... utime(11) stime(12), in clock ticks.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100 // USER_HZ is 100 on Linux
}
