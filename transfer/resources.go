package transfer

import (
	"context"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/access"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// UploadMode says how resources that are OCI artifacts are stored in the
// target.
type UploadMode string

const (
	// UploadLocalBlob stores them with the component version (the default).
	UploadLocalBlob UploadMode = "localBlob"
	// UploadOCIArtifact pushes them to their own repositories in the target
	// registry (<target>/<original repository path>:<original tag>) and
	// points their access there.
	UploadOCIArtifact UploadMode = "ociArtifact"
)

// ImageReferencer is a target whose repositories have global names (an OCI
// registry): --upload-as ociArtifact writes such names into accesses.
type ImageReferencer interface {
	ImageReference(repository string) string
}

// push is content to write into one target repository, children before
// parents, then optionally a tag on root.
type push struct {
	repo  string
	tag   string
	root  ocispec.Descriptor
	items []item
}

// item is one node and where its content comes from (Data or fetcher).
type item struct {
	ocimap.Node
	fetcher content.Fetcher
}

// rewriteVersion decides, for CopyResources and UploadOCIArtifact, which
// resources change their access; when any does, v gets the pushes and the
// new root (the version's descriptor differs from the source's, but only in
// accesses, which no normalisation covers, so digests and signatures stay
// valid). Manifests are fetched and verified here, before anything is
// written, so that the target digest is known for the existing-version
// check.
func rewriteVersion(ctx context.Context, v *version, dst ocimap.WriteStore, opts Options, sp *spool) error {
	if !opts.CopyResources && opts.UploadAs != UploadOCIArtifact {
		return nil
	}
	raw, err := descriptor.EncodeJSON(v.cv.Descriptor)
	if err != nil {
		return err
	}
	cd, err := descriptor.Decode(raw)
	if err != nil {
		return err
	}
	blobs := ocimap.LocalBlobs(v.cv)
	kept := map[digest.Digest]bool{}
	var external []item
	var pushes []push
	changed := false
	referencer, _ := dst.(ImageReferencer)
	toArtifact := func(r *descriptor.Resource, repo, tag string, root ocispec.Descriptor, items []item) error {
		if referencer == nil {
			return fmt.Errorf("resource %s: %w", r.Name, ErrArtifactTarget)
		}
		pushes = append(pushes, push{repo: repo, tag: tag, root: root, items: items})
		ref := referencer.ImageReference(repo)
		if tag != "" {
			ref += ":" + tag
		}
		acc, err := descriptor.NewTyped(descriptor.OCIArtifactAccess{Type: descriptor.AccessTypeOCIArtifact + "/v1", ImageReference: ref + "@" + root.Digest.String()})
		if err != nil {
			return err
		}
		r.Access = &acc
		changed = true
		return nil
	}
	localUses := map[digest.Digest]int{}
	for i := range cd.Component.Resources {
		if lb, err := cd.Component.Resources[i].Access.LocalBlob(); err == nil {
			localUses[digest.Digest(lb.LocalReference)]++
		}
	}
	for i := range cd.Component.Resources {
		r := &cd.Component.Resources[i]
		what := fmt.Sprintf("%s resource %s", v.ref, r.Name)
		switch {
		case opts.CopyResources && r.Access != nil && !r.Access.IsLocalBlob() && !r.Access.IsNone():
			ext, err := fetchExternal(ctx, r, opts, sp)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if ext.artifact && opts.UploadAs == UploadOCIArtifact {
				if err := toArtifact(r, ext.repo, ext.tag, ext.root, ext.items); err != nil {
					return err
				}
				opts.Progress(fmt.Sprintf("%s: copying %s as an OCI artifact", what, access.Describe(r.Access)))
				continue
			}
			external = append(external, ext.items...)
			blobs = append(blobs, ocimap.LocalBlob{Descriptor: ext.root, Artifacts: []ocimap.ArtifactRef{{Identity: resourceIdentity(r), Kind: "resource"}}})
			lb, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: descriptor.AccessTypeLocalBlob + "/v1", LocalReference: ext.root.Digest.String(), MediaType: ext.root.MediaType, ReferenceName: ext.referenceName()})
			if err != nil {
				return err
			}
			opts.Progress(fmt.Sprintf("%s: copying %s as a local blob", what, access.Describe(r.Access)))
			r.Access = &lb
			changed = true
		case r.Access.IsLocalBlob() && opts.UploadAs == UploadOCIArtifact:
			lb, _ := r.Access.LocalBlob()
			idx := -1
			for j, b := range blobs {
				if b.Descriptor.Digest.String() == lb.LocalReference && ocimap.IsManifest(b.Descriptor.MediaType) {
					idx = j
				}
			}
			if idx < 0 {
				continue // a plain blob stays a local blob
			}
			root := blobs[idx].Descriptor
			root.Annotations = nil
			repo, tag := artifactName(lb.ReferenceName, v.ref.Component, r)
			nodes, err := ocimap.Graph(ctx, v.fetcher, root)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if err := toArtifact(r, repo, tag, root, withFetcher(nodes, v.fetcher)); err != nil {
				return err
			}
			if localUses[root.Digest]--; localUses[root.Digest] == 0 {
				blobs = append(blobs[:idx], blobs[idx+1:]...)
			}
		}
	}
	if !changed {
		return nil
	}
	composed, root, err := ocimap.Compose(cd, blobs, v.cv.Subject())
	if err != nil {
		return err
	}
	var items []item
	for _, b := range blobs {
		if kept[b.Descriptor.Digest] {
			continue
		}
		kept[b.Descriptor.Digest] = true
		if slicesContainsDigest(external, b.Descriptor.Digest) {
			continue // fetched from outside, listed in external
		}
		if !ocimap.IsManifest(b.Descriptor.MediaType) {
			items = append(items, item{Node: ocimap.Node{Descriptor: b.Descriptor}, fetcher: v.fetcher})
			continue
		}
		nodes, err := ocimap.Graph(ctx, v.fetcher, b.Descriptor)
		if err != nil {
			return fmt.Errorf("%s: local blob %s: %w", v.ref, b.Descriptor.Digest, err)
		}
		items = append(items, withFetcher(nodes, v.fetcher)...)
	}
	items = append(items, external...)
	for _, n := range composed {
		items = append(items, item{Node: n})
	}
	pushes = append(pushes, push{repo: v.cv.Repository, tag: ocimap.ToTag(v.ref.Version), root: root, items: dedupe(items)})
	v.pushes, v.root, v.targetCD = pushes, root, cd
	return nil
}

// artifactName is the repository and tag a local OCI artifact gets with
// --upload-as ociArtifact: its referenceName without a registry host, or
// <component>/<resource name>:<resource version>.
func artifactName(referenceName, component string, r *descriptor.Resource) (string, string) {
	name := referenceName
	if first, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		name = rest
	}
	if name == "" {
		name = component + "/" + r.Name + ":" + r.Version
	}
	name, _, _ = strings.Cut(name, "@")
	repo, tag := name, ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	return strings.ToLower(repo), ocimap.ToTag(tag)
}

func resourceIdentity(r *descriptor.Resource) map[string]string {
	id := map[string]string{"name": r.Name}
	if r.Version != "" {
		id["version"] = r.Version
	}
	for k, v := range r.ExtraIdentity {
		id[k] = v
	}
	return id
}

func withFetcher(nodes []ocimap.Node, f content.Fetcher) []item {
	out := make([]item, len(nodes))
	for i, n := range nodes {
		out[i] = item{Node: n, fetcher: f}
	}
	return out
}

func slicesContainsDigest(items []item, d digest.Digest) bool {
	for _, it := range items {
		if it.Descriptor.Digest == d {
			return true
		}
	}
	return false
}

// dedupe keeps the first item per digest (children come first, so the
// order stays valid).
func dedupe(items []item) []item {
	seen := map[digest.Digest]bool{}
	out := items[:0]
	for _, it := range items {
		if !seen[it.Descriptor.Digest] {
			seen[it.Descriptor.Digest] = true
			out = append(out, it)
		}
	}
	return out
}
