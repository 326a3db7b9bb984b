package constructor

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header has name %q mtime %v", zr.Name, zr.ModTime)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// openResource parses a one-resource constructor in dir and opens its input.
func openResource(t *testing.T, dir, input string, env map[string]string) (*Content, error) {
	t.Helper()
	doc := okComponent + "resources:\n- name: res\n  type: blob\n  input: " + input + "\n"
	if env == nil {
		env = map[string]string{}
	}
	s, err := Parse([]byte(doc), filepath.Join(dir, file), LoadOptions{Env: envMap(env)})
	if err != nil {
		t.Fatal(err)
	}
	return s.Components[0].Resources[0].OpenInput(context.Background())
}

func TestFileInput(t *testing.T) {
	dir := t.TempDir()
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), randomBytes(100, 1)...)
	random := randomBytes(300000, 2)
	writeFile(t, filepath.Join(dir, "img.bin"), string(png), 0o644)
	writeFile(t, filepath.Join(dir, "random.bin"), string(random), 0o644)
	writeFile(t, filepath.Join(dir, "hello.txt"), "hello interop\n", 0o644)

	tests := []struct {
		name, input string
		want        []byte
		mediaType   string
		compressed  bool
	}{
		{"given media type", "{type: file, path: random.bin, mediaType: application/x-foo}", random, "application/x-foo", false},
		{"sniffed png", "{type: File/v1, path: img.bin}", png, "image/png", false},
		{"sniffed binary", "{type: file/v1, path: random.bin}", random, "application/octet-stream", false},
		{"sniffed text", "{type: File, path: hello.txt}", []byte("hello interop\n"), "text/plain; charset=utf-8", false},
		{"compressed", "{type: file, path: random.bin, mediaType: application/octet-stream, compress: true}", random, "application/octet-stream+gzip", true},
		{"compressed sniffed text", "{type: file, path: hello.txt, compress: true}", []byte("hello interop\n"), "text/plain+gzip; charset=utf-8", true},
		{"absolute path", "{type: file, path: " + filepath.Join(dir, "hello.txt") + ", mediaType: text/plain}", []byte("hello interop\n"), "text/plain", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := openResource(t, dir, tc.input, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.MediaType != tc.mediaType {
				t.Errorf("media type %q, want %q", c.MediaType, tc.mediaType)
			}
			got := readContent(t, c)
			if tc.compressed {
				if c.Size != -1 {
					t.Errorf("size %d for compressed content", c.Size)
				}
				got = gunzip(t, got)
			} else if c.Size != int64(len(tc.want)) {
				t.Errorf("size %d", c.Size)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("content differs (%d bytes, want %d)", len(got), len(tc.want))
			}
			// Every Open is a fresh stream.
			if again := readContent(t, c); tc.compressed && !bytes.Equal(gunzip(t, again), tc.want) || !tc.compressed && !bytes.Equal(again, tc.want) {
				t.Error("second Open differs")
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		_, err := openResource(t, dir, "{type: file, path: missing.bin}", nil)
		wantErr(t, err, file+": resources[0].input.path: stat ", "missing.bin: no such file")
		_, err = openResource(t, dir, "{type: file, path: .}", nil)
		wantErr(t, err, "resources[0].input.path: ", "is not a regular file")
		_, err = openResource(t, dir, "{type: file, path: hello.txt, mediaType: "+OCILayoutMediaType+", compress: true}", nil)
		wantErr(t, err, "resources[0].input.compress: not supported for an OCI image layout")
	})
}

func TestCompressedStreamStopsWhenClosed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "big.bin"), string(randomBytes(4<<20, 3)), 0o644)
	c, err := openResource(t, dir, "{type: file, path: big.bin, compress: true}", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for range 20 {
		r, err := c.Open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left behind (before: %d)", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUTF8Input(t *testing.T) {
	tests := []struct {
		name, input string
		want        string
		mediaType   string
		compressed  bool
	}{
		{"text", `{type: utf8, text: "lib notes: v0.3.1"}`, "lib notes: v0.3.1", "text/plain", false},
		{"empty text", `{type: utf8, text: ""}`, "", "text/plain", false},
		{"multiline text", "{type: UTF8/v1, text: \"a\\nb\\n\"}", "a\nb\n", "text/plain", false},
		{"json", `{type: utf8, json: {b: 1, a: [1, 2.50], c: "<x>", d: null}}`, `{"a":[1,2.5],"b":1,"c":"\u003cx\u003e","d":null}`, "application/json", false},
		{"json scalar", `{type: utf8, json: 42}`, `42`, "application/json", false},
		{"formattedJson", `{type: UTF8, formattedJson: {b: 1, a: {x: true}}}`, "{\n  \"a\": {\n    \"x\": true\n  },\n  \"b\": 1\n}", "application/json", false},
		{"yaml", `{type: utf8, yaml: {b: 1, a: [x, "007"]}}`, "a:\n- x\n- \"007\"\nb: 1\n", "application/x-yaml", false},
		{"compressed text", `{type: utf8, text: hello, compress: true}`, "hello", "text/plain+gzip", true},
		{"compressed json", `{type: utf8, json: {a: 1}, compress: true}`, `{"a":1}`, "application/json+gzip", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := openResource(t, t.TempDir(), tc.input, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.MediaType != tc.mediaType {
				t.Errorf("media type %q, want %q", c.MediaType, tc.mediaType)
			}
			got := readContent(t, c)
			if tc.compressed {
				got = gunzip(t, got)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOpenInputStandalone(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.txt"), "A", 0o644)
	c, err := OpenInput(context.Background(), typed(t, `{"type":"file","path":"a.txt","mediaType":"text/plain"}`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(readContent(t, c)) != "A" {
		t.Error("wrong content")
	}
	tests := []struct{ spec, want string }{
		{`{"type":"file","path":"b.txt"}`, "input.path: stat "},
		{`{"type":"s3","bucket":"x"}`, `input.type: unknown input type "s3" (known: file, dir, utf8, helm, wget, ociImageLayout)`},
		{`{"type":"wget","url":"ftp://x/y"}`, `input.url: must be an http:// or https:// URL`},
		{`{"type":"wget"}`, `input.url: must be set`},
		{`{"type":"wget","url":"https://x","header":{"A":"b"}}`, `input.header.A: must be a list of strings`},
		{`{"type":"utf8"}`, "input: exactly one of text, json, formattedJson or yaml must be set, found none"},
		{`{"type":"file","path":"a.txt","extra":true}`, "input.extra: unknown field"},
	}
	for _, tc := range tests {
		_, err := OpenInput(context.Background(), typed(t, tc.spec), dir)
		wantErr(t, err, tc.want)
		if strings.HasPrefix(err.Error(), ":") {
			t.Errorf("error starts with a colon: %v", err)
		}
	}
	if _, err := OpenInput(context.Background(), nil, dir); err == nil {
		t.Error("nil input accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := OpenInput(ctx, typed(t, `{"type":"file","path":"a.txt"}`), dir); err == nil {
		t.Error("cancelled context ignored")
	}
	// Resource without input.
	var r Resource
	if _, err := r.OpenInput(context.Background()); err == nil {
		t.Error("resource without input opened")
	}
}

func TestSourceInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "main.go"), "package main\n", 0o644)
	doc := okComponent + "sources:\n- name: code\n  type: filesystem\n  input: {type: dir, path: src, compress: true}\n- name: bad\n  type: filesystem\n  input: {type: dir, path: nothere}\n"
	s, err := Parse([]byte(doc), filepath.Join(dir, file), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := s.Components[0].Sources
	if src[0].Version != "1.0.0" || src[0].Where() != filepath.Join(dir, file)+": sources[0]" {
		t.Errorf("%+v %s", src[0], src[0].Where())
	}
	c, err := src[0].OpenInput(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := tarEntries(t, readContent(t, c)); strings.Join(got, ",") != "main.go" || c.MediaType != "application/x-tar+gzip" {
		t.Errorf("%v %s", got, c.MediaType)
	}
	_, err = src[1].OpenInput(context.Background())
	wantErr(t, err, filepath.Join(dir, file)+": sources[1].input.path: stat ")
}
