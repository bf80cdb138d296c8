package infer_test

import (
	"bytes"
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/infer"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/sim"
	"github.com/synack/synack/trace"
)

var truthDump = flag.String("truth-dump", "", "print a random workload's truth and capture side by side: SEED@A or SEED@B")

func TestTruthDump(t *testing.T) {
	if *truthDump == "" {
		t.Skip("-truth-dump SEED@AT")
	}
	infer.DebugWorlds(true)
	defer infer.DebugWorlds(false)
	s, at, _ := strings.Cut(*truthDump, "@")
	seed, _ := strconv.ParseUint(s, 10, 64)
	var b bytes.Buffer
	w, _ := pcap.NewWriterNano(&b, 0)
	out, err := explore.RunCaptured(explore.Token{Case: explore.RandomCase, Seed: seed}, explore.Capture{W: w, At: at})
	if err != nil {
		t.Fatal(err)
	}
	c, err := infer.Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	off := c.Start.Sub(sim.Epoch)
	type line struct {
		t time.Duration
		s string
	}
	var ls []line
	for _, e := range out.Events {
		switch e.Event {
		case trace.KindState, trace.KindHost, trace.KindNote:
			ls = append(ls, line{e.T, fmt.Sprintf("TRUTH %s %s %s→%s %s %s", e.Host, e.Conn, e.From, e.To, e.Cause, e.Text)})
		case trace.KindUser:
			ls = append(ls, line{e.T, fmt.Sprintf("USER  %s %s %s %s n=%d", e.Host, e.Conn, e.Call, e.Err, e.N)})
		}
	}
	for _, cn := range c.Conns {
		isn := [2]uint32{}
		got := [2]bool{}
		for _, sg := range cn.Segs {
			if sg.Flags&2 != 0 {
				x := 1
				if sg.Src == cn.Ends[0] {
					x = 0
				}
				if !got[x] {
					isn[x], got[x] = sg.Seq, true
				}
			}
		}
		for _, sg := range cn.Segs {
			from := 0
			if sg.Src != cn.Ends[0] {
				from = 1
			}
			dir := "→"
			if from == 1 {
				dir = "←"
			}
			var ms []string
			for _, m := range sg.Marks() {
				ms = append(ms, m.Kind)
			}
			fg := ""
			if sg.Foreign() {
				fg = " FOREIGN"
			}
			ls = append(ls, line{sg.T + off, fg + fmt.Sprintf("  #%d f%d %s %s %-8s seq=%d ack=%d len=%d win=%d %v", cn.ID, sg.Frame, cn.Ends[0], dir, sg.Flags, sg.Seq-isn[from], sg.Ack-isn[1-from], sg.Len, sg.Win, ms)})
		}
		for h, host := range cn.Hosts {
			for _, ch := range host.Changes {
				ls = append(ls, line{ch.T + off, fmt.Sprintf("  INFER #%d %s f%d %s→%s %s unseen=%v via=%v", cn.ID, host.Addr, ch.Frame, ch.From, ch.To, ch.Cause, ch.Unseen, ch.Via)})
			}
			_ = h
			for _, u := range host.Unknown {
				ls = append(ls, line{c.End + off, fmt.Sprintf("  UNK #%d %s %s", cn.ID, host.Addr, u)})
			}
		}
		t.Logf("conn #%d %s delay %v near %v", cn.ID, cn.Name(), cn.Delay, cn.Near)
	}
	sort.SliceStable(ls, func(i, j int) bool { return ls[i].t < ls[j].t })
	for _, l := range ls {
		t.Logf("%12.6f %s", l.t.Seconds(), l.s)
	}
	sc := compare(truthStates(out.Events), inferredStates(c), simHosts(out.Events), false)
	for _, d := range sc.details {
		t.Logf("    %s", d)
	}
}
