// Package interop tests synack against the Linux kernel's TCP: each test
// creates its own network namespace with a TUN device in it, puts synack
// on the user-space side of the TUN and the kernel's sockets on the other,
// and deletes the namespace afterwards, also after a failure.
//
// The tests need root and /dev/net/tun. Elsewhere they skip, unless
// SYNACK_REQUIRE_NETNS=1 (as CI sets it), which makes them fail instead.
//
// This file holds the namespace helpers, which the tests of link/tun and
// cmd/synack use too; the tests themselves are in the _test files.
package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/synack/synack/internal/netnsgc"
	"golang.org/x/sys/unix"
)

// Addresses of the two sides of every test's TUN: the kernel has .1 and
// ::1, synack .2 and ::2 (documentation ranges, RFC 5737 and RFC 3849).
const (
	KernelV4   = "192.0.2.1"
	SynackV4   = "192.0.2.2"
	KernelV6   = "2001:db8::1"
	SynackV6   = "2001:db8::2"
	PrefixLen4 = 24
	PrefixLen6 = 64
)

// RequireNetns skips the test unless it can create network namespaces and
// TUN devices (root, /dev/net/tun, the ip command); with
// SYNACK_REQUIRE_NETNS=1 it fails instead.
func RequireNetns(t testing.TB) {
	t.Helper()
	var why string
	switch {
	case runtime.GOOS != "linux":
		why = "needs Linux"
	case os.Geteuid() != 0:
		why = "needs root"
	default:
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			why = "needs /dev/net/tun"
		} else if _, err := exec.LookPath("ip"); err != nil {
			why = "needs the ip command (apt-get install iproute2)"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("SYNACK_REQUIRE_NETNS") == "1" {
		t.Fatalf("network namespace test %s, and SYNACK_REQUIRE_NETNS=1", why)
	}
	t.Skipf("network namespace test %s; run as root with /dev/net/tun (CI sets SYNACK_REQUIRE_NETNS=1 to require it)", why)
}

// RequireCommand skips the test if a command is missing, or fails with
// SYNACK_REQUIRE_NETNS=1.
func RequireCommand(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("SYNACK_REQUIRE_NETNS") == "1" {
		t.Fatalf("%s not installed (apt-get install %s) and SYNACK_REQUIRE_NETNS=1", name, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	return ""
}

// prefix starts the name of every namespace the tests make; the creating
// process's PID follows it.
const prefix = "synack-test-"

var sweepOnce sync.Once

// sweep deletes the namespaces of test processes that no longer exist: a
// test binary killed by its timeout runs no cleanups.
func sweep() {
	for _, name := range netnsgc.Dead(prefix) {
		exec.Command("ip", "netns", "del", name).Run()
	}
}

// Netns is a network namespace made for one test.
type Netns struct {
	Name string
	path string
}

// NewNetns creates a namespace named synack-test-<pid>-<random> with its
// loopback up, and deletes it when the test ends (t.Cleanup), whatever
// the outcome. Cleanups registered later (closing devices and stacks) run
// before the deletion. Namespaces left by test processes that died without
// cleaning up (killed by a timeout) are deleted first. It calls
// RequireNetns first.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	RequireNetns(t)
	sweepOnce.Do(sweep)
	var b [4]byte
	rand.Read(b[:])
	n := &Netns{Name: fmt.Sprintf("%s%d-%s", prefix, os.Getpid(), hex.EncodeToString(b[:]))}
	n.path = filepath.Join("/run/netns", n.Name)
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.Name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n.Name, err, out)
		}
	})
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// Do runs f on a fresh OS thread that has entered the namespace, and
// returns f's error. Sockets and TUN devices made in f belong to the
// namespace and may be used from any goroutine afterwards; goroutines
// that f starts run outside it. The thread is never returned to the
// runtime's pool: it exits with the goroutine.
func (n *Netns) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		fd, err := unix.Open(n.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open %s: %w", n.path, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// IP runs `ip -n NAME args...` and fails the test on error; it returns
// the output.
func (n *Netns) IP(t testing.TB, args ...string) string {
	t.Helper()
	args = append([]string{"-n", n.Name}, args...)
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command returns a command that runs name with args inside the namespace
// (ip netns exec). With a context, the process is killed when it is done;
// a test that starts one must wait for it or kill it by its PID.
func (n *Netns) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	args = append([]string{"netns", "exec", n.Name, name}, args...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// ConfigureKernelSide gives the kernel's side of dev the addresses
// 192.0.2.1/24 and 2001:db8::1/64 (without duplicate address detection)
// and sets the link up.
func (n *Netns) ConfigureKernelSide(t testing.TB, dev string) {
	t.Helper()
	n.IP(t, "addr", "add", fmt.Sprintf("%s/%d", KernelV4, PrefixLen4), "dev", dev)
	n.IP(t, "addr", "add", fmt.Sprintf("%s/%d", KernelV6, PrefixLen6), "dev", dev, "nodad")
	n.IP(t, "link", "set", dev, "up")
}

// Sysctl sets a sysctl inside the namespace (net.* ones are per
// namespace), e.g. Sysctl(t, "net.ipv4.tcp_syn_retries", "2").
func (n *Netns) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	err := n.Do(func() error {
		// /proc/sys/net shows the namespace of the thread that opens it.
		return os.WriteFile(path, []byte(value), 0)
	})
	if err != nil {
		t.Fatalf("sysctl %s=%s in %s: %v", key, value, n.Name, err)
	}
}
