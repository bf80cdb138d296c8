package bench

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// linkCases are the links the benchmarks run on.
var linkCases = []struct {
	name string
	opts linkOpts
}{
	{"mtu=1500", linkOpts{mtu: 1500}},
	{"mtu=65535", linkOpts{mtu: 65535}},
	{"loss=1%", linkOpts{mtu: 1500, loss: 0.01, seed: 1}},
}

// forEachPeer runs f as a subtest or sub-benchmark per peer, with a fresh
// peer on a link of opts, skipping the combinations a peer cannot do.
func forEachPeer(tb testing.TB, run func(name string, f func(testing.TB)) bool, opts linkOpts, f func(testing.TB, peer)) {
	for _, name := range peerNames {
		run(name, func(tb testing.TB) {
			p, err := newPeer(name, opts)
			if errors.Is(err, errNoLoss) {
				tb.Skip(err)
			}
			if err != nil {
				tb.Fatal(err)
			}
			defer p.close()
			f(tb, p)
		})
	}
}

func tRun(t *testing.T) func(string, func(testing.TB)) bool {
	return func(name string, f func(testing.TB)) bool {
		return t.Run(name, func(t *testing.T) { f(t) })
	}
}

// TestPeersWork checks that every peer moves 1 MiB intact in one
// direction, with a half-close, on every link the benchmarks use; and a
// 1-byte echo; so the benchmarks are known to measure working transfers.
func TestPeersWork(t *testing.T) {
	data := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	want := sha256.Sum256(data)
	for _, lc := range linkCases {
		t.Run(lc.name, func(t *testing.T) {
			forEachPeer(t, tRun(t), lc.opts, func(tb testing.TB, p peer) {
				// The server hashes what it reads until EOF and answers
				// with the digest.
				srv, err := serve(p, func(c net.Conn) {
					defer c.Close()
					h := sha256.New()
					if _, err := io.Copy(h, c); err != nil {
						tb.Error("server:", err)
						return
					}
					c.Write(h.Sum(nil))
				})
				if err != nil {
					tb.Fatal(err)
				}
				defer srv.stop()
				c, err := p.dial(srv.addr)
				if err != nil {
					tb.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Minute))
				if _, err := c.Write(data); err != nil {
					tb.Fatal(err, diagnose(p))
				}
				if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
					tb.Fatal(err)
				}
				got, err := io.ReadAll(c)
				if err != nil {
					tb.Fatal(err, diagnose(p))
				}
				if !bytes.Equal(got, want[:]) {
					tb.Fatalf("server's SHA-256 %x, want %x", got, want)
				}

				// One round of each protocol the benchmarks use.
				e, err := serve(p, echo)
				if err != nil {
					tb.Fatal(err)
				}
				defer e.stop()
				ec, err := p.dial(e.addr)
				if err != nil {
					tb.Fatal(err)
				}
				defer ec.Close()
				ec.SetDeadline(time.Now().Add(time.Minute))
				var b [1]byte
				if _, err := ec.Write([]byte{'x'}); err != nil {
					tb.Fatal(err)
				}
				if _, err := io.ReadFull(ec, b[:]); err != nil || b[0] != 'x' {
					tb.Fatalf("echo: %q, %v", b, err)
				}
				s, err := serve(p, sink)
				if err != nil {
					tb.Fatal(err)
				}
				defer s.stop()
				sc, err := p.dial(s.addr)
				if err != nil {
					tb.Fatal(err)
				}
				defer sc.Close()
				sc.SetDeadline(time.Now().Add(time.Minute))
				if err := sendRound(sc, data[:ioSize], 1<<20+7, 30*time.Second); err != nil {
					tb.Fatal(err, diagnose(p))
				}
			})
		})
	}
}
