// Package yamlutil reads YAML (or JSON) documents from untrusted input into
// generic values, for parsers that report errors with field paths.
package yamlutil

import (
	"bytes"
	"encoding/json"
	"fmt"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// ToJSON converts YAML to JSON; a panic of the YAML library on hostile
// input becomes an error, and so does a key given twice in one mapping
// (the converter would keep the last silently).
func ToJSON(data []byte) (js []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	if err := CheckDuplicateKeys(data); err != nil {
		return nil, err
	}
	return yaml.YAMLToJSON(data)
}

// CheckDuplicateKeys reports the first mapping key that appears twice in
// one mapping, with both lines. Keys are compared by their text, as they
// are once converted to JSON. Syntax errors are left to the real parser.
func CheckDuplicateKeys(data []byte) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			return nil // io.EOF, or a syntax error the converter reports
		}
		if err := duplicateKey(&doc, 0); err != nil {
			return err
		}
	}
}

// maxDepth bounds the recursion on hostile, deeply nested input.
const maxDepth = 10000

func duplicateKey(n *yamlv3.Node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("YAML nested more than %d levels deep", maxDepth)
	}
	if n.Kind == yamlv3.MappingNode {
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yamlv3.ScalarNode || k.Value == "<<" {
				continue
			}
			if first, dup := seen[k.Value]; dup {
				return fmt.Errorf("duplicate key %q at line %d (first at line %d)", k.Value, k.Line, first)
			}
			seen[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := duplicateKey(c, depth+1); err != nil {
			return err
		}
	}
	return nil
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
