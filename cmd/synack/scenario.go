package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/scenario"
	"github.com/synack/synack/trace"
)

// knobs are the flags a learner turns, shared by demo and scenario run.
type knobs struct {
	p         scenario.Params
	seed      uint64
	lang      string
	allTimers bool
	ascii     bool
}

func (k *knobs) register(fs *flag.FlagSet) {
	fs.Uint64Var(&k.seed, "seed", 1, "seed of the run's random decisions (loss, ISNs, ports)")
	fs.DurationVar(&k.p.MSL, "msl", 30*time.Second, "maximum segment lifetime; TIME-WAIT lasts 2*MSL")
	fs.Float64Var(&k.p.Loss, "loss", 0, "probability that the link loses a packet, each way (0..1)")
	fs.DurationVar(&k.p.Delay, "delay", 10*time.Millisecond, "one-way delay of the link")
	fs.DurationVar(&k.p.RTOMin, "rto-min", 200*time.Millisecond, "minimum retransmission timeout (RFC 6298)")
	fs.DurationVar(&k.p.RTOInitial, "rto-initial", time.Second, "initial retransmission timeout (RFC 6298)")
	fs.DurationVar(&k.p.KeepaliveIdle, "keepalive-idle", 2*time.Hour, "idle time before the first keepalive probe")
	fs.BoolVar(&k.p.RFC1337, "rfc1337", false, "ignore RST in TIME-WAIT (RFC 1337 protection)")
	fs.StringVar(&k.lang, "lang", "en", "language of descriptions and pictures: en or zh")
	fs.BoolVar(&k.allTimers, "all-timers", false, "show every timer event, delayed ACKs and retransmission timers too")
	fs.BoolVar(&k.ascii, "ascii", false, "draw with ASCII only")
}

func (k *knobs) check() error {
	switch {
	case k.lang != "en" && k.lang != "zh":
		return fmt.Errorf("--lang must be en or zh, not %q", k.lang)
	case k.p.Loss < 0 || k.p.Loss > 1:
		return fmt.Errorf("--loss must be between 0 and 1")
	case k.p.MSL <= 0 || k.p.Delay <= 0 || k.p.RTOMin <= 0 || k.p.RTOInitial <= 0 || k.p.KeepaliveIdle <= 0:
		return fmt.Errorf("durations must be positive")
	}
	k.p.Seed = k.seed
	return nil
}

// colorOK says whether to colour: stdout is a terminal and NO_COLOR unset.
func colorOK(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (k *knobs) options(s *scenario.Scenario, w io.Writer) trace.Options {
	o := trace.Options{Lang: k.lang, AllTimers: k.allTimers, ASCII: k.ascii, Color: colorOK(w), Title: s.Name}
	o.Description = describe(s, k.lang)
	return o
}

func describe(s *scenario.Scenario, lang string) string {
	if lang == "zh" {
		return s.Zh.Doc
	}
	return s.Doc
}

func summary(s *scenario.Scenario, lang string) string {
	if lang == "zh" {
		return s.Zh.Summary
	}
	return s.Summary
}

// verdict prints a run's verdict and report; it returns false on failure.
func verdict(w io.Writer, r *scenario.Result, lang string) bool {
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	if r.OK() {
		if lang == "zh" {
			fmt.Fprintf(w, "结论：%s 与预期一致 ✓\n", r.Scenario.Name)
		} else {
			fmt.Fprintf(w, "verdict: %s shows what it must ✓\n", r.Scenario.Name)
		}
		return true
	}
	if lang == "zh" {
		fmt.Fprintf(w, "结论：%s 与预期不符 ✗\n", r.Scenario.Name)
	} else {
		fmt.Fprintf(w, "verdict: %s differs from its expectation ✗\n", r.Scenario.Name)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  - %s\n", f)
	}
	return false
}

// errFailed means a scenario's outcome differed from its expectation.
var errFailed = errors.New("an outcome differed from the expectation")

const demoUsage = `usage: synack demo [flags]

Runs every scenario of the catalogue in the simulator, in virtual time, and
prints each one's ladder diagram and verdict. Exits 1 if any outcome differs
from what the scenario expects.

flags:
`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var k knobs
	k.register(fs)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "synack demo: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if err := k.check(); err != nil {
		fmt.Fprintf(stderr, "synack demo: %v\n", err)
		return errUsage
	}
	all := scenario.All()
	failed := []string{}
	for i, s := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := scenario.Run(s, k.p).In(k.lang)
		fmt.Fprintf(stdout, "\n[%d/%d] %s — %s\n", i+1, len(all), s.Name, summary(s, k.lang))
		o := k.options(s, stdout)
		if err := trace.Text(stdout, r.Events, o); err != nil {
			return err
		}
		if !verdict(stdout, r, k.lang) {
			failed = append(failed, s.Name)
		}
	}
	fmt.Fprintf(stdout, "\n%d/%d scenarios show what they must", len(all)-len(failed), len(all))
	if len(failed) > 0 {
		fmt.Fprintf(stdout, "; differing: %s\n", strings.Join(failed, ", "))
		return errFailed
	}
	fmt.Fprintln(stdout, ".")
	return nil
}

const scenarioUsage = `usage: synack scenario list [--lang en|zh]
       synack scenario run NAME [--format text|json|svg|html] [-o FILE] [--pcap FILE [--pcap-at A|B]] [flags]

list   one scenario a line: its name and what it shows
run    runs one scenario in the simulator and draws it; exits 1 if its outcome
       differs from its expectation
`

func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scenarioUsage)
		return errUsage
	}
	switch args[0] {
	case "list":
		return scenarioList(args[1:], stdout, stderr)
	case "run":
		return scenarioRun(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, scenarioUsage)
		return nil
	}
	fmt.Fprintf(stderr, "synack scenario: unknown subcommand %q\n\n%s", args[0], scenarioUsage)
	return errUsage
}

func scenarioList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenario list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "en", "language: en or zh")
	fs.Usage = func() { fmt.Fprint(stderr, scenarioUsage+"\nflags:\n"); fs.PrintDefaults() }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*lang != "en" && *lang != "zh") || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	for _, s := range scenario.All() {
		fmt.Fprintf(stdout, "%-34s %s\n", s.Name, summary(s, *lang))
	}
	return nil
}

func scenarioRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenario run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var k knobs
	k.register(fs)
	format := fs.String("format", "text", "output format: text, json, svg or html")
	out := fs.String("o", "", "write the output to this file instead of standard output")
	pcapFile := fs.String("pcap", "", "also write the run's packets to this pcap file (virtual timestamps), as tcpdump on --pcap-at's link sees them")
	pcapAt := fs.String("pcap-at", "A", "the host whose link --pcap captures: its packets as they leave, the other's as they arrive after the link's faults")
	fs.Usage = func() { fmt.Fprint(stderr, scenarioUsage+"\nflags:\n"); fs.PrintDefaults() }
	// The name may come before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "synack scenario run: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if name == "" {
		fmt.Fprintln(stderr, "synack scenario run: which scenario? (synack scenario list)")
		return errUsage
	}
	s, ok := scenario.Lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "synack scenario run: no scenario %q", name)
		if near := scenario.Suggest(name); len(near) > 0 {
			fmt.Fprintf(stderr, "; did you mean %s?", strings.Join(near, ", "))
		}
		fmt.Fprintln(stderr, " (synack scenario list shows them all)")
		return errUsage
	}
	switch *format {
	case "text", "json", "svg", "html":
	default:
		fmt.Fprintf(stderr, "synack scenario run: --format must be text, json, svg or html, not %q\n", *format)
		return errUsage
	}
	if err := k.check(); err != nil {
		fmt.Fprintf(stderr, "synack scenario run: %v\n", err)
		return errUsage
	}
	if *pcapAt != "A" && *pcapAt != "B" {
		fmt.Fprintf(stderr, "synack scenario run: --pcap-at must be A or B, not %q\n", *pcapAt)
		return errUsage
	}
	if *pcapFile != "" {
		f, err := os.Create(*pcapFile)
		if err != nil {
			return err
		}
		defer f.Close()
		pw, err := pcap.NewWriter(f, 0)
		if err != nil {
			return err
		}
		k.p.Capture, k.p.CaptureAt = pw, *pcapAt
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := scenario.Run(s, k.p)
	w, closeOut, err := outputTo(stdout, *out)
	if err != nil {
		return err
	}
	defer closeOut()
	o := k.options(s, w)
	shown := r.In(k.lang) // the JSON trace is data: its words stay as recorded
	switch *format {
	case "text":
		err = trace.Text(w, shown.Events, o)
	case "json":
		err = trace.WriteJSON(w, r.Events)
	case "svg":
		err = trace.SVG(w, shown.Events, o)
	case "html":
		err = trace.HTML(w, shown.Events, o)
	}
	if err != nil {
		return err
	}
	// The verdict goes with the ladder; for the other formats, to stderr.
	vw := stderr
	if *format == "text" && *out == "" {
		vw = stdout
	}
	if !verdict(vw, shown, k.lang) {
		return errFailed
	}
	return nil
}

// parseFlags parses, turning -h into a clean exit and mistakes into usage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	return nil
}

// errHelp means --help was asked for: usage printed, exit 0.
var errHelp = errors.New("help")
