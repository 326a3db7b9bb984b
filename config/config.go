// Package config reads .ocmconfig files: the generic.config.ocm.software/v1
// wrapper holding typed configuration entries, looked up where the reference
// CLI looks for them and merged in that order (later files take precedence).
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ocmgo/ocm/internal/yamlutil"
)

// GenericType is the type of the wrapper document.
const GenericType = "generic.config.ocm.software/v1"

// Entry is one typed configuration entry, kept verbatim for the subsystem
// that understands it.
type Entry struct {
	Type string
	Raw  json.RawMessage
	// Source is the file the entry came from, for error messages.
	Source string
}

// Config is the merged configuration.
type Config struct {
	// Files lists the files read, in order.
	Files   []string
	Entries []Entry
}

// EntriesOfType returns the entries whose type (with or without a /version
// suffix) is one of types, in precedence order (last wins).
func (c *Config) EntriesOfType(types ...string) []Entry {
	var out []Entry
	for _, e := range c.Entries {
		for _, t := range types {
			if e.Type == t || strings.HasPrefix(e.Type, t+"/") {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// DefaultPaths lists the automatic lookup locations, in merge order.
func DefaultPaths() []string {
	var paths []string
	if p := os.Getenv("OCM_CONFIG"); p != "" {
		paths = append(paths, p)
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		paths = append(paths, filepath.Join(x, "ocm", "config"), filepath.Join(x, ".ocmconfig"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		paths = append(paths,
			filepath.Join(home, ".config", "ocm", "config"),
			filepath.Join(home, ".config", ".ocmconfig"),
			filepath.Join(home, ".ocm", "config"),
			filepath.Join(home, ".ocmconfig"))
	}
	if wd, err := os.Getwd(); err == nil {
		paths = append(paths, filepath.Join(wd, ".ocm", "config"), filepath.Join(wd, ".ocmconfig"))
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		paths = append(paths, filepath.Join(dir, ".ocm", "config"), filepath.Join(dir, ".ocmconfig"))
	}
	return paths
}

// Load reads the given files; with none given it reads every file found at
// DefaultPaths. An explicitly named file must exist.
func Load(explicit []string) (*Config, error) {
	cfg := &Config{}
	if len(explicit) > 0 {
		for _, p := range explicit {
			if err := cfg.readFile(p); err != nil {
				return nil, err
			}
		}
		return cfg, nil
	}
	seen := map[string]bool{}
	for _, p := range DefaultPaths() {
		abs, err := filepath.Abs(p)
		if err != nil || seen[abs] {
			continue
		}
		seen[abs] = true
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if err := cfg.readFile(p); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func (c *Config) readFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("config file %s: does not exist", path)
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	entries, err := Parse(data)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for i := range entries {
		entries[i].Source = path
	}
	c.Files = append(c.Files, path)
	c.Entries = append(c.Entries, entries...)
	return nil
}

// Parse reads one configuration document: the generic wrapper or a single
// typed entry. An empty document is an empty configuration.
func Parse(data []byte) ([]Entry, error) {
	if strings.TrimSpace(string(data)) == "" {
		return nil, nil
	}
	js, err := yamlutil.ToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if strings.TrimSpace(string(js)) == "null" {
		return nil, nil
	}
	var doc struct {
		Type           string            `json:"type"`
		Configurations []json.RawMessage `json:"configurations"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("expected a configuration object with a type: %w", err)
	}
	if doc.Type == "" {
		return nil, fmt.Errorf("missing field type (expected %s)", GenericType)
	}
	if doc.Type != GenericType && doc.Type != "generic.config.ocm.software" {
		return []Entry{{Type: doc.Type, Raw: js}}, nil
	}
	var out []Entry
	for i, raw := range doc.Configurations {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.Type == "" {
			return nil, fmt.Errorf("configurations[%d]: expected an object with a type", i)
		}
		if head.Type == GenericType {
			nested, err := Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("configurations[%d]: %w", i, err)
			}
			out = append(out, nested...)
			continue
		}
		out = append(out, Entry{Type: head.Type, Raw: raw})
	}
	return out, nil
}
