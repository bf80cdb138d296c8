package trace

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/synack/synack/tcp"
)

// The state diagram of RFC 9293 Figure 5, laid out as the RFC draws it:
// opening at the top, ESTABLISHED in the middle, the active close down
// the left, the passive close down the right, and CLOSED twice (where a
// connection starts, and where a closing one ends), as in the figure.
// Its edges are the rows of tcp.Transitions.

type fig5Node struct {
	id, state string
	x, y      float64
}

const (
	fig5W, fig5H   = 960.0, 950.0
	fig5HW, fig5HH = 74.0, 21.0 // a node's half width and height
)

var fig5Nodes = []fig5Node{
	{"closed", "CLOSED", 480, 62},
	{"listen", "LISTEN", 480, 180},
	{"synrcvd", "SYN-RECEIVED", 150, 310},
	{"synsent", "SYN-SENT", 810, 310},
	{"estab", "ESTABLISHED", 480, 440},
	{"fw1", "FIN-WAIT-1", 150, 570},
	{"closewait", "CLOSE-WAIT", 810, 570},
	{"fw2", "FIN-WAIT-2", 150, 700},
	{"closing", "CLOSING", 480, 700},
	{"lastack", "LAST-ACK", 810, 700},
	{"timewait", "TIME-WAIT", 480, 830},
	{"closed2", "CLOSED", 810, 830},
}

func fig5NodeByID(id string) fig5Node {
	for _, n := range fig5Nodes {
		if n.id == id {
			return n
		}
	}
	return fig5Node{}
}

// fig5Edge is how one transition is drawn: between two nodes, bent
// through a control point, or along a route of points (the abort edges
// that run round the outside to the lower CLOSED).
type fig5Edge struct {
	from, to   string  // node ids
	cx, cy     float64 // control point of a curve; 0,0 for a straight line
	route      [][2]float64
	lx, ly     float64 // label position
	anchor     string  // of the label; "along" writes it along the edge
	label      [2]string
	offset     float64 // shift sideways (two edges between one pair)
	background bool    // an abort or give-up edge: drawn thin and dashed
}

var fig5Edges = map[[2]string]fig5Edge{
	{"CLOSED", "LISTEN"}:            {from: "closed", to: "listen", offset: -26, lx: 458, ly: 125, anchor: "end", label: [2]string{"passive OPEN", "被动打开"}},
	{"LISTEN", "CLOSED"}:            {from: "listen", to: "closed", offset: -26, lx: 502, ly: 125, anchor: "start", label: [2]string{"CLOSE", "关闭"}},
	{"CLOSED", "SYN-SENT"}:          {from: "closed", to: "synsent", cx: 790, cy: 66, lx: 728, ly: 132, anchor: "end", label: [2]string{"active OPEN / snd SYN", "主动打开 / 发 SYN"}},
	{"SYN-SENT", "CLOSED"}:          {from: "synsent", to: "closed", route: [][2]float64{{884, 310}, {928, 310}, {928, 50}, {554, 50}}, lx: 740, ly: 42, anchor: "middle", label: [2]string{"CLOSE, RST, SYN retries exhausted", "关闭、RST、SYN 重传用尽"}, background: true},
	{"LISTEN", "SYN-RECEIVED"}:      {from: "listen", to: "synrcvd", cx: 250, cy: 184, lx: 330, ly: 168, anchor: "end", label: [2]string{"rcv SYN / snd SYN,ACK", "收 SYN / 发 SYN,ACK"}},
	{"SYN-RECEIVED", "LISTEN"}:      {from: "synrcvd", to: "listen", cx: 350, cy: 292, lx: 362, ly: 268, anchor: "start", label: [2]string{"rcv RST (Note 3)", "收 RST（注 3）"}},
	{"SYN-SENT", "SYN-RECEIVED"}:    {from: "synsent", to: "synrcvd", lx: 480, ly: 329, anchor: "middle", label: [2]string{"rcv SYN / snd SYN,ACK (simultaneous open)", "收 SYN / 发 SYN,ACK（同时打开）"}},
	{"SYN-SENT", "ESTABLISHED"}:     {from: "synsent", to: "estab", cx: 780, cy: 448, lx: 742, ly: 396, anchor: "end", label: [2]string{"rcv SYN,ACK / snd ACK", "收 SYN,ACK / 发 ACK"}},
	{"SYN-RECEIVED", "ESTABLISHED"}: {from: "synrcvd", to: "estab", cx: 180, cy: 448, lx: 218, ly: 396, anchor: "start", label: [2]string{"rcv ACK of SYN", "收到对 SYN 的 ACK"}},
	{"SYN-RECEIVED", "FIN-WAIT-1"}:  {from: "synrcvd", to: "fw1", offset: 90, lx: 96, ly: 445, anchor: "end", label: [2]string{"CLOSE / snd FIN", "关闭 / 发 FIN"}},
	{"SYN-RECEIVED", "CLOSED"}:      {from: "synrcvd", to: "closed", route: [][2]float64{{76, 310}, {32, 310}, {32, 50}, {406, 50}}, lx: 220, ly: 42, anchor: "middle", label: [2]string{"RST, ABORT, SYN+ACK retries exhausted", "RST、中止、SYN+ACK 重传用尽"}, background: true},
	{"ESTABLISHED", "FIN-WAIT-1"}:   {from: "estab", to: "fw1", cx: 300, cy: 470, lx: 292, ly: 510, anchor: "end", label: [2]string{"CLOSE / snd FIN", "关闭 / 发 FIN"}},
	{"ESTABLISHED", "CLOSE-WAIT"}:   {from: "estab", to: "closewait", cx: 660, cy: 470, lx: 668, ly: 510, anchor: "start", label: [2]string{"rcv FIN / snd ACK", "收 FIN / 发 ACK"}},
	{"FIN-WAIT-1", "FIN-WAIT-2"}:    {from: "fw1", to: "fw2", lx: 140, ly: 640, anchor: "end", label: [2]string{"rcv ACK of FIN", "收到对 FIN 的 ACK"}},
	{"FIN-WAIT-1", "CLOSING"}:       {from: "fw1", to: "closing", cx: 400, cy: 580, lx: 420, ly: 612, anchor: "end", label: [2]string{"rcv FIN / snd ACK", "收 FIN / 发 ACK"}},
	{"FIN-WAIT-1", "TIME-WAIT"}:     {from: "fw1", to: "timewait", anchor: "along", label: [2]string{"rcv FIN+ACK / snd ACK (Note 2)", "收 FIN+ACK / 发 ACK（注 2）"}},
	{"FIN-WAIT-2", "TIME-WAIT"}:     {from: "fw2", to: "timewait", cx: 150, cy: 836, lx: 232, ly: 862, anchor: "middle", label: [2]string{"rcv FIN / snd ACK", "收 FIN / 发 ACK"}},
	{"FIN-WAIT-2", "CLOSED"}:        {from: "fw2", to: "closed2", route: [][2]float64{{76, 700}, {50, 700}, {50, 900}, {796, 900}, {796, 851}}, lx: 62, ly: 893, anchor: "start", label: [2]string{"FIN-WAIT-2 time-out (orphan)", "FIN-WAIT-2 超时（孤儿连接）"}, background: true},
	{"CLOSE-WAIT", "LAST-ACK"}:      {from: "closewait", to: "lastack", lx: 822, ly: 640, anchor: "start", label: [2]string{"CLOSE / snd FIN", "关闭 / 发 FIN"}},
	{"CLOSING", "TIME-WAIT"}:        {from: "closing", to: "timewait", lx: 492, ly: 770, anchor: "start", label: [2]string{"rcv ACK of FIN", "收到对 FIN 的 ACK"}},
	{"LAST-ACK", "CLOSED"}:          {from: "lastack", to: "closed2", lx: 822, ly: 770, anchor: "start", label: [2]string{"rcv ACK of FIN", "收到对 FIN 的 ACK"}},
	{"TIME-WAIT", "CLOSED"}:         {from: "timewait", to: "closed2", lx: 650, ly: 816, anchor: "middle", label: [2]string{"time-out = 2MSL", "2MSL 超时"}},
	{"ESTABLISHED", "CLOSED"}:       {from: "estab", to: "closed2", route: [][2]float64{{554, 450}, {716, 450}, {716, 812}, {736, 812}}, background: true},
	{"FIN-WAIT-1", "CLOSED"}:        {from: "fw1", to: "closed2", route: [][2]float64{{76, 580}, {20, 580}, {20, 914}, {824, 914}, {824, 851}}, lx: 480, ly: 932, anchor: "middle", label: [2]string{"RST, ABORT, retransmissions exhausted → CLOSED", "RST、中止、重传用尽 → CLOSED"}, background: true},
	{"CLOSE-WAIT", "CLOSED"}:        {from: "closewait", to: "closed2", route: [][2]float64{{884, 580}, {932, 580}, {932, 840}, {884, 840}}, background: true},
	{"CLOSING", "CLOSED"}:           {from: "closing", to: "closed2", route: [][2]float64{{554, 710}, {582, 710}, {582, 846}, {736, 846}}, background: true},
	{"LISTEN", "SYN-SENT"}:          {from: "listen", to: "synsent", cx: 700, cy: 190, background: true},
	{"TIME-WAIT", "SYN-RECEIVED"}:   {from: "timewait", to: "synrcvd", background: true},
}

var fig5NodeText = map[string][2]string{
	"CLOSED":       {"no connection", "没有连接"},
	"LISTEN":       {"waiting for a connection request (SYN)", "等待连接请求（SYN）"},
	"SYN-SENT":     {"SYN sent, waiting for the SYN+ACK", "已发送 SYN，等待 SYN+ACK"},
	"SYN-RECEIVED": {"SYN received and answered, waiting for its ACK", "已收到 SYN 并回复 SYN+ACK，等待确认"},
	"ESTABLISHED":  {"open: data flows both ways", "连接已建立：双向传输数据"},
	"FIN-WAIT-1":   {"our FIN sent, waiting for its ACK", "已发送 FIN，等待对方确认"},
	"FIN-WAIT-2":   {"our FIN acknowledged, waiting for the peer's FIN; we can still receive (half-close)", "我方 FIN 已被确认，等待对方的 FIN；仍可接收数据（半关闭）"},
	"CLOSE-WAIT":   {"the peer's FIN received, waiting for our application to close", "已收到对方的 FIN，等待本方应用关闭"},
	"CLOSING":      {"both sides closed at once, waiting for the ACK of our FIN", "双方同时关闭，等待对我方 FIN 的确认"},
	"LAST-ACK":     {"our FIN sent after the peer's, waiting for its ACK", "已发送最后的 FIN，等待对方确认"},
	"TIME-WAIT":    {"waiting 2MSL, so a lost last ACK can be sent again and old segments die out", "等待 2MSL：以便重发可能丢失的最后一个 ACK，并让旧报文段在网络中消失"},
}

// fig5Path returns the SVG path of an edge, shifted sideways by off px,
// and the point at fraction t along it (for the step badges).
func fig5Path(e fig5Edge, off float64) (d string, at func(t float64) (float64, float64)) {
	if len(e.route) > 0 {
		pts := make([][2]float64, len(e.route))
		copy(pts, e.route)
		var b strings.Builder
		for k, p := range pts {
			if k == 0 {
				b.WriteString("M" + num(p[0]+off) + " " + num(p[1]+off))
			} else {
				b.WriteString("L" + num(p[0]+off) + " " + num(p[1]+off))
			}
		}
		return b.String(), func(t float64) (float64, float64) {
			// by length along the route
			total := 0.0
			for k := 1; k < len(pts); k++ {
				total += math.Hypot(pts[k][0]-pts[k-1][0], pts[k][1]-pts[k-1][1])
			}
			want := t * total
			for k := 1; k < len(pts); k++ {
				seg := math.Hypot(pts[k][0]-pts[k-1][0], pts[k][1]-pts[k-1][1])
				if want <= seg && seg > 0 {
					f := want / seg
					return pts[k-1][0] + f*(pts[k][0]-pts[k-1][0]) + off, pts[k-1][1] + f*(pts[k][1]-pts[k-1][1]) + off
				}
				want -= seg
			}
			p := pts[len(pts)-1]
			return p[0] + off, p[1] + off
		}
	}
	a, z := fig5NodeByID(e.from), fig5NodeByID(e.to)
	ax, ay, zx, zy := a.x, a.y, z.x, z.y
	// perpendicular shift for parallel edges
	dx, dy := zx-ax, zy-ay
	ln := math.Hypot(dx, dy)
	px, py := -dy/ln, dx/ln
	s := e.offset/2 + off
	if e.offset != 0 && (ax > zx || ay > zy) {
		s = -e.offset/2 + off
	}
	ax, ay, zx, zy = ax+px*s, ay+py*s, zx+px*s, zy+py*s
	cx, cy := e.cx, e.cy
	if cx == 0 && cy == 0 {
		cx, cy = (ax+zx)/2, (ay+zy)/2
	} else {
		cx, cy = cx+px*off, cy+py*off
	}
	sx, sy := boxExit(ax, ay, cx, cy)
	ex, ey := boxExit(zx, zy, cx, cy)
	d = "M" + num(sx) + " " + num(sy) + "Q" + num(cx) + " " + num(cy) + " " + num(ex) + " " + num(ey)
	return d, func(t float64) (float64, float64) {
		u := 1 - t
		return u*u*sx + 2*u*t*cx + t*t*ex, u*u*sy + 2*u*t*cy + t*t*ey
	}
}

// boxExit is where the ray from a node's centre (x, y) towards (tx, ty)
// leaves the node's box.
func boxExit(x, y, tx, ty float64) (float64, float64) {
	dx, dy := tx-x, ty-y
	if dx == 0 && dy == 0 {
		return x, y
	}
	s := math.Inf(1)
	if dx != 0 {
		s = math.Min(s, (fig5HW+3)/math.Abs(dx))
	}
	if dy != 0 {
		s = math.Min(s, (fig5HH+3)/math.Abs(dy))
	}
	return x + dx*s, y + dy*s
}

// fig5Step is one transition a host took, numbered in order.
type fig5Step struct {
	host     int
	from, to string
	n        int
	ev       int
}

// fig5 writes the state diagram, with the transitions each host took in
// its colour and numbered, and the states it visited ringed.
func fig5(b *strings.Builder, l *ladder) {
	o := &l.o
	lang := 0
	if o.Lang == "zh" {
		lang = 1
	}
	var steps []fig5Step
	count := map[int]int{}
	for i := range l.ev {
		e := &l.ev[i]
		if e.Event != KindState {
			continue
		}
		c, ok := l.col[e.Host]
		if !ok {
			continue
		}
		count[c]++
		steps = append(steps, fig5Step{c, e.From, e.To, count[c], i})
	}
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" id="fig5" class="fig5" viewBox="0 0 %s %s" width="%s" height="%s" font-family="%s" role="img">`+"\n",
		num(fig5W), num(fig5H), num(fig5W), num(fig5H), esc(svgFont))
	fmt.Fprintf(b, "<title>%s</title>\n", esc(o.ui("fig5")))
	b.WriteString(`<defs><marker id="fig5-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10Z" fill="#64748b"/></marker>`)
	b.WriteString(`<marker id="fig5-head-bg" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0 0L10 5L0 10Z" fill="#cbd5e1"/></marker>`)
	for c := range l.hosts {
		fmt.Fprintf(b, `<marker id="fig5-head-%d" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0 0L10 5L0 10Z" fill="%s"/></marker>`,
			c, hostColor[c%len(hostColor)])
	}
	b.WriteString("</defs>\n")
	fmt.Fprintf(b, `<rect width="%s" height="%s" fill="#ffffff"/>`+"\n", num(fig5W), num(fig5H))

	// the table's edges, background ones first
	taken := map[[2]string]bool{}
	for _, st := range steps {
		taken[[2]string{st.from, st.to}] = true
	}
	rows := slices.Clone(tcp.Transitions)
	slices.SortStableFunc(rows, func(a, z tcp.Transition) int {
		ea, ez := fig5Edges[[2]string{a.From.String(), a.To.String()}], fig5Edges[[2]string{z.From.String(), z.To.String()}]
		switch {
		case ea.background && !ez.background:
			return -1
		case !ea.background && ez.background:
			return 1
		}
		return 0
	})
	for _, t := range rows {
		key := [2]string{t.From.String(), t.To.String()}
		e, ok := fig5Edges[key]
		if !ok || e.from == "" {
			continue
		}
		d, _ := fig5Path(e, 0)
		stroke, width, head, dash := "#64748b", "1.4", "fig5-head", ""
		if e.background {
			stroke, width, head, dash = "#cbd5e1", "1.2", "fig5-head-bg", ` stroke-dasharray="5 4"`
		}
		fmt.Fprintf(b, `<g class="fig5-edge"><title>%s → %s: %s</title><path d="%s" fill="none" stroke="%s" stroke-width="%s"%s marker-end="url(#%s)"/>`,
			key[0], key[1], esc(t.When), d, stroke, width, dash, head)
		b.WriteString(`<path d="` + d + `" fill="none" stroke="transparent" stroke-width="10"/>`)
		if e.label[lang] != "" {
			fill := "#475569"
			if e.background {
				fill = "#94a3b8"
			}
			if e.anchor == "along" {
				_, at := fig5Path(e, 0)
				x0, y0 := at(0.6)
				x1, y1 := at(0.7)
				deg := math.Atan2(y1-y0, x1-x0) * 180 / math.Pi
				mx, my := at(0.65)
				fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="11" fill="%s" transform="rotate(%s %s %s)">%s</text>`,
					num(mx), num(my-8), fill, num(deg), num(mx), num(my), esc(e.label[lang]))
			} else {
				fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="%s" font-size="11" fill="%s">%s</text>`, num(e.lx), num(e.ly), e.anchor, fill, esc(e.label[lang]))
			}
		}
		b.WriteString("</g>\n")
	}

	// the transitions this run took, per host, offset so two hosts on one
	// edge both show
	hostsOn := map[[2]string][]int{}
	for _, st := range steps {
		k := [2]string{st.from, st.to}
		if !slices.Contains(hostsOn[k], st.host) {
			hostsOn[k] = append(hostsOn[k], st.host)
		}
	}
	var keys [][2]string
	for k := range hostsOn {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, z [2]string) int { return strings.Compare(a[0]+">"+a[1], z[0]+">"+z[1]) })
	for _, k := range keys {
		e, ok := fig5Edges[k]
		drawn := ok && e.from != ""
		unknown := !legal(k[0], k[1])
		for slot, c := range hostsOn[k] {
			off := (float64(slot) - float64(len(hostsOn[k])-1)/2) * 5
			col := hostColor[c%len(hostColor)]
			var d string
			if !drawn {
				a, z := fig5NodeFor(k[0], false), fig5NodeFor(k[1], true)
				d = "M" + num(a.x+off) + " " + num(a.y+off) + "L" + num(z.x+off) + " " + num(z.y+off)
			} else {
				d, _ = fig5Path(e, off)
			}
			title := l.hosts[c] + ": " + k[0] + " → " + k[1]
			if unknown {
				title += " (" + o.ui("offtable") + ")"
			}
			dash := ""
			if unknown {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(b, `<g class="fig5-taken" data-host="%s"><title>%s</title><path d="%s" fill="none" stroke="%s" stroke-width="3.2" stroke-linecap="round" stroke-opacity="0.9"%s marker-end="url(#fig5-head-%d)"/></g>`+"\n",
				esc(l.hosts[c]), esc(title), d, col, dash, c)
		}
	}

	// nodes
	visited := map[string][]int{}
	for c, s := range l.initial {
		visited[s] = append(visited[s], c)
	}
	for _, st := range steps {
		for _, s := range []string{st.from, st.to} {
			if !slices.Contains(visited[s], st.host) {
				visited[s] = append(visited[s], st.host)
			}
		}
	}
	for _, n := range fig5Nodes {
		pc := phaseColors[phase(n.state)]
		stroke, sw := pc.band, "1.5"
		fill := "#ffffff"
		if len(visited[n.state]) > 0 {
			fill, sw = pc.tint, "2.2"
		}
		dash := ""
		if n.id == "closed2" {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(b, `<g class="fig5-node" data-state="%s"><title>%s — %s</title>`, n.state, n.state, esc(fig5NodeText[n.state][lang]))
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" rx="10" fill="%s" stroke="%s" stroke-width="%s"%s/>`,
			num(n.x-fig5HW), num(n.y-fig5HH), num(2*fig5HW), num(2*fig5HH), fill, stroke, sw, dash)
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="13.5" font-weight="700" fill="%s">%s</text>`,
			num(n.x), num(n.y+5), pc.ink, n.state)
		for k, c := range visited[n.state] {
			cx := n.x + fig5HW - 8 - float64(k)*17
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="7.5" fill="%s"/><text x="%s" y="%s" text-anchor="middle" font-size="9.5" font-weight="700" fill="#ffffff">%s</text>`,
				num(cx), num(n.y-fig5HH), hostColor[c%len(hostColor)], num(cx), num(n.y-fig5HH+3.3), esc(firstRune(l.hosts[c])))
		}
		b.WriteString("</g>\n")
	}

	// step numbers on the taken edges
	for _, k := range keys {
		e, ok := fig5Edges[k]
		for slot, c := range hostsOn[k] {
			var ns []string
			var evs []string
			for _, st := range steps {
				if st.host == c && st.from == k[0] && st.to == k[1] {
					ns = append(ns, strconv.Itoa(st.n))
					evs = append(evs, strconv.Itoa(st.ev))
				}
			}
			var x, y float64
			if !ok || e.from == "" {
				a, z := fig5NodeFor(k[0], false), fig5NodeFor(k[1], true)
				x, y = (a.x+z.x)/2, (a.y+z.y)/2
			} else {
				off := (float64(slot) - float64(len(hostsOn[k])-1)/2) * 5
				_, at := fig5Path(e, off)
				x, y = at(0.4 + 0.14*float64(slot))
			}
			text := strings.Join(ns, ",")
			w := math.Max(17, estWidth(text, 10)+9)
			fmt.Fprintf(b, `<g class="fig5-step" data-ev="%s"><title>%s</title><rect x="%s" y="%s" width="%s" height="17" rx="8.5" fill="%s" stroke="#ffffff" stroke-width="1.5"/><text x="%s" y="%s" text-anchor="middle" font-size="10" font-weight="700" fill="#ffffff">%s</text></g>`+"\n",
				evs[0], esc(l.hosts[c]+": "+k[0]+" → "+k[1]), num(x-w/2), num(y-8.5), num(w), hostColor[c%len(hostColor)], num(x), num(y+3.5), esc(text))
		}
	}
	b.WriteString("</svg>\n")
}

// fig5NodeFor finds the node drawn for a state; CLOSED as a target of a
// closing state is the lower one.
func fig5NodeFor(state string, target bool) fig5Node {
	for _, n := range fig5Nodes {
		if n.state == state {
			if state == "CLOSED" && target {
				return fig5NodeByID("closed2")
			}
			return n
		}
	}
	return fig5Node{state: state, x: fig5W / 2, y: fig5H / 2}
}

// legal reports whether from → to is a row of tcp.Transitions.
func legal(from, to string) bool {
	f, ok1 := tcp.ParseState(from)
	t, ok2 := tcp.ParseState(to)
	return ok1 && ok2 && tcp.Legal(f, t)
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}
