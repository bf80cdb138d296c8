// Package lab is synack lab: a local web page where a learner picks a case
// of the catalogue (or an explorer token), sees its ladder and RFC 9293's
// state diagram as the HTML report draws them, clicks a segment to lose,
// duplicate or delay it (or a host to crash it, the link to cut it) and
// sees the run replayed at once, turns the settings the seed documents
// talk about, steps through time, compares two runs and shares the whole
// experiment as a URL.
//
// The simulator is deterministic and fast, so the server simply runs the
// experiment again at each change: the page holds no simulation, only the
// experiment (in its URL) and the run the server drew. Everything is
// embedded: the page fetches nothing from elsewhere.
//
// A fault names a segment by its packet number in the trace (Event.Packet):
// the Nth packet the run put on the wire. The faults are applied in the
// order they were added, each to the run with the ones before it; an
// earlier fault added later may make packet N another segment, as the
// page says. Each fault comes back applied or not, with why not
// (scenario.FaultOutcome): a packet the run does not show, or a segment of
// two-way-handshake's model, which is drawn, not simulated.
//
// The server answers in the request's language (lang=en or zh): its
// messages, the settings' labels, the faults, and the catalogue's own
// texts in a run (scenario.Translate); the page's own words are in
// lab.js.
package lab
