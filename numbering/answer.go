package numbering

import (
	"encoding/json"
	"fmt"
)

// maxAnswerBytes bounds a lookup answer body; real ones are ~30 bytes.
const maxAnswerBytes = 4 << 10

// decodeAnswer reads a lookup answer {"mcc":"282","mnc":"01"}. Unknown
// fields are ignored (HLR services add their own). found is false for an
// answer that names no network: {} or empty mcc and mnc. An mcc or mnc of
// the wrong shape is an error, as is anything that is not one JSON object.
func decodeAnswer(body []byte) (mcc, mnc string, found bool, err error) {
	var a struct {
		MCC *string `json:"mcc"`
		MNC *string `json:"mnc"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return "", "", false, fmt.Errorf("answer: %w", err)
	}
	if a.MCC != nil {
		mcc = *a.MCC
	}
	if a.MNC != nil {
		mnc = *a.MNC
	}
	if mcc == "" && mnc == "" {
		return "", "", false, nil
	}
	if err := checkMCCMNC(mcc, mnc); err != nil {
		return "", "", false, fmt.Errorf("answer: %w", err)
	}
	return mcc, mnc, true, nil
}
