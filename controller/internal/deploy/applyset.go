package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
)

// KEP-3659 ApplySet labels and annotations.
const (
	LabelApplySetID                  = "applyset.kubernetes.io/id"
	LabelApplySetPartOf              = "applyset.kubernetes.io/part-of"
	AnnotationApplySetTooling        = "applyset.kubernetes.io/tooling"
	AnnotationApplySetGroupKinds     = "applyset.kubernetes.io/contains-group-kinds"
	AnnotationApplySetAdditionalNSes = "applyset.kubernetes.io/additional-namespaces"
)

// ApplySetID is the KEP-3659 v1 id of the set whose parent is the given
// object: applyset-<base64url(sha256(name.namespace.kind.group))>-v1,
// without padding, as kubectl and the reference controller compute it.
func ApplySetID(name, namespace, kind, group string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{name, namespace, kind, group}, ".")))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

// Parent is the ApplySet parent object.
type Parent struct {
	APIVersion, Kind, Name, Namespace string
}

// GVK of the parent.
func (p Parent) GVK() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(p.APIVersion, p.Kind)
}

// ID of the set the parent owns.
func (p Parent) ID() string {
	return ApplySetID(p.Name, p.Namespace, p.Kind, p.GVK().Group)
}

// ObjectRef identifies an applied object.
type ObjectRef struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Name       string    `json:"name"`
	Namespace  string    `json:"namespace,omitempty"`
	UID        types.UID `json:"uid,omitempty"`
	// Digest is sha256:<hex> of the apply configuration sent (applied
	// objects only), for delivery records.
	Digest string `json:"digest,omitempty"`
}

func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Applier applies Sources with server-side apply under an ApplySet.
type Applier struct {
	// Dynamic and Metadata reach the members of the set (possibly as an
	// impersonated ServiceAccount).
	Dynamic  dynamic.Interface
	Metadata metadata.Interface
	// ParentDynamic reaches the ApplySet parent; nil means Dynamic.
	ParentDynamic dynamic.Interface
	Mapper        meta.RESTMapper
	// FieldManager owns the applied fields; applies use Force, so the
	// desired state wins over other managers (drift correction).
	FieldManager string
	// Tooling is the parent's tooling annotation, <tool>/<version>.
	Tooling string
	// Concurrency bounds parallel applies and deletes (default 4).
	Concurrency int
	// CRDEstablishedTimeout bounds the wait for applied CRDs (default 30s).
	CRDEstablishedTimeout time.Duration
}

// ApplyOptions customise one Apply.
type ApplyOptions struct {
	// Mutate stamps labels and annotations on each object before it is applied.
	Mutate func(*unstructured.Unstructured)
	// Owner becomes a controller owner reference on every object (the
	// deployer's drift informers map objects back to it).
	Owner *metav1.OwnerReference
	// DefaultNamespace is given to namespaced objects without one.
	DefaultNamespace string
}

// Result lists what Apply did.
type Result struct {
	Applied []ObjectRef
	Pruned  []ObjectRef
}

var (
	crdGK = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	nsGK  = schema.GroupKind{Kind: "Namespace"}
)

func (a *Applier) concurrency() int {
	if a.Concurrency > 0 {
		return a.Concurrency
	}
	return 4
}

// Apply applies every object of src and then prunes the members of the set
// that src no longer contains. Pruning happens only when every apply
// succeeded, so a partial failure never deletes anything. CRDs and
// Namespaces go first (and CRDs are waited for), then everything else.
func (a *Applier) Apply(ctx context.Context, parent Parent, src Source, opts ApplyOptions) (*Result, error) {
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = metav1.NamespaceDefault
	}
	id := parent.ID()
	pobj, err := a.getParent(ctx, parent)
	if err != nil {
		return nil, err
	}
	if err := a.checkTooling(pobj); err != nil {
		return nil, err
	}

	// Pass 1: learn the group kinds and namespaces, so the parent lists a
	// superset of the members before any member exists (KEP-3659 order).
	gks, nses, err := a.scan(ctx, src, opts.DefaultNamespace)
	if err != nil {
		return nil, err
	}
	oldGKs, oldNSes := parseList(pobj.GetAnnotations()[AnnotationApplySetGroupKinds]), parseList(pobj.GetAnnotations()[AnnotationApplySetAdditionalNSes])
	allGKs, allNSes := gks.Union(oldGKs), nses.Union(oldNSes)
	if err := a.patchParent(ctx, parent, id, allGKs, allNSes); err != nil {
		return nil, err
	}

	res := &Result{}
	var mu sync.Mutex
	var applied []indexed
	record := func(i int, r ObjectRef) {
		mu.Lock()
		applied = append(applied, indexed{i, r})
		mu.Unlock()
	}
	// Pass 2: CRDs and Namespaces; pass 3: the rest.
	claimed, err := a.claims(ctx, id, gks, nses)
	if err != nil {
		return nil, err
	}
	if err := a.applyPass(ctx, src, id, opts, claimed, true, record); err != nil {
		return finish(res, applied), err
	}
	if err := a.applyPass(ctx, src, id, opts, claimed, false, record); err != nil {
		return finish(res, applied), err
	}
	finish(res, applied)

	keep := make(map[types.UID]struct{}, len(res.Applied))
	for _, r := range res.Applied {
		keep[r.UID] = struct{}{}
	}
	pruned, err := a.prune(ctx, parent, id, allGKs, allNSes, keep)
	res.Pruned = pruned
	if err != nil {
		return res, err
	}
	// Only now shrink the parent's lists to what the set contains.
	if err := a.patchParent(ctx, parent, id, gks, nses); err != nil {
		return res, err
	}
	return res, nil
}

// Prune deletes every member of the parent's set (the deployer's deletion).
func (a *Applier) Prune(ctx context.Context, parent Parent) ([]ObjectRef, error) {
	pobj, err := a.getParent(ctx, parent)
	if err != nil {
		return nil, err
	}
	gks := parseList(pobj.GetAnnotations()[AnnotationApplySetGroupKinds])
	nses := parseList(pobj.GetAnnotations()[AnnotationApplySetAdditionalNSes])
	return a.prune(ctx, parent, parent.ID(), gks, nses, nil)
}

type indexed struct {
	i   int
	ref ObjectRef
}

func finish(res *Result, applied []indexed) *Result {
	sort.Slice(applied, func(i, j int) bool { return applied[i].i < applied[j].i })
	res.Applied = res.Applied[:0]
	for _, a := range applied {
		res.Applied = append(res.Applied, a.ref)
	}
	return res
}

func (a *Applier) getParent(ctx context.Context, parent Parent) (*unstructured.Unstructured, error) {
	ri, err := a.parentResource(parent)
	if err != nil {
		return nil, fmt.Errorf("ApplySet parent %s %s: %w", parent.Kind, parent.Name, err)
	}
	obj, err := ri.Get(ctx, parent.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("ApplySet parent %s %s: %w", parent.Kind, parent.Name, err)
	}
	return obj, nil
}

// checkTooling refuses a parent another tool manages (KEP-3659 asks tools
// not to mutate sets they do not own).
func (a *Applier) checkTooling(pobj *unstructured.Unstructured) error {
	have := pobj.GetAnnotations()[AnnotationApplySetTooling]
	if have == "" || a.Tooling == "" {
		return nil
	}
	tool := func(s string) string { t, _, _ := strings.Cut(s, "/"); return t }
	if tool(have) != tool(a.Tooling) {
		return fmt.Errorf("ApplySet parent %s is managed by %q, not %q", pobj.GetName(), have, a.Tooling)
	}
	return nil
}

func (a *Applier) patchParent(ctx context.Context, parent Parent, id string, gks, nses sets.Set[string]) error {
	ns := nses.Clone()
	ns.Delete(parent.Namespace) // the parent's namespace is implicit
	patch := map[string]any{"metadata": map[string]any{
		"labels": map[string]any{LabelApplySetID: id},
		"annotations": map[string]any{
			AnnotationApplySetTooling:        a.Tooling,
			AnnotationApplySetGroupKinds:     strings.Join(sets.List(gks), ","),
			AnnotationApplySetAdditionalNSes: strings.Join(sets.List(ns), ","),
		},
	}}
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	ri, err := a.parentResource(parent)
	if err != nil {
		return fmt.Errorf("ApplySet parent: %w", err)
	}
	if _, err := ri.Patch(ctx, parent.Name, types.MergePatchType, data, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("updating ApplySet parent %s %s: %w", parent.Kind, parent.Name, err)
	}
	return nil
}

func parseList(s string) sets.Set[string] {
	out := sets.New[string]()
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out.Insert(p)
		}
	}
	return out
}

// gkString is the KEP's Kind.group spelling (Kind alone for the core group).
func gkString(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

func parseGK(s string) schema.GroupKind {
	kind, group, _ := strings.Cut(s, ".")
	return schema.GroupKind{Group: group, Kind: kind}
}

// scan reads src once to collect group kinds and namespaces. A kind whose
// CRD is in the bundle itself is resolved from that CRD's scope.
func (a *Applier) scan(ctx context.Context, src Source, defaultNS string) (sets.Set[string], sets.Set[string], error) {
	gks, nses := sets.New[string](), sets.New[string]()
	count := 0
	bundleScopes := map[schema.GroupKind]bool{} // GK -> namespaced, from CRDs in the bundle
	unnamespaced := sets.New[schema.GroupKind]()
	err := src.Each(ctx, func(u *unstructured.Unstructured) error {
		count++
		gk := u.GroupVersionKind().GroupKind()
		gks.Insert(gkString(gk))
		if gk == crdGK {
			group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
			bundleScopes[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
		if ns := u.GetNamespace(); ns != "" {
			nses.Insert(ns)
		} else {
			unnamespaced.Insert(gk)
		}
		return nil
	})
	if err != nil {
		return nil, nil, &SourceError{Err: err}
	}
	if count == 0 {
		// Applying nothing would prune everything: refuse instead.
		return nil, nil, &SourceError{Err: ErrNoObjects}
	}
	for gk := range unnamespaced {
		namespaced, err := a.namespaced(gk, bundleScopes)
		if err != nil {
			return nil, nil, err
		}
		if namespaced {
			nses.Insert(defaultNS)
		}
	}
	return gks, nses, nil
}

func (a *Applier) namespaced(gk schema.GroupKind, bundleScopes map[schema.GroupKind]bool) (bool, error) {
	m, err := a.Mapper.RESTMapping(gk)
	if err == nil {
		return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
	}
	if ns, ok := bundleScopes[gk]; ok && meta.IsNoMatchError(err) {
		return ns, nil
	}
	return false, fmt.Errorf("resolving %s: %w", gkString(gk), err)
}

func (a *Applier) parentResource(parent Parent) (dynamic.ResourceInterface, error) {
	gvk := parent.GVK()
	m, err := a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	d := a.ParentDynamic
	if d == nil {
		d = a.Dynamic
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return d.Resource(m.Resource).Namespace(parent.Namespace), nil
	}
	return d.Resource(m.Resource), nil
}

// applyPass applies the first-class kinds (first=true) or all others.
func (a *Applier) applyPass(ctx context.Context, src Source, id string, opts ApplyOptions, claimed map[string]string, first bool, record func(int, ObjectRef)) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.concurrency())
	var crds []string
	i := -1
	err := src.Each(gctx, func(u *unstructured.Unstructured) error {
		i++
		gk := u.GroupVersionKind().GroupKind()
		isFirst := gk == crdGK || gk == nsGK
		if isFirst != first {
			return nil
		}
		if gk == crdGK {
			crds = append(crds, u.GetName())
		}
		idx := i
		g.Go(func() error {
			ref, err := a.applyOne(gctx, u, id, opts, claimed)
			if err != nil {
				return err
			}
			record(idx, ref)
			return nil
		})
		return nil
	})
	if werr := g.Wait(); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if len(crds) > 0 {
		return a.waitEstablished(ctx, crds)
	}
	return nil
}

func (a *Applier) applyOne(ctx context.Context, u *unstructured.Unstructured, id string, opts ApplyOptions, claimed map[string]string) (ObjectRef, error) {
	if opts.Mutate != nil {
		opts.Mutate(u)
	}
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelApplySetPartOf] = id
	u.SetLabels(labels)
	if opts.Owner != nil {
		u.SetOwnerReferences([]metav1.OwnerReference{*opts.Owner})
	}
	gvk := u.GroupVersionKind()
	m, err := a.mapping(ctx, gvk)
	if err != nil {
		return ObjectRef{}, fmt.Errorf("applying %s %s: %w", gvk.Kind, u.GetName(), err)
	}
	var ri dynamic.ResourceInterface = a.Dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(opts.DefaultNamespace)
		}
		ri = a.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace())
	} else {
		u.SetNamespace("")
	}
	if owner, ok := claimed[claimKey(gvk.GroupKind(), u.GetNamespace(), u.GetName())]; ok {
		ref := ObjectRef{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), Namespace: u.GetNamespace()}
		return ObjectRef{}, &ConflictError{Object: ref, Owner: owner}
	}
	// Server-managed fields must not be part of an apply configuration.
	u.SetResourceVersion("")
	u.SetManagedFields(nil)
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	ref := ObjectRef{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), Namespace: u.GetNamespace()}
	// encoding/json sorts map keys: the same configuration, the same digest.
	raw, err := json.Marshal(u.Object)
	if err != nil {
		return ref, fmt.Errorf("applying %s: %w", ref, err)
	}
	sum := sha256.Sum256(raw)
	ref.Digest = "sha256:" + hex.EncodeToString(sum[:])
	out, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: a.FieldManager, Force: true})
	if err != nil {
		return ref, fmt.Errorf("applying %s: %w", ref, err)
	}
	ref.UID = out.GetUID()
	return ref, nil
}

// claims lists the objects of the given group kinds and namespaces that
// are members of another set, by "group/Kind/namespace/name", with the
// owner to name: applying them (forced) would silently take them from
// their owner, and each would then revert the other's changes. One list
// per kind and namespace; kinds not known yet (CRDs in the bundle) and
// lists the applier may not do are skipped.
func (a *Applier) claims(ctx context.Context, id string, gks, nses sets.Set[string]) (map[string]string, error) {
	out := map[string]string{}
	sel := LabelApplySetPartOf + "," + LabelApplySetPartOf + "!=" + id
	for _, s := range sets.List(gks) {
		m, err := a.Mapper.RESTMapping(parseGK(s))
		if err != nil {
			continue
		}
		namespaces := []string{""}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			namespaces = sets.List(nses)
		}
		for _, ns := range namespaces {
			opts := metav1.ListOptions{LabelSelector: sel, Limit: 500}
			for {
				list, err := a.Metadata.Resource(m.Resource).Namespace(ns).List(ctx, opts)
				if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
					break
				}
				if err != nil {
					return nil, fmt.Errorf("listing %s in %q: %w", m.Resource.Resource, ns, err)
				}
				for _, it := range list.Items {
					owner := "ApplySet " + it.GetLabels()[LabelApplySetPartOf]
					for _, ref := range it.GetOwnerReferences() {
						if ref.Controller != nil && *ref.Controller {
							owner = ref.Kind + " " + ref.Name
						}
					}
					out[claimKey(m.GroupVersionKind.GroupKind(), it.GetNamespace(), it.GetName())] = owner
				}
				if list.Continue == "" {
					break
				}
				opts.Continue = list.Continue
			}
		}
	}
	return out, nil
}

func claimKey(gk schema.GroupKind, namespace, name string) string {
	return gk.Group + "/" + gk.Kind + "/" + namespace + "/" + name
}

// ConflictError: an object of the resource belongs to another set.
type ConflictError struct {
	Object ObjectRef
	// Owner names the set's parent ("Deployer x") or the set.
	Owner string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s already belongs to %s; refusing to take it over", e.Object, e.Owner)
}

func (a *Applier) waitEstablished(ctx context.Context, names []string) error {
	timeout := a.CRDEstablishedTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			crd, err := a.Dynamic.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				cm, _ := c.(map[string]any)
				if cm["type"] == "Established" && cm["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for CRD %s to be established: %w", name, err)
		}
	}
	// New kinds must be discoverable for the rest of the bundle.
	if r, ok := a.Mapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
	return nil
}

// mapping resolves gvk. A kind whose CRD was established a moment ago may
// not be in the API server's discovery yet: on no match the mapper is asked
// again for a few seconds, reset first where it caches (controller-runtime's
// lazy mapper is not resettable: it reloads the group on every miss itself).
func (a *Applier) mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if !meta.IsNoMatchError(err) {
		return m, err
	}
	r, resettable := a.Mapper.(meta.ResettableRESTMapper)
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, false, func(context.Context) (bool, error) {
		if resettable {
			r.Reset()
		}
		m, err = a.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		return !meta.IsNoMatchError(err), nil
	})
	return m, err
}

// prune deletes members of the set (objects labelled part-of=id in the
// listed group kinds and namespaces) whose UID is not in keep.
func (a *Applier) prune(ctx context.Context, parent Parent, id string, gks, nses sets.Set[string], keep map[types.UID]struct{}) ([]ObjectRef, error) {
	scope := nses.Clone()
	if parent.Namespace != "" {
		scope.Insert(parent.Namespace)
	}
	var mu sync.Mutex
	var pruned []ObjectRef
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.concurrency())
	for _, s := range sets.List(gks) {
		gk := parseGK(s)
		m, err := a.Mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			continue // the kind is gone (its CRD was removed), so are its objects
		}
		if err != nil {
			return pruned, fmt.Errorf("pruning %s: %w", s, err)
		}
		namespaces := []string{""}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			namespaces = sets.List(scope)
		}
		for _, ns := range namespaces {
			items, err := a.listMembers(gctx, m.Resource, ns, id)
			if err != nil {
				return pruned, err
			}
			for _, it := range items {
				if _, ok := keep[it.GetUID()]; ok || it.GetDeletionTimestamp() != nil {
					continue
				}
				ref := ObjectRef{APIVersion: m.GroupVersionKind.GroupVersion().String(), Kind: m.GroupVersionKind.Kind, Name: it.GetName(), Namespace: it.GetNamespace(), UID: it.GetUID()}
				res, uid := m.Resource, it.GetUID()
				g.Go(func() error {
					var ri dynamic.ResourceInterface = a.Dynamic.Resource(res)
					if ref.Namespace != "" {
						ri = a.Dynamic.Resource(res).Namespace(ref.Namespace)
					}
					// The UID precondition spares an object recreated under the same name meanwhile.
					err := ri.Delete(gctx, ref.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: ptr(metav1.DeletePropagationBackground)})
					if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
						return fmt.Errorf("pruning %s: %w", ref, err)
					}
					mu.Lock()
					pruned = append(pruned, ref)
					mu.Unlock()
					return nil
				})
			}
		}
	}
	err := g.Wait()
	slices.SortFunc(pruned, func(x, y ObjectRef) int { return strings.Compare(x.String(), y.String()) })
	return pruned, err
}

// listMembers lists metadata only: a prune must not pull whole objects (a
// 50 MiB bundle would otherwise come back in one list response).
func (a *Applier) listMembers(ctx context.Context, gvr schema.GroupVersionResource, ns, id string) ([]metav1.PartialObjectMetadata, error) {
	var out []metav1.PartialObjectMetadata
	opts := metav1.ListOptions{LabelSelector: LabelApplySetPartOf + "=" + id, Limit: 500}
	for {
		list, err := a.Metadata.Resource(gvr).Namespace(ns).List(ctx, opts)
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				return out, nil
			}
			return nil, fmt.Errorf("listing %s in %q: %w", gvr.Resource, ns, err)
		}
		out = append(out, list.Items...)
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

func ptr[T any](v T) *T { return &v }

// ErrNoObjects: a resource without objects is refused.
var ErrNoObjects = errors.New("the resource contains no objects")

// SourceError reports that the resource could not be decoded (or rendered):
// retrying cannot help, a new resource version can.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return "decoding resource: " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }
