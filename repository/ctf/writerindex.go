package ctf

// The Writer's index is a list of entries that every Push of a manifest and
// every Tag updates. Scanning the list on each update made adding n versions
// of one component cost O(n²); these maps make the usual updates O(1).

// repoKey names the entries of a repository with a tag or a digest.
type repoKey struct{ repo, s string }

// entryMaps indexes w.index.Artifacts by position.
type entryMaps struct {
	byTag    map[repoKey][]int // tagged entries, ascending positions
	byDigest map[repoKey][]int // all entries
	repos    map[string]int    // number of entries per repository
	// normalized repositories satisfy what setTag establishes: no untagged
	// entry whose digest is tagged, no two untagged entries with one digest,
	// no repeated (tag, digest). The fast paths keep that true.
	normalized map[string]bool
}

// maps returns the index maps, building them when needed. w.mu is held.
func (w *Writer) maps() *entryMaps {
	if w.emaps != nil {
		return w.emaps
	}
	m := &entryMaps{byTag: map[repoKey][]int{}, byDigest: map[repoKey][]int{}, repos: map[string]int{}, normalized: map[string]bool{}}
	for i, a := range w.index.Artifacts {
		m.add(i, a)
	}
	w.emaps = m
	return m
}

func (m *entryMaps) add(i int, a ArtifactEntry) {
	if a.Tag != "" {
		k := repoKey{a.Repository, a.Tag}
		m.byTag[k] = append(m.byTag[k], i)
	}
	k := repoKey{a.Repository, a.Digest}
	m.byDigest[k] = append(m.byDigest[k], i)
	m.repos[a.Repository]++
}

// appendEntry appends e to the index. w.mu is held.
func (w *Writer) appendEntry(e ArtifactEntry) {
	m := w.maps()
	w.index.Artifacts = append(w.index.Artifacts, e)
	m.add(len(w.index.Artifacts)-1, e)
}

// addUntaggedEntry is addUntagged on the indexed entries. w.mu is held.
func (w *Writer) addUntaggedEntry(e ArtifactEntry) bool {
	if len(w.maps().byDigest[repoKey{e.Repository, e.Digest}]) > 0 {
		return false
	}
	w.appendEntry(e)
	return true
}

// tagEntry is setTag on the indexed entries: O(1) for a new tag on a new
// or untagged manifest and for a repeated tag, the full setTag (and a
// rebuild of the maps) otherwise and on a repository's first tag, which
// normalizes it. w.mu is held.
func (w *Writer) tagEntry(e ArtifactEntry) {
	m := w.maps()
	if m.normalized[e.Repository] {
		tagged := m.byTag[repoKey{e.Repository, e.Tag}]
		same := m.byDigest[repoKey{e.Repository, e.Digest}]
		switch {
		case len(tagged) == 0 && len(same) == 0:
			w.appendEntry(e)
			return
		case len(tagged) == 0 && len(same) == 1 && w.index.Artifacts[same[0]].Tag == "":
			i := same[0]
			a := &w.index.Artifacts[i]
			a.Tag = e.Tag
			if e.MediaType != "" {
				a.MediaType = e.MediaType
			}
			k := repoKey{e.Repository, e.Tag}
			m.byTag[k] = append(m.byTag[k], i)
			return
		case len(tagged) == 1 && w.index.Artifacts[tagged[0]].Digest == e.Digest:
			if e.MediaType != "" {
				w.index.Artifacts[tagged[0]].MediaType = e.MediaType
			}
			return
		}
	}
	w.index.Artifacts = setTag(w.index.Artifacts, e)
	w.emaps = nil
	w.maps().normalized[e.Repository] = true
	for r := range m.normalized {
		w.emaps.normalized[r] = true // setTag leaves other repositories alone
	}
}

// resolveEntry finds the last entry of repository with tag (or, when tag
// is a digest, with that digest) and whether the repository is known.
// w.mu is held.
func (w *Writer) resolveEntry(repository, tag string, byDigest bool) (*ArtifactEntry, bool) {
	m := w.maps()
	if m.repos[repository] == 0 {
		return nil, false
	}
	pos := m.byTag[repoKey{repository, tag}]
	if byDigest {
		pos = m.byDigest[repoKey{repository, tag}]
	}
	if len(pos) == 0 {
		return nil, true
	}
	a := w.index.Artifacts[pos[len(pos)-1]]
	return &a, true
}
