package pdu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderLen is the length of the PDU header (command_length, command_id,
// command_status, sequence_number).
const HeaderLen = 16

// MaxSeq is the largest sequence number; numbers wrap to 1 after it.
const MaxSeq = 0x7FFFFFFF

// Header is the fixed PDU header.
type Header struct {
	Length uint32
	ID     CommandID
	Status Status
	Seq    uint32
}

// Errors returned by the decoder. A *FrameError carries the header of a PDU
// that was read whole (so the stream is still in sync) but cannot be used.
var (
	ErrShort      = errors.New("pdu: body too short")
	ErrNoNUL      = errors.New("pdu: C-octet string without NUL terminator")
	ErrBadLength  = errors.New("pdu: command_length out of range")
	ErrTruncated  = errors.New("pdu: stream ended or stalled inside a PDU")
	ErrTooLarge   = errors.New("pdu: command_length above limit")
	ErrUnknownCmd = errors.New("pdu: unknown command_id")
	ErrBadTLV     = errors.New("pdu: malformed TLV")
	ErrSMTooLong  = errors.New("pdu: short_message longer than 254 octets")
)

// ParseHeader reads the header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrShort
	}
	return Header{
		Length: binary.BigEndian.Uint32(b[0:]),
		ID:     CommandID(binary.BigEndian.Uint32(b[4:])),
		Status: Status(binary.BigEndian.Uint32(b[8:])),
		Seq:    binary.BigEndian.Uint32(b[12:]),
	}, nil
}

// FrameError reports a PDU that was consumed from the stream but is unusable
// (too large, discarded). The connection is still in sync.
type FrameError struct {
	Header Header
	Err    error
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("%v (%s seq %d, length %d)", e.Err, e.Header.ID, e.Header.Seq, e.Header.Length)
}
func (e *FrameError) Unwrap() error { return e.Err }

// ReadFrame reads one PDU from r. The body is read into buf (grown if
// needed) and returned as a sub-slice valid until the next call with the
// same buf. A command_length below 16 or above 64 MiB desynchronises the
// stream and returns ErrBadLength (the caller must drop the connection);
// one above maxLen is read and discarded and returned as a *FrameError
// wrapping ErrTooLarge, so the caller can answer it and keep the bind.
func ReadFrame(r io.Reader, buf []byte, maxLen int) (Header, []byte, []byte, error) {
	// The header is read into buf (not a local array, which would escape
	// through io.Reader and cost an allocation per PDU).
	if cap(buf) < HeaderLen {
		buf = make([]byte, HeaderLen, 512)
	}
	if n, err := io.ReadFull(r, buf[:HeaderLen]); err != nil {
		if n > 0 {
			return Header{}, nil, buf, fmt.Errorf("%w (header, %d of %d bytes): %w", ErrTruncated, n, HeaderLen, err)
		}
		return Header{}, nil, buf, err
	}
	h, _ := ParseHeader(buf[:HeaderLen])
	if h.Length < HeaderLen || h.Length > 64<<20 {
		return h, nil, buf, fmt.Errorf("%w: %d", ErrBadLength, h.Length)
	}
	n := int(h.Length) - HeaderLen
	if maxLen > 0 && int(h.Length) > maxLen {
		if got, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return h, nil, buf, fmt.Errorf("%w (body of %s, %d of %d bytes): %w", ErrTruncated, h.ID, got, n, err)
		}
		return h, nil, buf, &FrameError{Header: h, Err: ErrTooLarge}
	}
	if cap(buf) < n {
		buf = make([]byte, n, max(n, 2*cap(buf)))
	}
	body := buf[:n]
	if got, err := io.ReadFull(r, body); err != nil {
		return h, nil, buf, fmt.Errorf("%w (body of %s, %d of %d bytes): %w", ErrTruncated, h.ID, got, n, err)
	}
	return h, body, buf, nil
}

// AppendHeader appends a header with a zero length; Finish patches it.
func AppendHeader(dst []byte, id CommandID, status Status, seq uint32) ([]byte, int) {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(id))
	dst = binary.BigEndian.AppendUint32(dst, uint32(status))
	dst = binary.BigEndian.AppendUint32(dst, seq)
	return dst, start
}

// Finish writes command_length of the PDU that starts at start.
func Finish(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// Append appends a whole PDU: header and body. A response with a non-zero
// status carries no body (SMPP 3.4 §4: "not returned if the command_status
// field contains a non-zero value").
func Append(dst []byte, seq uint32, status Status, b Body) []byte {
	id := b.CommandID()
	dst, start := AppendHeader(dst, id, status, seq)
	if status == StatusOK || !id.IsResponse() {
		dst = b.AppendBody(dst)
	}
	return Finish(dst, start)
}

// AppendEmpty appends a PDU without a body (enquire_link, unbind, their
// responses, generic_nack, an error response).
func AppendEmpty(dst []byte, id CommandID, status Status, seq uint32) []byte {
	dst, start := AppendHeader(dst, id, status, seq)
	return Finish(dst, start)
}
