package explore

import (
	"sync"
	"sync/atomic"
	"time"
)

// runner is the one parallel driver of both modes: workers claim run
// numbers in chunks, each run is checked, totals and coverage are merged,
// and the violations with the lowest numbers are kept, so that what is
// reported does not depend on which worker found what first.
type runner struct {
	workers     int
	chunk       uint64
	total       uint64        // runs 0..total-1; 0 means until stopped or past duration
	duration    time.Duration // 0: no time limit
	stopAtFirst bool
	maxReports  int
	stop        func() bool               // asked by the first worker after each chunk
	progress    func(done, failed uint64) // about once a second
	// worker returns one worker's run function: run i, counting into cov,
	// giving the violation's token when it fails. Each worker gets its
	// own, so that it may keep scratch state.
	worker func() func(i uint64, cov *Coverage) (result, Token)
}

// runTotals is what a runner saw.
type runTotals struct {
	done, failed uint64
	segments     uint64
	virtual      time.Duration
	coverage     Coverage
	found        []indexed
	elapsed, cpu time.Duration
}

func (r runner) run() runTotals {
	var t runTotals
	start, cpu0 := time.Now(), cpuTime()
	var (
		next, done, failed atomic.Uint64
		stop               atomic.Bool
		mu                 sync.Mutex
		wg                 sync.WaitGroup
		lastLog            = time.Now()
	)
	work := func(id int) {
		defer wg.Done()
		run := r.worker()
		var cov Coverage
		var segs uint64
		var virt time.Duration
		for !stop.Load() {
			lo := next.Add(r.chunk) - r.chunk
			if r.total > 0 && lo >= r.total || r.duration > 0 && time.Since(start) > r.duration {
				break
			}
			hi := lo + r.chunk
			if r.total > 0 {
				hi = min(hi, r.total)
			}
			for i := lo; i < hi; i++ {
				res, tok := run(i, &cov)
				segs += uint64(res.segments)
				virt += res.virtual
				if len(res.problems) > 0 {
					failed.Add(1)
					mu.Lock()
					t.found = keepFirst(t.found, indexed{i, Violation{Token: tok, Found: tok, Problems: res.problems}}, r.maxReports)
					mu.Unlock()
					if r.stopAtFirst {
						stop.Store(true)
					}
				}
			}
			n := done.Add(hi - lo)
			if id == 0 {
				if r.stop != nil && r.stop() {
					stop.Store(true)
				}
				if r.progress != nil && time.Since(lastLog) > time.Second {
					lastLog = time.Now()
					r.progress(n, failed.Load())
				}
			}
		}
		mu.Lock()
		t.coverage.Merge(&cov)
		t.segments += segs
		t.virtual += virt
		mu.Unlock()
	}
	for i := range r.workers {
		wg.Add(1)
		go work(i)
	}
	wg.Wait()
	t.done, t.failed = done.Load(), failed.Load()
	t.elapsed, t.cpu = time.Since(start), cpuTime()-cpu0
	return t
}
