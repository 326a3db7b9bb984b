package oci

import (
	"context"
	"fmt"
	"net"
	"strings"

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

// registryIdentityMatches applies OCIRegistry consumer matching: same type
// (with or without version), same hostname, the port when the identity names
// one, and the path as a glob of whole segments when it names one.
func registryIdentityMatches(id map[string]string, host, port, repoPath string) bool {
	t, _, _ := strings.Cut(id["type"], "/")
	if t != "OCIRegistry" || id["hostname"] != host {
		return false
	}
	if p := id["port"]; p != "" && p != port {
		return false
	}
	if p := id["path"]; p != "" && !pathGlobMatches(p, repoPath) {
		return false
	}
	return true
}

// pathGlobMatches matches a path pattern where "*" stands for one segment.
func pathGlobMatches(pattern, path string) bool {
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) > len(xs) {
		return false
	}
	for i, p := range ps {
		if p != "*" && p != xs[i] {
			return false
		}
	}
	return true
}
