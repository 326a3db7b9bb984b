package oci

import (
	"context"
	"fmt"
	"net"
	"sync"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/ocmgo/ocm/config"
)

// Credentials resolves registry credentials the way the reference CLI does:
// an .ocmconfig credentials consumer with identity {type: OCIRegistry,
// hostname, port?, path?} first (Credentials/v1 username/password or
// identityToken, OCICredentials/v1), then the credential repositories of
// the configuration (DockerConfig/v1 entries under repositories:, in file
// order, the first that has credentials for the host wins), then the docker config
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json, with its credential
// helpers). Missing sources mean anonymous access, never an error.
func Credentials(cfg *config.Config, repositoryPath string) auth.CredentialFunc {
	var docker auth.CredentialFunc
	if store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{}); err == nil {
		docker = credentials.Credential(store)
	}
	repos := sync.OnceValues(func() ([]repositoryCredentials, error) { return configuredRepositories(cfg) })
	return func(ctx context.Context, hostport string) (auth.Credential, error) {
		if cfg != nil {
			host, port := splitHostPort(hostport)
			creds, ok, err := cfg.CredentialsMatching(func(id map[string]string) bool {
				return registryIdentityMatches(id, host, port, repositoryPath)
			})
			if err != nil {
				return auth.EmptyCredential, err
			}
			if ok {
				return auth.Credential{
					Username:     creds.Get(config.PropUsername),
					Password:     creds.Get(config.PropPassword),
					RefreshToken: creds.Get(config.PropIdentityToken),
					AccessToken:  creds.Get("accessToken"),
				}, nil
			}
		}
		rs, err := repos()
		if err != nil {
			return auth.EmptyCredential, err
		}
		for _, r := range rs {
			cred, err := r.lookup(ctx, hostport)
			if err != nil {
				return auth.EmptyCredential, fmt.Errorf("%s: credentials for %s: %w", r.source, hostport, err)
			}
			if cred != auth.EmptyCredential {
				return cred, nil
			}
		}
		if docker != nil {
			cred, err := docker(ctx, hostport)
			if err != nil {
				return auth.EmptyCredential, fmt.Errorf("docker credentials for %s: %w", hostport, err)
			}
			return cred, nil
		}
		return auth.EmptyCredential, nil
	}
}

func splitHostPort(hostport string) (string, string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return hostport, ""
}

// registryIdentityMatches applies OCIRegistry consumer matching
// (config.URLIdentityMatches): same type, hostname, the port and path when
// the identity names them.
func registryIdentityMatches(id map[string]string, host, port, repoPath string) bool {
	return config.URLIdentityMatches(id, map[string]string{
		config.IDType: "OCIRegistry", config.IDHostname: host, config.IDPort: port, config.IDPath: repoPath,
	})
}

// repositoryCredentials is one configured credential repository.
type repositoryCredentials struct {
	source string
	get    auth.CredentialFunc
}

// lookup asks for host:port first, then for the bare host: docker login
// stores a registry on its default port without one.
func (r repositoryCredentials) lookup(ctx context.Context, hostport string) (auth.Credential, error) {
	cred, err := r.get(ctx, hostport)
	if err != nil || cred != auth.EmptyCredential {
		return cred, err
	}
	if host, port := splitHostPort(hostport); port != "" {
		return r.get(ctx, host)
	}
	return auth.EmptyCredential, nil
}

// configuredRepositories opens the DockerConfig/v1 repositories of cfg. A
// dockerConfigFile that does not exist offers no credentials, as in the
// reference; config.Config.Problems reports it.
func configuredRepositories(cfg *config.Config) ([]repositoryCredentials, error) {
	if cfg == nil {
		return nil, nil
	}
	repos, err := cfg.CredentialRepositories()
	if err != nil {
		return nil, err
	}
	var out []repositoryCredentials
	for _, r := range repos {
		var store credentials.Store
		switch {
		case r.DockerConfig != "":
			store, err = credentials.NewMemoryStoreFromDockerConfig([]byte(r.DockerConfig))
		case r.DockerConfigFile != "":
			var p string
			if p, err = r.Path(); err == nil {
				store, err = credentials.NewStore(p, credentials.StoreOptions{})
			}
		default:
			store, err = credentials.NewStoreFromDocker(credentials.StoreOptions{})
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Source, err)
		}
		out = append(out, repositoryCredentials{source: r.Source, get: credentials.Credential(store)})
	}
	return out, nil
}
