package main

import (
	"context"
	"html"
	"regexp"

	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/synack/synack/infer"
	"github.com/synack/synack/trace"
)

const drawUsage = `usage: synack draw FILE|- [--list] [--conn SEL] [--format text|json|svg|html] [flags]

Reads a pcap or pcapng capture (- is standard input: tcpdump -w - | synack draw -),
groups its TCP segments by connection and draws each one as a ladder with both
ends' states inferred from what the capture shows, the rule behind each change,
and the marks an engineer looks for (retransmissions, duplicate ACKs, zero
windows, keepalives, RSTs and their likely reason, RTT). What a capture cannot
show is said to be unknown.

--conn picks a connection by its number in --list, or by an address, a port
(":80") or an address and port that one of its ends has. Without it every
connection is drawn: text and json all of them, svg and html the first --max
(one SVG with the ladders one below the other, one HTML page with a report
for each).

flags:
`

func runDraw(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("draw", flag.ContinueOnError)
	fs.SetOutput(stderr)
	list := fs.Bool("list", false, "print a table of the connections instead of drawing them")
	sel := fs.String("conn", "", "draw only this connection: its number in --list, or an address or :port of one end")
	format := fs.String("format", "text", "output format: text, json, svg or html")
	lang := fs.String("lang", "en", "language of the rules and notes: en or zh")
	relative := fs.Bool("relative", true, "sequence numbers relative to each side's ISN (--relative=false: absolute)")
	out := fs.String("o", "", "write the output to this file instead of standard output")
	ascii := fs.Bool("ascii", false, "draw with ASCII only")
	max := fs.Int("max", 16, "--format svg or html: draw at most this many connections (the first ones; --conn picks others)")
	fs.Usage = func() { fmt.Fprint(stderr, drawUsage); fs.PrintDefaults() }
	var file string
	if len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case file == "" && fs.NArg() == 1:
		file = fs.Arg(0)
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "synack draw: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if file == "" {
		fmt.Fprintln(stderr, "synack draw: which capture? (a pcap or pcapng file, or - for standard input)")
		fs.Usage()
		return errUsage
	}
	switch *format {
	case "text", "json", "svg", "html":
	default:
		fmt.Fprintf(stderr, "synack draw: --format must be text, json, svg or html, not %q\n", *format)
		return errUsage
	}
	if *max < 1 {
		fmt.Fprintf(stderr, "synack draw: --max must be at least 1, not %d\n", *max)
		return errUsage
	}
	if *lang != "en" && *lang != "zh" {
		fmt.Fprintf(stderr, "synack draw: --lang must be en or zh, not %q\n", *lang)
		return errUsage
	}
	in := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := infer.Read(in)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if c.Stats.Truncated != nil {
		fmt.Fprintf(stderr, "synack draw: %s: %v; drawing the %d packets before it\n", file, c.Stats.Truncated, c.Stats.Packets)
	}
	conns := c.Conns
	if *sel != "" {
		conns, err = pick(c.Conns, *sel)
		if err != nil {
			fmt.Fprintf(stderr, "synack draw: %v\n", err)
			return errUsage
		}
	}
	w, closeOut, err := outputTo(stdout, *out)
	if err != nil {
		return err
	}
	defer closeOut()
	if *list {
		return drawList(w, c, conns)
	}
	if len(conns) == 0 {
		return fmt.Errorf("%s: no TCP connection in %d packets (%s)", file, c.Stats.Packets, skipped(&c.Stats))
	}
	if (*format == "svg" || *format == "html") && len(conns) > *max {
		fmt.Fprintf(stderr, "synack draw: %d connections; drawing the first %d (--max N for more, --conn to pick; synack draw %s --list shows them all)\n", len(conns), *max, file)
		conns = conns[:*max]
	}
	eo := infer.EventOptions{Absolute: !*relative, Lang: *lang}
	var pics []picture
	for i, cn := range conns {
		ev := cn.Events(eo)
		o := trace.Options{Lang: *lang, ASCII: *ascii, Color: colorOK(w), Title: fmt.Sprintf("#%d %s", cn.ID, cn.Name()),
			Hosts: []string{infer.HostName(cn.Ends[0]), infer.HostName(cn.Ends[1])}}
		o.Description = describeConn(c, cn, *lang)
		var b strings.Builder
		switch *format {
		case "text":
			if i > 0 {
				fmt.Fprintln(w)
			}
			err = trace.Text(w, ev, o)
		case "json":
			err = trace.WriteJSON(w, ev)
		case "svg":
			err = trace.SVG(&b, ev, o)
		case "html":
			err = trace.HTML(&b, ev, o)
		}
		if err != nil {
			return err
		}
		pics = append(pics, picture{title: o.Title, body: b.String()})
	}
	switch {
	case *format == "svg" && len(pics) == 1, *format == "html" && len(pics) == 1:
		_, err = io.WriteString(w, pics[0].body)
	case *format == "svg":
		err = stackSVG(w, pics)
	case *format == "html":
		err = pageHTML(w, file, pics, len(c.Conns), *lang)
	}
	if err != nil {
		return err
	}
	if s := skipped(&c.Stats); s != "" {
		fmt.Fprintf(stderr, "synack draw: %d packets, %d TCP segments; skipped %s\n", c.Stats.Packets, c.Stats.TCP, s)
	}
	return nil
}

// describeConn is the picture's description: when the capture starts,
// where it seems to have been taken, what it found.
func describeConn(c *infer.Capture, cn *infer.Conn, lang string) string {
	start := c.Start.Add(cn.Segs[0].T).Format("2006-01-02 15:04:05.000000 MST")
	d := fmt.Sprintf("captured from %s; one-way delay from the capture point to %s ≈ %s, to %s ≈ %s",
		start, cn.Ends[0], cn.Delay[0], cn.Ends[1], cn.Delay[1])
	if lang == "zh" {
		d = fmt.Sprintf("抓包开始于 %s；抓包点到 %s 的单程时延 ≈ %s，到 %s ≈ %s", start, cn.Ends[0], cn.Delay[0], cn.Ends[1], cn.Delay[1])
	}
	if len(cn.Anomalies) > 0 {
		var an []string
		for _, a := range cn.Anomalies {
			an = append(an, infer.Translate(a, lang))
		}
		sep := ". "
		if lang == "zh" {
			sep = "。"
		}
		d += sep + strings.Join(an, "; ")
	}
	return d
}

func pick(conns []*infer.Conn, sel string) ([]*infer.Conn, error) {
	if n, err := strconv.Atoi(sel); err == nil {
		for _, cn := range conns {
			if cn.ID == n {
				return []*infer.Conn{cn}, nil
			}
		}
		return nil, fmt.Errorf("--conn %d: the capture has connections 1 to %d", n, len(conns))
	}
	var out []*infer.Conn
	for _, cn := range conns {
		for _, e := range cn.Ends {
			s := e.String()
			if s == sel || e.Addr().String() == sel || strings.HasPrefix(sel, ":") && strings.HasSuffix(s, sel) {
				out = append(out, cn)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--conn %q matches no connection (synack draw FILE --list shows them)", sel)
	}
	return out, nil
}

func drawList(w io.Writer, c *infer.Capture, conns []*infer.Conn) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tclient → server\tstart (s)\tduration\tbytes →\tbytes ←\tfinal states\tanomalies")
	for _, cn := range conns {
		fin := func(h *infer.Host) string {
			if h.FinalKnown {
				return h.Final
			}
			return h.Final + "?"
		}
		an := strings.Join(cn.Anomalies, "; ")
		if an == "" {
			an = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.3f\t%s\t%d\t%d\t%s / %s\t%s\n", cn.ID, cn.Name(), cn.Segs[0].T.Seconds(), cn.Duration().Round(1000),
			cn.Hosts[0].Bytes, cn.Hosts[1].Bytes, fin(cn.Hosts[0]), fin(cn.Hosts[1]), an)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d connections, %d packets, %d TCP segments%s\n", len(c.Conns), c.Stats.Packets, c.Stats.TCP, func() string {
		if s := skipped(&c.Stats); s != "" {
			return "; skipped " + s
		}
		return ""
	}())
	return err
}

// skipped says what was not drawn, and why; "" when everything was TCP.
func skipped(s *infer.Stats) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.NotIP, "not IP")
	add(s.NotTCP, "not TCP")
	add(s.Fragments, "IP fragments")
	add(s.Malformed, "malformed")
	add(s.CutHeader, "cut inside their headers by the snaplen")
	add(s.UnknownLink, "of an unknown link type")
	out := strings.Join(parts, ", ")
	if s.Cut > 0 {
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("%d segments cut by the snaplen drawn with the lengths their headers give", s.Cut)
	}
	return out
}

// picture is one connection drawn as SVG or HTML.
type picture struct{ title, body string }

var svgSize = regexp.MustCompile(`^<svg [^>]*?width="([0-9.]+)" height="([0-9.]+)"`)

// stackSVG puts the connections' ladders one below the other in one SVG
// document: each its own nested <svg>, which keeps its coordinates.
func stackSVG(w io.Writer, pics []picture) error {
	const gap = 24.0
	var b strings.Builder
	width, y := 0.0, 0.0
	for _, p := range pics {
		m := svgSize.FindStringSubmatch(p.body)
		if m == nil {
			return fmt.Errorf("synack draw: a ladder without a size: %.80s", p.body)
		}
		pw, _ := strconv.ParseFloat(m[1], 64)
		ph, _ := strconv.ParseFloat(m[2], 64)
		fmt.Fprintf(&b, "<svg x=\"0\" y=\"%g\"%s\n", y, strings.TrimPrefix(p.body, "<svg"))
		width, y = max(width, pw), y+ph+gap
	}
	_, err := fmt.Fprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\">\n%s</svg>\n",
		width, y-gap, width, y-gap, b.String())
	return err
}

// pageHTML writes one page for several connections: a list, then each
// connection's report in a frame of its own (srcdoc), so that each keeps
// its own element IDs and script.
func pageHTML(w io.Writer, file string, pics []picture, total int, lang string) error {
	var b strings.Builder
	hl, title, shown := "en", "synack draw: "+file, fmt.Sprintf("%d connections", total)
	if lang == "zh" {
		hl, shown = "zh-CN", fmt.Sprintf("共 %d 个连接", total)
	}
	if len(pics) < total {
		shown += fmt.Sprintf(" (%d drawn)", len(pics))
		if lang == "zh" {
			shown = fmt.Sprintf("共 %d 个连接（画出前 %d 个）", total, len(pics))
		}
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n", hl, html.EscapeString(title))
	b.WriteString("<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#0f172a}section{margin:1.5em 0}" +
		"iframe{width:100%;height:40em;border:1px solid #cbd5e1;border-radius:6px}</style>\n</head>\n<body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>%s</p>\n<ol>\n", html.EscapeString(title), html.EscapeString(shown))
	for i, p := range pics {
		fmt.Fprintf(&b, "<li><a href=\"#c%d\">%s</a></li>\n", i+1, html.EscapeString(p.title))
	}
	b.WriteString("</ol>\n")
	for i, p := range pics {
		fmt.Fprintf(&b, "<section id=\"c%d\">\n<h2>%s</h2>\n<iframe title=\"%s\" srcdoc=\"%s\"></iframe>\n</section>\n",
			i+1, html.EscapeString(p.title), html.EscapeString(p.title), html.EscapeString(p.body))
	}
	// Each frame as tall as its report.
	b.WriteString("<script>\nfor (const f of document.querySelectorAll(\"iframe\")) {\n" +
		"  f.addEventListener(\"load\", () => { f.style.height = (f.contentDocument.documentElement.scrollHeight + 20) + \"px\"; });\n}\n</script>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
