// Package yamlutil reads YAML (or JSON) documents from untrusted input into
// generic values, for parsers that report errors with field paths.
package yamlutil

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// ToJSON converts YAML to JSON; a panic of the YAML library on hostile
// input becomes an error.
func ToJSON(data []byte) (js []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	return yaml.YAMLToJSON(data)
}

// Decode converts YAML or JSON into a generic value whose numbers are
// json.Number, so that values are kept as written. what names the
// document in the error for empty input ("empty <what>").
func Decode(data []byte, what string) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("empty %s", what)
	}
	js, err := ToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	return v, nil
}

// KindOf names the type of a decoded value for error messages ("a list").
func KindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
