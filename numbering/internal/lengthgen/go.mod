module github.com/smsgate/smsgate/numbering/internal/lengthgen

go 1.26.8

replace github.com/smsgate/smsgate => ../../..

require github.com/nyaruka/phonenumbers v1.8.1

require (
	golang.org/x/text v0.23.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
