package resolve

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// celEnv declares the variables of additionalStatusFields expressions
// (resource, component: the status objects as JSON) and toOCI(), callable
// as x.toOCI() or toOCI(x), which turns an access or an image reference
// string into {host, registry, repository, tag, digest, reference}, as the
// reference controller's function does. comp is the component version
// holding the resource: a localBlob access resolves against its
// repository.
func celEnv(comp *v1alpha1.ComponentInfo) (*cel.Env, error) {
	toOCI := func(v ref.Val) ref.Val {
		m, err := ToOCI(v, comp)
		if err != nil {
			return types.NewErr("toOCI: %v", err)
		}
		return types.DefaultTypeAdapter.NativeToValue(m)
	}
	result := cel.MapType(cel.StringType, cel.StringType)
	return cel.NewEnv(
		cel.Variable("resource", cel.DynType),
		cel.Variable("component", cel.DynType),
		cel.Function("toOCI",
			cel.MemberOverload("dyn_toOCI", []*cel.Type{cel.DynType}, result, cel.UnaryBinding(toOCI)),
			cel.Overload("toOCI_dyn", []*cel.Type{cel.DynType}, result, cel.UnaryBinding(toOCI)),
		),
	)
}

// ToOCI is toOCI() of additionalStatusFields on a CEL value: an image
// reference string; an OCI artifact access (its imageReference); or a
// localBlob access, which names the blob in the OCI registry holding comp:
// the registry and repository of comp's OCIRegistry repository spec
// (subPath/component-descriptors/<component>) and the localReference as
// digest, the coordinates `oras` pulls it by.
func ToOCI(v ref.Val, comp *v1alpha1.ComponentInfo) (map[string]string, error) {
	var info *v1alpha1.OCIArtifactInfo
	switch x := v.Value().(type) {
	case string:
		parsed, err := ParseImageReference(x)
		if err != nil {
			return nil, err
		}
		info = parsed
	default:
		native, err := v.ConvertToNative(reflect.TypeFor[map[string]any]())
		if err != nil {
			return nil, fmt.Errorf("want an access object or a string, got %s", v.Type().TypeName())
		}
		if info, err = accessCoordinates(native.(map[string]any), comp); err != nil {
			return nil, err
		}
	}
	var refStr string
	switch {
	case info.Tag != "" && info.Digest != "":
		refStr = info.Tag + "@" + info.Digest
	case info.Tag != "":
		refStr = info.Tag
	default:
		refStr = info.Digest
	}
	return map[string]string{
		"host": info.Registry, "registry": info.Registry, "repository": info.Repository,
		"tag": info.Tag, "digest": info.Digest, "reference": refStr,
	}, nil
}

// accessCoordinates locates the artifact an access object names.
func accessCoordinates(m map[string]any, comp *v1alpha1.ComponentInfo) (*v1alpha1.OCIArtifactInfo, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var acc descriptor.Typed
	if err := json.Unmarshal(raw, &acc); err != nil {
		// An untyped object with an imageReference, which the reference
		// still accepts.
		if ir, ok := m["imageReference"].(string); ok {
			return ParseImageReference(ir)
		}
		return nil, fmt.Errorf("not an access specification: %w", err)
	}
	switch {
	case acc.IsOCIArtifact():
		a, err := acc.OCIArtifact()
		if err != nil {
			return nil, err
		}
		return ParseImageReference(a.ImageReference)
	case acc.IsLocalBlob():
		lb, err := acc.LocalBlob()
		if err != nil {
			return nil, err
		}
		return LocalBlobCoordinates(comp, lb.LocalReference)
	}
	return nil, fmt.Errorf("access type %q is neither an OCI artifact nor a local blob", acc.Type)
}

// LocalBlobCoordinates returns where a local blob of comp lives in its OCI
// registry: the registry host, the repository
// <subPath>/component-descriptors/<component> and the digest localReference
// names.
func LocalBlobCoordinates(comp *v1alpha1.ComponentInfo, localReference string) (*v1alpha1.OCIArtifactInfo, error) {
	if comp == nil || comp.RepositorySpec == nil {
		return nil, fmt.Errorf("local blob %s: the component version's repository is not known", localReference)
	}
	spec, err := repository.ParseSpec(comp.RepositorySpec.Raw)
	if err != nil {
		return nil, fmt.Errorf("local blob %s: %w", localReference, err)
	}
	if spec.Type != reference.TypeOCI {
		return nil, fmt.Errorf("local blob %s: component %s:%s is in a %s repository, which has no OCI coordinates", localReference, comp.Component, comp.Version, spec.Type)
	}
	dg, err := ocimap.ParseLocalReference(localReference)
	if err != nil {
		return nil, err
	}
	return blobCoordinates(spec, comp.Component, dg.String())
}

// AdditionalStatusFields evaluates spec (an object whose leaves are CEL
// expressions) against the resolved resource and component and returns
// the object of results for status.additional.
func AdditionalStatusFields(spec *apiextensionsv1.JSON, res *v1alpha1.ResourceInfo, comp *v1alpha1.ComponentInfo) (*apiextensionsv1.JSON, error) {
	if spec == nil || len(spec.Raw) == 0 {
		return nil, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(spec.Raw, &fields); err != nil {
		return nil, fmt.Errorf("additionalStatusFields: %w", err)
	}
	env, err := celEnv(comp)
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	vars := map[string]any{"resource": asJSON(res), "component": asJSON(comp)}
	out, err := evalTree(env, vars, fields, "additionalStatusFields")
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("additionalStatusFields: %w", err)
	}
	return &apiextensionsv1.JSON{Raw: raw}, nil
}

// asJSON gives expressions the status objects exactly as clients see them.
func asJSON(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(data, &out) != nil {
		return nil
	}
	return out
}

func evalTree(env *cel.Env, vars map[string]any, node any, path string) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		out := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(n)) {
			v, err := evalTree(env, vars, n[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case string:
		ast, iss := env.Compile(n)
		if iss.Err() != nil {
			return nil, fmt.Errorf("%s: %w", path, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		val, _, err := prg.Eval(vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pv, err := val.ConvertToNative(reflect.TypeFor[*structpb.Value]())
		if err != nil {
			return nil, fmt.Errorf("%s: result is not JSON: %w", path, err)
		}
		data, err := protojson.Marshal(pv.(*structpb.Value))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var out any
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: want a CEL expression string or an object of them", path)
	}
}
