// Package pdu encodes and decodes SMPP 3.4 PDUs.
//
// It is hand-written for the hot path: go-smpp's codec (kept as the reference
// in tests) costs ~10 µs and ~100 allocations per round trip, which alone would
// use most of a core at the throughput smsgate targets. Encoding appends into
// a caller-owned buffer (no allocation); decoding allocates only the strings
// and byte slices it returns.
//
// The codec is lenient where peers are sloppy (missing trailing TLVs, C-octet
// strings longer than the spec's maxima) and strict where a mistake would
// desynchronise the stream or corrupt data (lengths, missing NULs).
package pdu
