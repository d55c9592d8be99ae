package router

// countryCodes lists the ITU-T E.164 country calling codes in service
// (ITU-T E.164 Annex to Operational Bulletin, "List of ITU-T
// Recommendation E.164 assigned country codes"), including the shared +1
// (North American Numbering Plan) and +7 (Russia, Kazakhstan) and the
// global service codes that reach phones (satellite, international
// networks). Spare and withdrawn codes are left out, so a number in them is
// unknown. The set is prefix-free: no code begins another one, which is
// what lets a number's code be read off its first digits.
var countryCodes = [...]string{
	// Zone 1: North American Numbering Plan (US, Canada, Caribbean, ...).
	"1",
	// Zone 2: Africa and some islands.
	"20",                              // Egypt
	"211", "212", "213", "216", "218", // South Sudan, Morocco, Algeria, Tunisia, Libya
	"220", "221", "222", "223", "224", "225", "226", "227", "228", "229", // Gambia … Benin
	"230", "231", "232", "233", "234", "235", "236", "237", "238", "239", // Mauritius … São Tomé and Príncipe
	"240", "241", "242", "243", "244", "245", "246", "247", "248", "249", // Equatorial Guinea … Sudan (246 Diego Garcia, 247 Ascension)
	"250", "251", "252", "253", "254", "255", "256", "257", "258", // Rwanda … Mozambique
	"260", "261", "262", "263", "264", "265", "266", "267", "268", "269", // Zambia … Comoros (262 Réunion, Mayotte)
	"27",                              // South Africa
	"290", "291", "297", "298", "299", // Saint Helena, Eritrea, Aruba, Faroe Islands, Greenland
	// Zones 3 and 4: Europe.
	"30", "31", "32", "33", "34", // Greece, Netherlands, Belgium, France, Spain
	"350", "351", "352", "353", "354", "355", "356", "357", "358", "359", // Gibraltar … Bulgaria
	"36",                                                                 // Hungary
	"370", "371", "372", "373", "374", "375", "376", "377", "378", "379", // Lithuania … San Marino, Vatican (379)
	"380", "381", "382", "383", "385", "386", "387", "389", // Ukraine, Serbia, Montenegro, Kosovo, Croatia, Slovenia, Bosnia and Herzegovina, North Macedonia
	"39",       // Italy, Vatican
	"40", "41", // Romania, Switzerland
	"420", "421", "423", // Czechia, Slovakia, Liechtenstein
	"43", "44", "45", "46", "47", "48", "49", // Austria, United Kingdom, Denmark, Sweden, Norway, Poland, Germany
	// Zone 5: South and Central America.
	"500", "501", "502", "503", "504", "505", "506", "507", "508", "509", // Falkland Islands … Haiti
	"51", "52", "53", "54", "55", "56", "57", "58", // Peru, Mexico, Cuba, Argentina, Brazil, Chile, Colombia, Venezuela
	"590", "591", "592", "593", "594", "595", "596", "597", "598", "599", // Guadeloupe … Curaçao, Caribbean Netherlands
	// Zone 6: Southeast Asia and Oceania.
	"60", "61", "62", "63", "64", "65", "66", // Malaysia, Australia, Indonesia, Philippines, New Zealand, Singapore, Thailand
	"670", "672", "673", "674", "675", "676", "677", "678", "679", // Timor-Leste, Norfolk Island, Brunei … Fiji
	"680", "681", "682", "683", "685", "686", "687", "688", "689", // Palau … French Polynesia
	"690", "691", "692", // Tokelau, Micronesia, Marshall Islands
	// Zone 7: Russia and Kazakhstan.
	"7",
	// Zone 8: East Asia and global services.
	"800", "808", // International Freephone, International Shared Cost Service
	"81", "82", "84", "86", // Japan, South Korea, Vietnam, China
	"850", "852", "853", "855", "856", // North Korea, Hong Kong, Macao, Cambodia, Laos
	"870",                      // Inmarsat
	"880", "881", "882", "883", // Bangladesh, Global Mobile Satellite System, International Networks (two codes)
	"886", "888", // Taiwan, OCHA disaster relief
	// Zone 9: West, Central and South Asia.
	"90", "91", "92", "93", "94", "95", // Turkey, India, Pakistan, Afghanistan, Sri Lanka, Myanmar
	"960", "961", "962", "963", "964", "965", "966", "967", "968", // Maldives … Oman
	"970", "971", "972", "973", "974", "975", "976", "977", // Palestine, UAE, Israel, Bahrain, Qatar, Bhutan, Mongolia, Nepal
	"979",                                    // International Premium Rate Service
	"98",                                     // Iran
	"992", "993", "994", "995", "996", "998", // Tajikistan, Turkmenistan, Azerbaijan, Georgia, Kyrgyzstan, Uzbekistan
}

// ccLen maps the first three digits of a number (as 0–999) to the length of
// its country calling code, 0 when the code is unknown. A fixed array keeps
// CountryPrefix to one index and no allocation.
var ccLen = buildCCLen()

func buildCCLen() (l [1000]uint8) {
	for _, c := range countryCodes {
		v := 0
		for i := 0; i < len(c); i++ {
			v = v*10 + int(c[i]-'0')
		}
		// A code of n digits covers the 10^(3-n) three-digit starts below it.
		span := 1
		for range 3 - len(c) {
			v *= 10
			span *= 10
		}
		for i := v; i < v+span; i++ {
			l[i] = uint8(len(c))
		}
	}
	return l
}
