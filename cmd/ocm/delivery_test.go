package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/signing"
)

// dlConfig is a configuration with the RSA key of signature "default"
// (private and public) and, when user is set, registry credentials.
func dlConfig(t *testing.T, registry, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	priv, pub := sgKeyFiles(t, dir, "default", sgKey(t, sgKeyPlain))
	path := sgConfig(t, filepath.Join(dir, "ocmconfig"), []sgCred{{Signature: "default", Algorithm: signing.AlgorithmRSAPSS,
		Props: map[string]string{"private_key_pem_file": priv, "public_key_pem_file": pub}}}, nil)
	if user == "" {
		return path
	}
	host, port, _ := strings.Cut(registry, ":")
	cfg := `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: ` + priv + `, public_key_pem_file: ` + pub + `}
  - identity: {type: OCIRegistry, hostname: ` + host + `, port: "` + port + `"}
    credentials:
    - type: Credentials/v1
      properties: {username: ` + user + `, password: ` + password + `}
`
	testutil.WriteFile(t, path, []byte(cfg), 0o600)
	return path
}

// dlRun runs the CLI with a configuration (run uses an empty one).
func dlRun(t *testing.T, config string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut strings.Builder
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"--config", config}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String() + errOut.String(), err
}

func dlChain(t *testing.T, config, ref string) (*delivery.Chain, error) {
	t.Helper()
	out, err := dlRun(t, config, "get", "delivery", ref, "-o", "json")
	var c delivery.Chain
	if jerr := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &c); jerr != nil {
		t.Fatalf("get delivery -o json: %v\n%s", jerr, out)
	}
	return &c, err
}

func dlActions(c *delivery.Chain) []string {
	var out []string
	for _, e := range c.Entries {
		out = append(out, e.Statement.Predicate.Action)
	}
	return out
}

// The air gap, recorded: add and sign in the build archive, transfer to
// registry A, to a .tgz, to registry B, verify there. get delivery in B
// shows the six steps in order, verified, without a gap; a hop without
// --record is a gap.
func TestDeliveryRecordsAirGap(t *testing.T) {
	cfg := dlConfig(t, "", "", "")
	archive := filepath.Join(t.TempDir(), "ctf")
	if out, err := dlRun(t, cfg, "add", "cv", "--repository", "ctf::"+archive, "--constructor", vtSources(t), "--record"); err != nil {
		t.Fatalf("add cv --record: %v\n%s", err, out)
	}
	cv := vtComponent + ":1.0.0"
	regA, regB, regC := testutil.StartOlareg(t), testutil.StartOlareg(t), testutil.StartOlareg(t)
	tgz := filepath.Join(t.TempDir(), "air-gap.tgz")
	steps := [][]string{
		{"sign", "cv", "ctf::" + archive + "//" + cv, "--record"},
		{"transfer", "cv", "ctf::" + archive + "//" + cv, "http://" + regA + "/ocm", "--record"},
		{"transfer", "cv", "http://" + regA + "/ocm//" + cv, "ctf::" + tgz, "--record"},
		{"transfer", "cv", "ctf::" + tgz + "//" + cv, "http://" + regB + "/ocm", "--record"},
		{"verify", "cv", "http://" + regB + "/ocm//" + cv, "--record"},
	}
	for _, s := range steps {
		if out, err := dlRun(t, cfg, s...); err != nil {
			t.Fatalf("%v: %v\n%s", s, err, out)
		}
	}
	c, err := dlChain(t, cfg, "http://"+regB+"/ocm//"+cv)
	if err != nil {
		t.Fatalf("get delivery in B: %v", err)
	}
	if got := strings.Join(dlActions(c), ","); got != "add,sign,transfer,transfer,transfer,verify" || !c.OK() {
		t.Fatalf("chain in B: %s OK=%v gaps=%v", got, c.OK(), c.Gaps)
	}
	add := c.Entries[0].Statement.Predicate.Add
	if add == nil || !strings.HasSuffix(add.Constructor, "component-constructor.yaml") || len(add.Resources) != 4 ||
		add.Resources[0] != (delivery.Input{Resource: "name=tree", Input: "dir", Path: "tree"}) {
		t.Errorf("add record %+v", add)
	}
	tr := c.Entries[3].Statement.Predicate.Transfer
	if tr.Source != regA+"/ocm" || !strings.HasSuffix(tr.Target, "air-gap.tgz") {
		t.Errorf("second transfer %+v", tr)
	}
	if s := c.Entries[1].Statement.Predicate.Sign; s == nil || s.Signature != "default" || !strings.HasPrefix(s.KeyFingerprint, "SHA256:") {
		t.Errorf("sign record %+v", c.Entries[0].Statement.Predicate)
	}
	out, err := dlRun(t, cfg, "get", "delivery", "http://"+regB+"/ocm//"+cv)
	if err != nil || strings.Count(out, " yes\n") != 6 || strings.Contains(out, "GAP") {
		t.Fatalf("table: %v\n%s", err, out)
	}
	// The tree: one branch per step, in order, with its details.
	out, err = dlRun(t, cfg, "get", "delivery", "http://"+regB+"/ocm//"+cv, "-o", "tree")
	if err != nil || strings.Count(out, "verified\n") != 6 || !strings.HasPrefix(out, cv+" in "+regB+"/ocm\n") {
		t.Fatalf("tree: %v\n%s", err, out)
	}
	for _, want := range []string{"├─ 1 add ", "│  ├─ resource name=tree: dir tree", "├─ 2 sign ", "│  ├─ signature: default", "├─ 4 transfer ", "│  ├─ from: " + regA + "/ocm", "└─ 6 verify ", "   ├─ verdict: "} {
		if !strings.Contains(out, want) {
			t.Errorf("tree lacks %q:\n%s", want, out)
		}
	}
	// The tgz holds the first four records (carried, then its own).
	if c, _ := dlChain(t, cfg, "ctf::"+tgz+"//"+cv); strings.Join(dlActions(c), ",") != "add,sign,transfer,transfer" || !c.OK() {
		t.Errorf("chain in the tgz: %v %v", dlActions(c), c.Gaps)
	}

	// A hop without --record: C has the records, and a gap.
	if out, err := dlRun(t, cfg, "transfer", "cv", "http://"+regB+"/ocm//"+cv, "http://"+regC+"/ocm"); err != nil {
		t.Fatalf("unrecorded transfer: %v\n%s", err, out)
	}
	c, err = dlChain(t, cfg, "http://"+regC+"/ocm//"+cv)
	if err == nil || len(c.Gaps) != 1 || c.Gaps[0].From != regB+"/ocm" || c.Gaps[0].To != regC+"/ocm" || len(c.Entries) != 6 {
		t.Fatalf("chain in C: err %v gaps %+v entries %d", err, c.Gaps, len(c.Entries))
	}
	out, _ = dlRun(t, cfg, "get", "delivery", "http://"+regC+"/ocm//"+cv)
	t.Logf("get delivery in C:\n%s", out)
	if !strings.Contains(out, "GAP") || !strings.Contains(out, "arrived at "+regC+"/ocm from "+regB+"/ocm without a record") {
		t.Fatalf("gap not shown:\n%s", out)
	}
	if out, _ = dlRun(t, cfg, "get", "delivery", "http://"+regC+"/ocm//"+cv, "-o", "tree"); !strings.Contains(out, "└─ GAP: arrived at "+regC+"/ocm from "+regB+"/ocm without a record") {
		t.Fatalf("gap not in the tree:\n%s", out)
	}
	// A recorded step after the unrecorded hop: the gap lies between them.
	if out, err := dlRun(t, cfg, "verify", "cv", "http://"+regC+"/ocm//"+cv, "--record"); err != nil {
		t.Fatalf("verify in C: %v\n%s", err, out)
	}
	c, _ = dlChain(t, cfg, "http://"+regC+"/ocm//"+cv)
	if len(c.Gaps) != 1 || c.Gaps[0].After != 5 || c.Gaps[0].Reason != "moved from "+regB+"/ocm to "+regC+"/ocm without a record" {
		t.Fatalf("gap in the middle: %+v", c.Gaps)
	}

	// Without the key, records are shown and named as not verified.
	if out, err := dlRun(t, emptyConfig(t), "get", "delivery", "http://"+regB+"/ocm//"+cv); err == nil || !strings.Contains(out, "NO: ") {
		t.Fatalf("without keys: %v\n%s", err, out)
	}
}

// Signing rewrites the version's manifest; its records move along.
func TestDeliveryRecordsSurviveSigning(t *testing.T) {
	archive := vtArchive(t)
	cfg := dlConfig(t, "", "", "")
	ref := "ctf::" + archive + "//" + vtComponent + ":1.0.0"
	for _, s := range [][]string{
		{"sign", "cv", ref, "--record"},
		{"verify", "cv", ref, "--record"},
		{"sign", "cv", ref, "--force", "--record"},
		{"sign", "cv", ref, "--signature", "default", "--force"}, // unrecorded, but the records move
	} {
		if out, err := dlRun(t, cfg, s...); err != nil {
			t.Fatalf("%v: %v\n%s", s, err, out)
		}
	}
	c, err := dlChain(t, cfg, ref)
	if err != nil || strings.Join(dlActions(c), ",") != "sign,verify,sign" || !c.OK() {
		t.Fatalf("chain after re-signing: %v %v %v", dlActions(c), c.Gaps, err)
	}
	// --record needs a key; without one nothing is written.
	if out, err := dlRun(t, emptyConfig(t), "verify", "cv", ref, "--public-key", filepath.Join(filepath.Dir(cfg), "default.pub"), "--record"); err == nil || !strings.Contains(err.Error(), "--record needs the signing key") {
		t.Fatalf("record without a key: %v\n%s", err, out)
	}
	if _, err := dlRun(t, cfg, "sign", "cv", ref, "--dry-run", "--record"); err == nil {
		t.Fatal("--record with --dry-run accepted")
	}
}

// Records hold no secrets: with registry credentials and signing keys
// configured, no record contains the password, the user name or the key.
func TestDeliveryRecordsHoldNoSecrets(t *testing.T) {
	const user, password = "custody-user", "s3cr3t-Pa55w0rd"
	reg := testutil.StartOlaregAuth(t, user, password)
	cfg := dlConfig(t, reg, user, password)
	archive := filepath.Join(t.TempDir(), "ctf")
	cv := vtComponent + ":1.0.0"
	for _, s := range [][]string{
		{"add", "cv", "--repository", "ctf::" + archive, "--constructor", vtSources(t), "--record"},
		{"sign", "cv", "ctf::" + archive + "//" + cv, "--record"},
		{"transfer", "cv", "ctf::" + archive + "//" + cv, "http://" + reg + "/ocm", "--record"},
		{"verify", "cv", "http://" + reg + "/ocm//" + cv, "--record"},
	} {
		if out, err := dlRun(t, cfg, s...); err != nil {
			t.Fatalf("%v: %v\n%s", s, err, out)
		}
	}
	spec, err := reference.ParseRepository("http://" + reg + "/ocm")
	if err != nil {
		t.Fatal(err)
	}
	// Read with the credentials (the registry needs them), look at the bytes.
	store, err := repository.OpenStore(context.Background(), spec, repository.Options{Config: mustLoadConfig(t, cfg)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored, err := delivery.List(context.Background(), store, vtComponent, "1.0.0")
	if err != nil || len(stored) != 4 {
		t.Fatalf("%d records: %v", len(stored), err)
	}
	privPEM := string(sgPrivatePEM(sgKey(t, sgKeyPlain)))
	keyLine := strings.Split(privPEM, "\n")[1]
	for _, s := range stored {
		var env delivery.Envelope
		if err := json.Unmarshal(s.Envelope, &env); err != nil {
			t.Fatal(err)
		}
		payload, _ := base64.StdEncoding.DecodeString(env.Payload)
		for _, secret := range []string{password, user, keyLine, base64.StdEncoding.EncodeToString([]byte(user + ":" + password))} {
			if strings.Contains(string(payload), secret) || strings.Contains(string(s.Envelope), secret) {
				t.Fatalf("a record holds a secret (%q):\n%s", secret, payload)
			}
		}
	}
}

func mustLoadConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// docker/distribution 2.8 has no referrers API: records go through the
// referrers tag schema there, and travel out of it again.
func TestDeliveryRecordsDistribution(t *testing.T) {
	cfg := dlConfig(t, "", "", "")
	reg, next := testutil.StartDistribution(t), testutil.StartOlareg(t)
	archive := vtArchive(t)
	cv := vtComponent + ":1.0.0"
	for _, s := range [][]string{
		{"sign", "cv", "ctf::" + archive + "//" + cv, "--record"},
		{"transfer", "cv", "ctf::" + archive + "//" + cv, "http://" + reg + "/ocm", "--record"},
		{"verify", "cv", "http://" + reg + "/ocm//" + cv, "--record"},
		{"transfer", "cv", "http://" + reg + "/ocm//" + cv, "http://" + next + "/ocm", "--record"},
	} {
		if out, err := dlRun(t, cfg, s...); err != nil {
			t.Fatalf("%v: %v\n%s", s, err, out)
		}
	}
	c, err := dlChain(t, cfg, "http://"+next+"/ocm//"+cv)
	if err != nil || strings.Join(dlActions(c), ",") != "sign,transfer,verify,transfer" || !c.OK() {
		t.Fatalf("chain: %v %v %v", dlActions(c), c.Gaps, err)
	}
	// The version is listed as before in the registry without the API.
	out, _, err := run(t, "get", "cv", "http://"+reg+"/ocm//"+vtComponent, "-o", "table")
	if err != nil || strings.Count(out, "1.0.0") != 1 || strings.Contains(out, "sha256-") {
		t.Fatalf("versions: %v\n%s", err, out)
	}
}

// delivery.config.ocm.software `record: true` records every step without
// --record; --record=false and --dry-run still record nothing; a misspelt
// field is an error naming the file.
func TestDeliveryConfigAlwaysRecords(t *testing.T) {
	archive := vtArchive(t)
	keys := dlConfig(t, "", "", "")
	always := filepath.Join(t.TempDir(), "always.ocmconfig")
	testutil.WriteFile(t, always, []byte("type: delivery.config.ocm.software/v1alpha1\nrecord: true\n"), 0o600)
	ref := "ctf::" + archive + "//" + vtComponent + ":1.0.0"
	for _, s := range [][]string{
		{"sign", "cv", ref},
		{"sign", "cv", ref, "--force", "--dry-run"},
		{"verify", "cv", ref, "--record=false"},
		{"verify", "cv", ref},
	} {
		if out, err := dlRun(t, keys, append([]string{"--config", always}, s...)...); err != nil {
			t.Fatalf("%v: %v\n%s", s, err, out)
		}
	}
	c, err := dlChain(t, keys, ref)
	if err != nil || strings.Join(dlActions(c), ",") != "sign,verify" || !c.OK() {
		t.Fatalf("chain with the config switch: %v %v %v", dlActions(c), c.Gaps, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.ocmconfig")
	testutil.WriteFile(t, bad, []byte("type: delivery.config.ocm.software/v1alpha1\nrecords: true\n"), 0o600)
	if _, err := dlRun(t, keys, "--config", bad, "verify", "cv", ref); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "records") {
		t.Fatalf("misspelt delivery config: %v", err)
	}
}
