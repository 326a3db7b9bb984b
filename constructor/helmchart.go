package constructor

// A replica of what the reference does with a chart directory: Helm v4's
// loader.LoadDir followed by chartutil.Save (helm.sh/helm/v4 pkg/chart/v2),
// reduced to what packaging needs, so that the same directory gives the same
// .tgz bytes without the Helm SDK. Deviations are marked.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/descriptor"
)

// Helm's limits (pkg/chart/loader/archive).
const (
	helmMaxFileSize  = 5 << 20   // MaxDecompressedFileSize
	helmMaxChartSize = 100 << 20 // MaxDecompressedChartSize
)

// helmGzipExtra is the gzip header Extra field chartutil.Save writes.
var helmGzipExtra = []byte("+aHR0cHM6Ly95b3V0dS5iZS96OVV6MWljandyTQo=")

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// chartMetadata is Helm's chart.Metadata (the model of Chart.yaml); field
// order and JSON tags matter, Chart.yaml is re-written from it.
type chartMetadata struct {
	Name         string             `json:"name,omitempty"`
	Home         string             `json:"home,omitempty"`
	Sources      []string           `json:"sources,omitempty"`
	Version      string             `json:"version,omitempty"`
	Description  string             `json:"description,omitempty"`
	Keywords     []string           `json:"keywords,omitempty"`
	Maintainers  []*chartMaintainer `json:"maintainers,omitempty"`
	Icon         string             `json:"icon,omitempty"`
	APIVersion   string             `json:"apiVersion,omitempty"`
	Condition    string             `json:"condition,omitempty"`
	Tags         string             `json:"tags,omitempty"`
	AppVersion   string             `json:"appVersion,omitempty"`
	Deprecated   bool               `json:"deprecated,omitempty"`
	Annotations  map[string]string  `json:"annotations,omitempty"`
	KubeVersion  string             `json:"kubeVersion,omitempty"`
	Dependencies []*chartDependency `json:"dependencies,omitempty"`
	Type         string             `json:"type,omitempty"`
}

type chartMaintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

type chartDependency struct {
	Name         string   `json:"name"`
	Version      string   `json:"version,omitempty"`
	Repository   string   `json:"repository"`
	Condition    string   `json:"condition,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	Enabled      bool     `json:"enabled,omitempty"`
	ImportValues []any    `json:"import-values,omitempty"`
	Alias        string   `json:"alias,omitempty"`
}

type chartLock struct {
	Generated    time.Time          `json:"generated"`
	Digest       string             `json:"digest"`
	Dependencies []*chartDependency `json:"dependencies"`
}

const (
	chartAPIVersionV1 = "v1"
	chartAPIVersionV2 = "v2"
)

var aliasNameFormat = regexp.MustCompile("^[a-zA-Z0-9_-]+$")

// sanitizeString is Helm's: whitespace becomes a space, non-printables go.
func sanitizeString(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

// isValidSemver approximates Masterminds semver.NewVersion, which Helm uses:
// the same relaxed pattern (leading v, optional minor and patch) plus its
// overflow checks.
func isValidSemver(v string) bool {
	m := descriptor.RelaxedSemverRE.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	for _, n := range m[1:4] {
		if n == "" {
			continue
		}
		if _, err := strconv.ParseUint(n, 10, 64); err != nil {
			return false
		}
	}
	return true
}

// validate is Helm's Metadata.Validate: it sanitizes strings in place.
func (md *chartMetadata) validate() error {
	md.Name = sanitizeString(md.Name)
	md.Description = sanitizeString(md.Description)
	md.Home = sanitizeString(md.Home)
	md.Icon = sanitizeString(md.Icon)
	md.Condition = sanitizeString(md.Condition)
	md.Tags = sanitizeString(md.Tags)
	md.AppVersion = sanitizeString(md.AppVersion)
	md.KubeVersion = sanitizeString(md.KubeVersion)
	for i := range md.Sources {
		md.Sources[i] = sanitizeString(md.Sources[i])
	}
	for i := range md.Keywords {
		md.Keywords[i] = sanitizeString(md.Keywords[i])
	}
	switch {
	case md.APIVersion == "":
		return errors.New("chart.metadata.apiVersion is required")
	case md.Name == "":
		return errors.New("chart.metadata.name is required")
	case md.Name == "." || md.Name == "..":
		return fmt.Errorf("chart.metadata.name %q is not allowed", md.Name)
	case md.Name != filepath.Base(md.Name):
		return fmt.Errorf("chart.metadata.name %q is invalid", md.Name)
	case md.Version == "":
		return errors.New("chart.metadata.version is required")
	case !isValidSemver(md.Version):
		return fmt.Errorf("chart.metadata.version %q is invalid", md.Version)
	case md.Type != "" && md.Type != "application" && md.Type != "library":
		return errors.New("chart.metadata.type must be application or library")
	}
	for _, m := range md.Maintainers {
		if m == nil {
			return errors.New("maintainers must not contain empty or null nodes")
		}
		m.Name, m.Email, m.URL = sanitizeString(m.Name), sanitizeString(m.Email), sanitizeString(m.URL)
	}
	seen := map[string]bool{}
	for _, d := range md.Dependencies {
		if d == nil {
			return errors.New("dependencies must not contain empty or null nodes")
		}
		d.Name, d.Version = sanitizeString(d.Name), sanitizeString(d.Version)
		d.Repository, d.Condition = sanitizeString(d.Repository), sanitizeString(d.Condition)
		for i := range d.Tags {
			d.Tags[i] = sanitizeString(d.Tags[i])
		}
		if d.Alias != "" && !aliasNameFormat.MatchString(d.Alias) {
			return fmt.Errorf("dependency %q has disallowed characters in the alias", d.Name)
		}
		key := d.Name
		if d.Alias != "" {
			key = d.Alias
		}
		if seen[key] {
			return fmt.Errorf("more than one dependency with name or alias %q", key)
		}
		seen[key] = true
	}
	return nil
}

// chartFile is a file of a chart (Helm's archive.BufferedFile / common.File).
type chartFile struct {
	name    string
	modTime time.Time
	data    []byte
}

// chart is the part of Helm's chart.Chart that Save writes.
type chart struct {
	metadata      *chartMetadata
	modTime       time.Time // of Chart.yaml
	lock          *chartLock
	raw           []chartFile // every file, for values.yaml
	schema        []byte
	schemaModTime time.Time
	templates     []chartFile
	files         []chartFile
	dependencies  []*chart
}

// --- loading a directory (loader.LoadDir) --------------------------------

// loadChartDir loads a chart directory as Helm does: .helmignore rules plus
// the default "templates/.?*", symlinks followed, names walked in lexical
// order, irregular files and files over 5 MiB refused, a UTF-8 BOM trimmed.
func loadChartDir(dir string) (*chart, error) {
	top, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	rules := &ignoreRules{}
	ignoreFile := filepath.Join(top, ".helmignore")
	if _, err := os.Stat(ignoreFile); err == nil {
		if rules, err = parseIgnoreFile(ignoreFile); err != nil {
			return nil, fmt.Errorf("%s: %w", ignoreFile, err)
		}
	}
	rules.addDefaults()

	var files []chartFile
	var total int64
	prefix := top + string(filepath.Separator)
	walk := func(name string, fi fs.FileInfo) error {
		n := strings.TrimPrefix(name, prefix)
		if n == "" || name == top {
			return nil
		}
		n = filepath.ToSlash(n)
		if fi.IsDir() {
			if rules.ignore(n, fi) {
				return filepath.SkipDir
			}
			return nil
		}
		if rules.ignore(n, fi) {
			return nil
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("cannot load irregular file %s as it has file mode type bits set", name)
		}
		if fi.Size() > helmMaxFileSize {
			return fmt.Errorf("chart file %q is larger than the maximum file size %d", fi.Name(), helmMaxFileSize)
		}
		if total += fi.Size(); total > helmMaxChartSize {
			return fmt.Errorf("chart is larger than the maximum size %d", helmMaxChartSize)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("error reading %s: %w", n, err)
		}
		files = append(files, chartFile{name: n, modTime: fi.ModTime(), data: bytes.TrimPrefix(data, utf8BOM)})
		return nil
	}
	if err := symWalk(top, walk); err != nil {
		return nil, err
	}
	return loadChartFiles(files)
}

// symWalk is Helm's sympath.Walk: lexical order, symlinks followed (the
// callback gets the link's path with the target's info). Deviation: a
// symlink leading back into a directory being walked is an error, where Helm
// would recurse until the path gets too long.
func symWalk(root string, fn func(string, fs.FileInfo) error) error {
	info, err := os.Lstat(root)
	if err != nil {
		return err
	}
	w := &symWalker{fn: fn, active: map[string]bool{}}
	if err := w.walk(root, info); err != nil && !errors.Is(err, filepath.SkipDir) {
		return err
	}
	return nil
}

type symWalker struct {
	fn     func(string, fs.FileInfo) error
	active map[string]bool // real paths of the directories being walked
}

func (w *symWalker) walk(p string, info fs.FileInfo) error {
	if info.Mode()&fs.ModeSymlink != 0 {
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("error evaluating symlink %s: %w", p, err)
		}
		if info, err = os.Lstat(resolved); err != nil {
			return err
		}
		if err := w.walk(p, info); err != nil && !errors.Is(err, filepath.SkipDir) {
			return err
		}
		return nil
	}
	if err := w.fn(p, info); err != nil {
		return err
	}
	if !info.IsDir() {
		return nil
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if w.active[real] {
		return fmt.Errorf("symlink cycle: %s leads back to %s", p, real)
	}
	w.active[real] = true
	defer delete(w.active, real)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	slices.Sort(names)
	for _, name := range names {
		child := filepath.Join(p, name)
		fi, err := os.Lstat(child)
		if err != nil {
			return err
		}
		if err := w.walk(child, fi); err != nil {
			if (!fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0) || !errors.Is(err, filepath.SkipDir) {
				return err
			}
		}
	}
	return nil
}

// loadChartFiles is Helm's loader.LoadFiles. Deviation: sub-charts are
// added in name order (Helm ranges over a map, so its order is random).
func loadChartFiles(files []chartFile) (*chart, error) {
	c := &chart{}
	for _, f := range files {
		c.raw = append(c.raw, f)
		if f.name == "Chart.yaml" {
			if c.metadata == nil {
				c.metadata = new(chartMetadata)
			}
			if err := yaml.Unmarshal(f.data, c.metadata); err != nil {
				return nil, fmt.Errorf("cannot load Chart.yaml: %w", err)
			}
			if c.metadata.APIVersion == "" {
				c.metadata.APIVersion = chartAPIVersionV1
			}
			c.modTime = f.modTime
		}
	}
	subcharts := map[string][]chartFile{}
	for _, f := range files {
		switch {
		case f.name == "Chart.yaml":
		case f.name == "Chart.lock":
			c.lock = new(chartLock)
			if err := yaml.Unmarshal(f.data, c.lock); err != nil {
				return nil, fmt.Errorf("cannot load Chart.lock: %w", err)
			}
		case f.name == "values.yaml":
			// Helm parses the values (possibly several documents); only
			// the first document is checked here.
			var values map[string]any
			if err := yaml.Unmarshal(f.data, &values); err != nil {
				return nil, fmt.Errorf("cannot load values.yaml: %w", err)
			}
		case f.name == "values.schema.json":
			c.schema, c.schemaModTime = f.data, f.modTime
		case f.name == "requirements.yaml":
			if c.metadata == nil {
				c.metadata = new(chartMetadata)
			}
			if err := yaml.Unmarshal(f.data, c.metadata); err != nil {
				return nil, fmt.Errorf("cannot load requirements.yaml: %w", err)
			}
			if c.metadata.APIVersion == chartAPIVersionV1 {
				c.files = append(c.files, f)
			}
		case f.name == "requirements.lock":
			c.lock = new(chartLock)
			if err := yaml.Unmarshal(f.data, c.lock); err != nil {
				return nil, fmt.Errorf("cannot load requirements.lock: %w", err)
			}
			if c.metadata == nil {
				c.metadata = new(chartMetadata)
			}
			if c.metadata.APIVersion == chartAPIVersionV1 {
				c.files = append(c.files, f)
			}
		case strings.HasPrefix(f.name, "templates/"):
			c.templates = append(c.templates, f)
		case strings.HasPrefix(f.name, "charts/"):
			if filepath.Ext(f.name) == ".prov" {
				c.files = append(c.files, f)
				continue
			}
			fname := strings.TrimPrefix(f.name, "charts/")
			cname := strings.SplitN(fname, "/", 2)[0]
			subcharts[cname] = append(subcharts[cname], chartFile{name: fname, modTime: f.modTime, data: f.data})
		default:
			c.files = append(c.files, f)
		}
	}
	if c.metadata == nil {
		//lint:ignore ST1005 the message starts with a file name, and is Helm's own
		return nil, errors.New("Chart.yaml file is missing")
	}
	if err := c.metadata.validate(); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(subcharts))
	for n := range subcharts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		files := subcharts[n]
		var (
			sc  *chart
			err error
		)
		switch {
		case strings.IndexAny(n, "_.") == 0:
			continue
		case filepath.Ext(n) == ".tgz":
			if files[0].name != n {
				return nil, fmt.Errorf("error unpacking subchart tar in %s: expected %s, got %s", c.metadata.Name, n, files[0].name)
			}
			var archived []chartFile
			if archived, err = loadArchiveFiles(bytes.NewReader(files[0].data)); err == nil {
				sc, err = loadChartFiles(archived)
			}
		default:
			var buff []chartFile
			for _, f := range files {
				parts := strings.SplitN(f.name, "/", 2)
				if len(parts) < 2 {
					continue
				}
				f.name = parts[1]
				buff = append(buff, f)
			}
			sc, err = loadChartFiles(buff)
		}
		if err != nil {
			return nil, fmt.Errorf("error unpacking subchart %s in %s: %w", n, c.metadata.Name, err)
		}
		c.dependencies = append(c.dependencies, sc)
	}
	return c, nil
}

var drivePathPattern = regexp.MustCompile(`^[a-zA-Z]:/`)

// loadArchiveFiles is Helm's archive.LoadArchiveFiles: the files of a
// packaged chart, names without their top directory, with its path checks.
func loadArchiveFiles(in io.Reader) ([]chartFile, error) {
	var files []chartFile
	err := scanChartArchive(in, func(name string, hdr *tar.Header, r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		files = append(files, chartFile{name: name, modTime: hdr.ModTime, data: bytes.TrimPrefix(data, utf8BOM)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no files in chart archive")
	}
	return files, nil
}

// scanChartArchive walks the regular files of a .tgz chart with Helm's
// checks and size limits, giving each file's name inside the chart.
func scanChartArchive(in io.Reader, fn func(name string, hdr *tar.Header, r io.Reader) error) error {
	zr, err := gzip.NewReader(bufio.NewReader(in))
	if err != nil {
		return err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	remaining := int64(helmMaxChartSize)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if hdr.FileInfo().IsDir() {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		}
		delimiter := "/"
		if strings.ContainsRune(hdr.Name, '\\') {
			delimiter = "\\"
		}
		parts := strings.Split(hdr.Name, delimiter)
		n := strings.ReplaceAll(strings.Join(parts[1:], delimiter), delimiter, "/")
		if path.IsAbs(n) {
			return errors.New("chart illegally contains absolute paths")
		}
		n = path.Clean(n)
		if n == "." {
			return fmt.Errorf("chart illegally contains content outside the base directory: %q", hdr.Name)
		}
		if strings.HasPrefix(n, "..") {
			return errors.New("chart illegally references parent directory")
		}
		if drivePathPattern.MatchString(n) {
			return errors.New("chart contains illegally named files")
		}
		if parts[0] == "Chart.yaml" {
			return errors.New("chart yaml not in base directory")
		}
		if hdr.Size > remaining {
			return fmt.Errorf("decompressed chart is larger than the maximum size %d", helmMaxChartSize)
		}
		if hdr.Size > helmMaxFileSize {
			return fmt.Errorf("decompressed chart file %q is larger than the maximum file size %d", hdr.Name, helmMaxFileSize)
		}
		remaining -= hdr.Size
		if err := fn(n, hdr, io.LimitReader(tr, hdr.Size)); err != nil {
			return err
		}
	}
}

// --- packaging (chartutil.Save) ------------------------------------------

// errTooLarge is returned when a packaged chart exceeds the in-memory cap.
var errTooLarge = errors.New("too large")

type cappedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

// saveChart packages c exactly as chartutil.Save writes <name>-<version>.tgz:
// gzip with Helm's Extra and Comment, tar entries with mode 0644 and each
// file's mtime (clamped to SOURCE_DATE_EPOCH when that is set; Helm would use
// the current time for a zero mtime, we use SOURCE_DATE_EPOCH or 1970).
func saveChart(c *chart, sde *time.Time, limit int) ([]byte, error) {
	if err := c.metadata.validate(); err != nil {
		return nil, fmt.Errorf("chart validation: %w", err)
	}
	buf := &cappedBuffer{limit: limit}
	zw := gzip.NewWriter(buf)
	zw.Extra = helmGzipExtra
	zw.Comment = "Helm"
	tw := tar.NewWriter(zw)
	err := writeChartTar(tw, c, "", sde)
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("the packaged chart is larger than %d bytes", limit)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeChartTar(out *tar.Writer, c *chart, prefix string, sde *time.Time) error {
	name := c.metadata.Name
	if filepath.Base(name) != name {
		return fmt.Errorf("chart name %q is invalid", name)
	}
	base := path.Join(prefix, name)

	md := *c.metadata
	if md.APIVersion == chartAPIVersionV1 {
		md.Dependencies = nil
	}
	cdata, err := yaml.Marshal(&md)
	if err != nil {
		return err
	}
	put := func(name string, data []byte, modTime time.Time) error {
		return writeChartEntry(out, name, data, modTime, sde)
	}
	if err := put(base+"/Chart.yaml", cdata, c.modTime); err != nil {
		return err
	}
	if md.APIVersion == chartAPIVersionV2 && c.lock != nil {
		ldata, err := yaml.Marshal(c.lock)
		if err != nil {
			return err
		}
		if err := put(base+"/Chart.lock", ldata, c.lock.Generated); err != nil {
			return err
		}
	}
	for _, f := range c.raw {
		if f.name == "values.yaml" {
			if err := put(base+"/values.yaml", f.data, f.modTime); err != nil {
				return err
			}
		}
	}
	if c.schema != nil {
		if !json.Valid(c.schema) {
			return errors.New("invalid JSON in values.schema.json")
		}
		if err := put(base+"/values.schema.json", c.schema, c.schemaModTime); err != nil {
			return err
		}
	}
	for _, group := range [][]chartFile{c.templates, c.files} {
		for _, f := range group {
			if err := put(path.Join(base, f.name), f.data, f.modTime); err != nil {
				return err
			}
		}
	}
	for _, dep := range c.dependencies {
		if err := writeChartTar(out, dep, base+"/charts", sde); err != nil {
			return err
		}
	}
	return nil
}

func writeChartEntry(out *tar.Writer, name string, body []byte, modTime time.Time, sde *time.Time) error {
	switch {
	case sde != nil && (modTime.IsZero() || modTime.After(*sde)):
		modTime = *sde
	case modTime.IsZero():
		modTime = epoch
	}
	h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: modTime}
	if err := out.WriteHeader(h); err != nil {
		return err
	}
	_, err := out.Write(body)
	return err
}

// --- .helmignore (pkg/ignore) --------------------------------------------

type ignorePattern struct {
	negate  bool
	mustDir bool
	match   func(name string) bool
}

type ignoreRules struct{ patterns []ignorePattern }

func parseIgnoreFile(file string) (*ignoreRules, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &ignoreRules{}
	s := bufio.NewScanner(f)
	first := true
	for s.Scan() {
		line := s.Bytes()
		if first {
			line = bytes.TrimPrefix(line, utf8BOM)
			first = false
		}
		if err := r.parseRule(string(line)); err != nil {
			return r, err
		}
	}
	return r, s.Err()
}

func (r *ignoreRules) addDefaults() { _ = r.parseRule("templates/.?*") }

func (r *ignoreRules) parseRule(rule string) error {
	rule = strings.TrimSpace(rule)
	if rule == "" || strings.HasPrefix(rule, "#") {
		return nil
	}
	if strings.Contains(rule, "**") {
		return errors.New("double-star (**) syntax is not supported")
	}
	if _, err := filepath.Match(rule, "abc"); err != nil {
		return err
	}
	p := ignorePattern{}
	if strings.HasPrefix(rule, "!") {
		p.negate = true
		rule = rule[1:]
	}
	if strings.HasSuffix(rule, "/") {
		p.mustDir = true
		rule = strings.TrimSuffix(rule, "/")
	}
	switch {
	case strings.HasPrefix(rule, "/"):
		rule = rule[1:]
		p.match = func(n string) bool { ok, _ := filepath.Match(rule, n); return ok }
	case strings.Contains(rule, "/"):
		p.match = func(n string) bool { ok, _ := filepath.Match(rule, n); return ok }
	default:
		p.match = func(n string) bool { ok, _ := filepath.Match(rule, filepath.Base(n)); return ok }
	}
	r.patterns = append(r.patterns, p)
	return nil
}

// ignore is Helm's Rules.Ignore, quirks included: the first matching rule
// decides, and a negated rule that does not match ignores the path.
func (r *ignoreRules) ignore(name string, fi fs.FileInfo) bool {
	if name == "" || name == "." || name == "./" {
		return false
	}
	for _, p := range r.patterns {
		if p.negate {
			if p.mustDir && !fi.IsDir() {
				return true
			}
			if !p.match(name) {
				return true
			}
			continue
		}
		if p.mustDir && !fi.IsDir() {
			continue
		}
		if p.match(name) {
			return true
		}
	}
	return false
}
