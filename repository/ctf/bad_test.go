package ctf

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// goodBlob is the blob every bad-input archive indexes, unless the case says
// otherwise.
var goodBlob = []byte(`{"schemaVersion":2,"config":{},"layers":[]}`)

func goodIndex() []byte {
	return indexJSON("r", "v1", digestOf(goodBlob), ocispec.MediaTypeImageManifest)
}

// tarWith writes a tar of the good index and blob with extra entries
// appended.
func tarWith(extra ...tarEntry) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		entries := append([]tarEntry{
			file(IndexFileName, goodIndex()),
			file("blobs/"+blobFile(goodBlob), goodBlob),
		}, extra...)
		return writeFile(t, filepath.Join(dir, "bad.tar"), tarBytes(t, entries))
	}
}

// tarWithIndex writes a tar whose artifact-index.json is index.
func tarWithIndex(index string) func(t *testing.T, dir string) string {
	return func(t *testing.T, dir string) string {
		return writeFile(t, filepath.Join(dir, "bad.tar"), tarBytes(t, []tarEntry{
			file(IndexFileName, []byte(index)),
			file("blobs/"+blobFile(goodBlob), goodBlob),
		}))
	}
}

// patchTypeflag rewrites the type flag of the first header of a tar stream
// (archive/tar refuses to write some types) and fixes its checksum.
func patchTypeflag(data []byte, flag byte) []byte {
	data[156] = flag
	copy(data[148:156], "        ")
	var sum int64
	for _, b := range data[:512] {
		sum += int64(b)
	}
	copy(data[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return data
}

func TestBadArchives(t *testing.T) {
	ctx := context.Background()
	dgst := digestOf(goodBlob)
	absent := digest.FromString("absent")

	type action int
	const (
		open action = iota
		resolve
		fetch
	)
	tests := []struct {
		name     string
		build    func(t *testing.T, dir string) string
		act      action
		desc     ocispec.Descriptor // for fetch
		want     string             // exact substring; "$" is replaced by the archive path
		notFound bool
	}{
		{
			name: "missing blob on resolve",
			build: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "bad.tar"), tarBytes(t, []tarEntry{
					file(IndexFileName, indexJSON("r", "v1", absent.String(), "")),
				}))
			},
			act:      resolve,
			want:     "blob " + absent.String() + " not found in CTF archive $ (blobs/sha256." + absent.Encoded() + ")",
			notFound: true,
		},
		{
			name:     "missing blob on fetch",
			build:    tarWith(),
			act:      fetch,
			desc:     ocispec.Descriptor{Digest: absent},
			want:     "blob " + absent.String() + " not found in CTF archive $ (blobs/sha256." + absent.Encoded() + ")",
			notFound: true,
		},
		{
			name: "missing blob in a directory",
			build: func(t *testing.T, dir string) string {
				d := filepath.Join(dir, "ctf")
				os.MkdirAll(filepath.Join(d, "blobs"), 0o755)
				writeFile(t, filepath.Join(d, IndexFileName), indexJSON("r", "v1", absent.String(), ""))
				return d
			},
			act:      resolve,
			want:     "blob " + absent.String() + " not found in CTF archive $ (blobs/sha256." + absent.Encoded() + ")",
			notFound: true,
		},
		{
			name: "truncated in a blob",
			build: func(t *testing.T, dir string) string {
				data := tarBytes(t, []tarEntry{file(IndexFileName, goodIndex()), file("blobs/"+blobFile(goodBlob), patternData(3000, 1))})
				return writeFile(t, filepath.Join(dir, "bad.tar"), data[:512+1024+512+1500])
			},
			want: "CTF archive $: truncated tar: unexpected EOF",
		},
		{
			name: "truncated in a header",
			build: func(t *testing.T, dir string) string {
				data := tarBytes(t, []tarEntry{file(IndexFileName, goodIndex()), file("blobs/"+blobFile(goodBlob), goodBlob)})
				return writeFile(t, filepath.Join(dir, "bad.tar"), data[:512+512+300])
			},
			want: "CTF archive $: truncated tar: unexpected EOF",
		},
		{
			name: "truncated tgz",
			build: func(t *testing.T, dir string) string {
				data := tarBytes(t, []tarEntry{file(IndexFileName, goodIndex()), file("blobs/"+blobFile(goodBlob), patternData(3000, 1))})
				return writeFile(t, filepath.Join(dir, "bad.tgz"), gzipBytes(t, data[:512+1024+512+1500]))
			},
			want: "CTF archive $: truncated tar: unexpected EOF",
		},
		{
			name: "corrupt gzip checksum",
			build: func(t *testing.T, dir string) string {
				data := gzipBytes(t, tarBytes(t, []tarEntry{file(IndexFileName, goodIndex())}))
				data[len(data)-5] ^= 0xff // CRC-32 in the trailer
				return writeFile(t, filepath.Join(dir, "bad.tgz"), data)
			},
			want: "CTF archive $: corrupt gzip stream: gzip: invalid checksum",
		},
		{
			name: "not a tar",
			build: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "bad.tar"), patternData(1024, 3))
			},
			want: "CTF archive $: reading tar: archive/tar: invalid tar header",
		},
		{
			name:  "index: invalid JSON",
			build: tarWithIndex(`{"schemaVersion":1,"artifacts":[`),
			want:  "parsing artifact-index.json of CTF archive $: unexpected EOF",
		},
		{
			name:  "index: trailing data",
			build: tarWithIndex(`{"schemaVersion":1,"artifacts":null}{}`),
			want:  "parsing artifact-index.json of CTF archive $: unexpected data after the JSON object",
		},
		{
			name:  "index: wrong schemaVersion",
			build: tarWithIndex(`{"schemaVersion":2,"artifacts":null}`),
			want:  "parsing artifact-index.json of CTF archive $: unsupported schemaVersion 2 (want 1)",
		},
		{
			name:  "index: unknown field",
			build: tarWithIndex(`{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"` + dgst + `","size":3}]}`),
			want:  `parsing artifact-index.json of CTF archive $: json: unknown field "size"`,
		},
		{
			name:  "index: bad digest",
			build: tarWithIndex(`{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"sha256:../../etc/passwd"}]}`),
			want:  `parsing artifact-index.json of CTF archive $: artifacts[0] (repository "r"): invalid digest "sha256:../../etc/passwd": invalid checksum digest length`,
		},
		{
			name:  "index: empty repository",
			build: tarWithIndex(`{"schemaVersion":1,"artifacts":[{"repository":"","digest":"` + dgst + `"}]}`),
			want:  "parsing artifact-index.json of CTF archive $: artifacts[0]: empty repository",
		},
		{
			name: "index: corrupted in a directory",
			build: func(t *testing.T, dir string) string {
				d := copyInterop(t)
				writeFile(t, filepath.Join(d, IndexFileName), []byte(`{"schemaVersion":1,`))
				return d
			},
			want: "parsing artifact-index.json of CTF archive $: unexpected EOF",
		},
		{
			name:  "entry ../evil",
			build: tarWith(file("../evil", []byte("x"))),
			want:  `CTF archive $: unsafe entry "../evil": ".." element leaves the archive`,
		},
		{
			name:  "entry blobs/../../evil",
			build: tarWith(file("blobs/../../evil", []byte("x"))),
			want:  `CTF archive $: unsafe entry "blobs/../../evil": ".." element leaves the archive`,
		},
		{
			name:  "entry blobs/../index",
			build: tarWith(file("blobs/../"+IndexFileName, []byte("{}"))),
			want:  `CTF archive $: unsafe entry "blobs/../artifact-index.json": ".." element leaves the archive`,
		},
		{
			name:  "absolute entry",
			build: tarWith(file("/etc/passwd", []byte("x"))),
			want:  `CTF archive $: unsafe entry "/etc/passwd": absolute path`,
		},
		{
			name:  "backslash entry",
			build: tarWith(file(`blobs\..\evil`, []byte("x"))),
			want:  `CTF archive $: unsafe entry "blobs\\..\\evil": backslash or NUL in name`,
		},
		{
			name:  "symlink entry",
			build: tarWith(tarEntry{hdr: tar.Header{Name: "blobs/sha256.evil", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}),
			want:  `CTF archive $: link entry "blobs/sha256.evil" not allowed`,
		},
		{
			name:  "hard-link entry",
			build: tarWith(tarEntry{hdr: tar.Header{Name: "blobs/sha256.evil", Typeflag: tar.TypeLink, Linkname: "blobs/" + blobFile(goodBlob)}}),
			want:  `CTF archive $: link entry "blobs/sha256.evil" not allowed`,
		},
		{
			name:  "character device",
			build: tarWith(tarEntry{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}),
			want:  `CTF archive $: device or FIFO entry "dev" not allowed`,
		},
		{
			name:  "FIFO",
			build: tarWith(tarEntry{hdr: tar.Header{Name: "fifo", Typeflag: tar.TypeFifo}}),
			want:  `CTF archive $: device or FIFO entry "fifo" not allowed`,
		},
		{
			name: "GNU sparse entry",
			build: func(t *testing.T, dir string) string {
				sparse := tarBytes(t, []tarEntry{{hdr: tar.Header{Name: "blobs/sparse", Format: tar.FormatGNU}, data: []byte("x")}})
				data := append(tarBytes(t, []tarEntry{file(IndexFileName, goodIndex())}), patchTypeflag(sparse, tar.TypeGNUSparse)...)
				return writeFile(t, filepath.Join(dir, "bad.tar"), removeTrailer(data))
			},
			want: `CTF archive $: sparse entry "blobs/sparse" not allowed`,
		},
		{
			name: "PAX sparse entry",
			build: func(t *testing.T, dir string) string {
				// archive/tar drops GNU.sparse.* records when writing: write
				// XNU.sparse.* and patch the PAX data.
				data := tarBytes(t, []tarEntry{
					file(IndexFileName, goodIndex()),
					{hdr: tar.Header{Name: "blobs/sparse", Format: tar.FormatPAX, PAXRecords: map[string]string{
						"XNU.sparse.major": "0", "XNU.sparse.minor": "1", "XNU.sparse.numblocks": "1", "XNU.sparse.map": "0,1", "XNU.sparse.size": "1",
					}}, data: []byte("x")},
				})
				data = bytes.ReplaceAll(data, []byte("XNU.sparse."), []byte("GNU.sparse."))
				return writeFile(t, filepath.Join(dir, "bad.tar"), data)
			},
			want: `CTF archive $: sparse entry "blobs/sparse" not allowed`,
		},
		{
			name: "unsupported entry type",
			build: func(t *testing.T, dir string) string {
				odd := tarBytes(t, []tarEntry{file("blobs/odd", []byte("x"))})
				data := append(tarBytes(t, []tarEntry{file(IndexFileName, goodIndex())}), patchTypeflag(odd, 'V')...)
				return writeFile(t, filepath.Join(dir, "bad.tar"), removeTrailer(data))
			},
			want: `CTF archive $: entry "blobs/odd" has unsupported type 'V'`,
		},
		{
			name:  "duplicate entry",
			build: tarWith(file("./blobs/"+blobFile(goodBlob), []byte("other"))),
			want:  `CTF archive $: duplicate entry "./blobs/` + blobFile(goodBlob) + `"`,
		},
		{
			name:  "duplicate index",
			build: tarWith(file(IndexFileName, []byte(`{"schemaVersion":1,"artifacts":null}`))),
			want:  `CTF archive $: duplicate entry "artifact-index.json"`,
		},
		{
			name: "missing index in a tar",
			build: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "bad.tar"), tarBytes(t, []tarEntry{file("blobs/"+blobFile(goodBlob), goodBlob)}))
			},
			want: "CTF archive $: artifact-index.json not found",
		},
		{
			name: "missing index in a tgz",
			build: func(t *testing.T, dir string) string {
				return writeFile(t, filepath.Join(dir, "bad.tgz"), gzipBytes(t, tarBytes(t, []tarEntry{dirEntry("blobs/")})))
			},
			want: "CTF archive $: artifact-index.json not found",
		},
		{
			name:  "missing index in a directory",
			build: func(t *testing.T, dir string) string { return dir },
			want:  "CTF archive $: artifact-index.json not found",
		},
		{
			name:  "empty file",
			build: func(t *testing.T, dir string) string { return writeFile(t, filepath.Join(dir, "bad.tar"), nil) },
			want:  "CTF archive $: artifact-index.json not found",
		},
		{
			name: "symlinked blob leaving a directory archive",
			build: func(t *testing.T, dir string) string {
				outside := writeFile(t, filepath.Join(dir, "secret"), goodBlob)
				d := filepath.Join(dir, "ctf")
				os.MkdirAll(filepath.Join(d, "blobs"), 0o755)
				writeFile(t, filepath.Join(d, IndexFileName), goodIndex())
				if err := os.Symlink(outside, filepath.Join(d, "blobs", blobFile(goodBlob))); err != nil {
					t.Fatal(err)
				}
				return d
			},
			act:  fetch,
			desc: ocispec.Descriptor{Digest: digest.Digest(dgst)},
			want: "CTF archive $: opening blob " + dgst + " (blobs/" + blobFile(goodBlob) + "): openat blobs/" + blobFile(goodBlob) + ": path escapes from parent",
		},
		{
			name: "symlinked index leaving a directory archive",
			build: func(t *testing.T, dir string) string {
				outside := writeFile(t, filepath.Join(dir, "index"), goodIndex())
				d := filepath.Join(dir, "ctf")
				os.MkdirAll(filepath.Join(d, "blobs"), 0o755)
				if err := os.Symlink(outside, filepath.Join(d, IndexFileName)); err != nil {
					t.Fatal(err)
				}
				return d
			},
			want: "CTF archive $: opening artifact-index.json: openat artifact-index.json: path escapes from parent",
		},
		{
			name:  "bad digest in fetch",
			build: tarWith(),
			act:   fetch,
			desc:  ocispec.Descriptor{Digest: "sha256:../../x"},
			want:  `CTF archive $: invalid digest "sha256:../../x": invalid checksum digest length`,
		},
		{
			name:  "bad digest of the right length in fetch",
			build: tarWith(),
			act:   fetch,
			desc:  ocispec.Descriptor{Digest: digest.Digest("sha256:" + strings.Repeat("../", 21) + "x")},
			want:  `CTF archive $: invalid digest "sha256:` + strings.Repeat("../", 21) + `x": invalid checksum digest format`,
		},
		{
			name: "bad digest in fetch from a directory",
			build: func(t *testing.T, dir string) string {
				d := filepath.Join(dir, "ctf")
				os.MkdirAll(filepath.Join(d, "blobs"), 0o755)
				writeFile(t, filepath.Join(d, IndexFileName), goodIndex())
				return d
			},
			act:  fetch,
			desc: ocispec.Descriptor{Digest: "sha256/../../" + digest.Digest(dgst)},
			want: `CTF archive $: invalid digest "sha256/../../` + dgst + `": invalid checksum digest format`,
		},
		{
			name:  "size mismatch",
			build: tarWith(),
			act:   fetch,
			desc:  ocispec.Descriptor{Digest: digest.Digest(dgst), Size: 7},
			want:  "blob " + dgst + " in CTF archive $ (blobs/" + blobFile(goodBlob) + "): size mismatch: descriptor says 7 bytes, archive holds " + strconv.Itoa(len(goodBlob)),
		},
		{
			name: "size mismatch in a directory",
			build: func(t *testing.T, dir string) string {
				d := filepath.Join(dir, "ctf")
				os.MkdirAll(filepath.Join(d, "blobs"), 0o755)
				writeFile(t, filepath.Join(d, IndexFileName), goodIndex())
				writeFile(t, filepath.Join(d, "blobs", blobFile(goodBlob)), goodBlob)
				return d
			},
			act:  fetch,
			desc: ocispec.Descriptor{Digest: digest.Digest(dgst), Size: 7},
			want: "blob " + dgst + " in CTF archive $ (blobs/" + blobFile(goodBlob) + "): size mismatch: descriptor says 7 bytes, archive holds " + strconv.Itoa(len(goodBlob)),
		},
		{
			name: "blob is a directory",
			build: func(t *testing.T, dir string) string {
				d := filepath.Join(dir, "ctf")
				os.MkdirAll(filepath.Join(d, "blobs", blobFile(goodBlob)), 0o755)
				writeFile(t, filepath.Join(d, IndexFileName), goodIndex())
				return d
			},
			act:  resolve,
			want: "CTF archive $: blob " + dgst + " (blobs/" + blobFile(goodBlob) + "): not a regular file",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.build(t, t.TempDir())
			want := strings.ReplaceAll(tc.want, "$", path)
			a, err := Open(path)
			if tc.act != open {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer a.Close()
				switch tc.act {
				case resolve:
					_, err = a.Resolve(ctx, "r", "v1")
				case fetch:
					var rc interface{ Close() error }
					rc, err = a.Fetch(ctx, "r", tc.desc)
					if err == nil {
						rc.Close()
					}
				}
			} else if err == nil {
				a.Close()
			}
			if err == nil {
				t.Fatalf("no error, want %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error\n  %q\ndoes not contain\n  %q", err, want)
			}
			if got := errors.Is(err, errdef.ErrNotFound); got != tc.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", got, tc.notFound)
			}
		})
	}
}

// removeTrailer drops the end-of-archive blocks of the first of two
// concatenated tar streams so that the second one's entries are read.
func removeTrailer(data []byte) []byte {
	// tarBytes(first) ends with two zero blocks (and no further padding,
	// because bytes.Buffer is not a blocked writer): find and cut them.
	var out []byte
	for i := 0; i+512 <= len(data); i += 512 {
		block := data[i : i+512]
		if isZero(block) {
			continue
		}
		out = append(out, block...)
	}
	return out
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestParseIndex(t *testing.T) {
	idx, err := ParseIndex([]byte(`{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"` + digestOf(goodBlob) + `"}]}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Artifacts) != 1 || idx.Artifacts[0].Tag != "" || idx.Artifacts[0].MediaType != "" {
		t.Errorf("ParseIndex = %+v", idx)
	}
	for _, bad := range []string{``, `null`, `[]`, `{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"sha256:abc"}]}`,
		`{"schemaVersion":1,"artifacts":[{"repository":"r","digest":"md5:d41d8cd98f00b204e9800998ecf8427e"}]}`} {
		if _, err := ParseIndex([]byte(bad)); err == nil {
			t.Errorf("ParseIndex(%q) succeeded", bad)
		}
	}
}
