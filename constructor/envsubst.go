package constructor

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// expandEnv replaces ${NAME} and $NAME as os.Expand does, except that an
// unset variable is an error, `$$` is a literal `$`, and `${}` or an
// unterminated `${` are errors rather than silently eaten. Each problem is
// reported once per variable, with the line of its first use.
//
// Substitution happens in the scalars of the YAML document (keys and
// values), never in comments: the reference's docs start constructors with
// `# yaml-language-server: $schema=…`, which is not a variable. A value
// stays one scalar whatever it contains (the encoder quotes it where it
// would read as structure); a plain scalar is typed from its new value
// (`replicas: ${N}` is an integer), as textual substitution would type it.
// Every variable is first replaced by a YAML-neutral placeholder so that the
// document parses even where `${` would not (flow mappings); data that does
// not parse even so is expanded as text, and the decoder reports it.
func expandEnv(data []byte, file string, lookup func(string) (string, bool)) ([]byte, []error) {
	if bytes.IndexByte(data, '$') < 0 {
		return data, nil
	}
	x := scanVars(data)
	if len(x.occ) == 0 {
		return data, nil
	}
	e := &expander{file: file, lookup: lookup, reported: map[string]bool{}, x: x}
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(x.text))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out := e.replace(string(x.text), true)
			return []byte(out), e.errs
		}
		docs = append(docs, &doc)
	}
	inScalars := false
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		n.HeadComment = e.replace(n.HeadComment, false)
		n.LineComment = e.replace(n.LineComment, false)
		n.FootComment = e.replace(n.FootComment, false)
		if n.Kind == yaml.ScalarNode || n.Kind == yaml.AliasNode {
			v := e.replace(n.Value, true)
			if v != n.Value {
				n.Value, inScalars = v, true
				if n.Kind == yaml.ScalarNode && n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0 {
					n.Tag = "" // typed again from the new value
				}
			}
		}
		n.Anchor = e.replace(n.Anchor, false)
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	if len(e.errs) > 0 || !inScalars {
		return data, e.errs
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, []error{&FieldError{File: file, Err: fmt.Errorf("encoding after variable substitution: %w", err)}}
		}
	}
	if err := enc.Close(); err != nil {
		return nil, []error{&FieldError{File: file, Err: err}}
	}
	return buf.Bytes(), nil
}

// occurrence is one `$…` in the input: its text, the line it starts on,
// and what it means (a variable name, a literal, or a syntax problem).
type occurrence struct {
	text    string
	line    int
	name    string // variable to look up
	literal string // `$$` → `$`
	problem string // key, message for ${} and unterminated ${
	message string
}

type scanned struct {
	text  []byte // input with each occurrence replaced by a placeholder
	occ   []occurrence
	nonce string
	re    *regexp.Regexp
}

// scanVars finds every variable reference and replaces it with a
// placeholder made of letters and digits that occurs nowhere else.
func scanVars(data []byte) *scanned {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	x := &scanned{nonce: "ocmenv" + hex.EncodeToString(b) + "x"}
	for bytes.Contains(data, []byte(x.nonce)) {
		x.nonce += "x"
	}
	x.re = regexp.MustCompile(x.nonce + `([0-9]+)z`)
	out := make([]byte, 0, len(data)+len(data)/4)
	line, last := 1, 0
	for j := 0; j < len(data); j++ {
		c := data[j]
		if c == '\n' {
			line++
			continue
		}
		if c != '$' || j+1 >= len(data) {
			continue
		}
		name, width, ok := shellName(data[j+1:])
		o := occurrence{text: string(data[j : j+1+width]), line: line}
		switch {
		case !ok && width == 2:
			o.problem, o.message = "${}", "empty variable name ${}"
		case !ok:
			o.problem, o.message = "${", "unterminated ${ (missing })"
		case name == "":
			continue // not followed by a name: the dollar stays
		case name == "$":
			o.literal = "$"
		default:
			o.name = name
		}
		out = append(out, data[last:j]...)
		out = append(out, fmt.Sprintf("%s%dz", x.nonce, len(x.occ))...)
		x.occ = append(x.occ, o)
		line += bytes.Count(data[j+1:j+1+width], []byte{'\n'})
		j += width
		last = j + 1
	}
	x.text = append(out, data[last:]...)
	return x
}

type expander struct {
	file     string
	lookup   func(string) (string, bool)
	reported map[string]bool
	errs     []error
	x        *scanned
}

// replace puts back the occurrences in s: substituted where expand is set
// (scalars), as written otherwise (comments).
func (e *expander) replace(s string, expand bool) string {
	if !strings.Contains(s, e.x.nonce) {
		return s
	}
	return e.x.re.ReplaceAllStringFunc(s, func(m string) string {
		i, err := strconv.Atoi(e.x.re.FindStringSubmatch(m)[1])
		if err != nil || i >= len(e.x.occ) {
			return m
		}
		o := e.x.occ[i]
		if !expand {
			return o.text
		}
		switch {
		case o.problem != "":
			e.fail(o.problem, o.line, "%s", o.message)
			return o.text
		case o.name == "":
			return o.literal
		}
		v, set := e.lookup(o.name)
		if !set {
			e.fail("var:"+o.name, o.line, "environment variable ${%s} is not set", o.name)
		}
		return v
	})
}

func (e *expander) fail(key string, line int, format string, args ...any) {
	if e.reported[key] {
		return
	}
	e.reported[key] = true
	e.errs = append(e.errs, &FieldError{File: e.file, Err: fmt.Errorf(format+" (line %d)", append(args, line)...)})
}

// shellName returns the variable name after a '$' the way os.Expand's
// getShellName does, with ok=false for the malformed `${}` (width 2) and an
// unterminated `${` (width 1).
func shellName(s []byte) (name string, width int, ok bool) {
	switch {
	case s[0] == '{':
		if len(s) > 2 && isShellSpecialVar(s[1]) && s[2] == '}' {
			return string(s[1:2]), 3, true
		}
		for i := 1; i < len(s); i++ {
			if s[i] == '}' {
				if i == 1 {
					return "", 2, false
				}
				return string(s[1:i]), i + 1, true
			}
		}
		return "", 1, false
	case isShellSpecialVar(s[0]):
		return string(s[0:1]), 1, true
	}
	i := 0
	for i < len(s) && isAlphaNum(s[i]) {
		i++
	}
	return string(s[:i]), i, true
}

func isShellSpecialVar(c byte) bool {
	switch c {
	case '*', '#', '$', '@', '!', '?', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func isAlphaNum(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
