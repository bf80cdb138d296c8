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

// A Live recorder of one stack, as synack serve --trace uses, hands every
// event to Keep and holds nothing once the connections are over: its
// memory does not grow with a long run's packets and connections.
func TestLiveRecorderHoldsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
		rec := record.New(time.Now())
		rec.Live = true
		var handed, states int
		rec.Keep = func(e *trace.Event) bool {
			handed++
			if e.Event == trace.KindState {
				states++
			}
			return false
		}
		pa, pb := link.Pipe(1500)
		client := netconn.New(stack.Config{})
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
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					io.Copy(c, c)
					c.Close()
				}()
			}
		}()
		const conns = 40
		for range conns {
			c, err := client.Dial("tcp", "192.0.2.2:80")
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("hello"))
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		time.Sleep(3 * time.Minute) // every connection to CLOSED
		synctest.Wait()
		if len(rec.Events) != 0 {
			t.Errorf("the recorder kept %d events", len(rec.Events))
		}
		if states < 4*conns || handed < 10*conns {
			t.Errorf("Keep saw %d events, %d state changes, for %d connections", handed, states, conns)
		}
		if p, f, n := rec.Held(); p != 0 || f != 0 || n != 0 {
			t.Errorf("after %d connections the recorder holds %d packets, %d segments in flight, %d connections' ISNs", conns, p, f, n)
		}
	})
}
