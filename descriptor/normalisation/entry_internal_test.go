package normalisation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestEntryFormat checks the entry serialiser against the SPEC examples
// (§2.2) and OCM v1's encoding of nulls, HTML characters and numbers.
func TestEntryFormat(t *testing.T) {
	for _, tc := range []struct{ name, in, want, sha string }{
		{"map sorted", `{"bob":26,"alice":25}`, `[{"alice":25},{"bob":26}]`, ""},
		{"list order kept", `[{"bob":26},{"alice":25}]`, `[[{"bob":26}],[{"alice":25}]]`, ""},
		{"empty list", `{"myList":[]}`, `[{"myList":[]}]`, ""},
		{"null kept (OCM v1, unlike the SPEC)", `{"myList":null}`, `[{"myList":null}]`, ""},
		{"empty map", `{}`, `[]`, ""},
		{"byte order, not UTF-16", `{"\ufb33":1,"\ud83d\ude00":2,"B":3,"a":4}`, "[{\"B\":3},{\"a\":4},{\"\ufb33\":1},{\"\U0001F600\":2}]", ""},
		{"html and line separators escaped", `{"<k>":"a&b\u2028"}`, `[{"\u003ck\u003e":"a\u0026b\u2028"}]`, ""},
		{"numbers as float64", `[1.0,1e21,1E-7,0.000001,-0,12345678901234567890,1.5e300,100]`, `[1,1e+21,1e-7,0.000001,-0,12345678901234567000,1.5e+300,100]`, ""},
		{"bool and string", `[true,false,"x"]`, `[true,false,"x"]`, ""},
		{
			"SPEC combined example",
			`{"resources":[{"name":"elem1","version":1,"type":"elemtype","relation":"local","extraIdentity":{"other":"othervalue","additional":"value"},"access":{"type":"localBlob","localReference":"blob","mediaType":"text/plain","referenceName":"ref"}}]}`,
			`[{"resources":[[{"access":[{"localReference":"blob"},{"mediaType":"text/plain"},{"referenceName":"ref"},{"type":"localBlob"}]},{"extraIdentity":[{"additional":"value"},{"other":"othervalue"}]},{"name":"elem1"},{"relation":"local"},{"type":"elemtype"},{"version":1}]]}]`,
			"9b4d27e9a8c429d933b487befd4295451fed51f81a644b6b591c43a8cafb23a1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := decodeGeneric([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := writeEntries(&buf, g); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got  %s\nwant %s", buf.String(), tc.want)
			}
			if tc.sha != "" {
				sum := sha256.Sum256(buf.Bytes())
				if got := hex.EncodeToString(sum[:]); got != tc.sha {
					t.Errorf("sha256 %s, want %s", got, tc.sha)
				}
			}
		})
	}
	// Out-of-range numbers fail, as they do when OCM v1 decodes them.
	g, _ := decodeGeneric([]byte(`[1e400]`))
	if err := writeEntries(&bytes.Buffer{}, g); err == nil {
		t.Error("1e400 accepted")
	}
}

func TestDecodeGenericRejectsTrailingData(t *testing.T) {
	for _, in := range []string{`{} {}`, `{}]`, `"a" "b"`} {
		if _, err := decodeGeneric([]byte(in)); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

func TestFilterLabels(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		keep, err      bool
	}{
		{"only signing, reduced to four keys",
			`[{"name":"a","value":1},{"name":"b","value":2,"signing":true,"version":"v1","merge":{"algorithm":"default"},"x":1},{"name":"c","value":3,"signing":"true"},{"name":"d","value":4,"signing":false},{"name":"e","value":5,"signing":"yes"}]`,
			`[{"name":"b","signing":true,"value":2,"version":"v1"},{"name":"c","signing":"true","value":3}]`, true, false},
		{"none left: omitted", `[{"name":"a","value":1}]`, ``, false, false},
		{"empty: omitted", `[]`, ``, false, false},
		{"non-objects dropped", `[1,"x",null,{"name":"b","signing":true}]`, `[{"name":"b","signing":true}]`, true, false},
		{"scalar passed through", `"x"`, `"x"`, true, false},
		{"object rejected", `{"name":"a"}`, ``, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := decodeGeneric([]byte(tc.in))
			out, keep, err := filterLabels(g)
			if (err != nil) != tc.err || keep != tc.keep {
				t.Fatalf("keep %v, err %v", keep, err)
			}
			if !keep {
				return
			}
			got, err := canonicalJSON(out)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDefaultVersionIntoExtraIdentity(t *testing.T) {
	// Three clashing entries: all but the last get the version; an entry
	// that differs in extraIdentity is left alone.
	g, _ := decodeGeneric([]byte(`[
		{"name":"a","version":"1"},{"name":"a","version":"2"},{"name":"a","version":"3"},
		{"name":"a","version":"4","extraIdentity":{"os":"linux"}},
		{"name":"b","version":"5","extraIdentity":{"os":"linux"}},{"name":"b","version":"6","extraIdentity":{"os":"linux"}}]`))
	defaultVersionIntoExtraIdentity(mapsOf(g))
	got, _ := canonicalJSON(g)
	want := `[{"extraIdentity":{"version":"1"},"name":"a","version":"1"},{"extraIdentity":{"version":"2"},"name":"a","version":"2"},{"name":"a","version":"3"},{"extraIdentity":{"os":"linux"},"name":"a","version":"4"},{"extraIdentity":{"os":"linux","version":"5"},"name":"b","version":"5"},{"extraIdentity":{"os":"linux"},"name":"b","version":"6"}]`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
