package compat

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ocmgo/ocm/descriptor"
)

// Attachment is one compatibility spec found in a component descriptor.
type Attachment struct {
	// Resource is the index of the imageCompatibility resource whose blob
	// is the spec, or -1 when the spec is carried in a label.
	Resource int
	// LabelOn is the index of the resource carrying SpecLabel (when Resource is -1).
	LabelOn int
	// Inline is the spec of the label form (the label value, a JSON document).
	Inline []byte
	// Subject is the identity selector of the constrained resource; nil
	// means every ociImage resource of the component.
	Subject descriptor.Identity
	// Subjects are the indexes of the resources the spec applies to.
	Subjects []int
}

// Describe names the attachment for messages.
func (a *Attachment) Describe(cd *descriptor.Descriptor) string {
	ids := cd.Component.ResourceIdentities()
	if a.Resource >= 0 {
		return fmt.Sprintf("resource %s", ids[a.Resource])
	}
	return fmt.Sprintf("label %s of resource %s", SpecLabel, ids[a.LabelOn])
}

// Find lists the compatibility specs of a component version:
// imageCompatibility resources (constraining the resource named by their
// SubjectLabel, else every ociImage resource) and SpecLabel labels
// (constraining the resource that carries them). A malformed subject label
// is an error, since guessing would check the wrong resource.
func Find(cd *descriptor.Descriptor) ([]Attachment, error) {
	var out []Attachment
	res := cd.Component.Resources
	ids := cd.Component.ResourceIdentities()
	for i := range res {
		r := &res[i]
		if r.Type == ResourceType {
			a := Attachment{Resource: i, LabelOn: -1}
			if l := findLabel(r.Labels, SubjectLabel); l != nil {
				var sel map[string]string
				if err := json.Unmarshal(l.Value, &sel); err != nil || sel["name"] == "" {
					return nil, fmt.Errorf("resource %s: label %s must be an identity object like {name: <resource name>}, got %s", ids[i], SubjectLabel, strings.TrimSpace(string(l.Value)))
				}
				a.Subject = sel
				for j, id := range ids {
					if j != i && descriptor.Identity(id).Matches(sel) {
						a.Subjects = append(a.Subjects, j)
					}
				}
				if len(a.Subjects) == 0 {
					return nil, fmt.Errorf("resource %s: label %s names %s, which is not a resource of %s:%s", ids[i], SubjectLabel, descriptor.Identity(sel), cd.Component.Name, cd.Component.Version)
				}
			} else {
				for j := range res {
					if res[j].Type == ImageResourceType {
						a.Subjects = append(a.Subjects, j)
					}
				}
			}
			out = append(out, a)
		}
		if l := findLabel(r.Labels, SpecLabel); l != nil {
			out = append(out, Attachment{Resource: -1, LabelOn: i, Inline: slices.Clone([]byte(l.Value)), Subject: ids[i], Subjects: []int{i}})
		}
	}
	return out, nil
}

func findLabel(labels []descriptor.Label, name string) *descriptor.Label {
	for i := range labels {
		if labels[i].Name == name {
			return &labels[i]
		}
	}
	return nil
}

// AppliesTo reports whether the attachment constrains the resource with
// the given index.
func (a *Attachment) AppliesTo(index int) bool { return slices.Contains(a.Subjects, index) }

// InlineSpec parses the spec of the label form. The label value is the spec
// as a JSON object, or YAML text in a JSON string.
func (a *Attachment) InlineSpec() (*Spec, error) {
	data := a.Inline
	var text string
	if json.Unmarshal(data, &text) == nil {
		data = []byte(text)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("label %s: %w", SpecLabel, err)
	}
	return s, nil
}
