package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

const (
	sgTop    = "example.com/tamper/top"
	sgMid    = "example.com/tamper/mid"
	sgBottom = "example.com/tamper/bottom"
)

const sgTamperConstructor = `components:
- name: example.com/tamper/top
  version: 1.0.0
  provider:
    name: example.com
  labels:
  - name: example.com/approved
    value: approved-by-security
    signing: true
  - name: example.com/note
    value: free text, not signed
  resources:
  - name: top-file
    type: blob
    version: 1.0.0
    input:
      type: file
      path: top.txt
      mediaType: text/plain
  componentReferences:
  - name: mid
    componentName: example.com/tamper/mid
    version: 1.0.0
- name: example.com/tamper/mid
  version: 1.0.0
  provider:
    name: example.com
  resources:
  - name: mid-file
    type: blob
    version: 1.0.0
    input:
      type: file
      path: mid.txt
      mediaType: text/plain
  componentReferences:
  - name: bottom
    componentName: example.com/tamper/bottom
    version: 1.0.0
- name: example.com/tamper/bottom
  version: 1.0.0
  provider:
    name: example.com
  resources:
  - name: bottom-file
    type: blob
    version: 1.0.0
    input:
      type: file
      path: bottom.txt
      mediaType: text/plain
`

// sgSetLabel sets the value of a component label (JSON).
func sgSetLabel(t testing.TB, cd *descriptor.Descriptor, name, valueJSON string) {
	t.Helper()
	for i := range cd.Component.Labels {
		if cd.Component.Labels[i].Name == name {
			cd.Component.Labels[i].Value = json.RawMessage(valueJSON)
			return
		}
	}
	t.Fatalf("%s has no label %s", cd.Component.Name, name)
}

// One tamper matrix over a signed top -> mid -> bottom graph: every change
// a signature covers fails verification and the error names the element;
// a non-signing label does not. With --no-content, blob changes go
// unnoticed (the documented weaker mode) but descriptor changes do not.
func TestSignTamperMatrix(t *testing.T) {
	base := sgBuild(t, sgTamperConstructor, map[string]string{
		"top.txt": "top content\n", "mid.txt": "mid content\n", "bottom.txt": "bottom content\n",
	}, "ctf")
	dir := t.TempDir()
	priv, pub := sgKeyFiles(t, dir, "plain", sgKey(t, sgKeyPlain))
	// Two signatures: the default one, and a legacy one (PKCS#1 v1.5,
	// SHA-512, jsonNormalisation/v1) so that label handling is checked
	// under the oldest normalisation too.
	cfg := sgConfig(t, filepath.Join(dir, "sign.ocmconfig"), []sgCred{
		{Signature: "default", Algorithm: "RSASSA-PSS", Props: map[string]string{"private_key_pem_file": priv}},
		{Signature: "legacy", Algorithm: "RSASSA-PKCS1-V1_5", Props: map[string]string{"private_key_pem_file": priv}},
	}, []sgSigner{{Signature: "legacy", Algorithm: "RSASSA-PKCS1-V1_5"}})
	for _, args := range [][]string{
		{"--signature", "default"},
		{"--signature", "legacy", "--hash", "SHA-512", "--normalisation", "jsonNormalisation/v1"},
	} {
		if out, stderr, err := run(t, append([]string{"--config", cfg, "sign", "cv", base + "//" + sgTop + ":1.0.0"}, args...)...); err != nil {
			t.Fatalf("sign %v: %v\n%s%s", args, err, out, stderr)
		}
	}
	if out, stderr, err := run(t, "verify", "cv", base+"//"+sgTop+":1.0.0", "--public-key", pub); err != nil {
		t.Fatalf("the untampered graph does not verify: %v\n%s%s", err, out, stderr)
	}
	topCD := sgGetCV(t, base+"//"+sgTop+":1.0.0")
	bottomCD := sgGetCV(t, base+"//"+sgBottom+":1.0.0")

	refMid := "reference name=mid (" + sgMid + ":1.0.0)"
	refBottom := "reference name=bottom (" + sgBottom + ":1.0.0)"
	tests := []struct {
		name   string
		tamper func(t *testing.T, archive string)
		// wantErr lists what the error must name; nil: verification passes.
		wantErr          []string
		wantErrNoContent []string
	}{
		{
			name: "a top blob byte",
			tamper: func(t *testing.T, archive string) {
				sgFlipByte(t, sgBlobPath(t, archive, topCD, "top-file"), 3)
			},
			wantErr: []string{sgTop + ":1.0.0: resource name=top-file: content digest (localReference sha256:", "mismatch"},
		},
		{
			name: "b bottom blob byte two references down",
			tamper: func(t *testing.T, archive string) {
				sgFlipByte(t, sgBlobPath(t, archive, bottomCD, "bottom-file"), 0)
			},
			// Each failing version once: the bottom with the tampered blob,
			// the versions above it naming the reference that fails.
			wantErr: []string{sgBottom + ":1.0.0: resource name=bottom-file: content digest", "mismatch",
				sgMid + ":1.0.0: " + refBottom + ": referenced component version does not verify",
				sgTop + ":1.0.0: " + refMid + ": referenced component version does not verify"},
		},
		{
			name: "c top signing label",
			tamper: func(t *testing.T, archive string) {
				sgReplace(t, archive, sgTop, "1.0.0", func(cd *descriptor.Descriptor) {
					sgSetLabel(t, cd, "example.com/approved", `"approved-by-nobody"`)
				})
			},
			wantErr:          []string{`signature "default": descriptor digest mismatch`, `signature "legacy": descriptor digest mismatch`},
			wantErrNoContent: []string{`signature "default": descriptor digest mismatch`, `signature "legacy": descriptor digest mismatch`},
		},
		{
			name: "d mid descriptor",
			tamper: func(t *testing.T, archive string) {
				sgReplace(t, archive, sgMid, "1.0.0", func(cd *descriptor.Descriptor) {
					cd.Component.Resources[0].Version = "1.0.1"
				})
			},
			wantErr:          []string{sgTop + ":1.0.0: " + refMid + ": digest mismatch: descriptor records SHA-256"},
			wantErrNoContent: []string{sgTop + ":1.0.0: " + refMid + ": digest mismatch: descriptor records SHA-256"},
		},
		{
			name: "e signature hex digit",
			tamper: func(t *testing.T, archive string) {
				sgReplace(t, archive, sgTop, "1.0.0", func(cd *descriptor.Descriptor) {
					if cd.Signatures[0].Name != "default" {
						t.Fatalf("first signature is %q", cd.Signatures[0].Name)
					}
					v := []byte(cd.Signatures[0].Signature.Value)
					i := len(v) / 2
					if v[i] == '0' {
						v[i] = '1'
					} else {
						v[i] = '0'
					}
					cd.Signatures[0].Signature.Value = string(v)
				})
			},
			wantErr:          []string{`signature "default": RSASSA-PSS signature over the SHA-256 digest does not verify`},
			wantErrNoContent: []string{`signature "default": RSASSA-PSS signature over the SHA-256 digest does not verify`},
		},
		{
			name: "f top non-signing label",
			tamper: func(t *testing.T, archive string) {
				sgReplace(t, archive, sgTop, "1.0.0", func(cd *descriptor.Descriptor) {
					sgSetLabel(t, cd, "example.com/note", `"rewritten after signing"`)
				})
				// The change is really there.
				cd := sgGetCV(t, archive+"//"+sgTop+":1.0.0")
				if got := string(cd.Component.Labels[1].Value); got != `"rewritten after signing"` {
					t.Fatalf("label not rewritten: %s", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "ctf")
			testutil.CopyDir(t, base, archive)
			tt.tamper(t, archive)
			ref := archive + "//" + sgTop + ":1.0.0"
			for _, mode := range []struct {
				name    string
				args    []string
				wantErr []string
			}{
				{"content", nil, tt.wantErr},
				{"no-content", []string{"--no-content"}, tt.wantErrNoContent},
			} {
				out, stderr, err := run(t, append([]string{"verify", "cv", ref, "--public-key", pub}, mode.args...)...)
				if len(mode.wantErr) == 0 {
					if err != nil {
						t.Fatalf("%s: verification failed: %v\n%s%s", mode.name, err, out, stderr)
					}
					continue
				}
				if err == nil {
					t.Fatalf("%s: tampered archive verifies:\n%s", mode.name, out)
				}
				if missing := sgContainsAll(err.Error(), mode.wantErr...); missing != "" {
					t.Fatalf("%s: error does not name %q:\n%v", mode.name, missing, err)
				}
				if !strings.Contains(out, "FAILED") {
					t.Fatalf("%s: no FAILED line in the table:\n%s", mode.name, out)
				}
			}
			// The descriptor is still readable: only what was tampered with fails.
			if _, _, err := run(t, "get", "cv", ref, "--recursive"); err != nil {
				t.Fatalf("archive no longer readable: %v", err)
			}
		})
	}
}
