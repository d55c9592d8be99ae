// Package faults holds the fault tests of issue #8: the real smsgate binary
// under load while its SMSC, Postgres, Kafka broker or its own process
// fail, each followed by a check that every produced id has one final or
// unknown status, the SMSC saw no duplicate a status does not excuse, and no
// part was billed twice.
//
// Without build tags the short form runs (small counts, part of `make
// test`); `make faults` runs the long form (-tags faults) with the
// durations the issue names. Results rows are printed with t.Log and, when
// $FAULTS_RESULTS names a file, appended to it as Markdown table rows.
package faults
