package lab

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/synack/synack/explore"
	"github.com/synack/synack/link/pcap"
	"github.com/synack/synack/scenario"
	"github.com/synack/synack/trace"
)

//go:embed assets
var assets embed.FS

// Handler serves the lab: its page, and the JSON API the page runs
// experiments through.
//
//	GET /                    the page
//	GET /api/cases?lang=     the picker's groups and cases
//	GET /api/run?EXPERIMENT  one run, drawn, and the compared one (vs=)
//	GET /api/export?format=pcap|svg|json|html&EXPERIMENT
//
// A mistake in an experiment is a 400 with {"error": "..."}; nothing a
// request holds can stop the server.
func Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServer(http.FS(static))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		data, _ := assets.ReadFile("assets/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(data)
	})
	mux.Handle("GET /lab.js", files)
	mux.Handle("GET /lab.css", files)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /api/cases", handleCases)
	mux.HandleFunc("GET /api/run", handleRun)
	mux.HandleFunc("GET /api/export", handleExport)
	return guard(mux)
}

// guard turns a panic into a 500 for that request alone, and bounds the
// query; the lab keeps serving.
func guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				log.Printf("lab: %s: panic: %v", r.URL, v)
				writeError(w, http.StatusInternalServerError, said(fmt.Sprintf("internal error: %v", v), fmt.Sprintf("内部错误：%v", v)), langOf(r))
			}
		}()
		if len(r.URL.RawQuery) > maxQuery {
			writeError(w, http.StatusRequestURITooLong, bad("the experiment is longer than %d bytes", "实验的链接超过了 %d 字节", maxQuery), langOf(r))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error, lang string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]string{"error": message(err, lang)})
}

// langOf is the language a request asks for, before its query is
// checked: a message about a query too long or malformed is in it too.
func langOf(r *http.Request) string {
	if strings.Contains(r.URL.RawQuery, "lang=zh") {
		return "zh"
	}
	return "en"
}

// query parses the request's query; a malformed one is a learner's error.
func query(r *http.Request) (url.Values, string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", bad("the URL's query is malformed: %v", "链接的查询串格式有误：%v", err)
	}
	lang := q.Get("lang")
	switch lang {
	case "", "en":
		lang = "en"
	case "zh":
	default:
		return nil, "", bad("lang must be en or zh, not %q (语言只能是 en 或 zh)", "语言（lang）只能是 en 或 zh，不能是 %q", lang)
	}
	return q, lang, nil
}

func fail(w http.ResponseWriter, err error, lang string) {
	code := http.StatusInternalServerError
	var b *badError
	if errors.As(err, &b) {
		code = http.StatusBadRequest
	}
	writeError(w, code, err, lang)
}

func handleCases(w http.ResponseWriter, r *http.Request) {
	_, lang, err := query(r)
	if err != nil {
		fail(w, err, lang)
		return
	}
	type choice struct {
		Value string `json:"value"`
		Text  string `json:"text"`
	}
	type set struct {
		Name    string   `json:"name"`
		Label   string   `json:"label"`
		Kind    string   `json:"kind"`
		Def     string   `json:"def"`
		Min     string   `json:"min,omitempty"`
		Max     string   `json:"max,omitempty"`
		Choices []choice `json:"choices,omitempty"` // a select's values
	}
	var ss []set
	for _, s := range settings {
		st := set{Name: s.name, Label: settingWords[s.name][langIndex(lang)], Kind: s.kind, Def: valueIn(s.def, lang), Min: s.min, Max: s.max}
		vals := s.enum
		if s.kind == "bool" {
			vals = []string{"off", "on"}
		}
		for _, v := range vals {
			st.Choices = append(st.Choices, choice{v, valueIn(v, lang)})
		}
		ss = append(ss, st)
	}
	writeJSON(w, map[string]any{"groups": picker(lang), "settings": ss, "css": reportCSS})
}

// reportCSS is the HTML report's stylesheet: the event table's pills and
// colours, the same on the lab's page.
var reportCSS = trace.Views(nil, trace.Options{}).CSS

// response is what /api/run answers.
type response struct {
	Query    string            `json:"query"` // the experiment, canonical
	Name     string            `json:"name"`
	Group    string            `json:"group"`
	Explorer bool              `json:"explorer"`
	Summary  string            `json:"summary"`
	Doc      string            `json:"doc"`
	Settings map[string]string `json:"settings"` // every setting's value in this run
	Faults   []faultView       `json:"faults"`
	Ladder   string            `json:"ladder"`
	Fig5     string            `json:"fig5"`
	Rows     string            `json:"rows"`
	Hosts    []string          `json:"hosts"`
	Initial  []string          `json:"initial"`
	Events   []eventView       `json:"events"`
	OK       bool              `json:"ok"`
	Failures []string          `json:"failures"`
	Notes    []string          `json:"notes"`
	Millis   float64           `json:"ms"` // how long the run took to simulate and draw
	VS       *response         `json:"vs,omitempty"`
}

type faultView struct {
	Text    string `json:"text"`
	Undo    string `json:"undo"` // the experiment without it
	Applied bool   `json:"applied"`
	Note    string `json:"note,omitempty"` // why it was not applied, or what to know
}

type eventView struct {
	T       int64     `json:"t"`
	Host    string    `json:"host"`
	Kind    string    `json:"kind"`
	Packet  uint64    `json:"packet,omitempty"`
	Fault   bool      `json:"fault,omitempty"`   // the learner may fault it
	NoFault string    `json:"nofault,omitempty"` // why a segment may not be faulted
	Flags   string    `json:"flags,omitempty"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Timer   string    `json:"timer,omitempty"`
	Action  string    `json:"action,omitempty"`
	Y       float64   `json:"y"`
	Tip     string    `json:"tip"`
	Cause   string    `json:"cause,omitempty"`
	States  []string  `json:"states"`
	Timers  []running `json:"timers"`
	Choices []string  `json:"choices,omitempty"` // predict mode's answers
	Answer  string    `json:"answer,omitempty"`
}

func handleRun(w http.ResponseWriter, r *http.Request) {
	q, lang, err := query(r)
	if err != nil {
		fail(w, err, lang)
		return
	}
	resp, err := runQuery(q, lang)
	if err != nil {
		fail(w, err, lang)
		return
	}
	if vs := q.Get("vs"); vs != "" {
		vq, err := url.ParseQuery(vs)
		if err != nil {
			fail(w, bad("the compared experiment (vs) is malformed: %v", "对比的实验（vs）格式有误：%v", err), lang)
			return
		}
		vq.Del("vs")
		other, err := runQuery(vq, lang)
		if err != nil {
			fail(w, within(err, "the compared experiment (vs): ", "对比的实验（vs）："), lang)
			return
		}
		// Two drawings on one page: the second's ids must differ.
		ids := strings.NewReplacer(`id="`, `id="vs-`, `url(#`, `url(#vs-`)
		other.Ladder, other.Fig5 = ids.Replace(other.Ladder), ids.Replace(other.Fig5)
		resp.VS = other
	}
	writeJSON(w, resp)
}

// runQuery runs the experiment q holds and draws it.
func runQuery(q url.Values, lang string) (*response, error) {
	start := time.Now()
	x, err := ParseExperiment(q)
	if err != nil {
		return nil, err
	}
	o, err := run(x, lang)
	if err != nil {
		return nil, err
	}
	resp := draw(o, lang)
	resp.Millis = float64(time.Since(start).Microseconds()) / 1000
	return resp, nil
}

func options(o *outcome, lang string) trace.Options {
	return trace.Options{Lang: lang, Title: o.title, Description: o.doc}
}

// draw makes the response for an outcome.
func draw(o *outcome, lang string) *response {
	v := trace.Views(o.events, options(o, lang))
	resp := &response{
		Query: o.x.Query(), Name: o.title, Group: o.group, Explorer: o.x.Replay != nil,
		Summary: o.summary, Doc: o.doc, Settings: map[string]string{},
		Ladder: v.Ladder, Fig5: v.Fig5, Rows: v.Rows, Hosts: v.Hosts, Initial: v.Initial,
		OK: o.ok, Failures: nonNil(o.failures), Notes: nonNil(o.notes), Faults: []faultView{}, Events: []eventView{},
	}
	for _, s := range settings {
		v, ok := o.x.Set[s.name]
		if !ok {
			v = s.def
		}
		resp.Settings[s.name] = v
	}
	if o.x.Replay != nil {
		// The schedule holds the faults: undoing one delivers its segment.
		tok := o.x.Replay
		for k, a := range tok.Schedule {
			if a == explore.Deliver {
				continue
			}
			u := *tok
			u.Schedule = append(explore.Schedule(nil), tok.Schedule...)
			u.Schedule[k] = explore.Deliver
			u.Schedule = u.Schedule.Trim()
			resp.Faults = append(resp.Faults, faultView{Text: scheduleFault(k, a, lang), Undo: (&Experiment{Replay: &u}).Query(), Applied: true})
		}
	} else {
		l := langIndex(lang)
		for i, f := range o.x.Faults {
			fv := faultView{Text: f.Text(lang), Undo: o.x.without(i).Query(), Applied: true}
			if i < len(o.applied) {
				fv.Applied, fv.Note = o.applied[i].Applied, o.applied[i].Why[l]
			}
			resp.Faults = append(resp.Faults, fv)
		}
	}
	timers := timersAt(o.events)
	for _, ve := range v.Events {
		e := &o.events[ve.Index]
		kind := e.Event
		if ve.Refused {
			kind = "refused"
		}
		ev := eventView{T: int64(e.T), Host: e.Host, Kind: kind, Packet: e.Packet, Fault: o.faultable(e),
			Y: ve.Y, Tip: ve.Tip, Cause: ve.Cause, States: ve.States, Timers: timers[ve.Index]}
		if !ev.Fault && (e.Event == trace.KindSend || e.Event == trace.KindDup) {
			ev.NoFault = o.whyNot(e, lang)
		}
		if e.IsSegment() {
			ev.Flags = e.Flags
		}
		switch e.Event {
		case trace.KindState:
			ev.From, ev.To = e.From, e.To
		case trace.KindTimer:
			ev.Timer, ev.Action = e.Timer, e.Action
		}
		if ev.Timers == nil {
			ev.Timers = []running{}
		}
		ev.Choices, ev.Answer = choices(e)
		resp.Events = append(resp.Events, ev)
	}
	return resp
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func handleExport(w http.ResponseWriter, r *http.Request) {
	q, lang, err := query(r)
	if err != nil {
		fail(w, err, lang)
		return
	}
	format := q.Get("format")
	q.Del("format")
	x, err := ParseExperiment(q)
	if err != nil {
		fail(w, err, lang)
		return
	}
	var buf bytes.Buffer
	var o *outcome
	switch format {
	case "pcap":
		// What A's link carried, as tcpdump on it would show: the run the
		// page draws, its faults included.
		pw, _ := pcap.NewWriter(&buf, 0)
		if x.Replay != nil {
			tok, err := replayToken(x)
			if err != nil {
				fail(w, err, lang)
				return
			}
			if _, err := explore.RunCaptured(tok, explore.Capture{W: pw, At: "A"}); err != nil {
				fail(w, badWrap(err, "探索器："), lang)
				return
			}
		} else {
			s, _ := scenario.Lookup(x.Case)
			p := x.Params()
			p.Capture, p.CaptureAt = pw, "A"
			scenario.Run(s, p)
		}
	case "svg", "json", "html":
		if o, err = run(x, lang); err != nil {
			fail(w, err, lang)
			return
		}
		opt := options(o, lang)
		switch format {
		case "svg":
			err = trace.SVG(&buf, o.events, opt)
		case "json":
			err = trace.WriteJSON(&buf, o.events)
		case "html":
			err = trace.HTML(&buf, o.events, opt)
		}
		if err != nil {
			fail(w, err, lang)
			return
		}
	default:
		fail(w, bad("format must be pcap, svg, json or html, not %q", "导出格式只能是 pcap、svg、json 或 html，不能是 %q", format), lang)
		return
	}
	name := x.Case
	if x.Replay != nil {
		name = x.Replay.Case
	}
	ext, ctype := format, map[string]string{
		"pcap": "application/vnd.tcpdump.pcap", "svg": "image/svg+xml", "json": "application/x-ndjson", "html": "text/html; charset=utf-8",
	}[format]
	if format == "json" {
		ext = "jsonl"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+ext+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}
