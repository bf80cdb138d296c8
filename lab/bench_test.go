package lab

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkReplay is the replay after a click, for every case of the
// picker — the catalogue's and the explorer's: the API's whole answer
// (simulate, draw, encode) to the case with its last segment that may be
// faulted lost. It reports the slowest case's time, which must stay well
// under 100 ms (the target), and the mean.
func BenchmarkReplay(b *testing.B) {
	h := Handler()
	type item struct {
		name, query string
		total       time.Duration
	}
	var items []*item
	for _, g := range picker("en") {
		for _, c := range g.Cases {
			items = append(items, &item{name: c.Name, query: c.Query})
		}
	}
	for _, it := range items {
		base := getRun(b, h, it.query)
		q := base.Query
		for i := len(base.Events) - 1; i >= 0; i-- {
			if e := base.Events[i]; e.Fault {
				q += "&fault=lose:" + strconv.FormatUint(e.Packet, 10)
				break
			}
		}
		it.query = q
	}
	b.ResetTimer()
	for b.Loop() {
		for _, it := range items {
			start := time.Now()
			if code, body := get(b, h, "/api/run?"+it.query); code != 200 {
				b.Fatalf("%s: %d %s", it.query, code, body)
			}
			it.total += time.Since(start)
		}
	}
	slowest, sum := items[0], time.Duration(0)
	for _, it := range items {
		sum += it.total
		if it.total > slowest.total {
			slowest = it
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(slowest.total.Microseconds())/1000/n, "slowest-ms")
	b.ReportMetric(float64(sum.Microseconds())/1000/n/float64(len(items)), "mean-ms")
	b.Logf("slowest replay: %s, %.2f ms (%d cases)", slowest.name, float64(slowest.total.Microseconds())/1000/n, len(items))
}
