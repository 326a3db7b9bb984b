package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCredentialTypesTable: every type of the table is read (bare and
// /v1), every field of it reaches the properties, and other types are
// refused naming the table's types.
func TestCredentialTypesTable(t *testing.T) {
	for _, ct := range CredentialTypes() {
		for _, name := range ct.Names {
			for _, typ := range []string{name, name + "/" + strings.TrimPrefix(ct.Type(), ct.Names[0]+"/")} {
				entry := map[string]any{"type": typ}
				for _, f := range ct.Fields {
					if f == "properties" {
						entry[f] = map[string]string{"username": "u"}
					} else {
						entry[f] = "v-" + f
					}
				}
				raw, _ := json.Marshal(entry)
				props := map[string]string{}
				if err := mergeCredentials(props, raw); err != nil {
					t.Errorf("%s: %v", typ, err)
				}
				if len(props) == 0 {
					t.Errorf("%s: no properties from %s", typ, raw)
				}
			}
		}
	}
	err := mergeCredentials(map[string]string{}, []byte(`{"type":"GPGCredentials/v1"}`))
	if err == nil || !strings.Contains(err.Error(), `"GPGCredentials/v1"`) || !strings.Contains(err.Error(), "WgetCredentials/v1") {
		t.Fatalf("unknown type: %v", err)
	}
}
