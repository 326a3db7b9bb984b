package oci

import (
	"context"
	"fmt"

	"oras.land/oras-go/v2/registry/remote"
)

// Ping checks that the registry answers the distribution API base endpoint
// (GET /v2/) with the configured credentials, so that a health check reports
// an unreachable host or refused credentials without naming any repository.
func (r *Registry) Ping(ctx context.Context) error {
	reg := &remote.Registry{}
	reg.Client, reg.PlainHTTP, reg.Reference.Registry = r.client, r.plainHTTP, r.host
	if err := reg.Ping(ctx); err != nil {
		return fmt.Errorf("%s: %w", r, err)
	}
	return nil
}
