package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// DockerConfigType is the credential repository type that reads a Docker
// config.json (auths and credential helpers), as the reference names it.
const DockerConfigType = "DockerConfig"

// CredentialRepository is one `repositories:` entry of a
// credentials.config.ocm.software configuration: a source consulted for
// registry credentials when no consumer matches.
type CredentialRepository struct {
	// Type is DockerConfig/v1 (or DockerConfig).
	Type string `json:"type"`
	// DockerConfigFile is the path of a Docker config.json; "~" is the home
	// directory. Empty with DockerConfig empty: the default locations
	// ($DOCKER_CONFIG/config.json, ~/.docker/config.json).
	DockerConfigFile string `json:"dockerConfigFile,omitempty"`
	// DockerConfig is a config.json given inline.
	DockerConfig string `json:"dockerConfig,omitempty"`
	// PropagateConsumerIdentity is accepted from OCM v1 configurations. OCM
	// v2 (and this implementation) always offer the repository's
	// credentials to registry lookups, so it changes nothing.
	PropagateConsumerIdentity *bool `json:"propagateConsumerIdentity,omitempty"`
	// Source is the config file and entry, for messages.
	Source string `json:"-"`
}

// Path is DockerConfigFile with "~" expanded, as the reference expands it.
func (r CredentialRepository) Path() (string, error) {
	p := r.DockerConfigFile
	if strings.HasPrefix(p, "~") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%s: dockerConfigFile %s: %w", r.Source, p, err)
		}
		p = home + p[1:]
	}
	return p, nil
}

// CredentialRepositories returns the repositories of every credentials
// configuration in file order. An entry of a type other than DockerConfig
// is an error naming the file and the entry, not skipped.
func (c *Config) CredentialRepositories() ([]CredentialRepository, error) {
	var out []CredentialRepository
	for _, e := range c.EntriesOfType(CredentialsType) {
		var doc struct {
			Repositories []struct {
				Repository json.RawMessage `json:"repository"`
			} `json:"repositories"`
		}
		if err := json.Unmarshal(e.Raw, &doc); err != nil {
			return nil, fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		for i, r := range doc.Repositories {
			where := fmt.Sprintf("config file %s: %s repositories[%d].repository", e.Source, e.Type, i)
			if len(r.Repository) == 0 {
				return nil, fmt.Errorf("%s: missing", where)
			}
			var repo CredentialRepository
			if err := json.Unmarshal(r.Repository, &repo); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if baseType(repo.Type) != DockerConfigType {
				return nil, fmt.Errorf("%s: unsupported credential repository type %q (supported: DockerConfig/v1)", where, repo.Type)
			}
			if repo.DockerConfigFile != "" && repo.DockerConfig != "" {
				return nil, fmt.Errorf("%s: give dockerConfigFile or dockerConfig, not both", where)
			}
			repo.Source = where
			out = append(out, repo)
		}
	}
	return out, nil
}
