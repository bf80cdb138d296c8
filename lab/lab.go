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
				writeError(w, http.StatusInternalServerError, fmt.Errorf("internal error: %v", v))
			}
		}()
		if len(r.URL.RawQuery) > maxQuery {
			writeError(w, http.StatusRequestURITooLong, fmt.Errorf("the experiment is longer than %d bytes", maxQuery))
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

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": strings.TrimPrefix(err.Error(), errBad.Error()+": ")})
}

// query parses the request's query; a malformed one is a learner's error.
func query(r *http.Request) (url.Values, string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", badf("the URL's query is malformed: %v", err)
	}
	lang := q.Get("lang")
	switch lang {
	case "", "en":
		lang = "en"
	case "zh":
	default:
		return nil, "", badf("lang must be en or zh, not %q", lang)
	}
	return q, lang, nil
}

func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, errBad) {
		code = http.StatusBadRequest
	}
	writeError(w, code, err)
}

func handleCases(w http.ResponseWriter, r *http.Request) {
	_, lang, err := query(r)
	if err != nil {
		fail(w, err)
		return
	}
	type set struct {
		Name string   `json:"name"`
		Kind string   `json:"kind"`
		Def  string   `json:"def"`
		Min  string   `json:"min,omitempty"`
		Max  string   `json:"max,omitempty"`
		Enum []string `json:"enum,omitempty"`
	}
	var ss []set
	for _, s := range settings {
		ss = append(ss, set{s.name, s.kind, s.def, s.min, s.max, s.enum})
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
	Text string `json:"text"`
	Undo string `json:"undo"` // the experiment without it
}

type eventView struct {
	T       int64     `json:"t"`
	Host    string    `json:"host"`
	Kind    string    `json:"kind"`
	Packet  uint64    `json:"packet,omitempty"`
	Fault   bool      `json:"fault,omitempty"` // the learner may fault it
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
		fail(w, err)
		return
	}
	resp, err := runQuery(q, lang)
	if err != nil {
		fail(w, err)
		return
	}
	if vs := q.Get("vs"); vs != "" {
		vq, err := url.ParseQuery(vs)
		if err != nil {
			fail(w, badf("the compared experiment (vs) is malformed: %v", err))
			return
		}
		vq.Del("vs")
		other, err := runQuery(vq, lang)
		if err != nil {
			fail(w, badf("the compared experiment (vs): %v", strings.TrimPrefix(err.Error(), errBad.Error()+": ")))
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
			resp.Faults = append(resp.Faults, faultView{fmt.Sprintf("%s %d: %s", map[bool]string{false: "segment", true: "报文段"}[lang == "zh"], k+1, a),
				(&Experiment{Replay: &u}).Query()})
		}
	} else {
		for i, f := range o.x.Faults {
			resp.Faults = append(resp.Faults, faultView{f.String(), o.x.without(i).Query()})
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
		fail(w, err)
		return
	}
	format := q.Get("format")
	q.Del("format")
	x, err := ParseExperiment(q)
	if err != nil {
		fail(w, err)
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
				fail(w, err)
				return
			}
			if _, err := explore.RunCaptured(tok, explore.Capture{W: pw, At: "A"}); err != nil {
				fail(w, badf("%v", err))
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
			fail(w, err)
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
			fail(w, err)
			return
		}
	default:
		fail(w, badf("format must be pcap, svg, json or html, not %q", format))
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
