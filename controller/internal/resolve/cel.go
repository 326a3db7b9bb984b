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
)

// celEnv declares the variables of additionalStatusFields expressions
// (resource, component: the status objects as JSON) and toOCI(), which
// turns an OCI access or an image reference string into
// {registry, repository, tag, digest, reference}.
func celEnv() (*cel.Env, error) {
	toOCI := func(v ref.Val) ref.Val {
		var s string
		switch x := v.Value().(type) {
		case string:
			s = x
		default:
			native, err := v.ConvertToNative(reflect.TypeFor[map[string]any]())
			if err != nil {
				return types.NewErr("toOCI: want an access object or a string, got %s", v.Type().TypeName())
			}
			ir, ok := native.(map[string]any)["imageReference"].(string)
			if !ok {
				return types.NewErr("toOCI: the access has no imageReference (not an OCI artifact access)")
			}
			s = ir
		}
		info, err := ParseImageReference(s)
		if err != nil {
			return types.NewErr("toOCI: %v", err)
		}
		return types.DefaultTypeAdapter.NativeToValue(map[string]any{
			"registry": info.Registry, "repository": info.Repository, "tag": info.Tag, "digest": info.Digest, "reference": info.Reference,
		})
	}
	return cel.NewEnv(
		cel.Variable("resource", cel.DynType),
		cel.Variable("component", cel.DynType),
		cel.Function("toOCI",
			cel.MemberOverload("dyn_toOCI", []*cel.Type{cel.DynType}, cel.MapType(cel.StringType, cel.StringType), cel.UnaryBinding(toOCI)),
		),
	)
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
	env, err := celEnv()
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
