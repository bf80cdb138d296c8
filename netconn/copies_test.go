//go:build synack_copies

package netconn

import (
	"io"
	"testing"

	"github.com/synack/synack/internal/copies"
	"github.com/synack/synack/stack"
)

// How many times each data byte is copied between one application's Write
// and the other's Read over an in-memory link: go test -tags
// synack_copies -run CopiesPerByte -v ./netconn. The stack itself copies
// twice on each side (into and out of its buffers) and once into each
// packet; the pipe's copy stands for the wire.
func TestCopiesPerByte(t *testing.T) {
	h := newHosts(t, stack.Config{}, stack.Config{}, nil, nil)
	ca, cb, ln := h.connect(t)
	defer ln.Close()
	const total = 32 << 20
	before := copies.Snapshot()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for sent := 0; sent < total; sent += len(buf) {
			if _, err := ca.Write(buf); err != nil {
				done <- err
				return
			}
		}
		done <- ca.CloseWrite()
	}()
	n, err := io.Copy(io.Discard, cb)
	if err != nil || n != total {
		t.Fatalf("read %d bytes, %v; want %d", n, err, total)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after := copies.Snapshot()
	var sum float64
	for s := copies.Site(0); s < copies.NumSites; s++ {
		per := float64(after[s]-before[s]) / total
		sum += per
		if per > 0 {
			t.Logf("%-10s %.3f copies per byte", s, per)
		}
	}
	t.Logf("total      %.3f copies per byte (headers counted where whole packets are copied)", sum)
	for _, s := range []copies.Site{copies.SendRing, copies.ReadOut} {
		if per := float64(after[s]-before[s]) / total; per < 0.99 || per > 1.01 {
			t.Errorf("%s: %.3f copies per byte, want 1", s, per)
		}
	}
	if per := float64(after[copies.RecvRing]-before[copies.RecvRing]) / total; per > 1.05 {
		t.Errorf("recv-ring: %.3f copies per byte: data is copied in more than once", per)
	}
}
