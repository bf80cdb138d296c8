package explore

import "strings"

// shrink turns a failing schedule's faults back into "deliver", one at a
// time, keeping each change under which the run still fails the same way,
// until no single fault can go: a minimal schedule (every fault left is
// needed). Trailing delivers are then dropped.
func shrink(cs *Case, v Violation) Violation {
	sched := append(Schedule(nil), v.Found.Schedule...)
	kind := problemKind(v.Problems[0])
	for changed := true; changed; {
		changed = false
		for i := range sched {
			if sched[i] == Deliver {
				continue
			}
			old := sched[i]
			sched[i] = Deliver
			if res := execute(cs, sched, nil, nil, nil); sameFailure(res.problems, kind) {
				v.Problems = res.problems
				changed = true
				continue
			}
			sched[i] = old
		}
	}
	v.Token = Token{Case: cs.Name, Schedule: sched.Trim()}
	return v
}

// problemKind is a problem's text without its numbers (ports, sequence
// numbers, times), so that two runs failing the same way compare equal.
func problemKind(p string) string {
	if i := strings.IndexByte(p, '\n'); i >= 0 {
		p = p[:i] // a panic's stack
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, p)
}

func sameFailure(problems []string, kind string) bool {
	for _, p := range problems {
		if problemKind(p) == kind {
			return true
		}
	}
	return false
}
