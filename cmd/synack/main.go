// Command synack runs the synack TCP stack's cases and shows them.
//
//	synack demo    a connection's life, segment by segment
//
// See README.md for the full command set.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks a command-line mistake: usage was printed, exit 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "synack:", err)
		os.Exit(1)
	}
}

const usage = `usage: synack <command> [flags]

commands:
  demo      run two TCP endpoints in virtual time and show every segment
            and state change of a handshake, a transfer and a close
  help      show this text

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
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "synack: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
