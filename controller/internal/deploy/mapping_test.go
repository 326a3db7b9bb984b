package deploy

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// missingMapper answers "no match" misses times, then maps; it is not
// resettable, like controller-runtime's lazy mapper.
type missingMapper struct {
	meta.RESTMapper
	misses, calls int
}

func (m *missingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	m.calls++
	if m.misses < 0 || m.calls <= m.misses {
		return nil, &meta.NoKindMatchError{GroupKind: gk, SearchedVersions: versions}
	}
	return &meta.RESTMapping{GroupVersionKind: gk.WithVersion(versions[0]), Scope: meta.RESTScopeNamespace}, nil
}

// A kind that discovery does not serve yet (its CRD established a moment
// ago) is asked for again, whether or not the mapper can be reset.
func TestMappingWaitsForNewKinds(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	m := &missingMapper{misses: 2}
	got, err := (&Applier{Mapper: m}).mapping(context.Background(), gvk)
	if err != nil || got.GroupVersionKind != gvk || m.calls != 3 {
		t.Fatalf("mapping %v, %v after %d calls", got, err, m.calls)
	}
	// A kind that never appears ends with the no-match error.
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	never := &missingMapper{misses: -1}
	if _, err := (&Applier{Mapper: never}).mapping(ctx, gvk); !meta.IsNoMatchError(err) || never.calls < 2 {
		t.Fatalf("never-mapped kind: %v after %d calls", err, never.calls)
	}
}
