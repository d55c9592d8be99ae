package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/smsgate/smsgate/numbering"
	"github.com/smsgate/smsgate/router"
)

// The committed table is what the generator writes today.
func TestGeneratedTableUpToDate(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../lengths_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("numbering/lengths_gen.go is stale: run `go run .` here")
	}
}

// numbering.Validate agrees with libphonenumber (Parse, then
// IsPossibleNumberWithReason) on random numbers of every known calling
// code and every length.
func TestValidateAgreesWithLibphonenumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ccs []string
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		code := strconv.Itoa(cc)
		if router.CountryPrefix(code+"0000000") == code {
			ccs = append(ccs, code)
		}
	}
	checked, skipped := 0, 0
	for range 30000 {
		code := ccs[rng.IntN(len(ccs))]
		l := 7 - len(code) + rng.IntN(15-(7-len(code))-len(code)+1)
		if l < 1 {
			l = 1
		}
		nsn := []byte{byte('1' + rng.IntN(9))}
		for len(nsn) < l {
			nsn = append(nsn, byte('0'+rng.IntN(10)))
		}
		e164 := code + string(nsn)
		p, err := phonenumbers.Parse("+"+e164, "ZZ")
		if err != nil || phonenumbers.GetNationalSignificantNumber(p) != string(nsn) {
			skipped++ // Parse refused or rewrote the number (national prefix): not comparable
			continue
		}
		checked++
		lib := phonenumbers.IsPossibleNumberWithReason(p) == phonenumbers.IS_POSSIBLE
		ours := numbering.Validate(e164) == nil
		if lib != ours {
			t.Errorf("%s: libphonenumber possible=%v, Validate=%v (%v)", e164, lib, ours, numbering.Validate(e164))
		}
	}
	t.Logf("%d numbers compared, %d not comparable", checked, skipped)
	if checked < 25000 {
		t.Errorf("only %d comparable numbers", checked)
	}
}

// Possible numbers of five countries; the cost of a rejection (an error
// message) is not what the hot path pays.
var benchNumbers = []string{"+995599123456", "+447911123456", "+14155552671", "+4915112345678", "+79161234567"}

func BenchmarkLibphonenumberParsePossible(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p, err := phonenumbers.Parse(benchNumbers[i%len(benchNumbers)], "ZZ")
		if err == nil {
			_ = phonenumbers.IsPossibleNumberWithReason(p)
		}
	}
}

func BenchmarkLibphonenumberParseValid(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p, err := phonenumbers.Parse(benchNumbers[i%len(benchNumbers)], "ZZ")
		if err == nil {
			_ = phonenumbers.IsValidNumber(p)
		}
	}
}

func BenchmarkNumberingValidate(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = numbering.Validate(benchNumbers[i%len(benchNumbers)])
	}
}

func BenchmarkNumberingNormalize(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = numbering.Normalize(benchNumbers[i%len(benchNumbers)], "995")
	}
}
