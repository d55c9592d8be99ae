// Package coding turns message text into SMPP short_message octets and back:
// it chooses the encoding (GSM 03.38 7-bit, Latin-1, UCS-2), splits long
// texts into parts, builds and parses the concatenation user data header
// (UDH), and packs GSM septets. It does no I/O and runs for every message, so
// Choose and CountParts do not allocate and Split allocates twice.
//
// # Limits
//
// An SMS carries at most 140 octets of user data on the air interface (GSM
// 03.40 TP-UD). All limits follow from that:
//
//	                      GSM 7-bit    Latin-1/binary   UCS-2 (UTF-16 units)
//	single part, no UDH   160 septets  140 octets       70
//	UDH8  (6-octet UDH)   153          134              67
//	UDH16 (7-octet UDH)   152          133              66
//	SAR   (no UDH)        152          133              66
//	Payload               one part of any length (message_payload TLV)
//
// 160 septets = 140 octets × 8 / 7. With a UDH, the 8-bit reference IE
// (05 00 03 ref total seq) leaves 134 octets; GSM text must then start on a
// septet boundary, so 1 fill bit follows the UDH and (134×8−1)/7 = 153
// septets remain. The 16-bit IE (06 08 04 refHi refLo total seq) leaves 133
// octets, 0 fill bits, 152 septets. UCS-2 units are 2 octets: 134/2 = 67,
// 133/2 rounded down = 66.
//
// SAR parts carry no UDH in short_message, but the SMSC must add a
// concatenation IE on the air interface to let the handset join them, and
// with a 16-bit sar_msg_ref_num it may use the 7-octet one: SAR parts
// therefore use the UDH16 limits. (Single-part limits per SAR part would
// leave the SMSC no room for the IE.)
//
// Limits count septets, not octets of short_message: with one septet per
// octet (gsm7_packed false, the default) a 153-septet part plus its UDH is
// 159 octets in short_message and the SMSC packs it to 140. Packed parts are
// at most 140 octets.
//
// An extension-table character (one of {}[]~\|^€ and form feed) is two
// septets (0x1B, code) and is never split across parts; neither is a UTF-16
// surrogate pair (emoji). Such a pair moves whole to the next part, which
// may leave the previous part one unit short.
//
// # Packed GSM and trailing CR
//
// SMPP has no septet count, so a receiver of packed text derives it from the
// octet count. When 7 bits of the last octet are spare the packer fills them
// with CR, and Decode drops a final CR that ends exactly on an octet
// boundary (GSM 03.38 §6.1.2.3.1), like handsets and SMSCs do. A text whose
// own last character is a CR ending exactly on an octet boundary therefore
// loses that CR when the count is derived; pass DecodeOptions.Septets when
// it is known.
//
// National language shift tables (GSM 03.38 Turkish, Spanish, Portuguese,
// Indian languages) are not supported: such text goes UCS-2.
package coding
