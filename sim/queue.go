package sim

import "time"

// event is something scheduled: ordered by time, then by the order it was
// scheduled in, never by anything that varies between runs.
type event struct {
	at  time.Time
	seq uint64
	f   func()
}

type eventQueue []event

func (q eventQueue) less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}

func (q *eventQueue) push(e event) {
	*q = append(*q, e)
	i := len(*q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		(*q)[i], (*q)[p] = (*q)[p], (*q)[i]
		i = p
	}
}

func (q eventQueue) peek() (event, bool) {
	if len(q) == 0 {
		return event{}, false
	}
	return q[0], true
}

func (q *eventQueue) pop() event {
	a := *q
	e := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a[last] = event{}
	a = a[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(a) {
			break
		}
		m := l
		if r := l + 1; r < len(a) && a.less(r, l) {
			m = r
		}
		if !a.less(m, i) {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*q = a
	return e
}
