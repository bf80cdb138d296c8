// Package netnsgc finds the network namespaces a dead process left: the
// test suite and the TUN benchmark name theirs PREFIX<pid>-..., delete
// them when done, and on start delete those of processes killed before
// they could (a test binary's timeout, a SIGKILL).
package netnsgc

import (
	"os"
	"strconv"
	"strings"
)

// Dead returns the namespaces in /run/netns named prefix + a PID + "-..."
// whose process no longer exists.
func Dead(prefix string) []string {
	var dead []string
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pid, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // its process lives (or the PID was reused): leave it
		}
		dead = append(dead, e.Name())
	}
	return dead
}
