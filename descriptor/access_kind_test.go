package descriptor

import "testing"

func TestAccessKindOf(t *testing.T) {
	tests := []struct {
		typ  string
		want AccessKind
	}{
		{"LocalBlob/v1", AccessLocalBlob}, {"localBlob", AccessLocalBlob}, {"LocalBlob/v2", ""},
		{"OCIImage/v1", AccessOCIImage}, {"ociArtifact", AccessOCIImage}, {"ociArtifact/v1", AccessOCIImage},
		{"ociRegistry/v1", AccessOCIImage}, {"ociImage", AccessOCIImage}, {"OCIArtifact", AccessOCIImage},
		{"ociartifact", ""}, {"OCIImageLayer/v1", AccessOCIImageLayer}, {"ociBlob", AccessOCIImageLayer},
		{"Helm/v1", AccessHelm}, {"helm", AccessHelm}, {"helm/v1", AccessHelm},
		{"Wget/v1", AccessWget}, {"wget", AccessWget}, {"none", AccessNone}, {"None", AccessNone},
		{"S3/v1", ""}, {"", ""},
	}
	for _, tt := range tests {
		if got := AccessKindOf(tt.typ); got != tt.want {
			t.Errorf("AccessKindOf(%q) = %q, want %q", tt.typ, got, tt.want)
		}
	}
	var nilTyped *Typed
	if nilTyped.Kind() != "" || nilTyped.IsOCIArtifact() || nilTyped.IsLocalBlob() {
		t.Error("nil access has a kind")
	}
	seen := map[string]AccessKind{}
	for _, info := range AccessTypes {
		if string(info.Kind) != info.Spellings[0] {
			t.Errorf("%s: first spelling %q should be the kind", info.Kind, info.Spellings[0])
		}
		for _, s := range info.Spellings {
			if k, dup := seen[s]; dup {
				t.Errorf("spelling %q in %s and %s", s, k, info.Kind)
			}
			seen[s] = info.Kind
		}
	}
}
