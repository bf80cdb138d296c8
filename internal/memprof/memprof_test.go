package memprof

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFuncPackage(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/synack/synack/netconn.(*Conn).Read":         "github.com/synack/synack/netconn",
		"gvisor.dev/gvisor/pkg/tcpip/transport/tcp.newEndpoint": "gvisor.dev/gvisor/pkg/tcpip/transport/tcp",
		"runtime.malg":                   "runtime",
		"main.main.func1":                "main",
		"net/http.(*conn).serve":         "net/http",
		"slices.Grow[go.shape.[]*a/b.T]": "slices",
	} {
		if got := funcPackage(fn); got != want {
			t.Errorf("funcPackage(%q) = %q, want %q", fn, got, want)
		}
	}
}

var kept [][]byte

//go:noinline
func allocStack(n int) {
	for range n {
		kept = append(kept, make([]byte, 4096))
	}
}

// The bytes a "stack" package allocates and keeps are counted as the
// stack's, at the function that allocated them, while what the standard
// library allocates for nobody's package is not.
func TestMeasureAttributes(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	o := Owners{Stack: []string{"github.com/synack/synack/internal/memprof"}, App: []string{"github.com/synack/synack/internal/apps"}}
	before := Measure(o)
	allocStack(256) // 1 MiB
	after := Measure(o)
	runtime.KeepAlive(kept)
	if d := after.Stack - before.Stack; d < 256*4096 || d > 256*4096+64<<10 {
		t.Errorf("the stack's bytes grew by %d, want 1 MiB (and the slice of them)", d)
	}
	if len(after.Sites) == 0 || !strings.HasSuffix(after.Sites[0].Func, ".allocStack") {
		t.Errorf("largest site %v, want allocStack", after.Sites[:min(3, len(after.Sites))])
	}
	kept = nil
}

// With Env set, SIGUSR1 writes the figures and a profile.
func TestSignalWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mem")
	t.Setenv(Env, path)
	old := runtime.MemProfileRate
	defer func() { runtime.MemProfileRate = old }()
	stop := Start(Owners{Stack: []string{"github.com/synack/synack/internal/memprof"}})
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if err == nil {
			if !strings.HasPrefix(string(b), "stack ") || !strings.Contains(string(b), "\napp ") {
				t.Fatalf("figures:\n%s", b)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal("no figures 10 s after SIGUSR1")
		}
	}
	if fi, err := os.Stat(path + ".pprof"); err != nil || fi.Size() == 0 {
		t.Errorf("profile: %v", err)
	}
}
