package signing

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small parser for distinguished names in the RFC 4514 (and
// RFC 2253) string form. It exists for one job: checking signature.issuer
// against a certificate name. It is deliberately strict. Unknown attribute
// types, dangling escapes and invalid UTF-8 are errors and are never
// skipped, because skipping an attribute would widen the match.

// dnAttribute is one type=value pair. The type is a dotted OID string. The
// value is the decoded string, or "#<hex DER>" for a value that is not a
// string type.
type dnAttribute struct {
	oid, value string
}

const oidCommonName = "2.5.4.3"

// dnAttributeTypes maps the short names of RFC 4514 §3 and RFC 4519, plus a
// few that OpenSSL writes, to OIDs (keys in upper case). SN means surname as
// in RFC 4519. OCM v1 and v2 read SN as serialNumber instead, but no
// reference writes it: Go's pkix.Name.String writes SERIALNUMBER.
var dnAttributeTypes = map[string]string{
	"CN":                     "2.5.4.3",
	"SN":                     "2.5.4.4",
	"SURNAME":                "2.5.4.4",
	"SERIALNUMBER":           "2.5.4.5",
	"C":                      "2.5.4.6",
	"L":                      "2.5.4.7",
	"ST":                     "2.5.4.8",
	"STREET":                 "2.5.4.9",
	"O":                      "2.5.4.10",
	"OU":                     "2.5.4.11",
	"TITLE":                  "2.5.4.12",
	"DESCRIPTION":            "2.5.4.13",
	"BUSINESSCATEGORY":       "2.5.4.15",
	"POSTALCODE":             "2.5.4.17",
	"NAME":                   "2.5.4.41",
	"GN":                     "2.5.4.42",
	"GIVENNAME":              "2.5.4.42",
	"INITIALS":               "2.5.4.43",
	"GENERATIONQUALIFIER":    "2.5.4.44",
	"DNQUALIFIER":            "2.5.4.46",
	"PSEUDONYM":              "2.5.4.65",
	"ORGANIZATIONIDENTIFIER": "2.5.4.97",
	"DC":                     "0.9.2342.19200300.100.1.25",
	"UID":                    "0.9.2342.19200300.100.1.1",
	"EMAILADDRESS":           "1.2.840.113549.1.9.1",
	"E":                      "1.2.840.113549.1.9.1",
}

// issuerMatcher is a parsed signature.issuer.
type issuerMatcher struct {
	commonName string        // set for a bare name (no '='), which is a CN
	attributes []dnAttribute // set for a DN
}

// parseIssuer parses an issuer. A string without '=' is a common name. This
// is the legacy V1 fallback, and the SPEC says the issuer is "validated
// against the common name of the certificate". Anything else must be a
// complete, valid DN.
func parseIssuer(s string) (issuerMatcher, error) {
	if strings.TrimSpace(s) == "" {
		return issuerMatcher{}, errors.New("empty distinguished name")
	}
	if !strings.Contains(s, "=") {
		return issuerMatcher{commonName: strings.TrimSpace(s)}, nil
	}
	attrs, err := parseDN(s)
	if err != nil {
		return issuerMatcher{}, err
	}
	return issuerMatcher{attributes: attrs}, nil
}

// matches reports whether the issuer names n:
//   - a bare common name matches when n has that CN. This follows the SPEC's
//     "common name" rule and accepts names with more attributes.
//   - a DN matches when it has exactly the same attributes as n. Order and
//     RDN grouping do not count, but values are compared exactly, as in
//     OCM v2's rfc2253.Equal. A DN claim that leaves out attributes is
//     rejected, because it does not name the certificate.
func (m issuerMatcher) matches(n pkix.Name) bool {
	have := nameAttributes(n)
	if m.attributes == nil {
		for _, a := range have {
			if a.oid == oidCommonName && a.value == m.commonName {
				return true
			}
		}
		return false
	}
	return sameAttributes(m.attributes, have)
}

func sameAttributes(a, b []dnAttribute) bool {
	if len(a) != len(b) {
		return false
	}
	cmp := func(x, y dnAttribute) int {
		if c := strings.Compare(x.oid, y.oid); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}

// nameAttributes lists every attribute of n. A name parsed from a
// certificate keeps all of its attributes in Names, including those without
// a pkix.Name field. A name built in code only has the fields.
func nameAttributes(n pkix.Name) []dnAttribute {
	atvs := n.Names
	if len(atvs) == 0 {
		for _, rdn := range n.ToRDNSequence() {
			atvs = append(atvs, rdn...)
		}
	}
	out := make([]dnAttribute, 0, len(atvs))
	for _, atv := range atvs {
		out = append(out, dnAttribute{oid: atv.Type.String(), value: attributeValueString(atv.Value)})
	}
	return out
}

func attributeValueString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	der, err := asn1.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return "#" + hex.EncodeToString(der)
}

// parseDN parses an RFC 4514 string. RDNs are separated by ',' (or ';', as
// RFC 2253 allows) and multi-valued RDNs by '+'. Each AVA is type=value. The
// type is a short name, a dotted OID, or OID.<dotted>. The value is a
// string with \c and \hh escapes, a "quoted" string, or #hex BER.
func parseDN(s string) ([]dnAttribute, error) {
	avas, err := splitDN(s)
	if err != nil {
		return nil, err
	}
	out := make([]dnAttribute, 0, len(avas))
	for _, ava := range avas {
		typ, val, ok := strings.Cut(ava, "=")
		if !ok {
			return nil, fmt.Errorf("attribute %q has no '='", strings.TrimSpace(ava))
		}
		oid, err := attributeTypeOID(strings.TrimSpace(typ))
		if err != nil {
			return nil, err
		}
		v, err := parseDNValue(val)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", strings.TrimSpace(typ), err)
		}
		out = append(out, dnAttribute{oid: oid, value: v})
	}
	return out, nil
}

// splitDN splits s into AVAs at unescaped separators outside quotes. The
// escapes are left in place for parseDNValue.
func splitDN(s string) ([]string, error) {
	var avas []string
	start := 0
	inQuotes := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("dangling '\\' at the end")
			}
			i++ // skip the escaped byte; hex pairs are plain hex digits
		case c == '"':
			inQuotes = !inQuotes
		case !inQuotes && (c == ',' || c == ';' || c == '+'):
			avas = append(avas, s[start:i])
			start = i + 1
		}
	}
	if inQuotes {
		return nil, errors.New("unterminated quoted value")
	}
	avas = append(avas, s[start:])
	for _, a := range avas {
		if strings.TrimSpace(a) == "" {
			return nil, errors.New("empty attribute (two separators in a row, or one at either end)")
		}
	}
	return avas, nil
}

func attributeTypeOID(t string) (string, error) {
	if t == "" {
		return "", errors.New("attribute with an empty type")
	}
	if oid, ok := dnAttributeTypes[strings.ToUpper(t)]; ok {
		return oid, nil
	}
	d := t
	if len(d) > 4 && strings.EqualFold(d[:4], "OID.") {
		d = d[4:]
	}
	parts := strings.Split(d, ".")
	if len(parts) >= 2 {
		valid := true
		for _, p := range parts {
			if p == "" || (len(p) > 1 && p[0] == '0') {
				valid = false
				break
			}
			if _, err := strconv.ParseUint(p, 10, 31); err != nil {
				valid = false
				break
			}
		}
		if valid {
			return d, nil
		}
	}
	return "", fmt.Errorf("unknown attribute type %q", t)
}

// parseDNValue decodes one attribute value. Unescaped leading and trailing
// spaces are not part of the value (RFC 4514 §3 requires significant spaces
// to be escaped).
func parseDNValue(raw string) (string, error) {
	v := strings.TrimLeft(raw, " ")
	if strings.HasPrefix(v, "#") {
		return parseBERValue(strings.TrimRight(v[1:], " "))
	}
	if strings.HasPrefix(v, "\"") {
		return parseQuotedValue(v[1:])
	}
	var out []byte
	keep := 0 // length of out up to the last character that is not an unescaped space
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' {
			out = append(out, c)
			if c != ' ' {
				keep = len(out)
			}
			continue
		}
		if i+1 >= len(v) {
			return "", errors.New("dangling '\\'")
		}
		if i+2 < len(v) && isHexDigit(v[i+1]) && isHexDigit(v[i+2]) {
			b, _ := strconv.ParseUint(v[i+1:i+3], 16, 8)
			out = append(out, byte(b))
			i += 2
		} else {
			out = append(out, v[i+1])
			i++
		}
		keep = len(out)
	}
	out = out[:keep]
	if !utf8.Valid(out) {
		return "", errors.New("value is not valid UTF-8")
	}
	return string(out), nil
}

// parseQuotedValue handles the RFC 1779 / RFC 2253 quoted form. rest starts
// after the opening quote.
func parseQuotedValue(rest string) (string, error) {
	var out []byte
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch c {
		case '\\':
			if i+1 >= len(rest) {
				return "", errors.New("dangling '\\'")
			}
			out = append(out, rest[i+1])
			i++
		case '"':
			if strings.TrimSpace(rest[i+1:]) != "" {
				return "", errors.New("data after the closing quote")
			}
			if !utf8.Valid(out) {
				return "", errors.New("value is not valid UTF-8")
			}
			return string(out), nil
		default:
			out = append(out, c)
		}
	}
	return "", errors.New("unterminated quoted value")
}

// parseBERValue decodes #hex. A string type gives its text, so it compares
// equal to the same value in a certificate. Any other type stays
// "#<hex DER>".
func parseBERValue(h string) (string, error) {
	der, err := hex.DecodeString(h)
	if err != nil || len(der) == 0 {
		return "", errors.New("'#' is not followed by hex-encoded BER")
	}
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(der, &rv)
	if err != nil || len(rest) != 0 {
		return "", errors.New("'#' value is not a single BER element")
	}
	if rv.Class == asn1.ClassUniversal && !rv.IsCompound {
		switch rv.Tag {
		case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String, asn1.TagNumericString:
			if !utf8.Valid(rv.Bytes) {
				return "", errors.New("'#' string value is not valid UTF-8")
			}
			return string(rv.Bytes), nil
		case asn1.TagBMPString:
			if len(rv.Bytes)%2 != 0 {
				return "", errors.New("'#' BMPString has an odd length")
			}
			u := make([]uint16, len(rv.Bytes)/2)
			for i := range u {
				u[i] = uint16(rv.Bytes[2*i])<<8 | uint16(rv.Bytes[2*i+1])
			}
			return string(utf16.Decode(u)), nil
		}
	}
	return "#" + hex.EncodeToString(der), nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
