package signing

import (
	"strings"
	"testing"
)

func TestParseDN(t *testing.T) {
	cases := []struct {
		in   string
		want string // "oid=value|oid=value" in input order, or "error: <substring>"
	}{
		{"CN=a", "2.5.4.3=a"},
		{" CN = a b , O=x ", "2.5.4.3=a b|2.5.4.10=x"},
		{`CN=\ a\ `, "2.5.4.3= a "},
		{`CN=a\,b\+c\;d\"e\\f\<g\>`, `2.5.4.3=a,b+c;d"e\f<g>`},
		{`CN=\47r\C3\BC\C3\9Fe`, "2.5.4.3=Grüße"},
		{`CN="a,b+c"`, "2.5.4.3=a,b+c"},
		{"CN=a+OU=b;O=c", "2.5.4.3=a|2.5.4.11=b|2.5.4.10=c"},
		{"cn=a,oid.2.5.4.10=b,2.5.4.11=c", "2.5.4.3=a|2.5.4.10=b|2.5.4.11=c"},
		{"SN=Doe,SERIALNUMBER=42,DC=example,UID=jd,E=a@b", "2.5.4.4=Doe|2.5.4.5=42|0.9.2342.19200300.100.1.25=example|0.9.2342.19200300.100.1.1=jd|1.2.840.113549.1.9.1=a@b"},
		{"CN=#0c0161", "2.5.4.3=a"},            // UTF8String
		{"CN=#13026162", "2.5.4.3=ab"},         // PrintableString
		{"CN=#1e0400e400df", "2.5.4.3=äß"},     // BMPString
		{"1.2.3.4=#020101", "1.2.3.4=#020101"}, // INTEGER stays BER
		{"CN=a=b", "2.5.4.3=a=b"},
		{"CN=", "2.5.4.3="},
		{"XX=a", "error: unknown attribute type \"XX\""},
		{"1.2.x=a", "error: unknown attribute type"},
		{"01.2=a", "error: unknown attribute type"},
		{"=a", "error: empty type"},
		{"CN=a,,O=b", "error: empty attribute"},
		{"CN=a+", "error: empty attribute"},
		{"CN=a,O", "error: has no '='"},
		{`CN=a\`, "error: dangling"},
		{`CN="a`, "error: unterminated"},
		{`CN="a"b`, "error: after the closing quote"},
		{"CN=#", "error: hex-encoded BER"},
		{"CN=#0c01", "error: single BER element"},
		{"CN=#0c016100", "error: single BER element"},
		{`CN=\ff`, "error: not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			attrs, err := parseDN(c.in)
			if want, ok := strings.CutPrefix(c.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %v, %v; want an error containing %q", attrs, err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range attrs {
				got = append(got, a.oid+"="+a.value)
			}
			if g := strings.Join(got, "|"); g != c.want {
				t.Fatalf("got %q, want %q", g, c.want)
			}
		})
	}
}
