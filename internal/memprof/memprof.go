// Package memprof writes, when asked by SIGUSR1, how many bytes of a
// server's heap are in use and which code allocated them: the network
// stack's packages, the application's, or neither. The TUN benchmark
// (bench/cmd/tunbench) asks `synack serve` and gvisor-serve for it while
// they hold thousands of idle connections, to tell the stack's share of a
// connection's memory from the application's.
//
// It is off unless the environment variable SYNACK_MEMPROFILE names a
// file: then every allocation is sampled (runtime.MemProfileRate = 1, so
// the figures are exact rather than estimated; allocation is slower and
// the process larger, so a run that measures its RSS must not set it), and
// each SIGUSR1 writes the figures to that file and a heap profile, for go
// tool pprof, to the file's name with ".pprof" added.
//
// Only the Go heap is counted. Goroutine stacks are not in it: the
// applications' goroutines (one or two per connection, the same code on
// every stack) are the application's, and neither stack starts goroutines
// per connection.
package memprof

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
)

// Env is the environment variable that turns memprof on.
const Env = "SYNACK_MEMPROFILE"

// Owners say whose an allocation is, by the package of the innermost
// function on its call stack that belongs to either: Stack lists the
// package path prefixes of the network stack, App those of the
// application, checked first. Frames of other packages (the runtime, the
// standard library) are skipped, so an allocation the stack asks of
// package net is the stack's, and the application's io.Copy buffer the
// application's.
type Owners struct {
	Stack, App []string
}

// Start turns memprof on if Env is set, and returns a function that turns
// it off. Call it first thing in main, before the allocations worth
// counting.
func Start(o Owners) (stop func()) {
	path := os.Getenv(Env)
	if path == "" {
		return func() {}
	}
	runtime.MemProfileRate = 1
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-c:
				if err := Write(path, o); err != nil {
					fmt.Fprintln(os.Stderr, "memprof:", err)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(c)
		close(done)
	}
}

// Figures are a heap's bytes in use by owner.
type Figures struct {
	Stack, App, Other int64
	// Sites are the stack's allocating functions (the innermost of its
	// own on each call stack) with their bytes, the largest first.
	Sites []Site
}

// Site is one function and the bytes in use it allocated.
type Site struct {
	Func  string
	Bytes int64
}

// Measure collects the figures after two collections (a heap profile
// shows the heap as of the last one that completed).
func Measure(o Owners) Figures {
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+n/4+16)
	}
	var f Figures
	sites := map[string]int64{}
	rate := float64(runtime.MemProfileRate)
	for i := range recs {
		r := &recs[i]
		b := scaled(r.InUseObjects(), r.InUseBytes(), rate)
		if b == 0 {
			continue
		}
		owner, fn := o.owner(r.Stack())
		switch owner {
		case "stack":
			f.Stack += b
			sites[fn] += b
		case "app":
			f.App += b
		default:
			f.Other += b
		}
	}
	for fn, b := range sites {
		f.Sites = append(f.Sites, Site{fn, b})
	}
	slices.SortFunc(f.Sites, func(a, b Site) int { return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), strings.Compare(a.Func, b.Func)) })
	return f
}

// scaled is a sample's estimated bytes, as pprof scales them
// (runtime/pprof scaleHeapSample): exact when every allocation is
// sampled.
func scaled(count, size int64, rate float64) int64 {
	if count == 0 || size == 0 {
		return 0
	}
	if rate <= 1 {
		return size
	}
	avg := float64(size) / float64(count)
	return int64(float64(size) / (1 - math.Exp(-avg/rate)))
}

// owner classifies a call stack and names the owning function.
func (o Owners) owner(stk []uintptr) (owner, fn string) {
	frames := runtime.CallersFrames(stk)
	for {
		fr, more := frames.Next()
		pkg := funcPackage(fr.Function)
		switch {
		case hasPrefix(pkg, o.App):
			return "app", fr.Function
		case hasPrefix(pkg, o.Stack):
			return "stack", fr.Function
		}
		if !more {
			return "", ""
		}
	}
}

func hasPrefix(pkg string, prefixes []string) bool {
	for _, p := range prefixes {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// funcPackage returns the package path of a function's full name:
// "github.com/synack/synack/netconn" of
// "github.com/synack/synack/netconn.(*Conn).Read".
func funcPackage(fn string) string {
	if i := strings.IndexByte(fn, '['); i >= 0 {
		fn = fn[:i] // type arguments: "pkg.F[go.shape.*other/pkg.T]"
	}
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// Write writes the figures to path, as "name value" lines (bytes), and a
// heap profile to path+".pprof"; each file is written whole under a
// temporary name first, so a reader never sees half of one.
func Write(path string, o Owners) error {
	f := Measure(o)
	var b strings.Builder
	fmt.Fprintf(&b, "stack %d\napp %d\nother %d\n", f.Stack, f.App, f.Other)
	for _, s := range f.Sites[:min(len(f.Sites), 20)] {
		fmt.Fprintf(&b, "site %d %s\n", s.Bytes, s.Func)
	}
	if err := writeFile(path+".pprof", func(w *os.File) error { return pprof.Lookup("heap").WriteTo(w, 0) }); err != nil {
		return err
	}
	return writeFile(path, func(w *os.File) error {
		_, err := w.WriteString(b.String())
		return err
	})
}

func writeFile(path string, fill func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".memprof-*")
	if err != nil {
		return err
	}
	err = fill(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
