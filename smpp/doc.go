// Package smpp is the ESME side of SMPP 3.4: a Session is one bind (bind,
// window, sequence numbers, enquire_link, deadlines), a Pool keeps the
// binds of one operator up behind a TPS Gate. PDUs are encoded and
// decoded by smpp/pdu. The package imports neither Kafka nor Postgres.
//
// # Goroutines and ownership
//
// Each Session has exactly two goroutines, started by Dial:
//
//   - the reader owns the socket's read side (a bufio.Reader and the
//     frame buffer). It matches submit_sm_resp and generic_nack to their
//     submit_sm by sequence number and calls done; answers enquire_link,
//     unbind, unknown commands (generic_nack ESME_RINVCMDID) and oversized
//     or malformed PDUs (generic_nack) through the writer's queue; and
//     hands deliver_sm to the InboundHandler. With MaxUnacked deliver_sm
//     un-acked it pauses (backpressure), for at most MaxReadPause; then it
//     answers further ones ESME_RTHROTTLED and reads on, so responses to
//     our submits never wait long for the inbound side.
//     It ends when a read fails: connection closed, read deadline, or a
//     desynchronised stream (pdu.ErrBadLength).
//   - the writer owns the socket's write side. Submit and the reader
//     encode PDUs straight into two byte queues under the session mutex
//     (responses and control PDUs first, submit_sm second) and wake the
//     writer, which swaps the queues for its spare buffers and writes
//     everything in one Write with a deadline: one syscall per burst, no
//     per-PDU allocation. The same goroutine runs a periodic sweep
//     (a twentieth of the shortest timeout): submit_sm older than
//     RespTimeout resolve as Unknown and free their slot (entries are kept
//     in queue order, which is deadline order, so the sweep pops from the
//     head: no timer per PDU), and an enquire_link is sent after
//     EnquireLink of read silence and the session fails if
//     EnquireLinkTimeout more pass without a byte. While the writer is
//     blocked in a Write (at most WriteTimeout) the sweep waits too.
//
// Both stop the same way: whoever detects the end calls fail, which
// records the error, refuses new submits, closes the connection (waking
// the other goroutine) and closes the dying channel (waking blocked
// Submit callers and the backpressure wait). The writer then waits for the
// reader, resolves every outstanding submit_sm (NotSent if its bytes never
// reached the socket, Unknown otherwise), and closes Done. Close is the
// graceful path: stop submits, drain the window and the un-acked
// deliver_sm (bounded by its ctx), unbind, wait for unbind_resp, fail.
//
// Callbacks (Submit's done) run on the reader goroutine (responses) or
// the writer goroutine (timeouts, teardown), never under the session lock;
// they must return quickly. The InboundHandler runs on the reader
// goroutine; its ack may be called from anywhere.
//
// A Pool runs one keeper goroutine per wanted bind, started and stopped by
// Run (which owns them and returns after they have all ended). A keeper
// dials, registers the session for Submit, waits for it to end, and
// reconnects after a jittered exponential back-off; when its context ends
// it closes its session gracefully (bounded by CloseTimeout).
//
// # Outcomes
//
// Every submit_sm queued by Submit gets exactly one Result: Responded
// (with the SMSC's status; ESME_RTHROTTLED and ESME_RMSGQFUL also slow
// the Pool's Gate), Unknown (written, never answered: do not resend
// blindly), or NotSent (safe to retry).
package smpp
