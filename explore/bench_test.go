package explore

import "testing"

// BenchmarkSchedule measures one schedule of a handshake and close, run to
// quiescence and checked (the schedules of K = 8 in order, no trace).
func BenchmarkSchedule(b *testing.B) {
	for _, name := range []string{"handshake", "fourway", "threeway"} {
		cs, _ := LookupCase(name)
		b.Run(name, func(b *testing.B) {
			sched := make(Schedule, 8)
			var cov Coverage
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				Nth(uint64(i)%Count(8), sched)
				execute(cs, sched, nil, &cov, nil)
			}
		})
	}
}
