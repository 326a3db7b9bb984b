package ctf

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// refAddUntagged is the plain definition the indexed addUntaggedEntry must
// match: append unless the repository has an entry for the digest.
func refAddUntagged(arts []ArtifactEntry, e ArtifactEntry) []ArtifactEntry {
	for _, a := range arts {
		if a.Repository == e.Repository && a.Digest == e.Digest {
			return arts
		}
	}
	return append(arts, e)
}

// The indexed updates (maps, fast paths) give exactly the entries that the
// plain scans (setTag, refAddUntagged) give, for random sequences of pushes
// and tags over a random, not necessarily normalized, starting index; and
// resolveEntry finds what a backward scan finds.
func TestIndexedEntriesMatchScans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(prefix string, n int) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(n)) }
	entry := func(tagged bool) ArtifactEntry {
		e := ArtifactEntry{Repository: pick("r", 2), Digest: pick("sha256:d", 5), MediaType: pick("m", 2)}
		if tagged {
			e.Tag = pick("t", 4)
		}
		return e
	}
	for round := range 300 {
		var base []ArtifactEntry
		for range rng.IntN(8) {
			base = append(base, entry(rng.IntN(2) == 0))
		}
		w := &Writer{index: Index{Artifacts: slices.Clone(base)}}
		want := slices.Clone(base)
		for step := range 30 {
			if rng.IntN(2) == 0 {
				e := entry(false)
				want = refAddUntagged(want, e)
				w.addUntaggedEntry(e)
			} else {
				e := entry(true)
				want = setTag(want, e)
				w.tagEntry(e)
			}
			if !slices.Equal(w.index.Artifacts, want) {
				t.Fatalf("round %d step %d:\n got %v\nwant %v", round, step, w.index.Artifacts, want)
			}
			for _, repo := range []string{"r0", "r1", "r9"} {
				for _, tag := range []string{"t0", "t1", "t2", "t3", "sha256:d0", "sha256:d3"} {
					byDigest := tag[0] == 's'
					got, known := w.resolveEntry(repo, tag, byDigest)
					var ref *ArtifactEntry
					refKnown := false
					for i := range slices.Backward(want) {
						a := want[i]
						if a.Repository != repo {
							continue
						}
						refKnown = true
						if (byDigest && a.Digest == tag) || (!byDigest && a.Tag == tag) {
							ref = &a
							break
						}
					}
					if known != refKnown || (got == nil) != (ref == nil) || (got != nil && *got != *ref) {
						t.Fatalf("round %d step %d: resolve %s %s: got %v %v, want %v %v", round, step, repo, tag, got, known, ref, refKnown)
					}
				}
			}
		}
	}
}
