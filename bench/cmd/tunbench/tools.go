package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// secs formats a duration for the tools' command lines, in whole seconds
// (at least 1).
func secs(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
}

// iperf2 runs `iperf -c` (iperf 2) against the discard app for dur and
// reads the rate of its CSV report.
func iperf2(e *env, dur time.Duration, r *result) error {
	out, err := run(context.Background(), e.client, dur+30*time.Second, "iperf",
		"-c", stackIP, "-p", strconv.Itoa(port), "-t", strconv.FormatFloat(dur.Seconds(), 'f', 1, 64), "-y", "C")
	if err != nil {
		return fmt.Errorf("iperf: %v: %s", err, lastLines(out, 3))
	}
	// timestamp,src,sport,dst,dport,id,interval,bytes,bits/s
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) >= 9 {
			bps, err := strconv.ParseFloat(f[8], 64)
			if err == nil && bps > 0 {
				r.v["gbps"] = bps / 1e9
				bytes, _ := strconv.ParseFloat(f[7], 64)
				r.notef("%.2f GiB in %s s", bytes/(1<<30), f[6])
				return nil
			}
		}
	}
	return fmt.Errorf("iperf: no report in %q", lastLines(out, 3))
}

var (
	abRPS      = regexp.MustCompile(`Requests per second:\s+([\d.]+)`)
	abComplete = regexp.MustCompile(`Complete requests:\s+(\d+)`)
	abFailed   = regexp.MustCompile(`Failed requests:\s+(\d+)`)
	abNon2xx   = regexp.MustCompile(`Non-2xx responses:\s+(\d+)`)
	abP99      = regexp.MustCompile(`(?m)^\s+99%\s+(\d+)`)
	abAborted  = regexp.MustCompile(`Total of (\d+) requests completed`)
)

func atoi(re *regexp.Regexp, s string) (int, bool) {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.Atoi(m[1])
	return v, err == nil
}

// abRun runs ab against the http app: -c concurrent connections, a new
// connection per request (no -k), -r (a receive error does not end the
// test), -s 10 (socket timeout). With dur > 0, for dur (-t) and as many
// requests as fit; otherwise exactly n requests. It returns requests per
// second, the 99th percentile (ms), the good requests (complete minus
// failed minus non-2xx) and the requests asked or done.
func abRun(e *env, dur time.Duration, n, c int, sockTimeout time.Duration) (rps, p99 float64, good, total int, out string, err error) {
	args := []string{"-q", "-r", "-s", secs(sockTimeout), "-c", strconv.Itoa(c)}
	timeout := 5 * time.Minute
	if dur > 0 {
		args = append(args, "-t", secs(dur), "-n", "10000000")
		timeout = dur + 60*time.Second
	} else {
		args = append(args, "-n", strconv.Itoa(n))
	}
	args = append(args, e.url())
	out, err = run(context.Background(), e.client, timeout, "ab", args...)
	complete, ok := atoi(abComplete, out)
	if !ok {
		// ab gave up ("Total of N requests completed" before its error).
		done, _ := atoi(abAborted, out)
		if n > 0 {
			total = n
		} else {
			total = done
		}
		return 0, 0, done, total, out, fmt.Errorf("ab: %v: %s", err, lastLines(out, 2))
	}
	failed, _ := atoi(abFailed, out)
	non2xx, _ := atoi(abNon2xx, out)
	good = complete - failed - non2xx
	total = complete
	if n > 0 {
		total = n
	}
	if m := abRPS.FindStringSubmatch(out); m != nil {
		rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if v, ok := atoi(abP99, out); ok {
		p99 = float64(v)
	}
	return rps, p99, good, total, out, nil
}

// ab: requests per second and p99 of `ab -c 32` for dur (ab counts whole
// seconds: under one, 200 requests instead).
func ab(e *env, dur time.Duration, r *result) error {
	n := 0
	if dur < time.Second {
		dur, n = 0, 200
	}
	rps, p99, good, total, _, err := abRun(e, dur, n, 32, 10*time.Second)
	if err != nil {
		return err
	}
	r.v["rps"], r.v["p99"] = rps, p99
	r.notef("%d requests", total)
	if good < total {
		r.notef("%d failed", total-good)
	}
	return nil
}

var (
	wrkRPS    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkP99    = regexp.MustCompile(`(?m)^\s+99%\s+([\d.]+)(us|ms|s)`)
	wrkErrors = regexp.MustCompile(`Socket errors:.*`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkTotal  = regexp.MustCompile(`(\d+) requests in`)
)

// wrk: `wrk -t 2 -c 32 --latency` for dur (keep-alive connections).
func wrk(e *env, dur time.Duration, r *result) error {
	out, err := run(context.Background(), e.client, dur+60*time.Second, "wrk",
		"-t", "2", "-c", "32", "-d", secs(dur)+"s", "--latency", e.url())
	if err != nil {
		return fmt.Errorf("wrk: %v: %s", err, lastLines(out, 3))
	}
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("wrk: no rate in %q", lastLines(out, 3))
	}
	r.v["rps"], _ = strconv.ParseFloat(m[1], 64)
	if m := wrkP99.FindStringSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		r.v["p99"] = v
	}
	if m := wrkTotal.FindStringSubmatch(out); m != nil {
		r.notef("%s requests", m[1])
	}
	if m := wrkErrors.FindString(out); m != "" {
		r.notef("%s", strings.TrimSpace(m))
	}
	if v, ok := atoi(wrkNon2xx, out); ok {
		r.notef("%d non-2xx", v)
	}
	return nil
}

// sentSYNs counts the packets the clients' namespace sent that its TCP
// did not: hping3's, which go out through a raw socket (IpOutTransmits
// counts them, TcpOutSegs does not). hping3's own count is no use: at -i
// u10 it spins on its interval timer and takes seconds to heed SIGINT.
func sentSYNs(e *env) int64 {
	out, err := e.client.output("nstat", "-asz", "IpOutTransmits", "TcpOutSegs")
	if err != nil {
		return 0
	}
	v := map[string]int64{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			v[f[0]], _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return v["IpOutTransmits"] - v["TcpOutSegs"]
}

// flood: hping3 sends SYNs from floodSrc (an address nobody holds, so
// the SYN+ACKs go unanswered and the SYN queue fills) to the http app's
// port, one every interval, from the clients' namespace; after fill (1 s:
// the SYN queue is full long before), ab makes n requests (-c 8) while the flood goes on. The success rate is
// ab's good requests over n; its p99 is in ms.
func flood(e *env, interval string, n int, fill, sockTimeout time.Duration, r *result) error {
	drops0, syns0 := e.linkDrops(), sentSYNs(e)
	rate := []string{"-i", interval}
	if interval == "flood" {
		rate = []string{"--flood"}
	}
	args := append([]string{"-q", "-S", "-a", floodSrc, "-p", strconv.Itoa(port)}, rate...)
	hp, err := start(e.client, "", "", "hping3", append(args, stackIP)...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	defer hp.stop(2 * time.Second) // if we return early
	time.Sleep(fill)
	if hp.exited() {
		return fmt.Errorf("hping3 exited: %s", lastLines(hp.out.String(), 3))
	}
	_, p99, good, total, abOut, abErr := abRun(e, 0, n, 8, sockTimeout)
	sent := sentSYNs(e) - syns0
	el := time.Since(t0).Seconds()
	// Its own statistics are not needed (sentSYNs), and at -i u10 it
	// takes seconds to heed SIGINT or SIGTERM.
	hp.signal(syscall.SIGKILL)
	hp.wait(5 * time.Second)
	drops := e.linkDrops() - drops0
	r.v["ok"] = 100 * float64(good) / float64(total)
	if abErr == nil {
		r.v["p99"] = p99 // ab prints no percentiles when it gives up
	}
	r.v["pps"] = float64(sent) / el
	r.notef("hping3 sent %d SYNs at %.0f/s; ab %d of %d good", sent, float64(sent)/el, good, total)
	if drops > 0 {
		r.notef("%s dropped %d packets towards the stack (TUN/veth queue full)", e.dev, drops)
	}
	if abErr != nil {
		r.notef("ab failed: %v", abErr)
		if good == 0 {
			r.notef("ab output: %s", lastLines(abOut, 4))
		}
	}
	if e.peer == "kernel" {
		r.notef("server:%s", counters(e.kernelCounters(), "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv",
			"TcpExtSyncookiesFailed", "TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPReqQFullDrop",
			"TcpExtTCPReqQFullDoCookies", "TcpPassiveOpens"))
	}
	return nil
}
