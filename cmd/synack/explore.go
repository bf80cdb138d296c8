package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/trace"
)

const exploreUsage = `usage: synack explore [--k N] [--case NAME]            every fault schedule of the first K segments
       synack explore --seeds N | --duration DUR         seeded random workloads on random faulty networks
       synack explore --replay TOKEN                     one schedule or seed again, with its ladder diagram

Deterministic simulation testing of the stack. Exhaustive mode gives each of
the first K segments of a case one of four fates — deliver, drop, duplicate,
delay past the next segment (4^K schedules) — and runs each schedule to
quiescence. Random mode runs workloads of several connections (transfers,
half-closes, aborts, reconnects on one 4-tuple) with loss, duplication,
reordering, partitions, crashes, listener restarts and a forging attacker.
Every run is checked against the invariants (see package explore); a failing
schedule is shrunk and printed as a token for --replay, with its ladder.
An exhaustive mode's token opens in synack lab too, at /?replay=TOKEN,
where its segments can be faulted by clicking. Exits 1 if any invariant
failed.

Cases (--case; default all but those failing for a known bug, "core" the
seven of opening and closing, "all" every one):
`

func runExplore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	k := fs.Int("k", 8, "exhaustive mode: faults on the first K segments (4^K schedules a case)")
	caseName := fs.String("case", "", "exhaustive mode: one case, \"core\", or \"all\" (default: every case without a known bug)")
	seeds := fs.Uint64("seeds", 0, "random mode: run this many seeded workloads")
	firstSeed := fs.Uint64("first-seed", 1, "random mode: the first seed")
	duration := fs.Duration("duration", 0, "random mode: run workloads for this long")
	replay := fs.String("replay", "", "run one token (CASE:K:SCHEDULE or random:SEED) and draw its ladder")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "runs in parallel")
	coverage := fs.Bool("coverage", false, "print how often each row of the table of legal transitions was taken")
	ascii := fs.Bool("ascii", false, "draw ladders with ASCII only")
	width := fs.Int("width", 120, "width of ladder diagrams")
	quiet := fs.Bool("quiet", false, "no progress lines")
	fs.Usage = func() {
		fmt.Fprint(stderr, exploreUsage)
		for _, c := range explore.Cases() {
			mark := ""
			switch {
			case c.Core:
				mark = " (core)"
			case c.Known != "":
				mark = " (known bug)"
			}
			fmt.Fprintf(stderr, "  %-15s%s %s\n", c.Name, mark, c.Summary)
		}
		fmt.Fprint(stderr, "\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "synack explore: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	random := set["seeds"] || set["duration"]
	exhaustive := !random || set["k"] || set["case"]
	switch {
	case *k < 0 || *k > 12:
		fmt.Fprintln(stderr, "synack explore: --k must be between 0 and 12")
		return errUsage
	case *workers < 1:
		fmt.Fprintln(stderr, "synack explore: --workers must be at least 1")
		return errUsage
	case *duration < 0:
		fmt.Fprintln(stderr, "synack explore: --duration must be positive")
		return errUsage
	}
	o := trace.Options{ASCII: *ascii, Color: colorOK(stdout), Width: *width}
	if *replay != "" {
		return exploreReplay(*replay, stdout, stderr, o)
	}
	stop := func() bool { return ctx.Err() != nil }
	progress := io.Discard
	if !*quiet {
		progress = stderr
	}
	var cov explore.Coverage
	var found []explore.Violation
	if exhaustive {
		cs, err := selectCases(*caseName)
		if err != nil {
			fmt.Fprintf(stderr, "synack explore: %v\n", err)
			return errUsage
		}
		var total, failed uint64
		var elapsed, cpu time.Duration
		for _, c := range cs {
			if stop() {
				break
			}
			name := c.Name
			rep, err := explore.Exhaustive(name, *k, explore.Options{
				Workers: *workers, Stop: stop,
				Progress: func(done, total uint64) {
					fmt.Fprintf(progress, "  %s K=%d: %d/%d schedules\n", name, *k, done, total)
				},
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, rep.String())
			total += rep.Schedules
			failed += rep.Failed
			elapsed += rep.Elapsed
			cpu += rep.CPU
			cov.Merge(&rep.Coverage)
			found = append(found, rep.Violations...)
		}
		fmt.Fprintf(stdout, "exhaustive: %d schedules of %d cases in %v: %.0f schedules/s (%.0f per CPU second), %d violating\n",
			total, len(cs), elapsed.Round(time.Millisecond), rate(total, elapsed), rate(total, cpu), failed)
	}
	if random {
		rep := explore.Random(explore.RandomOptions{
			FirstSeed: *firstSeed, Seeds: *seeds, Duration: *duration, Workers: *workers, Stop: stop,
			Progress: func(done, failed uint64) {
				fmt.Fprintf(progress, "  random: %d workloads, %d failed\n", done, failed)
			},
		})
		fmt.Fprintln(stdout, rep.String())
		cov.Merge(&rep.Coverage)
		found = append(found, rep.Violations...)
	}
	fmt.Fprintln(stdout, "coverage:", cov.String())
	if *coverage {
		fmt.Fprint(stdout, cov.Table())
	}
	if err := ctx.Err(); err != nil {
		fmt.Fprintln(stdout, "interrupted")
	}
	if len(found) == 0 {
		fmt.Fprintln(stdout, "no violations")
		return ctx.Err()
	}
	for i, v := range found {
		fmt.Fprintf(stdout, "\nviolation %d: synack explore --replay %s\n", i+1, v.Token)
		if v.Found.String() != v.Token.String() {
			fmt.Fprintf(stdout, "  (found as %s, shrunk)\n", v.Found)
		}
		if v.Token.Case != explore.RandomCase {
			fmt.Fprintf(stdout, "  in synack lab: /?replay=%s\n", url.QueryEscape(v.Token.String()))
		}
		for _, p := range v.Problems {
			fmt.Fprintf(stdout, "  - %s\n", strings.ReplaceAll(p, "\n", "\n    "))
		}
		if i < 3 {
			if _, err := explore.Replay(v.Token, stdout, o); err != nil {
				return err
			}
		}
	}
	return errFailed
}

func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// selectCases resolves --case.
func selectCases(name string) ([]*explore.Case, error) {
	switch name {
	case "":
		return explore.DefaultCases(), nil
	case "all":
		return explore.Cases(), nil
	case "core":
		return explore.CoreCases(), nil
	}
	c, ok := explore.LookupCase(name)
	if !ok {
		return nil, fmt.Errorf("no case %q (cases: %s)", name, strings.Join(explore.CaseNames(), ", "))
	}
	return []*explore.Case{c}, nil
}

func exploreReplay(token string, stdout, stderr io.Writer, o trace.Options) error {
	t, err := explore.ParseToken(token)
	if err != nil {
		fmt.Fprintf(stderr, "synack explore: %v\n", err)
		return errUsage
	}
	out, err := explore.Replay(t, stdout, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d segments, %v of virtual time\n", t, out.Segments, out.Virtual)
	if out.OK() {
		fmt.Fprintln(stdout, "every invariant holds")
		return nil
	}
	for _, p := range out.Problems {
		fmt.Fprintf(stdout, "  - %s\n", strings.ReplaceAll(p, "\n", "\n    "))
	}
	return errFailed
}
