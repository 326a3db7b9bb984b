package descriptor

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeReadsReferenceQuirks(t *testing.T) {
	d, err := Decode([]byte(validCD))
	if err != nil {
		t.Fatal(err)
	}
	// Unknown access fields are kept verbatim.
	var acc map[string]any
	if err := json.Unmarshal(d.Component.Resources[1].Access.Raw, &acc); err != nil {
		t.Fatal(err)
	}
	if _, ok := acc["futureField"]; !ok {
		t.Fatalf("unknown access field dropped: %s", d.Component.Resources[1].Access.Raw)
	}
	lb, err := d.Component.Resources[1].Access.LocalBlob()
	if err != nil || lb.MediaType != "text/plain" {
		t.Fatalf("legacy localBlob access: %v %+v", err, lb)
	}
	if !d.Component.Resources[1].Labels[0].Signing {
		t.Fatal(`signing: "true" (string) must read as true`)
	}
	// null lists stay null when written back, as the reference writes them.
	js, err := EncodeJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"repositoryContexts":null`) {
		t.Fatalf("null list not kept: %s", js)
	}
	again, err := Decode(js)
	if err != nil {
		t.Fatal(err)
	}
	js2, _ := EncodeJSON(again)
	if string(js) != string(js2) {
		t.Fatalf("JSON round trip not stable:\n%s\n%s", js, js2)
	}
}

func TestProvider(t *testing.T) {
	tests := []struct {
		in       string
		name     string
		isObject bool
		labels   int
	}{
		{`"acme.org"`, "acme.org", false, 0},
		{`"{\"name\":\"example.com\",\"labels\":[{\"name\":\"team\",\"value\":\"platform\"}]}"`, "example.com", true, 1},
		{`{"name":"obj.org","labels":[{"name":"a","value":1}]}`, "obj.org", true, 1},
		{`{"name":"plain.org"}`, "plain.org", false, 0},
	}
	for _, tt := range tests {
		var p Provider
		if err := json.Unmarshal([]byte(tt.in), &p); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		obj, err := p.Object()
		if err != nil || obj.Name != tt.name || p.IsObject() != tt.isObject || len(obj.Labels) != tt.labels || p.Name() != tt.name {
			t.Fatalf("%s: object %+v err %v isObject %v", tt.in, obj, err, p.IsObject())
		}
	}
	var p Provider
	if err := json.Unmarshal([]byte(`42`), &p); err == nil {
		t.Fatal("a number is not a provider")
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"component: {name: a}", "meta.schemaVersion: missing"},
		{"meta: {schemaVersion: v3}\ncomponent: {}", `meta.schemaVersion: "v3" is not supported`},
		{"meta: [", "parsing descriptor YAML"},
		{"meta: {schemaVersion: v2}\ncomponent:\n  name: a\n  name: b\n", `parsing descriptor YAML: duplicate key "name" at line 4 (first at line 3)`},
		{`{"meta":{"schemaVersion":"v2"},"component":{"resources":[{"access":{"noType":1}}]}}`, "missing field type"},
		{`{"meta":{"schemaVersion":"v2"}} {}`, "trailing data"},
		{`{"meta":{"schemaVersion":"v2"},"component":{"labels":[{"name":"x","value":1,"signing":"maybe"}]}}`, "expected a boolean"},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%q) = %v, want error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestDecodeEdgeCases(t *testing.T) {
	flow := "{meta: {schemaVersion: v2}, component: {name: example.com/a, version: 1.0.0, provider: p}}"
	if d, err := Decode([]byte(flow)); err != nil || d.Component.Name != "example.com/a" {
		t.Fatalf("flow-style YAML: %v", err)
	}
	for in, want := range map[string]string{
		`{"meta":{"schemaVersion":"v2"}}}`:                                                       "trailing data",
		`{"meta":{"schemaVersion":"v2"}}]`:                                                       "trailing data",
		"meta: {schemaVersion: v2}\n---\nmeta: {schemaVersion: v3}\n":                            "more than one YAML document",
		"meta: {schemaVersion: v2}\ncomponent: {name: \"\xff\"}\n":                               "not valid UTF-8",
		`{"meta":{"schemaVersion":"v2"},"component":{"resources":[{"access":{"TYPE":"none"}}]}}`: "missing field type",
	} {
		if _, err := Decode([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%q) = %v, want error containing %q", in, err, want)
		}
	}
	if _, err := Decode([]byte("---\nmeta: {schemaVersion: v2}\n")); err != nil {
		t.Fatalf("a leading document marker is fine: %v", err)
	}
	// Characters YAML cannot carry survive a YAML round trip exactly.
	d, _ := Decode([]byte(`{"meta":{"schemaVersion":"v2"},"component":{"name":"example.com/a","version":"1","provider":"a\u0085b\u007fc"}}`))
	y, err := EncodeYAML(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(y)
	if err != nil || back.Component.Provider != "a\u0085b\u007fc" {
		t.Fatalf("YAML round trip changed the provider to %q (%v)", back.Component.Provider, err)
	}
}
