package descriptor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"sigs.k8s.io/yaml"
)

var schemaVersionRE = regexp.MustCompile(`^v2`)

// Decode reads a descriptor from YAML or JSON (JSON is valid YAML). It accepts
// everything the reference implementations write: null lists, a provider
// given as a JSON string, legacy access type spellings. It does not validate
// the content beyond the schema version; call Validate for that.
func Decode(data []byte) (*Descriptor, error) {
	js := data
	if !looksLikeJSON(data) {
		var err error
		js, err = yaml.YAMLToJSON(data)
		if err != nil {
			return nil, fmt.Errorf("parsing descriptor YAML: %w", err)
		}
	}
	var d Descriptor
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decoding component descriptor: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decoding component descriptor: trailing data after the descriptor")
	}
	if d.Meta.SchemaVersion == "" {
		return nil, fmt.Errorf("decoding component descriptor: meta.schemaVersion: missing (only %s is supported)", SchemaVersion)
	}
	if !schemaVersionRE.MatchString(d.Meta.SchemaVersion) {
		return nil, fmt.Errorf("decoding component descriptor: meta.schemaVersion: %q is not supported (only %s)", d.Meta.SchemaVersion, SchemaVersion)
	}
	return &d, nil
}

func looksLikeJSON(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// EncodeJSON writes the descriptor as compact JSON, as the reference stores it.
func EncodeJSON(d *Descriptor) ([]byte, error) {
	return json.Marshal(d)
}

// EncodeYAML writes the descriptor as YAML with sorted keys, as `ocm get cv -o yaml` prints it.
func EncodeYAML(d *Descriptor) ([]byte, error) {
	js, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(js)
}

func compactInto(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
