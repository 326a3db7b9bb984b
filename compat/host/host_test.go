package host

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ocmgo/ocm/compat"
)

func write(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const cpuinfoX86 = `processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 85
model name	: Intel(R) Xeon(R)
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand lahf_lm abm bmi1 avx2 bmi2 erms avx512f avx512dq avx512cd avx512bw avx512vl sha_ni avx512_vnni

processor	: 1
vendor_id	: GenuineIntel
flags		: fpu
`

// fixture builds a host tree with every source NFD reads.
func fixture(t *testing.T) string {
	root := t.TempDir()
	write(t, root, "proc/sys/kernel/osrelease", "6.8.0-45-generic\n")
	write(t, root, "proc/sys/kernel/hostname", "node-a\n")
	write(t, root, "proc/modules", "vfio_pci 16384 0 - Live 0x0000000000000000\nnvidia_uvm 1 0 - Live 0x0\noverlay 2 0 - Live 0x0\n")
	write(t, root, "proc/config.gz", gz(t, "# comment\nCONFIG_MODULES=y\nCONFIG_DRM=m\nCONFIG_LOCALVERSION=\"-generic\"\n# CONFIG_DRM_NOUVEAU is not set\nCONFIG_NR_CPUS=8192\n"))
	write(t, root, "lib/modules/6.8.0-45-generic/modules.builtin", "kernel/drivers/vfio/pci/vfio-pci.ko\nkernel/fs/ext4/ext4.ko\n")
	write(t, root, "etc/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME='Ubuntu 22.04.4 LTS'\n")
	write(t, root, "proc/cpuinfo", cpuinfoX86)
	write(t, root, "proc/swaps", "Filename Type Size Used Priority\n")
	write(t, root, "sys/bus/node/devices/node0/cpulist", "0-3")
	write(t, root, "sys/bus/node/devices/node1/cpulist", "4-7")
	write(t, root, "sys/bus/cpu/devices/cpu0/topology/thread_siblings_list", "0,4\n")
	write(t, root, "sys/bus/cpu/devices/cpu0/topology/physical_package_id", "0\n")
	write(t, root, "sys/bus/cpu/devices/cpu1/topology/thread_siblings_list", "1,5\n")
	write(t, root, "sys/bus/cpu/devices/cpu1/topology/physical_package_id", "1\n")
	pci := func(addr, class, vendor, device string) {
		d := "sys/bus/pci/devices/" + addr + "/"
		write(t, root, d+"class", class+"\n")
		write(t, root, d+"vendor", vendor+"\n")
		write(t, root, d+"device", device+"\n")
		write(t, root, d+"subsystem_vendor", vendor+"\n")
		write(t, root, d+"subsystem_device", "0x0000\n")
	}
	pci("0000:00:02.0", "0x030000", "0x8086", "0x3e92")
	pci("0000:3b:00.0", "0x030200", "0x10de", "0x2330")
	write(t, root, "sys/bus/pci/devices/0000:3b:00.0/sriov_totalvfs", "16\n")
	write(t, root, "sys/bus/pci/devices/0000:99:00.0/class", "0x020000\n") // incomplete: skipped
	write(t, root, "sys/bus/usb/devices/1-1/idProduct", "0002\n")
	write(t, root, "sys/bus/usb/devices/1-1/idVendor", "1d6b\n")
	write(t, root, "sys/bus/usb/devices/1-1/bDeviceClass", "09\n")
	write(t, root, "sys/bus/usb/devices/1-1/serial", "0000:00:14.0\n")
	write(t, root, "sys/class/net/eth0/operstate", "up\n")
	write(t, root, "sys/class/net/eth0/device/sriov_totalvfs", "8\n")
	write(t, root, "sys/class/net/lo/operstate", "unknown\n")
	return root
}

func TestDiscoverFixture(t *testing.T) {
	f, err := Discover(Options{Root: fixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	attr := func(feature, key string) string { return f.Attributes[feature].Elements[key] }
	for _, c := range []struct{ feature, key, want string }{
		{"kernel.version", "full", "6.8.0-45-generic"},
		{"kernel.version", "major", "6"},
		{"kernel.version", "minor", "8"},
		{"kernel.version", "revision", "0"},
		{"kernel.config", "MODULES", "y"},
		{"kernel.config", "LOCALVERSION", "-generic"},
		{"kernel.config", "NR_CPUS", "8192"},
		{"system.osrelease", "ID", "ubuntu"},
		{"system.osrelease", "VERSION_ID", "22.04"},
		{"system.osrelease", "VERSION_ID.major", "22"},
		{"system.osrelease", "VERSION_ID.minor", "04"},
		{"system.osrelease", "PRETTY_NAME", "Ubuntu 22.04.4 LTS"},
		{"system.name", "nodename", "node-a"},
		{"cpu.model", "vendor_id", "Intel"},
		{"cpu.model", "family", "6"},
		{"cpu.model", "id", "85"},
		{"cpu.model", "hypervisor", "none"},
		{"cpu.topology", "hardware_multithreading", "true"},
		{"cpu.topology", "socket_count", "2"},
		{"memory.numa", "is_numa", "true"},
		{"memory.numa", "node_count", "2"},
		{"memory.swap", "enabled", "false"},
	} {
		if got := attr(c.feature, c.key); got != c.want {
			t.Errorf("%s.%s = %q, want %q", c.feature, c.key, got, c.want)
		}
	}
	if _, ok := f.Attributes["kernel.config"].Elements["DRM_NOUVEAU"]; ok {
		t.Error("unset kernel option recorded")
	}
	flags := func(feature string) []string {
		var out []string
		for k := range f.Flags[feature].Elements {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if got := flags("kernel.loadedmodule"); !slices.Equal(got, []string{"nvidia_uvm", "overlay", "vfio_pci"}) {
		t.Errorf("loadedmodule %v", got)
	}
	if got := flags("kernel.enabledmodule"); !slices.Equal(got, []string{"ext4", "nvidia_uvm", "overlay", "vfio-pci", "vfio_pci"}) {
		t.Errorf("enabledmodule %v", got)
	}
	cpuid := flags("cpu.cpuid")
	for _, want := range []string{"AVX2", "AVX512F", "SSE42", "SSE4", "AESNI", "CMPXCHG8", "SYSEE", "SHA", "FMA3", "LZCNT", "OSXSAVE", "X86_64_V1", "X86_64_V2", "X86_64_V3", "X86_64_V4"} {
		if !slices.Contains(cpuid, want) {
			t.Errorf("cpu.cpuid lacks %s: %v", want, cpuid)
		}
	}
	for _, not := range []string{"avx2", "LM", "sse4_2"} {
		if slices.Contains(cpuid, not) {
			t.Errorf("cpu.cpuid has kernel name %s", not)
		}
	}
	pci := f.Instances["pci.device"].Elements
	if len(pci) != 2 {
		t.Fatalf("pci devices %+v", pci)
	}
	if a := pci[1].Attributes; a["class"] != "0302" || a["vendor"] != "10de" || a["device"] != "2330" || a["subsystem_device"] != "0000" || a["sriov_totalvfs"] != "16" {
		t.Errorf("pci device %+v", a)
	}
	if a := pci[0].Attributes; a["class"] != "0300" || a["vendor"] != "8086" {
		t.Errorf("pci device %+v", a)
	}
	usb := f.Instances["usb.device"].Elements
	if len(usb) != 1 || usb[0].Attributes["vendor"] != "1d6b" || usb[0].Attributes["class"] != "09" || usb[0].Attributes["device"] != "0002" {
		t.Errorf("usb %+v", usb)
	}
	if n := f.Instances["network.device"].Elements; len(n) != 1 || n[0].Attributes["name"] != "eth0" || n[0].Attributes["sriov_totalvfs"] != "8" {
		t.Errorf("network.device %+v", n)
	}
	if n := f.Instances["network.virtual"].Elements; len(n) != 1 || n[0].Attributes["name"] != "lo" {
		t.Errorf("network.virtual %+v", n)
	}

	// The features feed the evaluator: the example's GPU set needs more
	// than this host has (cpu.model AMD/Intel ok, no nvidia module).
	js, err := f.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	back, err := compat.ParseFeatures(js)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := compat.Parse([]byte(`version: v1alpha1
compatibilities:
- rules:
  - name: gpu
    matchFeatures:
    - feature: pci.device
      matchExpressions: {vendor: {op: In, value: ["10de"]}, class: {op: In, value: ["0302"]}}
    - feature: kernel.config
      matchExpressions: {DRM_NOUVEAU: {op: DoesNotExist}, MODULES: {op: IsTrue}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := compat.Evaluate(spec, back, compat.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Compatible {
		t.Error("MODULES=y is not IsTrue, yet compatible")
	}
	if e := rep.Sets[0].Rules[0].FailedExpressions(); len(e) != 1 || e[0].Name != "MODULES" || e[0].Observed != `"y"` {
		t.Errorf("failed expressions %+v", e)
	}
}

// Sources whose files are missing are not discovered, rather than empty.
func TestDiscoverEmptyRoot(t *testing.T) {
	root := t.TempDir()
	write(t, root, "proc/sys/kernel/osrelease", "5.4.0\n")
	write(t, root, "boot/config-5.4.0", "CONFIG_X=y\n")
	write(t, root, "usr/lib/os-release", "ID=rhel\nVERSION_ID=9.3\n")
	f, err := Discover(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !slices.Equal(got, []string{"kernel.config", "kernel.version", "system.osrelease"}) {
		t.Errorf("features %v", got)
	}
	if f.Attributes["kernel.version"].Elements["revision"] != "0" || f.Attributes["system.osrelease"].Elements["VERSION_ID.minor"] != "3" {
		t.Errorf("%+v", f.Attributes)
	}
	if _, err := Discover(Options{Root: filepath.Join(root, "nope")}); err == nil {
		t.Error("missing root accepted")
	}
}

func TestKernelVersion(t *testing.T) {
	for in, want := range map[string][4]string{
		"6.8.0-45-generic":         {"6.8.0-45-generic", "6", "8", "0"},
		"5.15":                     {"5.15", "5", "15", ""},
		"6.1.0+debian(custom)":     {"6.1.0_debian_custom", "", "", ""}, // NFD's pattern needs "-" before a suffix
		"4.18.0-553.el8_10.x86_64": {"4.18.0-553.el8_10.x86_64", "4", "18", "0"},
	} {
		got := KernelVersion(in)
		if got["full"] != want[0] || got["major"] != want[1] || got["minor"] != want[2] || got["revision"] != want[3] {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}

func TestCPUIDArm64(t *testing.T) {
	got := CPUIDFromCPUInfo([]byte("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics sve\nCPU implementer\t: 0x41\n"))
	if !slices.Equal(got, []string{"AES", "ASIMD", "ATOMICS", "CRC32", "EVTSTRM", "FP", "PMULL", "SHA1", "SHA2", "SVE"}) {
		t.Errorf("%v", got)
	}
}

// On the real host, without root: the kernel version is uname -r.
func TestDiscoverRealHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	f, err := Discover(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := KernelVersion(b.String())["full"]
	if got := f.Attributes["kernel.version"].Elements["full"]; got != want || want == "" {
		t.Fatalf("kernel.version.full %q, uname -r %q", got, b.String())
	}
	// /proc/modules is world-readable, but absent on kernels without modules.
	_, statErr := os.Stat("/proc/modules")
	if _, ok := f.Flags["kernel.loadedmodule"]; ok != (statErr == nil) {
		t.Errorf("kernel.loadedmodule discovered %v, /proc/modules: %v", ok, statErr)
	}
}

// Levels need x86-64 (lm) and SYSENTER or SYSCALL, as klauspost's X64Level.
func TestCPUIDLevels(t *testing.T) {
	base := "vendor_id\t: AuthenticAMD\nflags\t\t: fpu cx8 cmov mmx fxsr sse sse2 lm"
	for flags, want := range map[string]string{
		base:              "",
		base + " syscall": "X86_64_V1",
		base + " sep":     "X86_64_V1",
		"flags\t: fpu cx8 cmov mmx fxsr sse sse2 syscall":             "", // 32-bit
		base + " syscall cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3": "X86_64_V2",
	} {
		got := CPUIDFromCPUInfo([]byte(flags + "\n"))
		var levels []string
		for _, g := range got {
			if strings.HasPrefix(g, "X86_64_") {
				levels = append(levels, g)
			}
		}
		top := ""
		if len(levels) > 0 {
			top = levels[len(levels)-1]
		}
		if top != want {
			t.Errorf("%q: top level %q, want %q (%v)", flags, top, want, got)
		}
	}
}
