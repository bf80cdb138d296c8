package explore

import (
	"fmt"
	"github.com/synack/synack/link/pcap"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/synack/synack/sim"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/trace/record"
)

// Options tune an exploration.
type Options struct {
	// Workers runs schedules in parallel; default 1 (one core).
	Workers int
	// MaxReports bounds how many violations are shrunk and reported (the
	// rest are only counted); default 3.
	MaxReports int
	// StopAtFirst ends the exploration at the first violation.
	StopAtFirst bool
	// Progress, if set, is called about every second with the number of
	// schedules run so far.
	Progress func(done, total uint64)
	// Stop, if set, is polled; true ends the exploration early.
	Stop func() bool
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.MaxReports <= 0 {
		o.MaxReports = 3
	}
	return o
}

// Violation is one failing run: its minimal reproducer, the schedule as
// first found, and what went wrong.
type Violation struct {
	Token    Token // shrunk: as few faults as still fail
	Found    Token // as explored
	Problems []string
}

// Report is what an exhaustive exploration of one case found.
type Report struct {
	Case       string
	K          int
	Schedules  uint64 // schedules run
	Total      uint64 // NumActions^K
	Failed     uint64 // schedules with at least one violation
	Violations []Violation
	Elapsed    time.Duration // wall time
	CPU        time.Duration // CPU time of the process meanwhile (all threads, the garbage collector's too)
	Segments   uint64        // segments put on the wire, all runs
	Virtual    time.Duration // virtual time, all runs
	Coverage   Coverage
	Stopped    bool // ended early (Stop, or StopAtFirst)
}

// PerSecond returns schedules run per second of wall time.
func (r *Report) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Schedules) / r.Elapsed.Seconds()
}

// PerCPUSecond returns schedules run per second of CPU time: the rate on
// one core, whatever else the machine is doing.
func (r *Report) PerCPUSecond() float64 {
	if r.CPU <= 0 {
		return 0
	}
	return float64(r.Schedules) / r.CPU.Seconds()
}

func (r *Report) String() string {
	s := fmt.Sprintf("%-15s K=%d: %d/%d schedules, %d failed, %v, %.0f schedules/s (%.0f per CPU second)",
		r.Case, r.K, r.Schedules, r.Total, r.Failed, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.PerCPUSecond())
	if r.Stopped {
		s += " (stopped early)"
	}
	return s
}

// Exhaustive runs case name under every schedule of its first k segments
// and checks every run. Violations are shrunk to minimal schedules.
func Exhaustive(name string, k int, opts Options) (Report, error) {
	cs, ok := LookupCase(name)
	if !ok {
		return Report{}, fmt.Errorf("%w %q (cases: %v)", errNoCase, name, CaseNames())
	}
	if k < 0 || k > 16 {
		return Report{}, fmt.Errorf("explore: K = %d out of range 0..16", k)
	}
	opts = opts.withDefaults()
	rep := Report{Case: name, K: k, Total: Count(k)}
	t := runner{
		workers: opts.Workers, chunk: 64, total: rep.Total, stopAtFirst: opts.StopAtFirst, maxReports: opts.MaxReports, stop: opts.Stop,
		worker: func() func(uint64, *Coverage) (result, Token) {
			sched := make(Schedule, k)
			return func(i uint64, cov *Coverage) (result, Token) {
				Nth(i, sched)
				return execute(cs, sched, nil, cov, nil), Token{Case: name, Schedule: append(Schedule(nil), sched...)}
			}
		},
	}
	if opts.Progress != nil {
		t.progress = func(done, _ uint64) { opts.Progress(done, rep.Total) }
	}
	tot := t.run()
	rep.Schedules, rep.Failed, rep.Segments, rep.Virtual, rep.Coverage = tot.done, tot.failed, tot.segments, tot.virtual, tot.coverage
	rep.Stopped = rep.Schedules < rep.Total
	rep.Elapsed, rep.CPU = tot.elapsed, tot.cpu
	found := tot.found
	for _, f := range found {
		rep.Violations = append(rep.Violations, shrink(cs, f.v))
	}
	return rep, nil
}

// indexed is a violation and the number of its schedule or seed.
type indexed struct {
	i uint64
	v Violation
}

// keepFirst adds x to the list, which keeps the n with the lowest numbers
// in order, so that what is reported does not depend on which worker
// found what first.
func keepFirst(list []indexed, x indexed, n int) []indexed {
	at := sort.Search(len(list), func(j int) bool { return list[j].i > x.i })
	if at >= n {
		return list
	}
	list = slices.Insert(list, at, x)
	if len(list) > n {
		list = list[:n]
	}
	return list
}

// Outcome is one run's verdict.
type Outcome struct {
	Token    Token
	Problems []string
	Segments int           // segments put on the wire
	Virtual  time.Duration // virtual time to quiescence
	Events   []trace.Event // the run's trace, when recorded
}

// OK reports whether every invariant held.
func (o *Outcome) OK() bool { return len(o.Problems) == 0 }

// Run runs one token (an exhaustive case's schedule, or a random seed),
// recording its trace if keep is true.
func Run(t Token, keep bool) (Outcome, error) { return run(t, keep, nil) }

// Capture is a capture point for RunCaptured: the packets host At ("A"
// or "B") sends and receives, as tcpdump on its link would see them.
type Capture struct {
	W  *pcap.Writer
	At string
}

// RunCaptured runs a token — a random workload or an exhaustive case's
// schedule — recording its trace and capturing its packets at c, so that
// what a capture shows can be checked against what the hosts did
// (package infer's ground truth), or saved (synack lab's pcap export).
func RunCaptured(t Token, c Capture) (Outcome, error) { return run(t, true, &c) }

func run(t Token, keep bool, capt *Capture) (Outcome, error) {
	var rec *record.Recorder
	if keep {
		rec = record.New(sim.Epoch)
	}
	out := Outcome{Token: t}
	var res result
	if t.Case == RandomCase {
		res = executeRandom(t.Seed, rec, nil, capt)
	} else {
		cs, ok := LookupCase(t.Case)
		if !ok {
			return out, fmt.Errorf("%w %q", errNoCase, t.Case)
		}
		res = execute(cs, t.Schedule, rec, nil, capt)
	}
	out.Problems, out.Segments, out.Virtual = res.problems, res.segments, res.virtual
	if rec != nil {
		out.Events = rec.Events
	}
	return out, nil
}

// Replay runs a token and draws its ladder diagram on w.
func Replay(t Token, w io.Writer, o trace.Options) (Outcome, error) {
	out, err := Run(t, true)
	if err != nil {
		return out, err
	}
	if o.Title == "" {
		o.Title = t.String()
	}
	if o.Description == "" {
		if cs, ok := LookupCase(t.Case); ok {
			o.Description = cs.Summary + ". Schedule: " + describe(t.Schedule)
		}
	}
	return out, trace.Text(w, out.Events, o)
}

// describe spells a schedule's faults out: "segment 3 dropped, 5 duplicated".
func describe(s Schedule) string {
	if s.Faults() == 0 {
		return "every segment delivered"
	}
	var parts []string
	for i, a := range s {
		if a != Deliver {
			parts = append(parts, fmt.Sprintf("segment %d %s", i+1, map[Action]string{Drop: "dropped", Dup: "duplicated", Delay: "delayed past the next"}[a]))
		}
	}
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}
