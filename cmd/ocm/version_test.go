package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestBuildVersion(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Path: "github.com/ocmgo/ocm", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name                     string
		ldVersion, ldCommit, ldD string
		bi                       *debug.BuildInfo
		want                     versionInfo
	}{
		{"no build info", "dev", "", "", nil, versionInfo{Version: "dev", GoVersion: runtime.Version()}},
		{"devel build", "dev", "", "", &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}}, versionInfo{Version: "dev", GoVersion: "go1.99"}},
		{"from build info", "dev", "", "", stamped, versionInfo{Version: "v0.4.0", GitCommit: "abc123", BuildDate: "2026-01-02T03:04:05Z", Modified: true, GoVersion: "go1.99"}},
		{"ldflags win", "v1.0.0", "fff", "2026-05-05T00:00:00Z", stamped, versionInfo{Version: "v1.0.0", GitCommit: "fff", BuildDate: "2026-05-05T00:00:00Z", Modified: true, GoVersion: "go1.99"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version, commit, buildDate = tt.ldVersion, tt.ldCommit, tt.ldD
			t.Cleanup(func() { version, commit, buildDate = "dev", "", "" })
			got := buildVersion(tt.bi)
			tt.want.Compiler, tt.want.Platform = runtime.Compiler, runtime.GOOS+"/"+runtime.GOARCH
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	out, _, err := run(t, "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Version == "" || v.GoVersion != runtime.Version() || v.Platform == "" {
		t.Fatalf("%v: %q", err, out)
	}
	out, _, err = run(t, "version", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var y versionInfo
	if err := yaml.Unmarshal([]byte(out), &y); err != nil || y != v {
		t.Fatalf("%v: yaml %+v, json %+v", err, y, v)
	}
	out, _, err = run(t, "version")
	if err != nil || !strings.HasPrefix(out, "ocm "+v.Version+"\n") || !strings.Contains(out, v.GoVersion) {
		t.Fatalf("%v: %q", err, out)
	}
	out, _, err = run(t, "version", "--format", "legacyjson")
	var l legacyVersion
	if err != nil || json.Unmarshal([]byte(out), &l) != nil || l.GitVersion != v.Version || l.GoVersion != v.GoVersion {
		t.Fatalf("%v: %q", err, out)
	}
	out, _, err = run(t, "version", "--format", "gobuildinfojson")
	var bi debug.BuildInfo
	if err != nil || json.Unmarshal([]byte(out), &bi) != nil || bi.GoVersion == "" {
		t.Fatalf("%v: %q", err, out)
	}
	if _, _, err := run(t, "version", "-o", "json", "--format", "legacyjson"); err == nil {
		t.Fatal("--output with --format accepted")
	}
}
