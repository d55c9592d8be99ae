// Package dlr is the pure logic behind receipts and mobile-originated
// messages: parsing delivery-receipt texts, normalising receipt ids so they
// correlate with submit_sm_resp ids, aggregating per-part statuses into a
// message status that never goes back, reassembling multipart MO behind a
// pluggable Store, and recognising keywords.
//
// Nothing here does I/O: the gateway supplies the Store (Postgres) and
// decides what to publish.
package dlr
