package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// KnownTypes are the configuration types something in this implementation
// reads (with or without a version); the generic wrapper is unpacked by Parse.
var KnownTypes = []string{CredentialsType, SigningType, HTTPType, DeliveryType, TransferType}

// Problem is a part of the configuration that has no effect, so that it is
// reported rather than silently ignored.
type Problem struct {
	// File is the configuration file, Type the entry's type.
	File, Type string
	Message    string
}

func (p Problem) String() string {
	return fmt.Sprintf("config file %s: %s", p.File, p.Message)
}

// ErrIgnoredConfiguration is wrapped by the error of Strict.
var ErrIgnoredConfiguration = errors.New("configuration would be ignored")

// Problems lists entries of configuration types nothing here reads, fields
// of an http configuration nothing reads, and
// credential repositories that offer nothing (a dockerConfigFile that does
// not exist), in file order.
func (c *Config) Problems() []Problem {
	var out []Problem
	known := append([]string(nil), KnownTypes...)
	sort.Strings(known)
	for _, e := range c.Entries {
		if !knownType(e.Type) {
			out = append(out, Problem{File: e.Source, Type: e.Type, Message: fmt.Sprintf(
				"configuration type %q is not supported and is ignored (supported: %s)", e.Type, strings.Join(known, ", "))})
			continue
		}
		if len((&Config{Entries: []Entry{e}}).EntriesOfType(HTTPType)) > 0 {
			for _, f := range unknownHTTPFields(e.Raw) {
				out = append(out, Problem{File: e.Source, Type: e.Type, Message: fmt.Sprintf(
					"%s: field %s is not supported and is ignored", e.Type, f)})
			}
		}
	}
	repos, err := c.CredentialRepositories()
	if err != nil {
		return out // the lookup that uses them reports the error
	}
	for _, r := range repos {
		if r.DockerConfigFile == "" {
			continue
		}
		p, err := r.Path()
		if err == nil {
			_, err = os.Stat(p)
		}
		if err != nil {
			file, _, _ := strings.Cut(strings.TrimPrefix(r.Source, "config file "), ": ")
			out = append(out, Problem{File: file, Type: r.Type, Message: fmt.Sprintf(
				"%s dockerConfigFile %s offers no credentials: %v", r.Type, r.DockerConfigFile, err)})
		}
	}
	return out
}

// Strict is an error listing every problem, or nil when there is none.
func Strict(problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.String()
	}
	return fmt.Errorf("%w: %s", ErrIgnoredConfiguration, strings.Join(msgs, "; "))
}

func knownType(t string) bool {
	return len((&Config{Entries: []Entry{{Type: t}}}).EntriesOfType(KnownTypes...)) > 0
}

// redacted replaces secret values.
const redacted = "<redacted>"

// isSecretKey says whether a field holds a secret: passwords, tokens,
// private keys, inline docker configs (their auths hold passwords).
func isSecretKey(k string) bool {
	l := strings.ToLower(strings.ReplaceAll(k, "_", ""))
	if l == "auth" || l == "auths" {
		return true
	}
	for _, s := range []string{"password", "token", "secret", "privatekey", "dockerconfig"} {
		if strings.Contains(l, s) {
			// File names are not secrets.
			return !strings.HasSuffix(l, "file") && !strings.HasSuffix(l, "path")
		}
	}
	return false
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if isSecretKey(k) {
				if s, ok := e.(string); ok && s == "" {
					continue
				}
				t[k] = redacted
				continue
			}
			t[k] = redact(e)
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}

// Redacted is the merged configuration as one generic.config.ocm.software/v1
// document, entries in precedence order (later wins), with every secret
// value replaced by "<redacted>".
func (c *Config) Redacted() (map[string]any, error) {
	confs := []any{}
	for _, e := range c.Entries {
		var v any
		if err := json.Unmarshal(e.Raw, &v); err != nil {
			return nil, fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		confs = append(confs, redact(v))
	}
	return map[string]any{"type": GenericType, "configurations": confs}, nil
}
