package oci

import (
	"context"
	"fmt"
	"net"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/ocmgo/ocm/config"
)

// Credentials resolves registry credentials the way the reference CLI does:
// an .ocmconfig credentials consumer with identity {type: OCIRegistry,
// hostname, port?, path?} first (Credentials/v1 username/password or
// identityToken, OCICredentials/v1), then the docker config
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json, with its credential
// helpers). Missing sources mean anonymous access, never an error.
func Credentials(cfg *config.Config, repositoryPath string) auth.CredentialFunc {
	var docker auth.CredentialFunc
	if store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{}); err == nil {
		docker = credentials.Credential(store)
	}
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
