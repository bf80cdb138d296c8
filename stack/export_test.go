package stack

// Fragment splits a packet into IP fragments for the external tests.
var Fragment = fragment
