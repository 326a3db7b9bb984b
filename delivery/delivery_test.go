package delivery_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"

	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ocimap"
	"github.com/ocmgo/ocm/signing"
)

const (
	app = "example.com/interop/app"
	ver = "1.2.0"
)

var testKey, otherKey = mustKey(), mustKey()

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func keysFor(k *rsa.PrivateKey) delivery.KeyLookup {
	return func(descriptor.Signature) (signing.VerifyOptions, error) {
		return signing.VerifyOptions{PublicKey: &k.PublicKey}, nil
	}
}

func recorder(alg string) delivery.Recorder {
	return delivery.Recorder{Signer: signing.Signer{Algorithm: alg, Key: testKey}, Signature: "release", Tool: delivery.Tool{Name: "ocm", Version: "test"}}
}

// interop opens a writable copy of the reference CLI's archive.
func interop(t *testing.T) (*repository.Writable, reference.Repository) {
	t.Helper()
	spec, err := reference.ParseRepository("ctf::" + testutil.InteropCTF(t, testutil.Dir))
	if err != nil {
		t.Fatal(err)
	}
	w, err := repository.OpenWritable(context.Background(), spec, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Abort)
	return w, spec
}

func TestPAE(t *testing.T) {
	// The DSSE specification's example.
	if got := string(delivery.PAE("http://example.com/HelloWorld", []byte("hello world"))); got != "DSSEv1 29 http://example.com/HelloWorld 11 hello world" {
		t.Fatalf("PAE = %q", got)
	}
}

func TestRecordsInCTF(t *testing.T) {
	ctx := context.Background()
	w, spec := interop(t)
	loc := delivery.Location(spec)
	rec := recorder(signing.AlgorithmRSAPSS)
	if err := rec.Verify(ctx, w.WriteStore, loc, app, ver, delivery.VerifyDetails{Signatures: []string{"default"}, Content: true, Verdict: "verified"}); err != nil {
		t.Fatal(err)
	}
	// The same store, read back: one verified record, no gap.
	c, err := delivery.ReadChain(ctx, w.WriteStore, loc, app, ver, keysFor(testKey))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Entries) != 1 || !c.OK() {
		t.Fatalf("chain %+v", c)
	}
	st := c.Entries[0].Statement
	if st.Predicate.Action != delivery.ActionVerify || st.Predicate.Repository != loc || st.Subject[0].Digest["sha256"] != "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b" {
		t.Errorf("statement %+v", st)
	}
	if len(st.Subject) != 5 { // the version and its four resources with content digests
		t.Errorf("%d subjects", len(st.Subject))
	}
	// Versions are listed as before: the referrers tag is no version.
	versions, err := ocimap.New(w.WriteStore, "").ListVersions(ctx, app)
	if err != nil || len(versions) != 1 || versions[0] != ver {
		t.Errorf("versions %q %v", versions, err)
	}
	// With another key the record is named as not verified.
	c, err = delivery.ReadChain(ctx, w.WriteStore, loc, app, ver, keysFor(otherKey))
	if err != nil {
		t.Fatal(err)
	}
	if c.OK() || !strings.Contains(strings.Join(c.Entries[0].Problems, ";"), "does not verify") {
		t.Fatalf("other key: %+v", c.Entries[0].Problems)
	}
	// Recording twice the same envelope is idempotent; a second record adds.
	if err := rec.Verify(ctx, w.WriteStore, loc, app, ver, delivery.VerifyDetails{Verdict: "verified"}); err != nil {
		t.Fatal(err)
	}
	stored, err := delivery.List(ctx, w.WriteStore, app, ver)
	if err != nil || len(stored) != 2 {
		t.Fatalf("%d records %v", len(stored), err)
	}
	if err := delivery.Attach(ctx, w.WriteStore, app, ver, stored[0].Envelope, "verify"); err != nil {
		t.Fatal(err)
	}
	if again, _ := delivery.List(ctx, w.WriteStore, app, ver); len(again) != 2 {
		t.Fatalf("attaching an envelope again: %d records", len(again))
	}
	// Committed and reopened read-only, the records are there.
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	ro, err := repository.OpenStore(ctx, spec, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if c, err := delivery.ReadChain(ctx, ro, loc, app, ver, keysFor(testKey)); err != nil || len(c.Entries) != 2 || !c.OK() {
		t.Fatalf("after commit: %+v %v", c, err)
	}
}

// A deploy record is stored like the others and its envelope returned; it
// reads back as the chain's last step at the place it was read from.
func TestDeployRecord(t *testing.T) {
	ctx := context.Background()
	w, spec := interop(t)
	loc := delivery.Location(spec)
	rec := recorder(signing.AlgorithmRSAPSS)
	if err := rec.Verify(ctx, w.WriteStore, loc, app, ver, delivery.VerifyDetails{Verdict: "verified"}); err != nil {
		t.Fatal(err)
	}
	d := delivery.DeployDetails{Cluster: "eu1", Namespace: "shop", Deployer: "Deployer/shop", ApplySet: "applyset-x-v1", Resource: "name=chart",
		Objects: []delivery.DeployedObject{{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "cfg", Digest: "sha256:00"}}}
	env, err := rec.Deploy(ctx, w.WriteStore, loc, app, ver, d)
	if err != nil || len(env) == 0 {
		t.Fatalf("deploy record: %v", err)
	}
	st, err := delivery.Open(env, keysFor(testKey))
	if err != nil || st.Predicate.Action != delivery.ActionDeploy || st.Predicate.Deploy == nil || st.Predicate.Deploy.Objects[0].Name != "cfg" {
		t.Fatalf("envelope: %+v %v", st, err)
	}
	c, err := delivery.ReadChain(ctx, w.WriteStore, loc, app, ver, keysFor(testKey))
	if err != nil || len(c.Entries) != 2 || !c.OK() || c.Entries[1].Statement.Predicate.Action != delivery.ActionDeploy {
		t.Fatalf("chain %+v %v", c, err)
	}
	// Read elsewhere, the deploy is a hop without a record.
	if c, _ := delivery.ReadChain(ctx, w.WriteStore, "registry.example/ocm", app, ver, keysFor(testKey)); len(c.Gaps) != 1 {
		t.Fatalf("gaps %+v", c.Gaps)
	}
}

// An independent DSSE implementation (secure-systems-lab's, which in-toto
// uses) verifies the envelopes.
func TestEnvelopeVerifiesWithSecureSystemsLib(t *testing.T) {
	ctx := context.Background()
	w, spec := interop(t)
	if err := recorder(signing.AlgorithmRSAPSS).Verify(ctx, w.WriteStore, delivery.Location(spec), app, ver, delivery.VerifyDetails{Verdict: "verified"}); err != nil {
		t.Fatal(err)
	}
	stored, err := delivery.List(ctx, w.WriteStore, app, ver)
	if err != nil || len(stored) != 1 {
		t.Fatal(err)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(stored[0].Envelope, &env); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&testKey.PublicKey)
	fp, _ := delivery.Fingerprint(&testKey.PublicKey)
	sv, err := signerverifier.NewRSAPSSSignerVerifierFromSSLibKey(&signerverifier.SSLibKey{
		KeyType: "rsa", Scheme: "rsassa-pss-sha256", KeyID: fp,
		KeyVal: signerverifier.KeyVal{Public: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := dsse.NewEnvelopeVerifier(sv)
	if err != nil {
		t.Fatal(err)
	}
	accepted, payload, err := ev.VerifyAndDecode(ctx, &env)
	if err != nil || len(accepted) != 1 || accepted[0].KeyID != fp {
		t.Fatalf("securesystemslib: %v %+v", err, accepted)
	}
	var st delivery.Statement
	if err := json.Unmarshal(payload, &st); err != nil || st.PredicateType != delivery.PredicateType {
		t.Fatalf("payload %s", payload)
	}
	// And rejects a changed payload.
	env.Payload = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"verified"`, `"failed"`, 1)))
	if _, _, err := ev.VerifyAndDecode(ctx, &env); err == nil {
		t.Fatal("securesystemslib accepted a changed payload")
	}
}

// Tampering with a stored record's predicate or subject is detected and
// named; the record then takes no part in the chain.
func TestTamperedRecords(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		mutate func(st *delivery.Statement)
		resign bool // sign the changed statement with the trusted key (only the subject check can catch it)
		want   string
	}{
		{"predicate changed", func(st *delivery.Statement) { st.Predicate.Verify.Verdict = "verified by everyone" }, false, "does not verify"},
		{"subject changed", func(st *delivery.Statement) { st.Subject[0].Digest["sha256"] = strings.Repeat("0", 64) }, false, "does not verify"},
		{"subject of another version, signed", func(st *delivery.Statement) { st.Subject[0].Digest["sha256"] = strings.Repeat("0", 64) }, true, "record has sha256 0000"},
		{"resource subject not in the version, signed", func(st *delivery.Statement) {
			st.Subject = append(st.Subject, delivery.Subject{Name: "ocm:" + app + ":" + ver + "/resource/name=ghost", Digest: map[string]string{"sha256": "ab"}})
		}, true, "name=ghost is not part of the version"},
		{"another component, signed", func(st *delivery.Statement) { st.Predicate.Component = "example.com/other" }, true, "record is about example.com/other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, spec := interop(t)
			loc := delivery.Location(spec)
			if err := recorder(signing.AlgorithmRSAPKCS1v15).Verify(ctx, w.WriteStore, loc, app, ver, delivery.VerifyDetails{Verdict: "verified"}); err != nil {
				t.Fatal(err)
			}
			stored, _ := delivery.List(ctx, w.WriteStore, app, ver)
			var env delivery.Envelope
			if err := json.Unmarshal(stored[0].Envelope, &env); err != nil {
				t.Fatal(err)
			}
			payload, _ := base64.StdEncoding.DecodeString(env.Payload)
			var st delivery.Statement
			if err := json.Unmarshal(payload, &st); err != nil {
				t.Fatal(err)
			}
			tc.mutate(&st)
			var forged []byte
			if tc.resign {
				var err error
				if forged, err = delivery.Seal(&st, signing.Signer{Algorithm: signing.AlgorithmRSAPKCS1v15, Key: testKey}, "release"); err != nil {
					t.Fatal(err)
				}
			} else {
				changed, _ := json.Marshal(st)
				env.Payload = base64.StdEncoding.EncodeToString(changed)
				forged, _ = json.Marshal(env)
			}
			if err := delivery.Attach(ctx, w.WriteStore, app, ver, forged, "verify"); err != nil {
				t.Fatal(err)
			}
			c, err := delivery.ReadChain(ctx, w.WriteStore, loc, app, ver, keysFor(testKey))
			if err != nil {
				t.Fatal(err)
			}
			bad := 0
			for _, e := range c.Entries {
				if !e.Verified() {
					bad++
					if p := strings.Join(e.Problems, "; "); !strings.Contains(p, tc.want) {
						t.Errorf("problems %q, want %q", p, tc.want)
					}
				}
			}
			if bad != 1 || c.OK() {
				t.Fatalf("%d unverified records, chain OK %v", bad, c.OK())
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	st, err := delivery.NewStatement(&descriptor.Descriptor{Component: descriptor.Component{Name: "a.b/c", Version: "1.0.0", Provider: "p"}}, delivery.Predicate{Action: delivery.ActionVerify})
	if err != nil {
		t.Fatal(err)
	}
	good, err := delivery.Seal(st, signing.Signer{Algorithm: signing.AlgorithmRSAPSS, Key: testKey}, "release")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := delivery.Open(good, keysFor(testKey)); err != nil {
		t.Fatalf("good envelope: %v", err)
	}
	edit := func(f func(*delivery.Envelope)) []byte {
		var e delivery.Envelope
		json.Unmarshal(good, &e)
		f(&e)
		b, _ := json.Marshal(e)
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
		sig  bool
	}{
		{"not JSON", []byte("{"), "not a DSSE envelope", false},
		{"payload type", edit(func(e *delivery.Envelope) { e.PayloadType = "text/plain" }), "payload type", false},
		{"payload not base64", edit(func(e *delivery.Envelope) { e.Payload = "%%%" }), "not base64", false},
		{"signature bytes", edit(func(e *delivery.Envelope) { e.Signatures[0].Sig = base64.StdEncoding.EncodeToString([]byte("nope")) }), "no signature", true},
		{"no signatures", edit(func(e *delivery.Envelope) { e.Signatures = nil }), "no signature", true},
		{"key id of another key", edit(func(e *delivery.Envelope) { e.Signatures[0].KeyID = "SHA256:00" }), "no signature", true},
	} {
		_, err := delivery.Open(tc.data, keysFor(testKey))
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, delivery.ErrRecordSignature) != tc.sig {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestLocation(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ctf::/tmp/a", "ctf::/tmp/a"},
		{"http://127.0.0.1:5000/ocm", "127.0.0.1:5000/ocm"},
		{"ghcr.io/acme/ocm", "ghcr.io/acme/ocm"},
		{"https://user:secret@registry.example/ocm", "registry.example/ocm"},
	} {
		spec, err := reference.ParseRepository(tc.in)
		if err != nil {
			t.Logf("%s: %v (not a reference the CLI takes)", tc.in, err)
			spec = reference.Repository{Type: reference.TypeOCI, BaseURL: strings.TrimSuffix(tc.in, "/ocm"), SubPath: "ocm"}
		}
		got := delivery.Location(spec)
		if got != tc.want && !(strings.HasPrefix(tc.in, "ctf::") && got == "ctf::"+filepath.Clean("/tmp/a")) {
			t.Errorf("Location(%s) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("Location(%s) = %q keeps the password", tc.in, got)
		}
	}
}

func TestChainGaps(t *testing.T) {
	rec := func(action, repo, from, to string) delivery.Entry {
		p := delivery.Predicate{Action: action, Repository: repo}
		if action == delivery.ActionTransfer {
			p.Transfer = &delivery.TransferDetails{Source: from, Target: to}
		}
		return delivery.Entry{Statement: &delivery.Statement{Predicate: p}}
	}
	bad := rec(delivery.ActionTransfer, "", "ctf::/x/a", "elsewhere")
	bad.Problems = []string{"signature"}
	for _, tc := range []struct {
		name     string
		entries  []delivery.Entry
		location string
		want     []string
	}{
		{"none", nil, "r/b", nil},
		{"connected", []delivery.Entry{rec("sign", "ctf::/x/a", "", ""), rec("transfer", "", "ctf::/x/a", "r/b"), rec("verify", "r/b", "", "")}, "r/b", nil},
		{"archive carried as a file", []delivery.Entry{rec("transfer", "", "r/a", "ctf::/build/air.tgz"), rec("transfer", "", "ctf::/import/air.tgz", "r/b")}, "r/b", nil},
		{"hop in the middle", []delivery.Entry{rec("sign", "ctf::/x/a", "", ""), rec("verify", "r/b", "", "")}, "r/b", []string{"0: ctf::/x/a -> r/b"}},
		{"arrival", []delivery.Entry{rec("sign", "ctf::/x/a", "", "")}, "r/c", []string{"0: ctf::/x/a -> r/c"}},
		// A deploy reads the version where it is and moves it nowhere.
		{"deploy last", []delivery.Entry{rec("transfer", "", "ctf::/x/a", "r/b"), rec("verify", "r/b", "", ""), rec("deploy", "r/b", "", "")}, "r/b", nil},
		{"deploy then verify", []delivery.Entry{rec("transfer", "", "ctf::/x/a", "r/b"), rec("deploy", "r/b", "", ""), rec("verify", "r/b", "", "")}, "r/b", nil},
		{"deploy from elsewhere", []delivery.Entry{rec("transfer", "", "ctf::/x/a", "r/b"), rec("deploy", "r/c", "", "")}, "r/b", []string{"0: r/b -> r/c", "1: r/c -> r/b"}},
		{"unverified records do not count", []delivery.Entry{rec("sign", "ctf::/x/a", "", ""), bad}, "r/c", []string{"0: ctf::/x/a -> r/c"}},
	} {
		var got []string
		for _, g := range delivery.Gaps(tc.entries, tc.location) {
			got = append(got, fmt.Sprintf("%d: %s -> %s", g.After, g.From, g.To))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: gaps %q, want %q", tc.name, got, tc.want)
		}
	}
}
