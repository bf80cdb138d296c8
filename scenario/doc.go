// Package scenario is the catalogue of connection-management cases from the
// seed documents (SEEDS.md): each is a setup, a script of application calls
// and faults, and an expected outcome written down before the scenario is
// ever run — the states each host goes through, the segments that must
// appear, the timers that must fire and what the applications see. Run
// executes a scenario on the real stack inside the simulator, in virtual
// time, and checks the outcome against the expectation.
package scenario
