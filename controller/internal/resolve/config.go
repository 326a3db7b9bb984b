package resolve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
)

// Configurable is an OCM object with ocmConfig references.
type Configurable interface {
	client.Object
	v1alpha1.OCMConfigurable
}

// EffectiveConfig resolves obj's ocmConfig into the ordered list of Secrets
// and ConfigMaps that configure it:
//   - a Secret or ConfigMap entry stands for itself;
//   - an OCM object entry stands for that object's effective configuration,
//     the entries it propagates (policy Propagate) only; with policy
//     DoNotPropagate on the referring entry they stop here.
//
// Without entries, obj inherits what parent (the object it reads from: the
// Repository of a Component, the Component of a Resource; may be nil)
// propagates. Namespaces are filled in, duplicates dropped (first wins).
func EffectiveConfig(ctx context.Context, c client.Reader, obj Configurable, parent v1alpha1.OCMConfigurable) ([]v1alpha1.OCMConfiguration, error) {
	var out []v1alpha1.OCMConfiguration
	add := func(e v1alpha1.OCMConfiguration) {
		if e.Policy == "" {
			e.Policy = v1alpha1.ConfigurationPolicyPropagate
		}
		for _, have := range out {
			if have.Kind == e.Kind && have.Name == e.Name && have.Namespace == e.Namespace {
				return
			}
		}
		out = append(out, e)
	}
	specified := obj.GetSpecifiedOCMConfig()
	if len(specified) == 0 {
		if parent != nil {
			for _, e := range parent.GetEffectiveOCMConfig() {
				if e.Policy != v1alpha1.ConfigurationPolicyDoNotPropagate {
					add(e)
				}
			}
		}
		return out, nil
	}
	for _, e := range specified {
		if e.Namespace == "" {
			e.Namespace = obj.GetNamespace()
		}
		switch e.Kind {
		case "Secret", "ConfigMap":
			e.APIVersion = "v1"
			add(e)
		case v1alpha1.KindRepository, v1alpha1.KindComponent, v1alpha1.KindResource, v1alpha1.KindReplication:
			src, err := getConfigurable(ctx, c, e.Kind, types.NamespacedName{Namespace: e.Namespace, Name: e.Name})
			if err != nil {
				return nil, err
			}
			for _, inherited := range src.GetEffectiveOCMConfig() {
				if inherited.Policy == v1alpha1.ConfigurationPolicyDoNotPropagate {
					continue
				}
				if e.Policy == v1alpha1.ConfigurationPolicyDoNotPropagate {
					inherited.Policy = v1alpha1.ConfigurationPolicyDoNotPropagate
				}
				add(inherited)
			}
		default:
			return nil, fmt.Errorf("ocmConfig: unsupported kind %q", e.Kind)
		}
	}
	return out, nil
}

func getConfigurable(ctx context.Context, c client.Reader, kind string, key types.NamespacedName) (v1alpha1.OCMConfigurable, error) {
	var obj interface {
		client.Object
		v1alpha1.OCMConfigurable
	}
	switch kind {
	case v1alpha1.KindRepository:
		obj = &v1alpha1.Repository{}
	case v1alpha1.KindComponent:
		obj = &v1alpha1.Component{}
	case v1alpha1.KindResource:
		obj = &v1alpha1.Resource{}
	case v1alpha1.KindReplication:
		obj = &v1alpha1.Replication{}
	}
	if err := c.Get(ctx, key, obj); err != nil {
		return nil, fmt.Errorf("ocmConfig %s %s: %w", kind, key, err)
	}
	return obj, nil
}

// LoadConfig reads the Secrets and ConfigMaps of an effective configuration
// into one OCM configuration, in order (later entries take precedence).
// Secrets contribute their .ocmconfig (or .ocmcredentialconfig) document and
// their .dockerconfigjson registry credentials; ConfigMaps their .ocmconfig.
// Errors name objects and keys, never values.
func LoadConfig(ctx context.Context, c client.Reader, entries []v1alpha1.OCMConfiguration) (*config.Config, error) {
	cfg := &config.Config{}
	for _, e := range entries {
		key := types.NamespacedName{Namespace: e.Namespace, Name: e.Name}
		source := e.Kind + " " + key.String()
		var docs map[string][]byte
		switch e.Kind {
		case "Secret":
			var s corev1.Secret
			if err := c.Get(ctx, key, &s); err != nil {
				return nil, fmt.Errorf("ocmConfig %s: %w", source, err)
			}
			docs = s.Data
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := c.Get(ctx, key, &cm); err != nil {
				return nil, fmt.Errorf("ocmConfig %s: %w", source, err)
			}
			docs = map[string][]byte{}
			for k, v := range cm.Data {
				docs[k] = []byte(v)
			}
			for k, v := range cm.BinaryData {
				docs[k] = v
			}
		default:
			return nil, fmt.Errorf("ocmConfig %s: only Secrets and ConfigMaps carry configuration", source)
		}
		found := false
		for _, k := range []string{v1alpha1.OCMConfigKey, v1alpha1.OCMCredentialConfigKey} {
			data, ok := docs[k]
			if !ok {
				continue
			}
			found = true
			parsed, err := config.Parse(data)
			if err != nil {
				return nil, fmt.Errorf("ocmConfig %s key %s: %w", source, k, err)
			}
			for i := range parsed {
				parsed[i].Source = source
			}
			cfg.Entries = append(cfg.Entries, parsed...)
		}
		if data, ok := docs[v1alpha1.DockerConfigJSONKey]; ok && e.Kind == "Secret" {
			found = true
			entry, err := dockerConfigEntry(data)
			if err != nil {
				return nil, fmt.Errorf("ocmConfig %s key %s: %w", source, v1alpha1.DockerConfigJSONKey, err)
			}
			entry.Source = source
			cfg.Entries = append(cfg.Entries, entry)
		}
		if !found {
			return nil, fmt.Errorf("ocmConfig %s has none of the keys %s, %s", source, v1alpha1.OCMConfigKey, v1alpha1.DockerConfigJSONKey)
		}
		cfg.Files = append(cfg.Files, source)
	}
	return cfg, nil
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// dockerConfigEntry turns a docker config's auths into an OCM credentials
// entry with one OCIRegistry consumer per registry host, so that registry
// credentials follow the same precedence rules as .ocmconfig ones.
func dockerConfigEntry(data []byte) (config.Entry, error) {
	var dc struct {
		Auths map[string]dockerAuth `json:"auths"`
	}
	if err := json.Unmarshal(data, &dc); err != nil {
		return config.Entry{}, fmt.Errorf("not a docker config: %w", err)
	}
	type credential struct {
		Type       string            `json:"type"`
		Properties map[string]string `json:"properties"`
	}
	type consumer struct {
		Identity    map[string]string `json:"identity"`
		Credentials []credential      `json:"credentials"`
	}
	hosts := make([]string, 0, len(dc.Auths))
	for h := range dc.Auths {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	var consumers []consumer
	for _, h := range hosts {
		a := dc.Auths[h]
		user, pass := a.Username, a.Password
		if a.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return config.Entry{}, fmt.Errorf("registry %s: auth is not base64", h)
			}
			u, p, ok := strings.Cut(string(dec), ":")
			if !ok {
				return config.Entry{}, fmt.Errorf("registry %s: auth is not user:password", h)
			}
			user, pass = u, p
		}
		props := map[string]string{}
		if user != "" || pass != "" {
			props[config.PropUsername], props[config.PropPassword] = user, pass
		}
		if a.IdentityToken != "" {
			props[config.PropIdentityToken] = a.IdentityToken
		}
		if a.RegistryToken != "" {
			props["accessToken"] = a.RegistryToken
		}
		host, port := registryHost(h)
		id := map[string]string{"type": "OCIRegistry", "hostname": host}
		if port != "" {
			id["port"] = port
		}
		consumers = append(consumers, consumer{Identity: id, Credentials: []credential{{Type: "Credentials/v1", Properties: props}}})
	}
	raw, err := json.Marshal(map[string]any{"type": config.CredentialsType, "consumers": consumers})
	if err != nil {
		return config.Entry{}, err
	}
	return config.Entry{Type: config.CredentialsType, Raw: raw}, nil
}

// registryHost reduces a docker config key ("ghcr.io",
// "https://index.docker.io/v1/", "localhost:5000") to host and port.
func registryHost(key string) (string, string) {
	s := key
	if !strings.Contains(s, "://") {
		s = "//" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return key, ""
	}
	host := u.Hostname()
	if host == "index.docker.io" {
		// Docker Hub's API host, which is what image references resolve to.
		host = "registry-1.docker.io"
	}
	return host, u.Port()
}
