// Package billing holds the money side of smsgate, as pure logic without
// I/O of its own: exact decimal amounts (Amount, micros), rate cards with
// prefix/network lookup, effective dates and monthly volume tiers
// (RateCard), the ledger entry and charging policy (Entry, ShouldBill),
// streaming CSV/XLSX exports fed by row sources (WriteBillingCSV,
// WriteBillingXLSX, WriteMOCSV, WriteMOXLSX), a terminal progress line, and
// reconciliation against operator CDR files (Reconcile).
//
// Money never passes through binary floating point on its way between
// config, Postgres and the exports; sums are taken per currency only.
package billing
