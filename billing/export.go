package billing

import "time"

// BillingRow is one line of the billing export (interface §5): one billed
// message part. Fields are in column order.
type BillingRow struct {
	MessageID     string
	Part          int
	Account       string
	Operator      string
	Destination   string
	CountryPrefix string
	SubmittedAt   time.Time
	Status        string
	Cost          Amount
	Price         Amount
	Currency      string
}

// MORow is one line of the received-messages export.
type MORow struct {
	ID         string
	ReceivedAt time.Time
	Operator   string
	From       string
	To         string
	Text       string
	Keyword    string
	Parts      int
}

// BillingHeader returns the header of the billing export, in order (§5).
func BillingHeader() []string {
	return []string{"message_id", "part", "account", "operator", "destination", "country_prefix", "submitted_at", "status", "cost", "price", "currency"}
}

// MOHeader returns the header of the MO export, in order.
func MOHeader() []string {
	return []string{"id", "received_at", "operator", "from", "to", "text", "keyword", "parts"}
}

// BillingSource yields billing rows one at a time (in the gateway, a
// server-side cursor). Next fills *row and returns nil, or returns io.EOF
// after the last row, or another error that aborts the export. The row may
// be reused by the caller between calls.
type BillingSource interface {
	Next(row *BillingRow) error
}

// MOSource is BillingSource for MO rows.
type MOSource interface {
	Next(row *MORow) error
}

// progressEvery is how many rows pass between progress callbacks: often
// enough for a 10/s display at export speeds, rare enough to cost nothing.
const progressEvery = 1024

// tsLayout is RFC 3339 in UTC with exactly three fractional digits, as §5
// asks for submitted_at; times are converted to UTC before formatting.
const tsLayout = "2006-01-02T15:04:05.000Z"
