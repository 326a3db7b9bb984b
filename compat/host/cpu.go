package host

import (
	"slices"
	"strconv"
	"strings"
)

// x86Names maps /proc/cpuinfo flag names (the kernel's) to the names NFD's
// cpu.cpuid uses (klauspost/cpuid FeatureSet names). Specs written for NFD
// test the latter, e.g. AVX512F, SSE42, AESNI; a flag without an entry has
// no NFD name and is left out rather than invented.
var x86Names = map[string]string{
	"adx": "ADX", "aes": "AESNI", "amx_bf16": "AMXBF16", "amx_fp16": "AMXFP16", "amx_int8": "AMXINT8", "amx_tile": "AMXTILE",
	"avx": "AVX", "avx2": "AVX2", "avx512f": "AVX512F", "avx512bw": "AVX512BW", "avx512cd": "AVX512CD", "avx512dq": "AVX512DQ",
	"avx512er": "AVX512ER", "avx512pf": "AVX512PF", "avx512vl": "AVX512VL", "avx512ifma": "AVX512IFMA", "avx512vbmi": "AVX512VBMI",
	"avx512_vbmi2": "AVX512VBMI2", "avx512_vnni": "AVX512VNNI", "avx512_bitalg": "AVX512BITALG", "avx512_vpopcntdq": "AVX512VPOPCNTDQ",
	"avx512_bf16": "AVX512BF16", "avx512_fp16": "AVX512FP16", "avx512_vp2intersect": "AVX512VP2INTERSECT",
	"avx_vnni": "AVXVNNI", "avx_ifma": "AVXIFMA", "avx_vnni_int8": "AVXVNNIINT8", "avx_ne_convert": "AVXNECONVERT",
	"bmi1": "BMI1", "bmi2": "BMI2", "cldemote": "CLDEMOTE", "clflushopt": "CLFLUSHOPT", "clwb": "CLWB", "clzero": "CLZERO",
	"pclmulqdq": "CLMUL", "cmov": "CMOV", "cx8": "CMPXCHG8", "sep": "SYSEE", "cx16": "CX16", "erms": "ERMS", "fsrm": "FSRM", "f16c": "F16C",
	"fma": "FMA3", "fma4": "FMA4", "fxsr": "FXSR", "fxsr_opt": "FXSROPT", "gfni": "GFNI", "hle": "HLE", "hypervisor": "HYPERVISOR",
	"ibpb": "IBPB", "ibrs": "IBRS", "ibs": "IBS", "invpcid": "INVPCID", "lahf_lm": "LAHF", "abm": "LZCNT", "md_clear": "MD_CLEAR",
	"mmx": "MMX", "mmxext": "MMXEXT", "movbe": "MOVBE", "movdiri": "MOVDIRI", "movdir64b": "MOVDIR64B", "mpx": "MPX", "nx": "NX",
	"osxsave": "OSXSAVE", "pconfig": "PCONFIG", "popcnt": "POPCNT", "rdpid": "RDPID", "rdrand": "RDRAND", "rdseed": "RDSEED",
	"rdtscp": "RDTSCP", "rtm": "RTM", "serialize": "SERIALIZE", "sev": "SEV", "sev_es": "SEV_ES", "sgx": "SGX", "sgx_lc": "SGXLC",
	"sha_ni": "SHA", "sme": "SME", "sse": "SSE", "sse2": "SSE2", "pni": "SSE3", "ssse3": "SSSE3", "sse4_1": "SSE4", "sse4_2": "SSE42",
	"sse4a": "SSE4A", "ssbd": "SSBD", "stibp": "STIBP", "svm": "SVM", "syscall": "SYSCALL", "tbm": "TBM", "tsxldtrk": "TSXLDTRK",
	"vaes": "VAES", "vmx": "VMX", "vpclmulqdq": "VPCLMULQDQ", "waitpkg": "WAITPKG", "wbnoinvd": "WBNOINVD", "xop": "XOP",
	"xsave": "XSAVE", "xsavec": "XSAVEC", "xsaveopt": "XSAVEOPT", "xgetbv1": "XGETBV1", "flush_l1d": "FLUSH_L1D",
	"arch_capabilities": "IA32_ARCH_CAP", "fpu": "X87", "avx512_4vnniw": "AVX5124VNNIW", "avx512_4fmaps": "AVX5124FMAPS",
	"enqcmd": "ENQCMD", "tme": "TME", "lm": "LM",
}

// x86-64 micro-architecture levels (psABI), as klauspost's X64Level checks
// them, in NFD names.
var x64Levels = [][]string{
	{"CMOV", "CMPXCHG8", "X87", "FXSR", "MMX", "SSE", "SSE2"},
	{"CX16", "LAHF", "POPCNT", "SSE3", "SSE4", "SSE42", "SSSE3"},
	{"AVX", "AVX2", "BMI1", "BMI2", "F16C", "FMA3", "LZCNT", "MOVBE", "OSXSAVE"},
	{"AVX512F", "AVX512BW", "AVX512CD", "AVX512DQ", "AVX512VL"},
}

// CPUIDFromCPUInfo maps the flags of /proc/cpuinfo to NFD's cpu.cpuid
// names: on x86 through the klauspost table plus X86_64_V1..Vn; on arm64
// the Features line upper-cased (the HWCAP names NFD uses).
func CPUIDFromCPUInfo(cpuinfo []byte) []string {
	fields := firstCPU(cpuinfo)
	var out []string
	if flags, ok := fields["flags"]; ok {
		have := map[string]bool{}
		for _, f := range strings.Fields(flags) {
			if n, ok := x86Names[f]; ok && !have[n] {
				have[n] = true
				out = append(out, n)
			}
		}
		// The kernel never prints osxsave; it sets CR4.OSXSAVE whenever it
		// uses XSAVE, which it does when the CPU has it.
		if have["XSAVE"] && !have["OSXSAVE"] {
			have["OSXSAVE"] = true
			out = append(out, "OSXSAVE")
		}
		// LM is only used to decide x86-64; klauspost has no such feature.
		is64 := have["LM"]
		out = slices.DeleteFunc(out, func(s string) bool { return s == "LM" })
		// klauspost also needs SYSENTER or SYSCALL for any level.
		if is64 && (have["SYSEE"] || have["SYSCALL"]) {
			for lvl, req := range x64Levels {
				if !all(have, req) {
					break
				}
				out = append(out, "X86_64_V"+strconv.Itoa(lvl+1))
			}
		}
	} else if feats, ok := fields["Features"]; ok {
		for _, f := range strings.Fields(feats) {
			out = append(out, strings.ToUpper(f))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func all(have map[string]bool, req []string) bool {
	for _, r := range req {
		if !have[r] {
			return false
		}
	}
	return true
}

// firstCPU returns the key/value pairs of the first processor block.
func firstCPU(cpuinfo []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		if strings.TrimSpace(line) == "" {
			if len(out) > 0 && (out["flags"] != "" || out["Features"] != "") {
				break
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := out[k]; !dup {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// vendorNames maps CPUID vendor strings to klauspost's VendorID names.
var vendorNames = map[string]string{
	"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon", "CentaurHauls": "VIA",
	"  Shanghai  ": "Zhaoxin", "GenuineTMx86": "Transmeta", "Geode by NSC": "NSC",
}

// arm64Implementers maps MIDR implementer codes to klauspost's names.
var arm64Implementers = map[string]string{
	"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu", "0x48": "HiSilicon",
	"0x4e": "NVIDIA", "0x50": "AMCC", "0x51": "Qualcomm", "0x61": "Apple", "0x69": "Intel", "0xc0": "Ampere",
}

func (d *discoverer) cpu() {
	b, err := d.read("/proc/cpuinfo")
	if err != nil {
		return
	}
	ids := CPUIDFromCPUInfo(b)
	if len(ids) > 0 {
		d.f.AddFlags("cpu.cpuid", ids...)
	}
	fields := firstCPU(b)
	model := map[string]string{}
	if v, ok := fields["vendor_id"]; ok {
		if n, ok := vendorNames[v]; ok {
			model["vendor_id"] = n
		} else {
			model["vendor_id"] = v
		}
		if v, ok := fields["cpu family"]; ok {
			model["family"] = v
		}
		if v, ok := fields["model"]; ok {
			model["id"] = v
		}
		if !slices.Contains(ids, "HYPERVISOR") {
			// Bare metal; which hypervisor runs a guest needs CPUID leaf
			// 0x40000000, which /proc/cpuinfo does not show.
			model["hypervisor"] = "none"
		}
	} else if v, ok := fields["CPU implementer"]; ok {
		if n, ok := arm64Implementers[strings.ToLower(v)]; ok {
			model["vendor_id"] = n
		}
		if v, ok := fields["CPU part"]; ok {
			if n, err := strconv.ParseInt(v, 0, 64); err == nil {
				model["id"] = strconv.FormatInt(n, 10)
			}
		}
	}
	if len(model) > 0 {
		d.f.AddAttributes("cpu.model", model)
	}
	d.topology()
}

func (d *discoverer) topology() {
	cpus := d.glob("/sys/bus/cpu/devices/cpu[0-9]*")
	if len(cpus) == 0 {
		return
	}
	ht := false
	sockets := map[string]bool{}
	for _, c := range cpus {
		if b, err := d.readAbs(c + "/topology/thread_siblings_list"); err == nil && strings.ContainsAny(string(b), ",-") {
			ht = true
		}
		if b, err := d.readAbs(c + "/topology/physical_package_id"); err == nil {
			sockets[strings.TrimSpace(string(b))] = true
		}
	}
	attrs := map[string]string{"hardware_multithreading": strconv.FormatBool(ht)}
	if len(sockets) > 0 {
		attrs["socket_count"] = strconv.Itoa(len(sockets))
	}
	d.f.AddAttributes("cpu.topology", attrs)
}
