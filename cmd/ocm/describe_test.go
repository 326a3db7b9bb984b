package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/constructor"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
)

// TestDescribeTypesCoversRegistries walks the tables the parsers use and
// fails when a type name (or alias) is missing from the output.
func TestDescribeTypesCoversRegistries(t *testing.T) {
	out, _, err := run(t, "describe", "types", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var docs []typeDoc
	if err := json.Unmarshal([]byte(out), &docs); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{} // kind/name
	for _, d := range docs {
		listed[d.Kind+"/"+d.Type] = true
		for _, a := range d.Aliases {
			listed[d.Kind+"/"+a] = true
		}
		if d.Example == "" {
			t.Errorf("%s type %s has no example", d.Kind, d.Type)
		}
	}
	var want []string
	for _, in := range constructor.InputTypes() {
		for _, n := range in.Names {
			want = append(want, "input/"+n)
		}
	}
	for _, a := range descriptor.AccessTypes {
		for _, n := range a.Spellings {
			want = append(want, "access/"+n)
		}
	}
	for _, n := range reference.RepositoryTypeNames() {
		want = append(want, "repository/"+n.Name)
	}
	want = append(want, "credential-repository/"+config.DockerConfigType, "configuration/"+config.GenericType)
	for _, k := range config.KnownTypes {
		want = append(want, "configuration/"+k)
	}
	for _, c := range config.CredentialTypes() {
		want = append(want, "credential/"+c.Type())
		for _, n := range c.Names[1:] {
			want = append(want, "credential/"+n)
		}
	}
	for _, w := range want {
		if !listed[w] {
			t.Errorf("%s missing from ocm describe types", w)
		}
	}

	// The text form lists the same names; get types is the same command.
	text, _, err := run(t, "get", "types")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		_, name, _ := strings.Cut(w, "/")
		if !strings.Contains(text, name) {
			t.Errorf("%s missing from the text output", w)
		}
	}
	acc, _, err := run(t, "describe", "types", "access", "-o", "yaml")
	if err != nil || strings.Contains(acc, "kind: input") || !strings.Contains(acc, "kind: access") {
		t.Fatalf("%v: %s", err, acc)
	}
	repos, _, err := run(t, "describe", "types", "ocm-repository", "inputs", "-o", "yaml")
	if err != nil || strings.Contains(repos, "kind: access") || !strings.Contains(repos, "kind: repository") || !strings.Contains(repos, "kind: input") {
		t.Fatalf("%v: %s", err, repos)
	}
	if _, _, err := run(t, "describe", "types", "plugins"); err == nil || !strings.Contains(err.Error(), `"plugins"`) {
		t.Fatalf("unknown kind: %v", err)
	}
}

// TestDescribeTypesExamples: every example is accepted by the code that
// reads that type.
func TestDescribeTypesExamples(t *testing.T) {
	for _, d := range typeDocs() {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d.Example), &m); err != nil {
			t.Errorf("%s %s: example is not YAML: %v", d.Kind, d.Type, err)
			continue
		}
		switch d.Kind {
		case "input":
			js, _ := json.Marshal(m)
			cons := `{"components":[{"name":"example.com/c","version":"1.0.0","provider":{"name":"example.com"},"resources":[{"name":"res","type":"blob","input":` + string(js) + `}]}]}`
			if _, err := constructor.Parse([]byte(cons), "example", constructor.LoadOptions{}); err != nil {
				t.Errorf("input %s: example refused: %v", d.Type, err)
			}
		case "access":
			js, _ := json.Marshal(m)
			var acc descriptor.Typed
			if err := json.Unmarshal(js, &acc); err != nil {
				t.Fatal(err)
			}
			if err := constructor.CheckAccess(&acc); err != nil {
				t.Errorf("access %s: example refused: %v", d.Type, err)
			}
		case "repository":
			js, _ := json.Marshal(m)
			if _, err := repository.ParseSpec(js); err != nil {
				t.Errorf("repository %s: example refused: %v", d.Type, err)
			}
			for _, f := range d.Fields {
				if !f.Required {
					continue
				}
				without := map[string]any{}
				for k, v := range m {
					if k != f.Name {
						without[k] = v
					}
				}
				js, _ := json.Marshal(without)
				if _, err := repository.ParseSpec(js); err == nil {
					t.Errorf("repository %s: accepted without required %s", d.Type, f.Name)
				}
			}
		case "credential":
			js, _ := json.Marshal(m)
			cfgFile := filepath.Join(t.TempDir(), "ocmconfig")
			testutil.WriteFile(t, cfgFile, []byte(`{"type":"generic.config.ocm.software/v1","configurations":[{"type":"credentials.config.ocm.software","consumers":[{"identity":{"type":"Example"},"credentials":[`+string(js)+`]}]}]}`), 0o600)
			cfg, err := config.Load([]string{cfgFile})
			if err != nil {
				t.Errorf("credential %s: %v", d.Type, err)
				continue
			}
			creds, ok, err := cfg.CredentialsMatching(func(id map[string]string) bool { return id["type"] == "Example" })
			if err != nil || !ok || len(creds.Properties) == 0 {
				t.Errorf("credential %s: example refused: %v (found %v)", d.Type, err, ok)
			}
		case "configuration", "credential-repository":
			js, _ := json.Marshal(m)
			if d.Kind == "credential-repository" {
				js = []byte(`{"type":"credentials.config.ocm.software","repositories":[{"repository":` + string(js) + `}]}`)
			}
			if d.Type != config.GenericType {
				js = []byte(`{"type":"generic.config.ocm.software/v1","configurations":[` + string(js) + `]}`)
			}
			entries, err := config.Parse(js)
			if err != nil || len(entries) == 0 {
				t.Errorf("%s %s: example refused: %v", d.Kind, d.Type, err)
			}
			for _, e := range entries {
				base, _, _ := strings.Cut(e.Type, "/")
				if !slices.Contains(config.KnownTypes, base) {
					t.Errorf("%s %s: example entry of type %s would be ignored", d.Kind, d.Type, e.Type)
				}
			}
		default:
			t.Errorf("unexpected kind %q", d.Kind)
		}
	}
}
