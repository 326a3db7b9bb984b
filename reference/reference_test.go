package reference

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
	}{
		{"ctf::./archive//example.com/app:1.0.0", Ref{Repository: Repository{Type: TypeCTF, FilePath: "./archive"}, Component: "example.com/app", Version: "1.0.0"}},
		{"./archive//example.com/app", Ref{Repository: Repository{Type: TypeCTF, FilePath: "./archive"}, Component: "example.com/app"}},
		{"/tmp/a.tgz//example.com/app:v1", Ref{Repository: Repository{Type: TypeCTF, FilePath: "/tmp/a.tgz"}, Component: "example.com/app", Version: "v1"}},
		{"archive.tar//example.com/app:1.2", Ref{Repository: Repository{Type: TypeCTF, FilePath: "archive.tar"}, Component: "example.com/app", Version: "1.2"}},
		{"transport-archive//example.com/app", Ref{Repository: Repository{Type: TypeCTF, FilePath: "transport-archive"}, Component: "example.com/app"}},
		{"file:///abs/ctf//example.com/app", Ref{Repository: Repository{Type: TypeCTF, FilePath: "/abs/ctf"}, Component: "example.com/app"}},
		{"../x//example.com/app", Ref{Repository: Repository{Type: TypeCTF, FilePath: "../x"}, Component: "example.com/app"}},
		{"CommonTransportFormat/v1::my.path//example.com/app", Ref{Repository: Repository{Type: TypeCTF, FilePath: "my.path"}, Component: "example.com/app"}},
		{"localhost:5000//example.com/app:1.0.0", Ref{Repository: Repository{Type: TypeOCI, BaseURL: "localhost:5000"}, Component: "example.com/app", Version: "1.0.0"}},
		{"localhost//example.com/app", Ref{Repository: Repository{Type: TypeOCI, BaseURL: "localhost"}, Component: "example.com/app"}},
		{"ghcr.io/open-component-model//ocm.software/cli:0.12.0", Ref{Repository: Repository{Type: TypeOCI, BaseURL: "ghcr.io", SubPath: "open-component-model"}, Component: "ocm.software/cli", Version: "0.12.0"}},
		{"http://localhost:8080/my-repo//ocm.software/cli", Ref{Repository: Repository{Type: TypeOCI, BaseURL: "http://localhost:8080", SubPath: "my-repo"}, Component: "ocm.software/cli"}},
		{"oci::ghcr.io/org/component-descriptors/ocm.software/cli:0.12.0", Ref{Repository: Repository{Type: TypeOCI, BaseURL: "ghcr.io", SubPath: "org"}, Prefix: DefaultPrefix, Component: "ocm.software/cli", Version: "0.12.0"}},
		{"OCIRegistry::reg.example.com:443/a/b//example.com/x/y:1.0.0+build.7", Ref{Repository: Repository{Type: TypeOCI, BaseURL: "reg.example.com:443", SubPath: "a/b"}, Component: "example.com/x/y", Version: "1.0.0+build.7"}},
		{"ghcr.io/org//ocm.software/cli:1.0.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Ref{Repository: Repository{Type: TypeOCI, BaseURL: "ghcr.io", SubPath: "org"}, Component: "ocm.software/cli", Version: "1.0.0", Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
		{`C:\ctf//example.com/app`, Ref{Repository: Repository{Type: TypeCTF, FilePath: "C:/ctf"}, Component: "example.com/app"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if *got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, *got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "expected <repository>//<component>"},
		{"./archive", "expected <repository>//<component>"},
		{"./archive//", "missing component name"},
		{"./archive//Example.com/app", `component name "Example.com/app" does not match`},
		{"./archive//example.com", `component name "example.com" does not match`},
		{"./archive//example.com/app:1.x", `version "1.x" is not a (relaxed) semantic version`},
		{"./archive//example.com/app:1.0.0@sha256:xyz", `digest "sha256:xyz" is not of the form`},
		{"//example.com/app:1.0.0", "missing repository before //"},
		{"foo::./archive//example.com/app", `unknown repository type "foo"`},
		{"ctf/v2::./archive//example.com/app", `unknown repository type "ctf/v2"`},
		{"oci::http://user:pw@host//example.com/app", "user info are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error containing %q", tt.in, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error %q, want it to contain %q", tt.in, err, tt.want)
			}
			// The input is named, with a password in it masked.
			if !strings.Contains(err.Error(), Redact(tt.in)) {
				t.Fatalf("error %q does not name the input %q", err, Redact(tt.in))
			}
			if strings.Contains(tt.in, ":pw@") && strings.Contains(err.Error(), ":pw@") {
				t.Fatalf("error %q repeats the password", err)
			}
		})
	}
	if _, err := Parse("./archive"); !errors.Is(err, ErrNoComponent) {
		t.Fatalf("want ErrNoComponent, got %v", err)
	}
}

func TestParseRepository(t *testing.T) {
	tests := []struct {
		in   string
		want Repository
	}{
		{"./ctf", Repository{Type: TypeCTF, FilePath: "./ctf"}},
		{"ctf::archive", Repository{Type: TypeCTF, FilePath: "archive"}},
		{"x.tgz", Repository{Type: TypeCTF, FilePath: "x.tgz"}},
		{"ghcr.io/acme", Repository{Type: TypeOCI, BaseURL: "ghcr.io", SubPath: "acme"}},
		{"127.0.0.1:5000", Repository{Type: TypeOCI, BaseURL: "127.0.0.1:5000"}},
		{"oci::https://reg.io/a/b/", Repository{Type: TypeOCI, BaseURL: "https://reg.io", SubPath: "a/b"}},
	}
	for _, tt := range tests {
		got, err := ParseRepository(tt.in)
		if err != nil {
			t.Fatalf("ParseRepository(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Fatalf("ParseRepository(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ctf::./archive//example.com/app:1.0.0", "localhost:5000//example.com/app", "ghcr.io/o/component-descriptors/a.b/c:v1@sha256:0123456789abcdef0123456789abcdef",
		"::", "//", "a::b::c//d", `C:\x//a.bc/d`, "http://[::1]:5000//example.com/a:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := Parse(s)
		if err != nil {
			return
		}
		if ref.Component == "" || ref.Repository.Type == "" {
			t.Fatalf("Parse(%q) succeeded without component or repository type: %+v", s, ref)
		}
		// The printed form must parse to the same reference.
		again, err := Parse(ref.String())
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", ref.String(), s, err)
		}
		if again.Component != ref.Component || again.Version != ref.Version || again.Digest != ref.Digest || again.Repository.Type != ref.Repository.Type {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, ref)
		}
	})
}

func TestParseOCIValidation(t *testing.T) {
	for _, in := range []string{"oci::A0:/%000//a.aa/a00", "oci::host:port//example.com/a", "oci::ghcr.io/Upper//example.com/a", "oci::ghcr.io/a b//example.com/a"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", in)
		}
	}
}

func TestCanonicalRepositoryType(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"CommonTransportFormat", TypeCTF},
		{"CommonTransportFormat/v1", TypeCTF},
		{"commontransportformat", TypeCTF},
		{"CTF", TypeCTF},
		{"ctf", TypeCTF},
		{"OCIRepository/v1", TypeOCI},
		{"OCIRegistry", TypeOCI},
		{"ociRegistry", TypeOCI},
		{"ociregistry/v1", TypeOCI},
		{"oci", TypeOCI},
		{"OCI", TypeOCI},
		{"ctf/v2", ""},
		{"S3", ""},
		{"", ""},
		{"OCIRegistry/", ""},
	} {
		got, err := CanonicalRepositoryType(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrUnknownType) {
				t.Errorf("%q: %q, %v; want ErrUnknownType", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:s3cret@localhost:1/ocm":        "http://user:xxxxx@localhost:1/ocm",
		"user:s3cret@localhost:1":                   "user:xxxxx@localhost:1",
		"https://token@registry.example.com/a":      "https://token@registry.example.com/a",
		"localhost:5000/ocm//example.com/a:1.0.0":   "localhost:5000/ocm//example.com/a:1.0.0",
		"http://u:p@ss@host/x@y":                    "http://u:xxxxx@host/x@y",
		"ctf::./archive//example.com/a@sha256:0123": "ctf::./archive//example.com/a@sha256:0123",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	// Parse errors never repeat a password.
	for _, in := range []string{
		"http://user:s3cret@localhost:1/ocm//example.com/a:1.0.0",
		"http://user:s3cret@localhost:1/Bad Path//example.com/a:1.0.0",
		"user:s3cret@localhost:1//example.com/a:1.0.0",
	} {
		_, err := Parse(in)
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "user:xxxxx@") {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}
