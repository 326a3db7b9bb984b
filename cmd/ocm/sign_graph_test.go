package main

import (
	"context"
	"crypto/rsa"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/signing"
)

// sgGraphSize is the number of component versions of the generated graph.
const sgGraphSize = 200

// sgGraphNode names node i: 50 components with 4 versions each.
func sgGraphNode(i int) (component, version string) {
	return fmt.Sprintf("example.com/graph/c%02d", i%50), fmt.Sprintf("1.%d.0", i/50)
}

// sgGraphChildren are the nodes i references: always i+1 (so everything is
// reachable from node 0 and the graph is sgGraphSize deep) and two more
// further down, shared between parents (a DAG, not a tree).
func sgGraphChildren(i int) []int {
	var out []int
	seen := map[int]bool{}
	for _, c := range []int{i + 1, 2*i + 2, 3*i + 5} {
		if c < sgGraphSize && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// sgBuildGraph writes a graph of n versions (node names them, children
// lists the nodes each references, always higher-numbered) into a CTF
// directory with correct reference digests (jsonNormalisation/v4alpha1,
// SHA-256), computed bottom up. Every version has one resource without
// content (access none), so it shows up in verify's table.
func sgBuildGraph(t testing.TB, n int, node func(int) (string, string), children func(int) []int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ctf")
	none, err := descriptor.NewTyped(map[string]string{"type": "none"})
	if err != nil {
		t.Fatal(err)
	}
	cds := make([]*descriptor.Descriptor, n)
	for i := n - 1; i >= 0; i-- {
		name, version := node(i)
		cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}}
		cd.Component.Name, cd.Component.Version, cd.Component.Provider = name, version, "example.com"
		cd.Component.Resources = []descriptor.Resource{{
			ElementMeta: descriptor.ElementMeta{Name: "manifest", Version: version},
			Type:        "plainText", Relation: "external", Access: &none,
		}}
		for _, c := range children(i) {
			cname, cversion := node(c)
			d, err := normalisation.Digest(cds[c], normalisation.JSONv4alpha1, normalisation.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			cd.Component.References = append(cd.Component.References, descriptor.Reference{
				ElementMeta:   descriptor.ElementMeta{Name: fmt.Sprintf("n%03d", c), Version: cversion},
				ComponentName: cname, Digest: d,
			})
		}
		cds[i] = cd
		if err := testutil.AddComponentVersion(dir, cd); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sgSignRoot signs component:version in a CTF directory with integrity.Sign
// and writes it back with ReplaceDescriptor, as `sign cv` does.
func sgSignRoot(t testing.TB, archive, component, version string, key *rsa.PrivateKey) {
	t.Helper()
	ctx := context.Background()
	w, err := ctf.OpenWritable(archive, ctf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	sig, err := integrity.SignStored(ctx, w, "graph", component, version, integrity.SignOptions{
		Signer: signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: key},
	})
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	if sig.Name != "default" || sig.Digest.NormalisationAlgorithm != normalisation.JSONv4alpha1 || sig.Digest.HashAlgorithm != normalisation.SHA256 {
		t.Fatalf("signature %+v", sig)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// A 200-version DAG signed at its root (integrity.Sign, written back with
// ReplaceDescriptor as sign does) verifies with --no-content, reporting
// every version, in under a second (10 s with the race detector).
func TestSignGraph200Versions(t *testing.T) {
	archive := sgBuildGraph(t, sgGraphSize, sgGraphNode, sgGraphChildren)
	root, rootVersion := sgGraphNode(0)
	key := sgKey(t, sgKeyPlain)
	_, pub := sgKeyFiles(t, t.TempDir(), "plain", key)
	sgSignRoot(t, archive, root, rootVersion, key)

	limit := time.Second
	if sgRace {
		limit = 10 * time.Second
	}
	start := time.Now()
	out, stderr, err := run(t, "verify", "cv", archive+"//"+root+":"+rootVersion, "--no-content", "--public-key", pub)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	t.Logf("verify cv --no-content over %d versions: %s", sgGraphSize, elapsed)
	if elapsed > limit {
		t.Errorf("verify took %s, want under %s", elapsed, limit)
	}

	rows := sgVerifyLines(t, out)
	versions := map[string]bool{}
	refs := 0
	for _, r := range rows {
		versions[r[0]] = true
		if strings.HasPrefix(r[1], "reference ") {
			refs++
		}
		if r[2] != "ok" && r[2] != "verified" {
			t.Fatalf("line %q is not ok", r)
		}
	}
	wantRefs := 0
	for i := range sgGraphSize {
		wantRefs += len(sgGraphChildren(i))
		name, version := sgGraphNode(i)
		if !versions[name+":"+version] {
			t.Errorf("%s:%s missing from the output", name, version)
		}
	}
	if len(versions) != sgGraphSize || refs != wantRefs {
		t.Fatalf("%d versions and %d references in the output, want %d and %d", len(versions), refs, sgGraphSize, wantRefs)
	}
	if rows[0] != [3]string{root + ":" + rootVersion, "signature default (RSASSA-PSS)", "verified"} {
		t.Fatalf("first line %q", rows[0])
	}
}

// A failure deep in a DAG is reported once per failing element, not once
// per path to it: a ladder of 10 diamonds has 1024 paths from the root to
// the bottom, and a tampered bottom must not make the error (or the table)
// grow with them.
func TestSignGraphFailureNotRepeatedPerPath(t *testing.T) {
	const diamonds = 10
	// Node 0 is the root; diamond k has left 3k+1, right 3k+2 and joins in 3k+3.
	n := 3*diamonds + 1
	node := func(i int) (string, string) { return fmt.Sprintf("example.com/ladder/n%02d", i), "1.0.0" }
	children := func(i int) []int {
		switch {
		case i == n-1:
			return nil
		case i%3 == 0:
			return []int{i + 1, i + 2}
		case i%3 == 1:
			return []int{i + 2}
		default:
			return []int{i + 1}
		}
	}
	archive := sgBuildGraph(t, n, node, children)
	root, rootVersion := node(0)
	key := sgKey(t, sgKeyPlain)
	_, pub := sgKeyFiles(t, t.TempDir(), "plain", key)
	sgSignRoot(t, archive, root, rootVersion, key)
	if _, _, err := run(t, "verify", "cv", archive+"//"+root+":"+rootVersion, "--no-content", "--public-key", pub); err != nil {
		t.Fatalf("untampered ladder: %v", err)
	}

	bottom, bottomVersion := node(n - 1)
	sgReplace(t, archive, bottom, bottomVersion, func(cd *descriptor.Descriptor) { cd.Component.Provider = "someone-else" })
	start := time.Now()
	out, _, err := run(t, "verify", "cv", archive+"//"+root+":"+rootVersion, "--no-content", "--public-key", pub)
	t.Logf("verify of the tampered ladder: %s, error %d bytes, table %d bytes", time.Since(start), len(fmt.Sprint(err)), len(out))
	if err == nil {
		t.Fatal("tampered ladder verifies")
	}
	mismatch := fmt.Sprintf("reference name=n%03d (%s:%s): digest mismatch", n-1, bottom, bottomVersion)
	if !strings.Contains(err.Error(), mismatch) {
		t.Fatalf("error does not name %q:\n%.2000s", mismatch, err)
	}
	// The bottom is referenced by two versions (the last diamond's sides):
	// each reports the mismatch; everything above may say that a
	// reference failed, but not repeat the whole chain per path.
	if c := strings.Count(err.Error(), mismatch); c > 2 {
		t.Errorf("the mismatch is repeated %d times in the error (%d bytes); want it once per referencing version", c, len(err.Error()))
	}
	if len(err.Error()) > 64<<10 || len(out) > 64<<10 {
		t.Errorf("error (%d bytes) or table (%d bytes) grows with the number of paths", len(err.Error()), len(out))
	}
}
