package constructor

import (
	"bytes"
	"fmt"
)

// expandEnv replaces ${NAME} and $NAME as os.Expand does, except that an
// unset variable is an error, `$$` is a literal `$`, and `${}` or an
// unterminated `${` are errors rather than silently eaten. Each problem is
// reported once per variable, with the line of its first use.
func expandEnv(data []byte, file string, lookup func(string) (string, bool)) ([]byte, []error) {
	if bytes.IndexByte(data, '$') < 0 {
		return data, nil
	}
	var (
		out      = make([]byte, 0, len(data)+len(data)/8)
		errs     []error
		reported = map[string]bool{}
		line     = 1
		last     = 0 // data[last:j] not yet copied
	)
	fail := func(key, format string, args ...any) {
		if reported[key] {
			return
		}
		reported[key] = true
		errs = append(errs, &FieldError{File: file, Err: fmt.Errorf(format+" (line %d)", append(args, line)...)})
	}
	for j := 0; j < len(data); j++ {
		c := data[j]
		if c == '\n' {
			line++
			continue
		}
		if c != '$' || j+1 >= len(data) {
			continue
		}
		out = append(out, data[last:j]...)
		name, width, ok := shellName(data[j+1:])
		switch {
		case !ok:
			if width == 2 {
				fail("${}", "empty variable name ${}")
			} else {
				fail("${", "unterminated ${ (missing })")
			}
		case name == "":
			out = append(out, '$') // not followed by a name: keep the dollar
		case name == "$":
			out = append(out, '$') // $$ is a literal $
		default:
			if v, set := lookup(name); set {
				out = append(out, v...)
			} else {
				fail("var:"+name, "environment variable ${%s} is not set", name)
			}
		}
		line += bytes.Count(data[j+1:j+1+width], []byte{'\n'})
		j += width
		last = j + 1
	}
	out = append(out, data[last:]...)
	return out, errs
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
