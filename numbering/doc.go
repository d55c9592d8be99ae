// Package numbering checks destination numbers and resolves them to their
// mobile network (MCC/MNC), for routes that name a network ("28202").
//
// # Checking
//
// Normalize reads a destination as router.NormalizeMSISDN does (national
// formats in the account's country) and Validate rejects impossible
// numbers with a detail, e.g. "too short for country 995: 8 digits after
// the code, want 9". Possible lengths per country calling code come from
// libphonenumber's metadata (github.com/nyaruka/phonenumbers), generated
// into lengths_gen.go by internal/lengthgen, a separate module whose tests
// check the table is current and that Validate agrees with
// phonenumbers.IsPossibleNumberWithReason on 30,000 random numbers.
//
// Why not call phonenumbers per message: Parse + IsPossibleNumberWithReason
// costs 27 allocations and 9–58 µs per number on this (shared, busy)
// machine, Parse + IsValidNumber 57–63 allocations and 14–50 µs, against 0
// allocations and 64–148 ns for Validate (benchmarks/RESULTS.md); the
// issue's budget for a whole route decision is 5 µs with no allocation. The table keeps the
// library's length rules without its cost or a new dependency in the
// gateway. What it leaves out is IsValidNumber's per-type patterns (is
// this block assigned); the range table covers that for routing: a number
// in no range resolves to SourceNone.
//
// # Resolving
//
// Resolver.Resolve tries, first answer wins:
//
//  1. PortedCache: every ported number (Postgres, `smsgate import
//     portability`) in memory, 8 bytes a slot (number<<14 | network id,
//     open addressing, ≤ 3/4 full): 134 MB for 10M numbers.
//  2. The lookup answer cache (when lookup_url is set): answers, including
//     "no network", kept cache_ttl each.
//  3. Lookup: GET lookup_url on a cache miss, waited for at most
//     lookup_timeout. A timeout, error, full queue or "no network" falls
//     through; a late answer is cached for the next message.
//  4. RangeTable: longest prefix of numbering.ranges.
//
// ResolveNoWait skips the wait in step 3 (the lookup still starts, for
// later messages): for a caller that resolves a batch in one goroutine,
// where one message's wait would hold up the others. Steps 1, 2 and 4
// take no lock and do not allocate. Networks are interned
// in a Registry shared by all stages; results carry a NetID (2 bytes) and
// the Registry gives the Network (MCCMNC as written, MCC, MNC, label).
//
// # Ownership
//
// Lookup.Run owns the lookup workers and stops them when its context ends.
// Nothing else in the package starts goroutines. PortedCache.Load is meant
// to be called by the integrator's reloader every cache_ttl (Expired says
// when), Put by its poller of new imports.
package numbering
