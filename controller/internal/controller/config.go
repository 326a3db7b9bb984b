package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/controller/internal/status"
)

// Configure resolves obj's effective configuration (its ocmConfig entries,
// or what parent propagates; then extra entries, e.g. a Replication's
// target Repository's), loads it with secrets (an uncached reader), and on
// success stores the entries in effective (obj's status field). Failures
// are status.Retry errors with reason GetConfigurationFailed.
func Configure(ctx context.Context, c, secrets client.Reader, obj resolve.Configurable, parent v1alpha1.OCMConfigurable, effective *[]v1alpha1.OCMConfiguration, extra ...v1alpha1.OCMConfiguration) (*config.Config, error) {
	entries, err := resolve.EffectiveConfig(ctx, c, obj, parent)
	if err != nil {
		return nil, status.Retry(v1alpha1.GetConfigurationFailedReason, err)
	}
	entries = append(entries, extra...)
	cfg, err := resolve.LoadConfig(ctx, secrets, entries)
	if err != nil {
		return nil, status.Retry(v1alpha1.GetConfigurationFailedReason, err)
	}
	*effective = entries
	return cfg, nil
}
