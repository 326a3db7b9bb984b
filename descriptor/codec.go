package descriptor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/internal/yamlutil"
)

var schemaVersionRE = regexp.MustCompile(`^v2`)

// Decode reads a descriptor from YAML or JSON (JSON is valid YAML). It accepts
// everything the reference implementations write: null lists, a provider
// given as a JSON string, legacy access type spellings. It does not validate
// the content beyond the schema version; call Validate for that.
func Decode(data []byte) (*Descriptor, error) {
	// Raw values (access, label values) are kept verbatim, so invalid UTF-8
	// would survive into what we write; refuse it up front.
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("decoding component descriptor: not valid UTF-8")
	}
	js, err := toJSON(data)
	if err != nil {
		return nil, err
	}
	var d Descriptor
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decoding component descriptor: %w", err)
	}
	if d.Meta.SchemaVersion == "" {
		return nil, fmt.Errorf("decoding component descriptor: meta.schemaVersion: missing (only %s is supported)", SchemaVersion)
	}
	if !schemaVersionRE.MatchString(d.Meta.SchemaVersion) {
		return nil, fmt.Errorf("decoding component descriptor: meta.schemaVersion: %q is not supported (only %s)", d.Meta.SchemaVersion, SchemaVersion)
	}
	return &d, nil
}

// toJSON returns the single JSON document data holds: data itself when it is
// one JSON value (trailing data is an error), else data read as YAML (which
// includes flow-style YAML such as {meta: {schemaVersion: v2}}).
func toJSON(data []byte) ([]byte, error) {
	if looksLikeJSON(data) {
		dec := json.NewDecoder(bytes.NewReader(data))
		var first json.RawMessage
		if err := dec.Decode(&first); err == nil {
			if _, err := dec.Token(); err != io.EOF {
				return nil, fmt.Errorf("decoding component descriptor: trailing data after the descriptor")
			}
			return first, nil
		}
	}
	if multipleDocuments(data) {
		return nil, fmt.Errorf("parsing descriptor YAML: more than one YAML document")
	}
	js, err := yamlutil.ToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing descriptor YAML: %w", err)
	}
	return js, nil
}

// multipleDocuments reports a "---" separator after content, which the YAML
// converter would silently ignore along with everything after it.
func multipleDocuments(data []byte) bool {
	content := false
	for _, line := range bytes.Split(data, []byte("\n")) {
		trimmed := bytes.TrimRight(line, " \t\r")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) || bytes.Equal(trimmed, []byte("...")) {
			if content {
				return true
			}
			continue
		}
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			content = true
		}
	}
	return false
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
	return yaml.JSONToYAML(escapeForYAML(js))
}

// escapeForYAML rewrites characters that YAML cannot carry verbatim (DEL, C1
// controls such as NEL, which YAML reads as a line break, and U+FFFE/FFFF)
// as JSON \u escapes. They can only occur inside JSON strings, so the JSON
// stays equivalent and the YAML round trip keeps every value exact.
func escapeForYAML(js []byte) []byte {
	var out []byte
	for i, r := range string(js) {
		if r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0xfffe || r == 0xffff {
			if out == nil {
				out = append([]byte{}, js[:i]...)
			}
			out = fmt.Appendf(out, "\\u%04x", r)
			continue
		}
		if out != nil {
			out = utf8.AppendRune(out, r)
		}
	}
	if out == nil {
		return js
	}
	return out
}

func compactInto(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
