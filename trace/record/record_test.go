package record_test

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/synack/synack/internal/tracecheck"
	"github.com/synack/synack/link"
	"github.com/synack/synack/netconn"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
)

// A recorder for any stack: two netconn stacks on an in-memory pipe, in
// virtual time, each observed by the recorder under its host's name. The
// trace keeps the contract (every send ends in a recv) and draws as a
// ladder with both ends' states, as a simulated run does.
func TestNetconnOnPipeDrawsAsALadder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
		rec := record.New(time.Now())
		pa, pb := link.Pipe(1500)
		client := netconn.New(stack.Config{Observer: rec.StackObserver("A", a)})
		server := netconn.New(stack.Config{Observer: rec.StackObserver("B", b)})
		defer client.Close()
		defer server.Close()
		client.AddLink(pa, netip.PrefixFrom(a, 24))
		server.AddLink(pb, netip.PrefixFrom(b, 24))
		ln, err := server.Listen("tcp", "192.0.2.2:80")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}()
		c, err := client.Dial("tcp", "192.0.2.2:80")
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("hello"))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
			t.Fatalf("echo: %q, %v", buf, err)
		}
		c.Close()
		time.Sleep(3 * time.Minute) // both ends to CLOSED, TIME-WAIT included
		synctest.Wait()

		if bad := tracecheck.Trips(rec.Events, 5); len(bad) > 0 {
			t.Fatalf("the recorded trace breaks the contract:\n%s", strings.Join(bad, "\n"))
		}
		var out bytes.Buffer
		if err := trace.Text(&out, rec.Events, trace.Options{Title: "netconn on a pipe"}); err != nil {
			t.Fatal(err)
		}
		ladder := out.String()
		for _, want := range []string{"CLOSED → SYN-SENT", "LISTEN → SYN-RECEIVED", "SYN-SENT → ESTABLISHED",
			"─ SYN seq=0", "SYN,ACK seq=0 ack=1", "TIME-WAIT → CLOSED", "LAST-ACK → CLOSED"} {
			if !strings.Contains(ladder, want) {
				t.Errorf("the ladder lacks %q:\n%s", want, ladder)
			}
		}
	})
}
