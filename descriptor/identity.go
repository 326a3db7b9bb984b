package descriptor

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// Identity is the identity of an element: its name plus extraIdentity, and
// its version where that is needed to tell elements apart.
type Identity map[string]string

// String renders the identity as sorted k=v pairs, name first.
func (id Identity) String() string {
	keys := slices.Sorted(maps.Keys(id))
	var b strings.Builder
	if n, ok := id["name"]; ok {
		b.WriteString("name=" + n)
	}
	for _, k := range keys {
		if k == "name" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + id[k])
	}
	return b.String()
}

// key is an unambiguous canonical form (JSON with sorted keys), for maps.
func (id Identity) key() string {
	data, _ := json.Marshal(map[string]string(id))
	return string(data)
}

// Matches reports whether every attribute of sel is present in id with the same value.
func (id Identity) Matches(sel Identity) bool {
	for k, v := range sel {
		if id[k] != v {
			return false
		}
	}
	return true
}

// Equal reports whether both identities hold exactly the same attributes.
func (id Identity) Equal(other Identity) bool {
	return maps.Equal(id, other)
}

// BaseIdentity is name plus extraIdentity, without any implicit version.
func (m *ElementMeta) BaseIdentity() Identity {
	id := Identity{}
	for k, v := range m.ExtraIdentity {
		id[k] = v
	}
	id["name"] = m.Name
	return id
}

// identities computes the effective identities of a list of elements: the
// version joins the identity of every element whose name and extraIdentity
// (ignoring a version key) clash with another element's. Linear in the
// number of elements: clashes are found by counting canonical keys.
func identities(metas []*ElementMeta) []Identity {
	ids := make([]Identity, len(metas))
	keys := make([]string, len(metas))
	count := map[string]int{}
	for i, m := range metas {
		ids[i] = m.BaseIdentity()
		keys[i] = withoutVersion(ids[i]).key()
		count[keys[i]]++
	}
	for i, m := range metas {
		if count[keys[i]] > 1 {
			if _, explicit := m.ExtraIdentity["version"]; !explicit {
				ids[i]["version"] = m.Version
			}
		}
	}
	return ids
}

func withoutVersion(id Identity) Identity {
	out := Identity{}
	for k, v := range id {
		if k != "version" {
			out[k] = v
		}
	}
	return out
}

// ResourceIdentities returns the effective identity of every resource.
func (c *Component) ResourceIdentities() []Identity {
	metas := make([]*ElementMeta, len(c.Resources))
	for i := range c.Resources {
		metas[i] = &c.Resources[i].ElementMeta
	}
	return identities(metas)
}

// SourceIdentities returns the effective identity of every source.
func (c *Component) SourceIdentities() []Identity {
	metas := make([]*ElementMeta, len(c.Sources))
	for i := range c.Sources {
		metas[i] = &c.Sources[i].ElementMeta
	}
	return identities(metas)
}

// ReferenceIdentities returns the effective identity of every component reference.
func (c *Component) ReferenceIdentities() []Identity {
	metas := make([]*ElementMeta, len(c.References))
	for i := range c.References {
		metas[i] = &c.References[i].ElementMeta
	}
	return identities(metas)
}

// SelectResources returns the indexes of the resources whose effective
// identity (plus version, which may always be used to select) matches sel.
func (c *Component) SelectResources(sel Identity) []int {
	var out []int
	for i, id := range c.ResourceIdentities() {
		full := maps.Clone(id)
		if _, ok := full["version"]; !ok {
			full["version"] = c.Resources[i].Version
		}
		if full.Matches(sel) {
			out = append(out, i)
		}
	}
	return out
}
