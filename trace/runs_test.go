package trace

import (
	"os"
	"path/filepath"
	"testing"
)

// testRun names a recorded run: a small scripted run in the simulator,
// recorded by package sim's TestRecordedRuns into testdata/runs (trace sits
// below sim and cannot run it), from which the golden pictures are drawn.
type testRun struct {
	name, desc string
	extra      bool // not a recorded run: TestJSONRoundTrip's own events
}

var testRuns = []testRun{
	{name: "close-four-way", desc: "A sends data and closes first; B reads it, reads EOF, and closes a second later: four segments, then TIME-WAIT for 2MSL."},
	{name: "lost-fin", desc: "A's FIN is lost; A retransmits it with the same sequence number after its RTO; B ACKs it, reads EOF and closes; A waits 2MSL in TIME-WAIT."},
	{name: "refused", desc: "A's SYN reaches a port with no listener: B answers RST+ACK ack=x+1 and A's application gets ECONNREFUSED."},
	{name: "close-three-way", desc: "B's application closes as soon as it reads EOF, so B's ACK of A's FIN rides on B's own FIN: three segments, and A goes from FIN-WAIT-1 straight to TIME-WAIT."},
	{name: "late-segment-after-close", desc: "A copy of B's data is delayed in the network and reaches A after A has closed: A answers with RST; B, in TIME-WAIT, refuses that RST (its sequence number is below RCV.NXT) and TIME-WAIT goes on."},
}

// record returns tr's recorded events.
func record(tr testRun) []Event {
	data, err := os.ReadFile(filepath.Join("testdata", "runs", tr.name+".jsonl"))
	if err != nil {
		panic(err.Error() + " (run go test ./sim -run TestRecordedRuns -update)")
	}
	ev, err := ReadJSON(data)
	if err != nil {
		panic(err)
	}
	return ev
}

// TestRecordedRunsPresent: every run has its recording.
func TestRecordedRunsPresent(t *testing.T) {
	for _, tr := range testRuns {
		if len(record(tr)) < 5 {
			t.Errorf("%s: recording too short", tr.name)
		}
	}
}
