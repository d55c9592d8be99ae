package pdu

import "encoding/binary"

// reader walks a PDU body. Errors are sticky: after the first one every
// read returns zero values, and err reports it.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = ErrShort
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// cstring reads a NUL-terminated string. Lengths above the spec's maxima are
// accepted: peers overrun them and nothing is gained by refusing.
func (r *reader) cstring() string {
	if r.err != nil {
		return ""
	}
	for i, c := range r.b {
		if c == 0 {
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	r.err = ErrNoNUL
	return ""
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = ErrShort
		return nil
	}
	v := make([]byte, n)
	copy(v, r.b[:n])
	r.b = r.b[n:]
	return v
}

// tlvs reads the optional parameters that fill the rest of the body.
func (r *reader) tlvs() TLVs {
	if r.err != nil || len(r.b) == 0 {
		return nil
	}
	var out TLVs
	for len(r.b) > 0 {
		if len(r.b) < 4 {
			r.err = ErrBadTLV
			return out
		}
		tag := binary.BigEndian.Uint16(r.b)
		n := int(binary.BigEndian.Uint16(r.b[2:]))
		if len(r.b) < 4+n {
			r.err = ErrBadTLV
			return out
		}
		v := make([]byte, n)
		copy(v, r.b[4:4+n])
		out = append(out, TLV{Tag: Tag(tag), Value: v})
		r.b = r.b[4+n:]
	}
	return out
}

func appendCString(dst []byte, s string) []byte {
	dst = append(dst, s...)
	return append(dst, 0)
}
