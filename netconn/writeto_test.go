package netconn

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/synack/synack/stack"
)

// io.Copy from a Conn goes through WriteTo and moves every byte, in
// order, up to the peer's FIN.
func TestWriteToCopiesTheStream(t *testing.T) {
	h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
	ca, cb, _ := h.connect(t)
	data := make([]byte, 3<<20+17)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	go func() {
		ca.Write(data)
		ca.CloseWrite()
	}()
	var got bytes.Buffer
	// A writer that hides ReadFrom, as most are: io.Copy picks WriteTo.
	n, err := io.Copy(struct{ io.Writer }{&got}, cb)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("io.Copy = %d, %v; want %d, nil", n, err, len(data))
	}
	if sha256.Sum256(got.Bytes()) != sha256.Sum256(data) {
		t.Fatal("the bytes copied differ from those sent")
	}
}

type failWriter struct{ after int }

var errWriter = errors.New("writer failed")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errWriter
	}
	f.after -= len(p)
	return len(p), nil
}

// WriteTo stops at the writer's error and counts only what it took; a
// read deadline ends it as it ends Read.
func TestWriteToErrors(t *testing.T) {
	h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
	ca, cb, _ := h.connect(t)
	go ca.Write(make([]byte, 200<<10))
	n, err := cb.WriteTo(&failWriter{after: 100000})
	if !errors.Is(err, errWriter) || n != 100000 {
		t.Fatalf("WriteTo = %d, %v; want 100000, the writer's error", n, err)
	}

	cb.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = cb.WriteTo(io.Discard)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WriteTo past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
}

// An echo server's io.Copy(c, c) waiting on an idle connection holds no
// buffer: the heap grows by far less than io.Copy's own 32 KiB buffer per
// connection would make it.
func TestWriteToIdleHoldsNoBuffer(t *testing.T) {
	h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
	ln, err := h.b.Listen("tcp", addrB)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(c, c)
			wg.Done()
		}
	}()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var conns []*Conn
	dial := func(k int) {
		wg.Add(k)
		for range k {
			c, err := h.a.Dial("tcp", addrB)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c.(*Conn))
		}
		wg.Wait()
	}
	dial(1)
	before := heap()
	dial(n)
	time.Sleep(20 * time.Millisecond) // every io.Copy waiting
	per := int64(heap()-before) / n
	t.Logf("heap per idle echo connection (both ends): %d B", per)
	if per > 16<<10 {
		t.Errorf("heap per idle echo connection %d B: an io.Copy buffer is held", per)
	}
	runtime.KeepAlive(conns)
}
