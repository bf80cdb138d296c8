package explore

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
)

func TestScheduleAndToken(t *testing.T) {
	s, err := ParseSchedule("dx2l0123")
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "dx2ldx2l" || s.Faults() != 6 || !s.Has(Delay) {
		t.Fatalf("parsed %v (faults %d)", s, s.Faults())
	}
	if got := (Schedule{Drop, Deliver, Deliver}).Trim().String(); got != "x" {
		t.Fatalf("Trim: %q", got)
	}
	if _, err := ParseSchedule("dxq"); err == nil {
		t.Fatal("q accepted")
	}
	// Every schedule of length k is enumerated once.
	seen := map[string]bool{}
	sched := make(Schedule, 3)
	for i := range Count(3) {
		seen[Nth(i, sched).String()] = true
	}
	if len(seen) != 64 {
		t.Fatalf("%d distinct schedules of 3, want 64", len(seen))
	}
	for _, tc := range []struct{ in, out string }{
		{"fourway:6:ddddx", "fourway:6:ddddxd"},
		{"fourway:dxd", "fourway:3:dxd"},
		{"threeway:4:0120", "threeway:4:dx2d"},
		{"random:42", "random:42"},
		{"handshake:0:", "handshake:0:"},
	} {
		tok, err := ParseToken(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if tok.String() != tc.out {
			t.Errorf("%s: parsed as %s, want %s", tc.in, tok, tc.out)
		}
	}
	for _, bad := range []string{"nosuchcase:2:dd", "fourway:2:ddd", "fourway", "random:x", "fourway:a:dd"} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The bounded exploration CI runs: every schedule of the first six
// segments of every case (the seven of opening and closing, and the
// targeted ones), each run to quiescence, with no violation.
func TestExhaustiveK6(t *testing.T) {
	const k = 6
	before := runtime.NumGoroutine()
	var total uint64
	var elapsed, cpu time.Duration
	var cov Coverage
	for _, c := range DefaultCases() {
		rep, err := Exhaustive(c.Name, k, Options{Workers: runtime.GOMAXPROCS(0)})
		if err != nil {
			t.Fatal(err)
		}
		t.Log(rep.String())
		if rep.Schedules != Count(k) {
			t.Errorf("%s: %d schedules run, want %d", c.Name, rep.Schedules, Count(k))
		}
		for _, v := range rep.Violations {
			t.Errorf("%s: violation, replay with: synack explore --replay %s\n  %s", c.Name, v.Token, strings.Join(v.Problems, "\n  "))
		}
		// The loss-recovery cases exercise the rules they are named for,
		// so that their invariants have retransmissions to check.
		rc := rep.Coverage
		for _, need := range []struct {
			cs   string
			what string
			n    uint64
		}{
			{"sack", "SACK recovery retransmissions", rc.SACK}, {"sack", "segments checked against SACK blocks", rc.SACKChecked},
			{"sack-6675", "SACK recovery retransmissions", rc.SACK}, {"reno", "NewReno retransmissions", rc.Reno},
			{"tail", "loss probes", rc.Probes}, {"tail-rto", "RTO retransmissions", rc.RTO},
		} {
			if need.cs == c.Name && need.n == 0 {
				t.Errorf("%s: no %s in %d schedules", c.Name, need.what, rep.Schedules)
			}
		}
		if c.Name == "tail-rto" && rc.Probes > 0 {
			t.Errorf("tail-rto: %d loss probes with probes off", rc.Probes)
		}
		total += rep.Schedules
		elapsed += rep.Elapsed
		cpu += rep.CPU
		cov.Merge(&rep.Coverage)
	}
	t.Logf("%d schedules in %v: %.0f/s, %.0f per CPU second; %s", total, elapsed.Round(time.Millisecond),
		float64(total)/elapsed.Seconds(), float64(total)/cpu.Seconds(), cov.String())
	waitGoroutines(t, before)
}

// A fixed set of random workloads, each of at least two connections moving
// 64 KiB each way, with at least one fault, and no violation.
func TestRandomSeeds(t *testing.T) {
	n := uint64(1000)
	if testing.Short() {
		n = 100
	}
	before := runtime.NumGoroutine()
	rep := Random(RandomOptions{FirstSeed: 1, Seeds: n, Workers: runtime.GOMAXPROCS(0)})
	t.Log(rep.String())
	t.Log(rep.Coverage.String())
	if _, missed := rep.Coverage.Covered(); !testing.Short() && len(missed) > 0 {
		// Every row of the legal table is taken, listeners' OPEN and
		// CLOSE included (CLOSED → LISTEN → CLOSED).
		t.Errorf("the workloads never took %d of the %d rows of the transition table: %s", len(missed), len(tcp.Transitions), rep.Coverage.String())
	}
	if rep.Runs != n {
		t.Errorf("%d workloads run, want %d", rep.Runs, n)
	}
	// The workloads move enough data through enough loss for every kind
	// of recovery, so that the loss-recovery invariants are exercised.
	if c := rep.Coverage; c.RTO == 0 || c.Reno == 0 || c.SACK == 0 || c.Probes == 0 || c.SACKChecked == 0 {
		t.Errorf("the workloads left a kind of loss recovery unexercised: %s", c.String())
	}
	for _, v := range rep.Violations {
		t.Errorf("violation, replay with: synack explore --replay %s\n  %s", v.Token, strings.Join(v.Problems, "\n  "))
	}
	waitGoroutines(t, before)
}

// Every random workload has the connections, the bytes and a fault the
// issue asks for.
func TestRandomWorkloadShape(t *testing.T) {
	for seed := uint64(1); seed <= 2000; seed++ {
		wl := drawWorkload(seed)
		if len(wl.sessions) < minSessions || !wl.hasFault() || len(wl.faults()) == 0 {
			t.Fatalf("seed %d: %d sessions, faults %v", seed, len(wl.sessions), wl.faults())
		}
		for _, s := range wl.sessions[:minSessions] {
			if s.client.send < minBytes || s.server.send < minBytes {
				t.Fatalf("seed %d: a session sends %d and %d bytes", seed, s.client.send, s.server.send)
			}
		}
		if wl.link.Loss > 0.3 {
			t.Fatalf("seed %d: loss %v", seed, wl.link.Loss)
		}
	}
}

// A token replays the same run: the same trace, event for event, and the
// same verdict; and Replay draws it.
func TestReplayReproduces(t *testing.T) {
	for _, s := range []string{"fourway:8:dx2ldx2l", "halfclose:6:ddddxx", "simopen:5:l2xdd", "random:7", "timewait-syn:0:"} {
		tok, err := ParseToken(s)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Run(tok, true)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Run(tok, true)
		ja, _ := json.Marshal(a.Events)
		jb, _ := json.Marshal(b.Events)
		if !bytes.Equal(ja, jb) || strings.Join(a.Problems, "|") != strings.Join(b.Problems, "|") {
			t.Fatalf("%s: two runs differ", s)
		}
		c, _ := Run(tok, false) // not recording must not change the run
		if c.Segments != a.Segments || c.Virtual != a.Virtual || len(c.Problems) != len(a.Problems) {
			t.Fatalf("%s: recorded and unrecorded runs differ: %d/%d segments, %v/%v", s, a.Segments, c.Segments, a.Virtual, c.Virtual)
		}
		var buf bytes.Buffer
		if _, err := Replay(tok, &buf, trace.Options{Width: 100}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), tok.String()) || !strings.Contains(buf.String(), "CLOSED") {
			t.Fatalf("%s: ladder:\n%s", s, buf.String())
		}
	}
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines after the exploration, %d before", runtime.NumGoroutine(), before)
}

// What is reported does not depend on the order workers find violations.
func TestKeepFirst(t *testing.T) {
	var list []indexed
	for _, i := range []uint64{9, 3, 7, 1, 8, 2, 5} {
		list = keepFirst(list, indexed{i: i}, 3)
	}
	if len(list) != 3 || list[0].i != 1 || list[1].i != 2 || list[2].i != 3 {
		t.Fatalf("kept %v", list)
	}
}

// A view of the peer's SACK blocks merges what arrives, in any order, into
// sorted disjoint ranges, and finds what a segment overlaps.
func TestSACKView(t *testing.T) {
	v := &sackView{una: 1000, max: 9000}
	for _, b := range [][2]seq.Num{{5000, 6000}, {2000, 3000}, {3000, 3500}, {7000, 8000}, {5500, 7000}} {
		v.add(b[0], b[1])
	}
	want := []span{{2000, 3500}, {5000, 8000}}
	if len(v.sacked) != len(want) || v.sacked[0] != want[0] || v.sacked[1] != want[1] {
		t.Fatalf("view %v, want %v", v.sacked, want)
	}
	for _, tc := range []struct {
		a, b seq.Num
		hit  bool
	}{{1000, 2000, false}, {1000, 2001, true}, {3500, 5000, false}, {4000, 5500, true}, {8000, 9000, false}} {
		if _, hit := v.overlap(tc.a, tc.b); hit != tc.hit {
			t.Errorf("overlap(%d, %d) = %v, want %v", tc.a, tc.b, hit, tc.hit)
		}
	}
}
