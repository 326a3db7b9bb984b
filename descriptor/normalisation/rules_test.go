package normalisation_test

import (
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
)

// jsonDescriptor builds a JSON descriptor test.de/x:v1 with extra component
// members (JSON text without the surrounding braces).
func jsonDescriptor(provider, members string) string {
	if members != "" {
		members = "," + members
	}
	return `{"meta":{"schemaVersion":"v2"},"component":{"name":"test.de/x","version":"v1","provider":` + provider +
		`,"repositoryContexts":null,"resources":null,"sources":null,"componentReferences":null` + members + `}}`
}

func mustNormalise(t *testing.T, d *descriptor.Descriptor, alg string) string {
	t.Helper()
	out, err := normalisation.Normalise(d, alg)
	if err != nil {
		t.Fatalf("%s: %v", alg, err)
	}
	return string(out)
}

// TestLabelValueNumbers: JCS writes numbers in ES6 form (v2–v4alpha1), the
// entry format as Go's float64 encoding (v1).
func TestLabelValueNumbers(t *testing.T) {
	for _, tc := range []struct{ in, jcs, entry string }{
		{"1.0", "1", "1"},
		{"-0", "0", "-0"},
		{"-0.0", "0", "-0"},
		{"1e21", "1e+21", "1e+21"},
		{"1E+21", "1e+21", "1e+21"},
		{"1e20", "100000000000000000000", "100000000000000000000"},
		{"1e-7", "1e-7", "1e-7"},
		{"0.000001", "0.000001", "0.000001"},
		{"123e-2", "1.23", "1.23"},
		{"9007199254740993", "9007199254740992", "9007199254740992"},
		{"333333333.33333329", "333333333.3333333", "333333333.3333333"},
		{"4.50", "4.5", "4.5"},
		{"2e-3", "0.002", "0.002"},
		{"-1.5e-300", "-1.5e-300", "-1.5e-300"},
		{"5e-324", "5e-324", "5e-324"},
		{"1.7976931348623157e308", "1.7976931348623157e+308", "1.7976931348623157e+308"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d := decode(t, jsonDescriptor(`"p"`, `"labels":[{"name":"n","signing":true,"value":[`+tc.in+`]}]`))
			for _, alg := range []string{normalisation.JSONv2, normalisation.JSONv3, normalisation.JSONv4alpha1} {
				if got := mustNormalise(t, d, alg); !strings.Contains(got, `"value":[`+tc.jcs+`]}`) {
					t.Errorf("%s: %s", alg, got)
				}
			}
			if got := mustNormalise(t, d, normalisation.JSONv1); !strings.Contains(got, `{"value":[`+tc.entry+`]}`) {
				t.Errorf("v1: %s", got)
			}
		})
	}
	d := decode(t, jsonDescriptor(`"p"`, `"labels":[{"name":"n","signing":true,"value":1e400}]`))
	for _, alg := range normalisation.Algorithms() {
		if _, err := normalisation.Normalise(d, alg); err == nil {
			t.Errorf("%s accepted 1e400", alg)
		}
	}
}

// TestKeyOrder uses RFC 8785 §3.2.3's example: JCS sorts by UTF-16 code
// units (😀 before דּ), the entry format by bytes (דּ before 😀).
func TestKeyOrder(t *testing.T) {
	value := `{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`
	d := decode(t, jsonDescriptor(`"p"`, `"labels":[{"name":"n","signing":true,"value":`+value+`}]`))
	wantJCS := "\"value\":{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"
	for _, alg := range []string{normalisation.JSONv2, normalisation.JSONv3, normalisation.JSONv4alpha1} {
		if got := mustNormalise(t, d, alg); !strings.Contains(got, wantJCS) {
			t.Errorf("%s: %s", alg, got)
		}
	}
	wantEntry := "{\"value\":[{\"\\r\":\"Carriage Return\"},{\"1\":\"One\"},{\"\u0080\":\"Control\"},{\"\u00f6\":\"Latin Small Letter O With Diaeresis\"},{\"\u20ac\":\"Euro Sign\"},{\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"},{\"\U0001F600\":\"Emoji: Grinning Face\"}]}"
	if got := mustNormalise(t, d, normalisation.JSONv1); !strings.Contains(got, wantEntry) {
		t.Errorf("v1: %s", got)
	}
}

// TestProvider covers how each reference reads the provider string.
func TestProvider(t *testing.T) {
	for _, tc := range []struct {
		name, provider string
		v1, v2, v4     string // the "provider" member as normalised; v4 "" = error
	}{
		{"plain", `"acme"`, `{"provider":"acme"}`, `"provider":{"name":"acme"}`, `"provider":{"name":"acme"}`},
		{"html", `"a<b>"`, `{"provider":"a\u003cb\u003e"}`, `"provider":{"name":"a<b>"}`, `"provider":{"name":"a<b>"}`},
		{"object without labels: v1 writes the bare name", `"{\"name\":\"acme\"}"`, `{"provider":"acme"}`, `"provider":{"name":"acme"}`, `"provider":{"name":"acme"}`},
		{"object with empty labels", `"{\"name\":\"acme\",\"labels\":[]}"`, `{"provider":"acme"}`, `"provider":{"name":"acme"}`, `"provider":{"name":"acme"}`},
		{"only non-signing labels", `"{\"name\":\"acme\",\"labels\":[{\"name\":\"l\",\"value\":1}]}"`, `{"provider":[{"name":"acme"}]}`, `"provider":{"name":"acme"}`, `"provider":{"name":"acme"}`},
		{"unknown members dropped", `"{\"name\":\"acme\",\"x\":1}"`, `{"provider":"acme"}`, `"provider":{"name":"acme"}`, `"provider":{"name":"acme"}`},
		{"leading space", `" {\"name\":\"acme\"}"`, `{"provider":"acme"}`, `"provider":{"name":"acme"}`, `"provider":{"name":"acme"}`},
		{"JSON but not an object", `"[1]"`, `{"provider":"[1]"}`, `"provider":{"name":"[1]"}`, `"provider":{"name":"[1]"}`},
		{"name is JSON null", `"null"`, `{"provider":""}`, `"provider":{"name":""}`, `"provider":{}`},
		{"invalid object", `"{\"name\":"`, `{"provider":"{\"name\":"}`, `"provider":{"name":"{\"name\":"}`, ``},
		{"empty", `""`, `{"provider":""}`, `"provider":{"name":""}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decode(t, jsonDescriptor(tc.provider, ""))
			if got := mustNormalise(t, d, normalisation.JSONv1); !strings.Contains(got, tc.v1) {
				t.Errorf("v1: %s, want %s", got, tc.v1)
			}
			if got := mustNormalise(t, d, normalisation.JSONv2); !strings.Contains(got, tc.v2) {
				t.Errorf("v2: %s, want %s", got, tc.v2)
			}
			for _, alg := range jcsAlgorithms {
				got, err := normalisation.Normalise(d, alg)
				switch {
				case tc.v4 == "" && err == nil:
					t.Errorf("%s: no error, got %s", alg, got)
				case tc.v4 != "" && err != nil:
					t.Errorf("%s: %v", alg, err)
				case tc.v4 != "" && !strings.Contains(string(got), tc.v4):
					t.Errorf("%s: %s, want %s", alg, got, tc.v4)
				}
			}
		})
	}
}

// TestLabelRules: resource labels are filtered to name/version/value/signing
// everywhere; reference labels are filtered by v1 only.
func TestLabelRules(t *testing.T) {
	doc := jsonDescriptor(`"p"`, `
		"resources":[{"name":"r","version":"v1","type":"blob","relation":"local","access":{"type":"none"},
			"labels":[{"name":"keep","value":{"a":[1,null]},"version":"v2","signing":"true","merge":{"algorithm":"default"}},{"name":"drop","value":"x"}],
			"srcRefs":[{"identitySelector":{"name":"s"}}]}],
		"sources":[{"name":"s","version":"v1","type":"git","access":{"type":"git"},"labels":[{"name":"drop","value":"x"}]}],
		"componentReferences":[{"name":"ref","componentName":"test.de/y","version":"v1",
			"labels":[{"name":"vol","value":"x","merge":{"algorithm":"default"}}],
			"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"jsonNormalisation/v3","value":"00"}}]`)
	d := decode(t, doc)
	want := map[string]string{
		normalisation.JSONv1:       `[{"component":[{"componentReferences":[[{"componentName":"test.de/y"},{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"jsonNormalisation/v3"},{"value":"00"}]},{"extraIdentity":null},{"name":"ref"},{"version":"v1"}]]},{"name":"test.de/x"},{"provider":"p"},{"resources":[[{"extraIdentity":null},{"labels":[[{"name":"keep"},{"signing":true},{"value":[{"a":[1,null]}]},{"version":"v2"}]]},{"name":"r"},{"relation":"local"},{"type":"blob"},{"version":"v1"}]]},{"version":"v1"}]},{"meta":[{"schemaVersion":"v2"}]}]`,
		normalisation.JSONv2:       `{"component":{"componentReferences":[{"componentName":"test.de/y","digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"jsonNormalisation/v3","value":"00"},"labels":[{"merge":{"algorithm":"default"},"name":"vol","value":"x"}],"name":"ref","version":"v1"}],"name":"test.de/x","provider":{"name":"p"},"resources":[{"labels":[{"name":"keep","signing":true,"value":{"a":[1,null]},"version":"v2"}],"name":"r","relation":"local","type":"blob","version":"v1"}],"sources":[{"name":"s","type":"git","version":"v1"}],"version":"v1"}}`,
		normalisation.JSONv3:       `{"component":{"componentReferences":[{"componentName":"test.de/y","digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"jsonNormalisation/v3","value":"00"},"labels":[{"merge":{"algorithm":"default"},"name":"vol","value":"x"}],"name":"ref","version":"v1"}],"name":"test.de/x","provider":{"name":"p"},"resources":[{"labels":[{"name":"keep","signing":true,"value":{"a":[1,null]},"version":"v2"}],"name":"r","relation":"local","type":"blob","version":"v1"}],"sources":[{"name":"s","type":"git","version":"v1"}],"version":"v1"}}`,
		normalisation.JSONv4alpha1: `{"component":{"componentReferences":[{"componentName":"test.de/y","digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"jsonNormalisation/v3","value":"00"},"labels":[{"merge":{"algorithm":"default"},"name":"vol","value":"x"}],"name":"ref","version":"v1"}],"name":"test.de/x","provider":{"name":"p"},"resources":[{"labels":[{"name":"keep","signing":true,"value":{"a":[1,null]},"version":"v2"}],"name":"r","relation":"local","type":"blob","version":"v1"}],"sources":[{"name":"s","type":"git","version":"v1"}],"version":"v1"}}`,
	}
	for _, alg := range normalisation.Algorithms() {
		if got := mustNormalise(t, d, alg); got != want[alg] {
			t.Errorf("%s:\n got: %s\nwant: %s", alg, got, want[alg])
		}
	}
}

// TestAccessTypes: only the exact type strings none and None drop the digest
// (both references compare the raw string).
func TestAccessTypes(t *testing.T) {
	for _, tc := range []struct {
		access string
		kept   bool
	}{
		{`{"type":"none"}`, false},
		{`{"type":"None"}`, false},
		{`{"type":"none/v1"}`, true},
		{`{"type":"localBlob","localReference":"x"}`, true},
		{`null`, true},
	} {
		d := decode(t, jsonDescriptor(`"p"`, `"resources":[{"name":"r","version":"v1","type":"blob","relation":"local","access":`+tc.access+
			`,"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"genericBlobDigest/v1","value":"ab"}}]`))
		for _, alg := range normalisation.Algorithms() {
			got := mustNormalise(t, d, alg)
			if has := strings.Contains(got, `"ab"`); has != tc.kept {
				t.Errorf("access %s, %s: digest kept %v: %s", tc.access, alg, has, got)
			}
			if strings.Contains(got, "access") {
				t.Errorf("access %s, %s: access not dropped: %s", tc.access, alg, got)
			}
		}
	}
}

// TestEmptyRelation: relation is omitempty in OCM v1's models only.
func TestEmptyRelation(t *testing.T) {
	d := decode(t, jsonDescriptor(`"p"`, `"resources":[{"name":"r","version":"v1","type":"blob","relation":"","access":{"type":"none"}}]`))
	for alg, want := range map[string]bool{normalisation.JSONv1: false, normalisation.JSONv2: false, normalisation.JSONv3: true, normalisation.JSONv4alpha1: true} {
		if got := mustNormalise(t, d, alg); strings.Contains(got, `relation`) != want {
			t.Errorf("%s: %s", alg, got)
		}
	}
}

func TestCreationTimeKept(t *testing.T) {
	d := decode(t, jsonDescriptor(`"p"`, `"creationTime":"2025-07-28T11:40:51Z"`))
	for _, alg := range normalisation.Algorithms() {
		if got := mustNormalise(t, d, alg); !strings.Contains(got, `"creationTime"`) || !strings.Contains(got, `"2025-07-28T11:40:51Z"`) {
			t.Errorf("%s: %s", alg, got)
		}
	}
}

func TestIsSafelyDigestible(t *testing.T) {
	const digest = `{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"genericBlobDigest/v1","value":"ab"}`
	res := func(name, access, dig string) string {
		s := `{"name":"` + name + `","version":"v1","type":"blob","relation":"local","access":` + access
		if dig != "" {
			s += `,"digest":` + dig
		}
		return s + "}"
	}
	ref := func(name, dig string) string {
		s := `{"name":"` + name + `","componentName":"test.de/y","version":"v1"`
		if dig != "" {
			s += `,"digest":` + dig
		}
		return s + "}"
	}
	local := `{"type":"localBlob","localReference":"sha256:ab"}`
	for _, tc := range []struct {
		name      string
		resources []string
		refs      []string
		wantErr   []string // substrings; nil = no error
	}{
		{"complete", []string{res("a", local, digest), res("b", `{"type":"none"}`, "")}, []string{ref("r", digest)}, nil},
		{"excluded from signature", []string{res("a", local, `{"hashAlgorithm":"NO-DIGEST","normalisationAlgorithm":"EXCLUDE-FROM-SIGNATURE","value":"NO-DIGEST"}`)}, nil, nil},
		{"no access, no digest", []string{res("a", `null`, "")}, nil, nil},
		{"none/v1 without digest", []string{res("a", `{"type":"none/v1"}`, "")}, nil, nil},
		{"missing resource digest", []string{res("a", local, digest), res("b", local, "")}, nil,
			[]string{"component.resources[1]", "name=b", "missing"}},
		{"incomplete resource digest", []string{res("a", local, `{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"genericBlobDigest/v1","value":""}`)}, nil,
			[]string{"component.resources[0]", "name=a"}},
		{"none access with digest", []string{res("a", `{"type":"None"}`, digest)}, nil,
			[]string{"component.resources[0]", "name=a", "must not have a digest"}},
		{"missing reference digest", nil, []string{ref("r1", digest), ref("r2", "")},
			[]string{"component.componentReferences[1]", "name=r2", "test.de/y"}},
		{"all problems reported", []string{res("a", local, "")}, []string{ref("r", "")},
			[]string{"component.resources[0]", "component.componentReferences[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members := `"resources":[` + strings.Join(tc.resources, ",") + `],"componentReferences":[` + strings.Join(tc.refs, ",") + `]`
			doc := strings.Replace(jsonDescriptor(`"p"`, ""), `"resources":null,`, "", 1)
			doc = strings.Replace(doc, `,"componentReferences":null`, ","+members, 1)
			err := normalisation.IsSafelyDigestible(decode(t, doc))
			if tc.wantErr == nil {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
	if normalisation.IsSafelyDigestible(nil) == nil {
		t.Error("nil descriptor accepted")
	}
}
