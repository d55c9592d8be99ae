// Package protect is smsgate's traffic protection (§6 of the interface):
// blocklist, sender-ID rules, content rules, the loop guard and the pumping
// guard, as pure in-memory logic. It does no I/O: the integrator feeds it
// messages (Guard.Check at ingest, Guard.Recheck at dispatch once the
// operator is known), delivery outcomes (Guard.ObserveReceipt), blocklist
// changes (Blocklist.Add/Remove/Replace) and persisted holds
// (Guard.Restore), and persists what Options.OnHold reports.
//
// Check runs the checks in this order, and stops at the first that does not
// allow the message:
//
//  1. blocklist — the cheapest check (one hash probe) and absolute: a
//     blocked number is rejected for every kind of traffic, and it must
//     not feed the stateful guards below.
//  2. sender rules — stateless and cheap (a few comparisons); the sender
//     a message will really carry (after replace_with) is known before
//     anything that depends on the text.
//  3. content — stateless but the dearest stateless check (regular
//     expressions); run only for messages that could otherwise be sent.
//  4. loop — stateful: counts a (account, sender, destination) pair. It
//     runs after every stateless reject so that rejected messages do not
//     use up the pair's allowance.
//  5. pumping — stateful and the only check with side effects beyond its
//     own message (a whole range is held); last, so that only messages
//     that would really be sent count toward a range's velocity.
//
// Content rules are compiled once (Go RE2: linear time, no catastrophic
// backtracking). A prefilter finds which rules' required literals occur in
// the text in one pass, so a rule runs its regexp only when its literal is
// there; a rule with no required literal (e.g. `\d{16}`) runs on every
// text of its accounts and costs microseconds each (benchmarks/RESULTS.md).
//
// Rules can be swapped at run time (Guard.SetRules) without losing the loop
// and pumping state. The Guard starts no goroutines: idle state is
// expired on the way (each shard sweeps itself at most once per idle
// period) and memory is bounded by Options.MaxLoopPairs and
// Options.MaxRanges; evictions are counted in Stats.
package protect
