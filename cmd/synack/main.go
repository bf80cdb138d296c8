// Command synack runs TCP connection-management cases on the synack stack
// in a simulated network and shows them: ladder diagrams with seq/ack, each
// side's states and timers, the RFC rule behind each decision, pcap files.
//
//	synack demo                  every scenario, its ladder and verdict
//	synack scenario list         the catalogue
//	synack scenario run NAME     one scenario: text, json, svg or html
//	synack serve --tun IFACE ... serve an application over a TUN device
//	synack dial --tun IFACE ...  connect over a TUN device
//	synack draw FILE             draw a capture's connections, states inferred
//	synack lab                   the interactive lab in a browser
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/synack/synack/internal/memprof"
)

// stdin is what "synack draw -" reads; tests replace it.
var stdin io.Reader = os.Stdin

// errUsage marks a command-line mistake: usage was printed, exit 2.
var errUsage = errors.New("usage")

func main() {
	// The TUN benchmark's figures of the stack's heap (off unless
	// SYNACK_MEMPROFILE is set; see serve's usage).
	defer memprof.Start(memprof.Owners{
		Stack: []string{"github.com/synack/synack"},
		App:   []string{"github.com/synack/synack/internal/apps", "main"},
	})()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	endProfile := startProfile()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	endProfile()
	switch {
	case err == nil, errors.Is(err, errHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.Is(err, errFailed):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "synack:", err)
		os.Exit(1)
	}
}

const usage = `usage: synack <command> [flags]

commands:
  demo       run every scenario of the catalogue in virtual time and show each
             one's ladder diagram and verdict
  scenario   list the scenarios, or run one and draw it (text, json, svg, html, pcap)
  serve      serve an application (echo, discard, close, sink, http) over a TUN device
  dial       connect over a TUN device, like nc, or run an application on the connection
  explore    run the real stack through every fault schedule of opening and closing,
             and random workloads, checking invariants (deterministic simulation testing)
  draw       draw the connections of a pcap or pcapng capture, both ends' states
             inferred, with retransmissions, duplicate ACKs, RSTs and their reasons
  lab        the interactive lab in a browser: click a segment to lose it and
             watch TCP recover, step through time, compare runs, share a link
  help       show this text

Run "synack <command> --help" for a command's flags.
`

// run is the whole CLI, testable without a process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "scenario":
		return runScenario(ctx, args[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "dial":
		return runDial(ctx, args[1:], os.Stdin, stdout, stderr)
	case "explore":
		return runExplore(ctx, args[1:], stdout, stderr)
	case "draw":
		return runDraw(ctx, args[1:], stdin, stdout, stderr)
	case "lab":
		return runLab(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "synack: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

// outputTo is where a command writes: stdout, or the file -o names.
// closeOut closes that file.
func outputTo(stdout io.Writer, path string) (w io.Writer, closeOut func() error, err error) {
	if path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
