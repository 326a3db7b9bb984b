package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// get cv -o cyclonedx|spdx: the library renders (sbom tests validate the
// schemas); here the flag, --recursive and SOURCE_DATE_EPOCH are wired.
func TestGetCVSBOM(t *testing.T) {
	archive := testutil.InteropCTF(t, testutil.Tgz)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	for _, tc := range []struct {
		format    string
		recursive bool
		names     func(map[string]any) []string
		created   func(map[string]any) string
		want      []string
	}{
		{"cyclonedx", true, cdxNames, cdxTime, []string{app, lib}},
		{"cyclonedx", false, cdxNames, cdxTime, []string{app}},
		{"spdx", true, spdxNames, spdxTime, []string{app, lib}},
		{"spdx", false, spdxNames, spdxTime, []string{app}},
	} {
		args := []string{"get", "cv", "ctf::" + archive + "//" + app + ":1.2.0", "-o", tc.format}
		if tc.recursive {
			args = append(args, "--recursive")
		}
		out, _, err := run(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", args, err, out)
		}
		got := tc.names(doc)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%v: component versions %q, want %q", args, got, tc.want)
		}
		if c := tc.created(doc); c != "2023-11-14T22:13:20Z" {
			t.Errorf("%v: created %q, want SOURCE_DATE_EPOCH's 2023-11-14T22:13:20Z", args, c)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, _, err := run(t, "get", "cv", "ctf::"+archive+"//"+app+":1.2.0", "-o", "spdx"); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: %v", err)
	}
	if _, _, err := run(t, "get", "cv", "ctf::"+archive+"//"+app+":1.2.0", "-o", "swid"); err == nil {
		t.Error("-o swid accepted")
	}
}

func cdxNames(doc map[string]any) []string {
	var names []string
	md := doc["metadata"].(map[string]any)
	if c, ok := md["component"].(map[string]any); ok {
		names = append(names, c["name"].(string))
	}
	cs, _ := doc["components"].([]any)
	for _, c := range cs {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	return names
}

func cdxTime(doc map[string]any) string {
	return doc["metadata"].(map[string]any)["timestamp"].(string)
}

func spdxNames(doc map[string]any) []string {
	var names []string
	for _, p := range doc["packages"].([]any) {
		if strings.HasPrefix(p.(map[string]any)["SPDXID"].(string), "SPDXRef-cv-") {
			names = append(names, p.(map[string]any)["name"].(string))
		}
	}
	return names
}

func spdxTime(doc map[string]any) string {
	return doc["creationInfo"].(map[string]any)["created"].(string)
}
