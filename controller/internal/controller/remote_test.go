package controller

import (
	"testing"
	"time"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/httpclient"
)

// The manager's timeouts are defaults: an object's http.config entries
// win where they set a phase (a configured 0 stays "no bound"), the
// manager's fill the rest, globally and per host.
func TestRepoOptionsHTTP(t *testing.T) {
	defaults := httpclient.Timeouts{Dial: 2 * time.Second, TLSHandshake: 3 * time.Second, ResponseHeader: 4 * time.Second, IdleBody: 5 * time.Second}
	parse := func(doc string) *config.Config {
		t.Helper()
		entries, err := config.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return &config.Config{Entries: entries}
	}
	for _, tc := range []struct {
		name       string
		cfg        *config.Config
		host       string
		want       httpclient.Timeouts
		wantLegacy bool
	}{
		{name: "no configuration", cfg: nil, want: defaults},
		{name: "configured phases win", cfg: parse("type: http.config.ocm.software/v1alpha1\nresponseHeaderTimeout: 9s\nidleBodyTimeout: 0\n"),
			want: httpclient.Timeouts{Dial: 2 * time.Second, TLSHandshake: 3 * time.Second, ResponseHeader: 9 * time.Second, IdleBody: -1}},
		{name: "per host", cfg: parse("type: http.config.ocm.software/v1alpha1\nhosts:\n  slow.example:\n    tcpDialTimeout: 7s\n"), host: "slow.example:443",
			want: httpclient.Timeouts{Dial: 7 * time.Second, TLSHandshake: 3 * time.Second, ResponseHeader: 4 * time.Second, IdleBody: 5 * time.Second}},
		{name: "invalid configuration is left to the opener", cfg: parse("type: http.config.ocm.software/v1alpha1\nresponseHeaderTimeout: soon\n"), wantLegacy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := RepoOptions(tc.cfg, defaults)
			if tc.wantLegacy {
				if opts.HTTP != nil || opts.Timeouts != defaults {
					t.Fatalf("options %+v", opts)
				}
				if _, err := opts.HTTPConfig(); err == nil {
					t.Fatal("the invalid configuration is not reported")
				}
				return
			}
			if opts.HTTP == nil {
				t.Fatal("no HTTP configuration")
			}
			if got := opts.HTTP.ForHost(tc.host).Timeouts; got != tc.want {
				t.Fatalf("timeouts %+v, want %+v", got, tc.want)
			}
		})
	}
}
