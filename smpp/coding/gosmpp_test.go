package coding

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	smppenc "github.com/fiorix/go-smpp/v2/smpp/encoding"
)

// go-smpp v2.1.0's GSM7 codec is an independent implementation used here as
// a reference, only where it is right:
//   - no UDH: it has no notion of fill bits (its SubmitLongMsg garbles
//     packed parts, field-notes.md), so only whole single texts are compared;
//   - packed texts contain no '@' and no CR: its unpacker drops an 8th
//     septet whose octet is 0 (a genuine '@') and any final CR on an 8-septet
//     boundary, heuristics our explicit rules replace.
//
// Unpacked, its tables (default + extension) agree with ours for every
// character, so unpacked texts use the whole alphabet.
func TestGoSMPPCrossCheck(t *testing.T) {
	alphabet := []rune(strings.ReplaceAll(gsmDefault, "\x1b", "") + "{}[]~\\|^€\f")
	safe := []rune(strings.NewReplacer("@", "", "\r", "").Replace(string(alphabet)))
	texts := []string{
		"hellohello", "Hello, world!", "{}[]~\\|^€", string(alphabet),
		"Lorem ipsum dolor sit amet, consectetur adipiscing elit. Curabitur nec nunc venenatis.",
		strings.Repeat("1234567", 23),
	}
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same texts every run
	for i := 0; i < 300; i++ {
		n := rng.IntN(200)
		r := make([]rune, n)
		for j := range r {
			r[j] = alphabet[rng.IntN(len(alphabet))]
		}
		texts = append(texts, string(r))
	}
	for _, text := range texts {
		// Unpacked, all characters.
		ours, err := EncodeGSM7(text)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := smppenc.GSM7(false).NewEncoder().Bytes([]byte(text))
		if err != nil {
			t.Fatalf("go-smpp unpacked encode %q: %v", text, err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("unpacked %q: ours %x, go-smpp %x", text, ours, theirs)
		}
		if dec, err := smppenc.GSM7(false).NewDecoder().Bytes(ours); err != nil || string(dec) != text {
			t.Fatalf("go-smpp decodes ours as %q, %v; want %q", dec, err, text)
		}

		// Packed, characters where go-smpp's unpacker is right.
		text = strings.Map(func(r rune) rune {
			if r == '@' || r == '\r' {
				return safe[int(r)%len(safe)]
			}
			return r
		}, text)
		if text == "" {
			continue
		}
		sept, _ := EncodeGSM7(text)
		ours = PackSeptets(nil, sept, 0)
		theirs, err = smppenc.GSM7(true).NewEncoder().Bytes([]byte(text))
		if err != nil {
			t.Fatalf("go-smpp packed encode %q: %v", text, err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("packed %q: ours %x, go-smpp %x", text, ours, theirs)
		}
		if dec, err := smppenc.GSM7(true).NewDecoder().Bytes(ours); err != nil || string(dec) != text {
			t.Fatalf("go-smpp decodes ours as %q, %v; want %q", dec, err, text)
		}
		if dec, err := Decode(0, theirs, DecodeOptions{GSM7Packed: true}); err != nil || dec != text {
			t.Fatalf("we decode go-smpp's %x as %q, %v; want %q", theirs, dec, err, text)
		}
	}
}
