package reference

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// ImageCase is one row of testdata/image-references.json, the table the
// CLI's and the controller's image resolution are both tested against.
type imageCase struct {
	In         string `json:"in"`
	PlainHTTP  bool   `json:"plainHTTP"`
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	Reference  string `json:"reference"`
	String     string `json:"string"`
	Error      string `json:"error"`
}

func loadImageCases(t *testing.T) []imageCase {
	t.Helper()
	b, err := os.ReadFile("testdata/image-references.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []imageCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestParseImage(t *testing.T) {
	for _, c := range loadImageCases(t) {
		t.Run(c.In, func(t *testing.T) {
			img, err := ParseImage(c.In)
			if c.Error != "" {
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("ParseImage(%q) = %+v, %v; want error containing %q", c.In, img, err, c.Error)
				}
				if !strings.Contains(err.Error(), `"`+c.In+`"`) {
					t.Errorf("error %q does not name the reference", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Image{PlainHTTP: c.PlainHTTP, Registry: c.Registry, Repository: c.Repository, Tag: c.Tag, Digest: c.Digest}
			if img != want {
				t.Fatalf("ParseImage(%q) = %+v, want %+v", c.In, img, want)
			}
			str := c.String
			if str == "" {
				str = c.In
			}
			if img.String() != str {
				t.Errorf("String() = %q, want %q", img.String(), str)
			}
			ref := c.Reference
			if ref == "" {
				ref = c.Tag
				if c.Digest != "" {
					ref = c.Digest
				}
			}
			if img.Reference() != ref {
				t.Errorf("Reference() = %q, want %q", img.Reference(), ref)
			}
			// The string form parses to the same image (scheme aside).
			again, err := ParseImage(img.String())
			if err != nil || again.Registry != img.Registry || again.Repository != img.Repository || again.Tag != img.Tag || again.Digest != img.Digest {
				t.Errorf("round trip of %q: %+v, %v", img.String(), again, err)
			}
		})
	}
}

func TestParseImageIn(t *testing.T) {
	tests := []struct {
		registry, in string
		want         Image
		err          string
	}{
		{registry: "myregistry", in: "a/b:1", want: Image{Registry: "myregistry", Repository: "a/b", Tag: "1"}},
		{registry: "127.0.0.1:5000", in: "nginx", want: Image{Registry: "127.0.0.1:5000", Repository: "nginx"}},
		{registry: "localhost:5000", in: "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", want: Image{Registry: "localhost:5000", Repository: "a", Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
		{registry: "", in: "a", err: "no registry"},
		{registry: "localhost:5000", in: "A", err: "must be lowercase"},
	}
	for _, tt := range tests {
		got, err := ParseImageIn(tt.registry, tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseImageIn(%q, %q) = %+v, %v; want error %q", tt.registry, tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseImageIn(%q, %q) = %+v, %v; want %+v", tt.registry, tt.in, got, err, tt.want)
		}
	}
}

func TestImageWithDigestAndEndpoint(t *testing.T) {
	img, err := ParseImage("nginx:1.27")
	if err != nil {
		t.Fatal(err)
	}
	d := "sha256:" + strings.Repeat("a", 64)
	if got := img.WithDigest(d).String(); got != "docker.io/library/nginx:1.27@"+d {
		t.Errorf("WithDigest: %s", got)
	}
	if img.Endpoint() != DockerHubEndpoint {
		t.Errorf("Endpoint() = %s", img.Endpoint())
	}
	if l, _ := ParseImage("localhost:5000/a"); l.Endpoint() != "localhost:5000" {
		t.Errorf("Endpoint() = %s", l.Endpoint())
	}
}

func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"nginx:1.27", "localhost:5000/a:1", "http://[::1]:5000/a/b@sha256:" + strings.Repeat("0", 64), "oci://x.io/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := ParseImage(s)
		if err != nil {
			return
		}
		again, err := ParseImage(img.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v whose String %q does not parse: %v", s, img, img.String(), err)
		}
		again.PlainHTTP = img.PlainHTTP
		if again != img {
			t.Fatalf("%q: %+v != %+v", s, again, img)
		}
	})
}
