// Package host discovers the features of a Linux host without root, in
// the names and format of NFD (`nfd export features`), so that NFD
// image-compatibility specs can be evaluated against it.
//
// Everything is read below a host root (default "/"), like NFD's
// /host-sys, /host-proc... mounts in a container. A source whose files are
// missing is left out (the feature is "not discovered"), never guessed.
package host

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ocmgo/ocm/compat"
)

// Options tune Discover.
type Options struct {
	// Root is the host root directory; "" means "/".
	Root string
	// KernelConfig, if set, is read instead of searching for the kernel
	// config (like nfd-worker's --kconfig); relative to the working directory.
	KernelConfig string
}

// maxFile bounds what is read of one file; sysfs and proc files are small,
// an uncompressed kernel config is a few hundred KiB.
const maxFile = 16 << 20

// Discover reads the host features. Only an unusable root is an error:
// sources that cannot be read are skipped.
func Discover(opts Options) (*compat.Features, error) {
	root := opts.Root
	if root == "" {
		root = "/"
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("host root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("host root %s is not a directory", root)
	}
	d := &discoverer{root: root, f: compat.NewFeatures()}
	d.kernel(opts.KernelConfig)
	d.system()
	d.cpu()
	d.memory()
	d.pci()
	d.usb()
	d.network()
	d.storage()
	return d.f, nil
}

type discoverer struct {
	root string
	f    *compat.Features
}

// p maps an absolute host path below the root.
func (d *discoverer) p(abs string) string { return filepath.Join(d.root, filepath.FromSlash(abs)) }

func (d *discoverer) read(abs string) ([]byte, error) {
	f, err := os.Open(d.p(abs))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFile))
}

// readTrim reads a one-value file (sysfs attribute).
func (d *discoverer) readTrim(abs string) (string, bool) {
	b, err := d.read(abs)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func (d *discoverer) glob(pattern string) []string {
	m, _ := filepath.Glob(d.p(pattern))
	sort.Strings(m)
	return m
}

// ---- kernel ----

var (
	kernelSanitize = regexp.MustCompile(`[^-A-Za-z0-9_.]`)
	kernelVersion  = regexp.MustCompile(`^(\d+)(\.(\d+))?(\.(\d+))?(-.*)?$`)
)

// KernelVersion returns NFD's kernel.version attributes for an osrelease
// string (as `uname -r` prints it).
func KernelVersion(osrelease string) map[string]string {
	full := strings.Trim(kernelSanitize.ReplaceAllString(strings.TrimSpace(osrelease), "_"), "-_.")
	out := map[string]string{"full": full}
	if m := kernelVersion.FindStringSubmatch(full); m != nil {
		out["major"] = m[1]
		if m[3] != "" {
			out["minor"] = m[3]
		}
		if m[5] != "" {
			out["revision"] = m[5]
		}
	}
	return out
}

func (d *discoverer) kernel(kconfig string) {
	release, ok := d.readTrim("/proc/sys/kernel/osrelease")
	if ok && release != "" {
		d.f.AddAttributes("kernel.version", KernelVersion(release))
	}
	if cfg, ok := d.kernelConfig(kconfig, release); ok {
		d.f.AddAttributes("kernel.config", cfg)
	}
	loaded, okLoaded := d.loadedModules()
	if okLoaded {
		d.f.AddFlags("kernel.loadedmodule", loaded...)
	}
	builtin, okBuiltin := d.builtinModules(release)
	if okLoaded || okBuiltin {
		d.f.AddFlags("kernel.enabledmodule", append(loaded, builtin...)...)
	}
	if v, ok := d.readTrim("/sys/fs/selinux/enforce"); ok {
		d.f.AddAttributes("kernel.selinux", map[string]string{"enabled": strconv.FormatBool(strings.HasPrefix(v, "1"))})
	} else if _, err := os.Stat(d.p("/sys/fs")); err == nil {
		d.f.AddAttributes("kernel.selinux", map[string]string{"enabled": "false"})
	}
}

// kernelConfig reads the first readable config, in nfd-worker's order.
func (d *discoverer) kernelConfig(explicit, release string) (map[string]string, bool) {
	var data []byte
	if explicit != "" {
		b, err := os.ReadFile(explicit)
		if err != nil {
			return nil, false
		}
		data = b
	} else {
		candidates := []string{"/proc/config.gz"}
		if release != "" {
			v := release
			candidates = append(candidates,
				"/usr/src/linux-"+v+"/.config", "/usr/src/linux-rt-"+v+"/.config", "/usr/src/linux/.config",
				"/usr/lib/modules/"+v+"/config", "/usr/lib/ostree-boot/config-"+v, "/usr/lib/kernel/config-"+v,
				"/usr/src/linux-headers-"+v+"/.config", "/lib/modules/"+v+"/build/.config",
				"/usr/src/linux-rt-headers-"+v+"/.config", "/boot/config-"+v)
		}
		for _, c := range candidates {
			if b, err := d.read(c); err == nil {
				data = b
				break
			}
		}
		if data == nil {
			return nil, false
		}
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, false
		}
		b, err := io.ReadAll(io.LimitReader(zr, maxFile))
		if err != nil {
			return nil, false
		}
		data = b
	}
	return ParseKernelConfig(data), true
}

// ParseKernelConfig parses a kconfig file: CONFIG_X=v becomes X → v with
// surrounding quotes removed; "# … is not set" lines are ignored.
func ParseKernelConfig(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "CONFIG_") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "CONFIG_"), "=")
		if !ok {
			continue
		}
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

func (d *discoverer) loadedModules() ([]string, bool) {
	b, err := d.read("/proc/modules")
	if err != nil {
		return nil, false
	}
	var mods []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			mods = append(mods, f[0])
		}
	}
	return mods, true
}

func (d *discoverer) builtinModules(release string) ([]string, bool) {
	if release == "" {
		return nil, false
	}
	var b []byte
	var err error
	for _, dir := range []string{"/lib/modules/", "/usr/lib/modules/"} {
		if b, err = d.read(dir + release + "/modules.builtin"); err == nil {
			break
		}
	}
	if err != nil {
		return nil, false
	}
	var mods []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasSuffix(line, ".ko") {
			mods = append(mods, strings.TrimSuffix(path.Base(line), ".ko"))
		}
	}
	return mods, true
}

// ---- system ----

var (
	osReleaseLine = regexp.MustCompile(`^(\w+)=(.+)`)
	versionID     = regexp.MustCompile(`^(\d+)(\.(\d+))?(\..*)?$`)
)

// ParseOSRelease parses os-release(5) as NFD does, adding VERSION_ID.major
// and VERSION_ID.minor.
func ParseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		m := osReleaseLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		out[m[1]] = strings.Trim(m[2], `"'`)
	}
	if v, ok := out["VERSION_ID"]; ok {
		if m := versionID.FindStringSubmatch(v); m != nil {
			out["VERSION_ID.major"] = m[1]
			if m[3] != "" {
				out["VERSION_ID.minor"] = m[3]
			}
		}
	}
	return out
}

func (d *discoverer) system() {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if b, err := d.read(p); err == nil {
			d.f.AddAttributes("system.osrelease", ParseOSRelease(b))
			break
		}
	}
	if n, ok := d.readTrim("/proc/sys/kernel/hostname"); ok && n != "" {
		d.f.AddAttributes("system.name", map[string]string{"nodename": n})
	}
	dmi := map[string]string{}
	for _, a := range []string{"bios_date", "bios_release", "bios_vendor", "bios_version", "board_asset_tag", "board_name", "board_vendor", "board_version", "chassis_asset_tag", "chassis_type", "chassis_vendor", "chassis_version", "product_family", "product_name", "product_sku", "product_version", "sys_vendor"} {
		if v, ok := d.readTrim("/sys/devices/virtual/dmi/id/" + a); ok {
			dmi[a] = v
		}
	}
	if len(dmi) > 0 {
		d.f.AddAttributes("system.dmiid", dmi)
	}
}

// ---- memory ----

func (d *discoverer) memory() {
	if nodes := d.glob("/sys/bus/node/devices/node[0-9]*"); len(nodes) > 0 {
		d.f.AddAttributes("memory.numa", map[string]string{"is_numa": strconv.FormatBool(len(nodes) > 1), "node_count": strconv.Itoa(len(nodes))})
	} else if _, err := os.Stat(d.p("/sys/bus")); err == nil {
		// No node directory: a kernel without NUMA, one node.
		d.f.AddAttributes("memory.numa", map[string]string{"is_numa": "false", "node_count": "1"})
	}
	if b, err := d.read("/proc/swaps"); err == nil {
		lines := 0
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		d.f.AddAttributes("memory.swap", map[string]string{"enabled": strconv.FormatBool(lines > 1)})
	}
}

// ---- devices ----

// hexAttr reads a sysfs hex attribute the way NFD does: trimmed, no 0x.
func (d *discoverer) hexAttr(dir, name string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", false
	}
	return strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"), true
}

func (d *discoverer) pci() {
	base := d.p("/sys/bus/pci/devices")
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	var devs []map[string]string
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		attrs := map[string]string{}
		ok := true
		for _, a := range []string{"class", "vendor", "device", "subsystem_vendor", "subsystem_device"} {
			v, found := d.hexAttr(dir, a)
			if !found {
				ok = false // NFD skips devices without a mandatory attribute
				break
			}
			if a == "class" && len(v) > 4 {
				v = v[:4]
			}
			attrs[a] = v
		}
		if !ok {
			continue
		}
		if v, found := d.hexAttr(dir, "sriov_totalvfs"); found {
			attrs["sriov_totalvfs"] = v
		}
		if v, found := d.hexAttr(dir, "iommu_group/type"); found {
			attrs["iommu_group/type"] = v
		}
		if v, found := d.hexAttr(dir, "iommu/intel-iommu/version"); found {
			attrs["iommu/intel-iommu/version"] = v
		}
		devs = append(devs, attrs)
	}
	d.f.AddInstances("pci.device", devs...)
}

func (d *discoverer) usb() {
	var devs []map[string]string
	for _, p := range d.glob("/sys/bus/usb/devices/*/idProduct") {
		dir := filepath.Dir(p)
		attrs := map[string]string{}
		ok := true
		for attr, file := range map[string]string{"class": "bDeviceClass", "vendor": "idVendor", "device": "idProduct"} {
			v, found := d.hexAttr(dir, file)
			if !found {
				ok = false
				break
			}
			attrs[attr] = v
		}
		if !ok {
			continue
		}
		if v, found := d.hexAttr(dir, "serial"); found {
			attrs["serial"] = v
		}
		devs = append(devs, attrs)
	}
	if _, err := os.Stat(d.p("/sys/bus/usb/devices")); err == nil || len(devs) > 0 {
		d.f.AddInstances("usb.device", devs...)
	}
}

func (d *discoverer) network() {
	base := d.p("/sys/class/net")
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	var phys, virt []map[string]string
	for _, e := range entries {
		dir := filepath.Join(base, e.Name())
		attrs := map[string]string{"name": e.Name()}
		for _, a := range []string{"operstate", "speed", "mtu", "device/sriov_numvfs", "device/sriov_totalvfs"} {
			if v, err := os.ReadFile(filepath.Join(dir, a)); err == nil {
				attrs[path.Base(a)] = strings.TrimSpace(string(v))
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "device")); err == nil {
			phys = append(phys, attrs)
		} else {
			virt = append(virt, attrs)
		}
	}
	d.f.AddInstances("network.device", phys...)
	d.f.AddInstances("network.virtual", virt...)
}

func (d *discoverer) storage() {
	base := d.p("/sys/block")
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	var devs []map[string]string
	for _, e := range entries {
		attrs := map[string]string{"name": e.Name()}
		for _, a := range []string{"dax", "rotational", "nr_zones", "zoned"} {
			if v, err := os.ReadFile(filepath.Join(base, e.Name(), "queue", a)); err == nil {
				attrs[a] = strings.TrimSpace(string(v))
			}
		}
		devs = append(devs, attrs)
	}
	d.f.AddInstances("storage.block", devs...)
}

// readAbs reads a path that already includes the root (from glob).
func (d *discoverer) readAbs(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxFile))
}
