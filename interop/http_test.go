package interop_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/interop"
	"github.com/synack/synack/netconn"
)

// page is what the test servers send: a small page, or n bytes for /n.
func pageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/%d", &n); err == nil && n > 0 {
			w.Write([]byte(strings.Repeat("x", n)))
			return
		}
		io.WriteString(w, "hello from synack\n")
	})
}

// curl fetches from synack's net/http server 200 times: 100 over IPv4,
// each on its own connection (Connection: close), and 100 over IPv6 on
// kept-alive connections, with a 256 KiB page among them.
func TestHTTPServerFetchedByCurl(t *testing.T) {
	t.Parallel()
	interop.RequireCommand(t, "curl", "curl")
	e := newEnv(t, envOpts{})
	for _, fam := range families {
		ln := e.listen(fam.synack)
		srv := &http.Server{Handler: pageHandler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })

		var args []string
		args = append(args, "-sS", "--max-time", "60", "-w", "%{http_code} %{size_download} %{num_connects}\n", "-o", "/dev/null")
		if fam.name == "ipv4" {
			args = append(args, "-H", "Connection: close")
		}
		host := ln.Addr().String()
		for i := range 100 {
			url := "http://" + host + "/"
			if i == 50 {
				url += "262144"
			}
			args = append(args, url)
			if i != 99 {
				args = append(args, "-o", "/dev/null")
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		out, err := e.ns.Command(ctx, "curl", args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s: curl: %v\n%s", fam.name, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 100 {
			t.Fatalf("%s: curl printed %d results, want 100:\n%s", fam.name, len(lines), out)
		}
		conns := 0
		for i, l := range lines {
			var code, size, nc int
			fmt.Sscanf(l, "%d %d %d", &code, &size, &nc)
			want := len("hello from synack\n")
			if i == 50 {
				want = 262144
			}
			if code != 200 || size != want {
				t.Errorf("%s: fetch %d: %q, want 200 and %d bytes", fam.name, i, l, want)
			}
			conns += nc
		}
		if fam.name == "ipv4" && conns != 100 {
			t.Errorf("ipv4: curl made %d connections, want 100 (Connection: close)", conns)
		}
	}
	checkNoLeftovers(t, e)
}

// An http.Client dialing through synack fetches from a kernel-side Go
// server: 50 requests on kept-alive connections and 50 each on a new one,
// with 1 MiB bodies among them.
func TestHTTPClientOnSynack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, fam := range families {
		ln := e.kernelListen(fam.kernel)
		srv := &http.Server{Handler: pageHandler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		d := &netconn.Dialer{Stack: e.st, Timeout: 20 * time.Second, KeepAlive: -1}
		for _, keep := range []bool{true, false} {
			tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: !keep}
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			for i := range 50 {
				path, want := "/", len("hello from synack\n")
				if i%10 == 9 {
					path, want = "/1048576", 1<<20
				}
				resp, err := client.Get("http://" + ln.Addr().String() + path)
				if err != nil {
					t.Fatalf("%s keepalive=%v: GET %s: %v", fam.name, keep, path, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || len(body) != want {
					t.Fatalf("%s keepalive=%v: GET %s: %d, %d bytes, %v; want 200 and %d bytes",
						fam.name, keep, path, resp.StatusCode, len(body), err, want)
				}
			}
			tr.CloseIdleConnections()
		}
	}
	checkNoLeftovers(t, e)
}
