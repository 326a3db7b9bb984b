package oci

import (
	"context"
	"log/slog"
	"net/http"

	"oras.land/oras-go/v2/registry/remote/auth"
)

// logTransport logs every attempt below oras' retry transport, so that a
// retried request shows up once per attempt with the cause of the failure.
// Only method, host, path and status are logged: query strings and headers
// can carry tokens.
type logTransport struct {
	base   http.RoundTripper
	logger *slog.Logger
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	attrs := []any{"method", req.Method, "host", req.URL.Host, "path", req.URL.Path}
	switch {
	case err != nil:
		t.logger.Debug("registry request failed", append(attrs, "cause", err.Error())...)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		t.logger.Debug("registry request failed, retrying if attempts are left", append(attrs, "status", resp.StatusCode, "cause", resp.Status)...)
	default:
		t.logger.Debug("registry request", append(attrs, "status", resp.StatusCode)...)
	}
	return resp, err
}

// logCredential reports which kind of credential was found for a host,
// never its value.
func logCredential(logger *slog.Logger, f auth.CredentialFunc) auth.CredentialFunc {
	return func(ctx context.Context, hostport string) (auth.Credential, error) {
		cred, err := f(ctx, hostport)
		if err != nil {
			logger.Debug("credential lookup failed", "host", hostport, "cause", err.Error())
			return cred, err
		}
		kind := "none (anonymous)"
		switch {
		case cred.RefreshToken != "":
			kind = "identity token"
		case cred.AccessToken != "":
			kind = "access token"
		case cred.Username != "" || cred.Password != "":
			kind = "username and password"
		}
		logger.Debug("credentials for registry", "host", hostport, "kind", kind)
		return cred, nil
	}
}
