package lab

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/scenario"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/wire"
)

func get(t testing.TB, h http.Handler, path string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.Bytes()
}

func getRun(t testing.TB, h http.Handler, query string) *response {
	t.Helper()
	code, body := get(t, h, "/api/run?"+query)
	if code != 200 {
		t.Fatalf("%s: %d %s", query, code, body)
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return &r
}

// Every case of the picker runs through the API: a drawn ladder and state
// diagram, every event with each host's state, and — with no fault and
// the lab's defaults — the catalogue's own verdict. Its canonical query
// runs the same run again.
func TestEveryCase(t *testing.T) {
	h := Handler()
	code, body := get(t, h, "/api/cases")
	if code != 200 {
		t.Fatalf("/api/cases: %d %s", code, body)
	}
	var cs struct {
		Groups []pickerGroup `json:"groups"`
	}
	json.Unmarshal(body, &cs)
	seen := map[string]bool{}
	for _, g := range cs.Groups {
		for _, c := range g.Cases {
			seen[c.Name] = true
			r := getRun(t, h, c.Query)
			if !strings.HasPrefix(r.Ladder, "<svg") || !strings.Contains(r.Fig5, `id="fig5"`) || len(r.Events) == 0 {
				t.Errorf("%s: nothing drawn", c.Name)
				continue
			}
			for i, e := range r.Events {
				if len(e.States) != len(r.Hosts) {
					t.Fatalf("%s: event %d has %d states for %d hosts", c.Name, i, len(e.States), len(r.Hosts))
				}
			}
			if g.ID != groupExplorer && !r.OK {
				t.Errorf("%s: the lab's run differs from the catalogue's expectation: %q", c.Name, r.Failures)
			}
			again := getRun(t, h, r.Query)
			if again.Ladder != r.Ladder {
				t.Errorf("%s: the canonical query %q draws another run", c.Name, r.Query)
			}
		}
	}
	for _, s := range scenario.All() {
		if !seen[s.Name] {
			t.Errorf("the picker lacks %s", s.Name)
		}
	}
	for _, c := range explore.DefaultCases() {
		if !seen[explorerPrefix+c.Name] {
			t.Errorf("the picker lacks the explorer's %s", c.Name)
		}
	}
	// The seeds' groups, the two-way model beside the handshake.
	if cs.Groups[0].ID != groupOpening || cs.Groups[0].Cases[1].Name != "two-way-handshake" {
		t.Errorf("the first group is %s starting %v", cs.Groups[0].ID, cs.Groups[0].Cases[:2])
	}
}

// Every segment the page offers for a fault, in every case of the picker
// (the loss-recovery cases' bursts included), can be lost: the replay
// loses that very packet, and the fault list says it was applied.
func TestEverySegmentLost(t *testing.T) {
	h := Handler()
	for _, g := range picker("en") {
		for _, c := range g.Cases {
			base := getRun(t, h, c.Query)
			n := 0
			for _, e := range base.Events {
				if !e.Fault || e.Kind != "send" || c.Name == "syn-flood" && n >= 5 {
					continue
				}
				n++
				p := strconv.FormatUint(e.Packet, 10)
				r := getRun(t, h, base.Query+"&fault=lose:"+p)
				lost := false
				for _, f := range r.Events {
					lost = lost || f.Kind == "drop" && f.Packet == e.Packet
				}
				if !lost || len(r.Faults) != 1 || !r.Faults[0].Applied {
					t.Errorf("%s: losing packet %d (%s %s): lost %v, faults %+v", c.Name, e.Packet, e.Host, e.Flags, lost, r.Faults)
				}
			}
			if n == 0 {
				t.Errorf("%s: no segment may be faulted", c.Name)
			}
		}
	}
}

// Bad input is a 4xx with a message saying what is wrong, whatever it is.
func TestBadInput(t *testing.T) {
	h := Handler()
	long := "case=handshake" + strings.Repeat("&fault=lose:1", 800)
	many := "case=handshake" + strings.Repeat("&fault=lose:1", maxFaults+1)
	cases := []struct {
		path string
		code int
		want string
	}{
		{"/api/run", 400, "which case?"},
		{"/api/run?case=close-for-way", 400, "did you mean close-four-way"},
		{"/api/run?case=handshake&case=refused", 400, "one case at a time"},
		{"/api/run?case=%zz", 400, "malformed"},
		{"/api/run?case=handshake&msl=forever", 400, "not a duration"},
		{"/api/run?case=handshake&msl=-1s", 400, "between 1ms and 1h"},
		{"/api/run?case=handshake&retries=0", 400, "between 1 and 30"},
		{"/api/run?case=handshake&loss=2", 400, "between 0 and 0.9"},
		{"/api/run?case=handshake&loss=NaN", 400, "not a number"},
		{"/api/run?case=handshake&rfc1337=maybe", 400, "on or off"},
		{"/api/run?case=handshake&syncookies=sometimes", 400, "auto, always, never"},
		{"/api/run?case=handshake&msl=1s&msl=2s", 400, "given 2 times"},
		{"/api/run?case=handshake&mls=30s", 400, `no setting "mls"`},
		{"/api/run?case=handshake&rto-min=2s", 400, "rto-min (2s) is above rto-initial (1s)"},
		{"/api/run?case=handshake&fault=explode:3", 400, "no such fault"},
		{"/api/run?case=handshake&fault=lose:0", 400, "packet number"},
		{"/api/run?case=handshake&fault=lose:-4", 400, "packet number"},
		{"/api/run?case=handshake&fault=delay:3", 400, "delay:N:DUR"},
		{"/api/run?case=handshake&fault=delay:3:1y", 400, "delay:N:DUR"},
		{"/api/run?case=handshake&fault=crash:C:1s", 400, "crash:A|B:AT"},
		{"/api/run?case=handshake&fault=partition:1s", 400, "partition:AT:FOR"},
		{"/api/run?" + many, 400, "at most 64"},
		{"/api/run?" + long, 414, "longer than"},
		{"/api/run?case=handshake&replay=fourway:", 400, "not both"},
		{"/api/run?replay=fourway:7:dzd", 400, "is not d (deliver)"},
		{"/api/run?replay=nosuch:1:d", 400, "no case"},
		{"/api/run?replay=random:7", 400, "exhaustive cases"},
		{"/api/run?replay=fourway:&msl=1s", 400, "explorer's own settings"},
		{"/api/run?replay=fourway:&fault=crash:A:1s", 400, "segments only"},
		{"/api/run?replay=fourway:&fault=lose:999", 400, "not one of fourway's segments"},
		{"/api/run?case=handshake&lang=fr", 400, "lang must be en or zh"},
		{"/api/run?case=handshake&vs=case%3Dnope", 400, "the compared experiment (vs): no case"},
		{"/api/run?case=handshake&vs=%25zz", 400, "malformed"},
		{"/api/export?case=handshake&format=pdf", 400, "format must be"},
		{"/api/export?format=svg", 400, "which case?"},
		{"/api/export?replay=fourway:&fault=lose:999&format=pcap", 400, "not one of fourway's segments"},
		{"/api/cases?lang=xx", 400, "lang must be"},
	}
	for _, c := range cases {
		code, body := get(t, h, c.path)
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if code != c.code || !strings.Contains(e.Error, c.want) {
			t.Errorf("%.80s: %d %q; want %d and %q", c.path, code, e.Error, c.code, c.want)
		}
	}
}

// A fault that names a packet no run reaches, or one of the two-way
// model, which is drawn and not simulated, is marked not applied in the
// fault list, with why, in the page's language; the run goes on. The
// model's segments are not offered for a fault, and say why.
func TestFaultNotApplied(t *testing.T) {
	h := Handler()
	r := getRun(t, h, "case=handshake&fault=lose:9999")
	if !r.OK || len(r.Faults) != 1 || r.Faults[0].Applied || !strings.Contains(r.Faults[0].Note, "no packet 9999") {
		t.Errorf("a fault on a packet never sent: ok %v, faults %+v", r.OK, r.Faults)
	}
	for _, lang := range []string{"en", "zh"} {
		r = getRun(t, h, "case=two-way-handshake&fault=lose:1&lang="+lang)
		want := map[string]string{"en": "two-way model, which is drawn, not simulated", "zh": "属于两次握手模型，它只是画出来的"}[lang]
		if len(r.Faults) != 1 || r.Faults[0].Applied || !strings.Contains(r.Faults[0].Note, want) {
			t.Errorf("%s: a fault on the two-way model's packet 1: %+v", lang, r.Faults)
		}
		for _, e := range r.Events {
			if e.Packet == 1 && e.Kind == "send" && (e.Fault || e.NoFault == "") {
				t.Errorf("%s: the model's packet 1 is offered for a fault, or says nothing: %+v", lang, e)
			}
		}
	}
	// syn-flood's faults apply to both floods: none of its segments is
	// closed to a fault.
	r = getRun(t, h, "case=syn-flood")
	for _, e := range r.Events {
		if e.Kind == "send" && !e.Fault {
			t.Errorf("syn-flood: packet %d (%s %s) may not be faulted: %s", e.Packet, e.Host, e.Flags, e.NoFault)
			break
		}
	}
}

// The example through the API: lose the final ACK of
// close-four-way; B retransmits its FIN, A ACKs it again from TIME-WAIT
// and restarts 2MSL (RFC 9293 §3.10.7.4). Undo gives the run back.
func TestLoseFinalACK(t *testing.T) {
	h := Handler()
	base := getRun(t, h, "case=close-four-way")
	var ack uint64
	for _, e := range base.Events {
		if e.Kind == "send" && e.Host == "A" && e.Flags == "ACK" && e.Fault {
			ack = e.Packet
		}
	}
	if ack == 0 {
		t.Fatal("no ACK from A to fault")
	}
	r := getRun(t, h, base.Query+"&fault=lose:"+strconv.FormatUint(ack, 10))
	n := func(f func(e eventView) bool) int {
		k := 0
		for _, e := range r.Events {
			if f(e) {
				k++
			}
		}
		return k
	}
	if got := n(func(e eventView) bool { return e.Kind == "send" && e.Host == "B" && e.Flags == "FIN,ACK" }); got != 2 {
		t.Errorf("B sent its FIN %d times, want 2", got)
	}
	if got := n(func(e eventView) bool {
		return e.Kind == "timer" && e.Host == "A" && e.Timer == "time-wait" && e.Action == "set"
	}); got != 2 {
		t.Errorf("A set time-wait %d times, want 2", got)
	}
	// After the restart, A's time-wait timer counts down from 2MSL again.
	last := r.Events[len(r.Events)-1]
	if last.To != "CLOSED" || last.Host != "A" {
		t.Errorf("the run ends with %+v, want A's TIME-WAIT → CLOSED", last)
	}
	if len(r.Faults) != 1 || r.Faults[0].Undo != base.Query {
		t.Fatalf("faults %+v, want one whose undo is %q", r.Faults, base.Query)
	}
	if getRun(t, h, r.Faults[0].Undo).Ladder != base.Ladder {
		t.Error("undo does not give the run back")
	}
}

// Timers are shown running after each event: set, not yet fired.
func TestTimersCountDown(t *testing.T) {
	r := getRun(t, Handler(), "case=close-four-way")
	var prev int64 = -1
	for _, e := range r.Events {
		for _, tm := range e.Timers {
			if tm.Host == "A" && tm.Timer == "time-wait" {
				if tm.Left <= 0 || tm.Left > tm.Total {
					t.Fatalf("time-wait left %d of %d", tm.Left, tm.Total)
				}
				if prev >= 0 && tm.Left > prev {
					t.Fatalf("time-wait went up from %d to %d without a restart", prev, tm.Left)
				}
				prev = tm.Left
			}
		}
		if e.Kind == "timer" && e.Timer == "time-wait" && e.Action == "fire" {
			for _, tm := range e.Timers {
				if tm.Timer == "time-wait" {
					t.Error("time-wait still running after it fired")
				}
			}
		}
	}
	if prev < 0 {
		t.Error("A's time-wait timer never shown running")
	}
}

// A segment of an explorer case, clicked, becomes that segment's letter
// in the token's schedule: the rerun drops (duplicates, delays) that very
// packet.
func TestExplorerFaults(t *testing.T) {
	h := Handler()
	base := getRun(t, h, "replay=fourway:")
	n := 0
	for _, e := range base.Events {
		if !e.Fault || e.Kind != "send" {
			continue
		}
		n++
		r := getRun(t, h, base.Query+"&fault=lose:"+strconv.FormatUint(e.Packet, 10))
		tok, err := explore.ParseToken(r.Name)
		if err != nil || tok.Schedule.Faults() != 1 || !strings.Contains(r.Query, "replay=") || strings.Contains(r.Query, "fault=") {
			t.Fatalf("packet %d: run %q, query %q: want a token with one fault", e.Packet, r.Name, r.Query)
		}
		dropped := false
		for _, f := range r.Events {
			dropped = dropped || f.Kind == "drop" && f.Packet == e.Packet
		}
		if !dropped {
			t.Errorf("packet %d (%s %s): not dropped by %s", e.Packet, e.Host, e.Flags, r.Name)
		}
		if len(r.Faults) != 1 || r.Faults[0].Undo != base.Query {
			t.Errorf("packet %d: faults %+v", e.Packet, r.Faults)
		}
	}
	if n < 7 {
		t.Errorf("only %d of fourway's segments can be faulted", n)
	}
}

// Exports: a pcap file, the SVG ladder, the JSON trace and the HTML
// report of the same run.
func TestExport(t *testing.T) {
	h := Handler()
	q := "case=close-four-way&fault=lose:7"
	code, body := get(t, h, "/api/export?format=pcap&"+q)
	if code != 200 {
		t.Fatalf("pcap: %d %s", code, body)
	}
	pr, err := pcap.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pkts := 0
	for {
		if _, err := pr.Next(); err != nil {
			break
		}
		pkts++
	}
	if pkts < 9 {
		t.Errorf("the pcap holds %d packets", pkts)
	}
	if code, body = get(t, h, "/api/export?format=json&"+q); code != 200 {
		t.Fatalf("json: %d", code)
	}
	evs, err := trace.ReadJSON(body)
	if err != nil || len(evs) == 0 {
		t.Fatalf("json: %v, %d events", err, len(evs))
	}
	lost := false
	for _, e := range evs {
		lost = lost || e.Event == trace.KindDrop && e.Packet == 7
	}
	if !lost {
		t.Error("the JSON trace does not show packet 7 lost")
	}
	for f, want := range map[string]string{"svg": "<svg", "html": "<!DOCTYPE html>"} {
		code, body := get(t, h, "/api/export?format="+f+"&"+q+"&lang=zh")
		if code != 200 || !bytes.HasPrefix(body, []byte(want)) {
			t.Errorf("%s: %d %.40q", f, code, body)
		}
	}
}

// An explorer case exports as pcap too: what A's link carried in the run
// the page draws, with the learner's fault folded into its schedule.
func TestExportExplorer(t *testing.T) {
	h := Handler()
	base := getRun(t, h, "replay=fourway:")
	var pkt uint64
	for _, e := range base.Events {
		if e.Fault && e.Host == "B" {
			pkt = e.Packet // B's first segment: lost, A never sees it
			break
		}
	}
	q := "replay=fourway:&fault=lose:" + strconv.FormatUint(pkt, 10)
	code, body := get(t, h, "/api/export?format=json&"+q)
	evs, err := trace.ReadJSON(body)
	if code != 200 || err != nil {
		t.Fatalf("json: %d %v", code, err)
	}
	var want []string
	lost := false
	for _, e := range evs {
		if (e.Event == trace.KindSend || e.Event == trace.KindRecv) && e.Host == "A" {
			want = append(want, e.Flags+" seq="+strconv.FormatUint(uint64(e.Seq), 10))
		}
		lost = lost || e.Event == trace.KindDrop && e.Packet == pkt
	}
	if !lost {
		t.Fatalf("packet %d is not lost in %s", pkt, q)
	}
	code, body = get(t, h, "/api/export?format=pcap&"+q)
	if code != 200 {
		t.Fatalf("pcap: %d %s", code, body)
	}
	pr, err := pcap.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		p, err := pr.Next()
		if err != nil {
			break
		}
		pk, err := wire.ParsePacket(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pk.Segment.Flags.String()+" seq="+strconv.FormatUint(uint64(pk.Segment.Seq), 10))
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("the pcap holds\n%q\nthe run's segments at A are\n%q", got, want)
	}
}

// Compare: the pinned run comes back beside this one, drawn with ids of
// its own.
func TestCompare(t *testing.T) {
	h := Handler()
	r := getRun(t, h, "case=old-syn-in-time-wait&rfc1337=on&vs="+url.QueryEscape("case=old-syn-in-time-wait"))
	if r.VS == nil || r.VS.Query != "case=old-syn-in-time-wait" || r.Query != "case=old-syn-in-time-wait&rfc1337=on" {
		t.Fatalf("vs %+v", r.VS)
	}
	if strings.Contains(r.VS.Fig5, `id="fig5"`) || !strings.Contains(r.VS.Fig5, `id="vs-fig5"`) {
		t.Error("the compared diagram reuses the main one's ids")
	}
	if r.Settings["rfc1337"] != "on" || r.VS.Settings["rfc1337"] != "off" {
		t.Errorf("settings %v and %v", r.Settings["rfc1337"], r.VS.Settings["rfc1337"])
	}
	// RFC 1337 on: B ignores the RST in TIME-WAIT and stays to 2MSL.
	end := func(r *response) int64 { return r.Events[len(r.Events)-1].T }
	if end(r) <= end(r.VS) {
		t.Errorf("with RFC 1337 the run ends at %d, without at %d: TIME-WAIT should last longer", end(r), end(r.VS))
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// Chinese: every case of the picker, its summary, the rule of every event
// and every note in its trace, with a fault and without; the settings'
// labels; what became of a fault; a mistake's message.
func TestChinese(t *testing.T) {
	h := Handler()
	r := getRun(t, h, "case=close-four-way&lang=zh")
	if !strings.Contains(r.Summary, "四次挥手") || !strings.Contains(r.Ladder, "时间") {
		t.Errorf("summary %q; the ladder is not in Chinese", r.Summary)
	}
	code, body := get(t, h, "/api/cases?lang=zh")
	var cs struct {
		Groups   []pickerGroup
		Settings []struct{ Name, Label, Def string }
	}
	if err := json.Unmarshal(body, &cs); code != 200 || err != nil {
		t.Fatalf("/api/cases: %d %v", code, err)
	}
	for _, s := range cs.Settings {
		if !hasHan(s.Label) {
			t.Errorf("setting %s is labelled %q", s.Name, s.Label)
		}
	}
	for _, g := range cs.Groups {
		if !hasHan(g.Title) && g.ID != groupTimeWait {
			t.Errorf("group %q", g.Title)
		}
		for _, c := range g.Cases {
			if !hasHan(c.Summary) {
				t.Errorf("%s: summary %q", c.Name, c.Summary)
			}
			base := getRun(t, h, c.Query+"&lang=zh")
			runs := []*response{base}
			for _, e := range base.Events {
				if e.Fault && e.Kind == "send" {
					runs = append(runs, getRun(t, h, base.Query+"&fault=lose:"+strconv.FormatUint(e.Packet, 10)+"&lang=zh"))
					break
				}
			}
			for _, r := range runs {
				for _, e := range r.Events {
					if e.Cause != "" && !hasHan(e.Cause) {
						t.Errorf("%s: event rule %q", r.Name, e.Cause)
					}
					if e.Kind == "note" && !hasHan(e.Tip) {
						t.Errorf("%s: note %q", r.Name, e.Tip)
					}
					if e.NoFault != "" && !hasHan(e.NoFault) {
						t.Errorf("%s: %q", r.Name, e.NoFault)
					}
				}
				for _, f := range r.Faults {
					if !hasHan(f.Text) {
						t.Errorf("%s: fault %q", r.Name, f.Text)
					}
				}
				for _, n := range append(r.Notes, r.Failures...) {
					if !hasHan(n) {
						t.Errorf("%s: %q", r.Name, n)
					}
				}
			}
		}
	}
	r = getRun(t, h, "case=handshake&fault=crash:B:1s:2s&fault=lose:99&lang=zh")
	if r.Faults[0].Text != "B 在 1s 时崩溃，2s 后重启" || r.Faults[1].Applied || !hasHan(r.Faults[1].Note) {
		t.Errorf("faults %+v", r.Faults)
	}
	for _, q := range []string{"case=handshake&msl=soon", "case=close-for-way", "case=handshake&fault=explode:1", "replay=fourway:7:dzd",
		"case=handshake&vs=case%3Dnope", "case=handshake&rto-min=2s"} {
		code, body := get(t, h, "/api/run?"+q+"&lang=zh")
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if code != 400 || !hasHan(e.Error) {
			t.Errorf("%s: %d %q", q, code, e.Error)
		}
	}
}

// The page and its assets are served from the binary and name nothing
// on another host.
func TestPageSelfContained(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/lab.js", "/lab.css"} {
		code, body := get(t, h, p)
		if code != 200 || len(body) == 0 {
			t.Fatalf("%s: %d", p, code)
		}
		s := strings.ReplaceAll(string(body), "http://www.w3.org/2000/svg", "")
		if strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.Contains(s, "//cdn") {
			t.Errorf("%s names another host", p)
		}
	}
	if code, _ := get(t, h, "/nothing"); code != 404 {
		t.Errorf("/nothing: %d", code)
	}
}

// A panic in a handler is that request's 500, not the server's end.
func TestGuard(t *testing.T) {
	h := guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 500 || !strings.Contains(string(body), "boom") {
		t.Errorf("%d %s", rec.Code, body)
	}
}

// A setting given explicitly holds even where it equals the page's
// default and the case has its own: syn-flood's SYN queue is 64 unless
// the learner says otherwise.
func TestSettingOverridesCaseDefault(t *testing.T) {
	h := Handler()
	own := getRun(t, h, "case=syn-flood")
	set := getRun(t, h, "case=syn-flood&backlog=128")
	if !strings.Contains(strings.Join(own.Notes, " "), "peak 64 entries") {
		t.Errorf("syn-flood's own queue: %q", own.Notes)
	}
	if !strings.Contains(strings.Join(set.Notes, " "), "peak 128 entries") || set.Query != "case=syn-flood&backlog=128" {
		t.Errorf("backlog=128: %q, query %q", set.Notes, set.Query)
	}
}
