package config

import (
	"strings"
	"testing"
)

func TestTransfer(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      *TransferSettings
		err       string
	}{
		{name: "none", doc: "type: generic.config.ocm.software/v1\nconfigurations: []\n"},
		{name: "recursive copy", doc: `
type: generic.config.ocm.software/v1
configurations:
  - type: transfer.config.ocm.software/v1alpha1
    recursive: -1
    copyMode: allResources
`, want: &TransferSettings{Recursive: RecursiveAll, CopyMode: CopyModeAllResources}},
		{name: "later non-empty fields win", doc: `
type: generic.config.ocm.software/v1
configurations:
  - type: transfer.config.ocm.software
    recursive: -1
    copyMode: allResources
  - type: transfer.config.ocm.software/v1alpha1
    copyMode: localBlob
    uploadType: ociArtifact
`, want: &TransferSettings{Recursive: RecursiveAll, CopyMode: CopyModeLocalBlob, UploadType: UploadAsOCIArtifact}},
		{name: "single entry document", doc: "type: transfer.config.ocm.software/v1alpha1\nrecursive: -1\n", want: &TransferSettings{Recursive: RecursiveAll}},
		{name: "depth", doc: "type: transfer.config.ocm.software/v1alpha1\nrecursive: 2\n", err: "recursive depth 2 is not supported"},
		{name: "negative", doc: "type: transfer.config.ocm.software/v1alpha1\nrecursive: -2\n", err: "invalid recursive -2"},
		{name: "copy mode", doc: "type: transfer.config.ocm.software/v1alpha1\ncopyMode: everything\n", err: `invalid copyMode "everything"`},
		{name: "upload type", doc: "type: transfer.config.ocm.software/v1alpha1\nuploadType: tar\n", err: `invalid uploadType "tar"`},
		{name: "unknown field", doc: "type: transfer.config.ocm.software/v1alpha1\nrecursiv: -1\n", err: `unknown field "recursiv"`},
		{name: "version", doc: "type: transfer.config.ocm.software/v2\n", err: "unsupported version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			for i := range entries {
				entries[i].Source = "config file x"
			}
			got, err := (&Config{Entries: entries}).Transfer()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "config file x") {
					t.Fatalf("error %v, want %q naming the source", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
