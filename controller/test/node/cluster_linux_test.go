package node

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is one component of the cluster, run as a child process whose
// output goes to a log file that a failed test prints the end of.
type proc struct {
	name, log string
	cmd       *exec.Cmd
	exited    chan struct{}
	err       error
}

func startProc(t *testing.T, dir, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// A test binary killed mid-run takes its cluster with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s (%s) exited with %v; its log ends with:\n%s", name, bin, p.err, tail(p.log, 40))
		}
	})
	return p
}

// stop ends the process with SIGTERM, and SIGKILL after 15 s.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// alive is nil while the process runs, else an error with its log's end.
func (p *proc) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); its log ends with:\n%s", p.name, p.err, tail(p.log, 40))
	default:
		return nil
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ctr runs Debian's containerd client against our containerd, in the
// namespace the CRI plugin uses.
func ctr(sock string, args ...string) (string, error) {
	out, err := exec.Command("ctr", append([]string{"--address", sock, "--namespace", "k8s.io"}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// containerd is a private containerd: its root, state, sockets, CNI
// configuration and registry hosts all live in dir, so it neither needs nor
// touches a system containerd.
type containerd struct {
	sock string
	*proc
}

// startContainerd starts containerd with the CRI plugin: pod sandboxes run
// pauseImage; registry pulls from the loopback registry at host go over
// plain HTTP (hosts.toml); pods get an address from a bridge of their own.
func startContainerd(t *testing.T, dir, host, pauseImage, bridge, subnet string) *containerd {
	t.Helper()
	c := &containerd{sock: filepath.Join(dir, "containerd.sock")}
	write(t, filepath.Join(dir, "certs.d", host, "hosts.toml"), fmt.Sprintf(`server = "http://%[1]s"

[host."http://%[1]s"]
  capabilities = ["pull", "resolve"]
`, host))
	// isGateway puts the gateway address on the bridge, so that the kubelet
	// on the host reaches pod addresses (readiness probes); no masquerading:
	// the pods need no way out.
	write(t, filepath.Join(dir, "cni", "10-ocm.conflist"), fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "ocm-node-test",
  "plugins": [{
    "type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}
  }]
}
`, bridge, subnet, filepath.Join(dir, "cni-ipam")))
	config := filepath.Join(dir, "containerd.toml")
	// The opt plugin would install into /opt/containerd; the other disabled
	// plugins are snapshotters and exporters this test does not use.
	// restrict_oom_score_adj: a sandbox without CAP_SYS_RESOURCE (as this
	// Firecracker VM's root) may not lower a process's oom_score_adj, and
	// runc fails every pod sandbox, whose oom_score_adj the kubelet sets to
	// -998 ("runc create failed: unable to start container process: can't
	// get final child's PID from pipe: EOF"). The option clamps it to
	// containerd's own, as for rootless containerd.
	write(t, config, fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[6]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %[7]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", pauseImage,
		filepath.Join(dir, "cni"), filepath.Join(dir, "certs.d")))
	// Registered before the process, so that it runs after containerd has
	// stopped (and before the caller unmounts and removes dir).
	created := newCgroups(t, "k8s.io")
	// The CNI library's result cache and the network namespaces' mount
	// points have fixed places; the directories are removed (when empty) if
	// this test made them.
	var madeDirs []string
	for _, d := range []string{"/var/lib/cni/results", "/var/lib/cni", "/run/netns"} {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			madeDirs = append(madeDirs, d)
		}
	}
	t.Cleanup(func() {
		for _, d := range madeDirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("removing %s, which this test's pods made: %v", d, err)
			}
		}
		// runc puts the pods' containers below /k8s.io (the CRI namespace)
		// in every hierarchy; empty once they stopped, it is removed if
		// this test made it.
		for _, d := range created() {
			if err := os.Remove(d); err != nil {
				t.Errorf("removing cgroup %s: %v", d, err)
			}
		}
		if out, err := exec.Command("ip", "link", "del", bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			t.Errorf("removing bridge %s: %v\n%s", bridge, err, out)
		}
	})
	c.proc = startProc(t, dir, "containerd", "containerd", "--config", config, "--log-level", "info")
	// Registered after the process, so that it runs before containerd
	// stops: the last resort for containers the kubelet did not stop.
	t.Cleanup(func() {
		if c.alive() != nil {
			return
		}
		for _, id := range c.tasks(t) {
			if _, err := ctr(c.sock, "tasks", "delete", "--force", id); err != nil {
				t.Errorf("stopping container %s left running: %v", id, err)
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := c.alive(); err != nil {
			t.Fatal(err)
		}
		_, err := ctr(c.sock, "version")
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not answer within 30 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tasks lists the IDs of containerd's running tasks (containers and pod
// sandboxes).
func (c *containerd) tasks(t *testing.T) []string {
	t.Helper()
	out, err := ctr(c.sock, "tasks", "ls", "--quiet")
	if err != nil {
		t.Error(err)
		return nil
	}
	return strings.Fields(out)
}

// unmountUnder detaches every mount below dir (container root filesystems,
// sandbox /dev/shm), deepest first, and removes dir.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			mounts = append(mounts, fields[4])
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// kernelTunables are the sysctls the kubelet sets at start (vm.overcommit,
// kernel.panic and the like) and the bridge plugin's IP forwarding: global
// to the machine, so the test puts back what it found.
var kernelTunables = []string{
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes", "net/ipv4/ip_forward",
}

func restoreKernelTunables(t *testing.T) {
	t.Helper()
	saved := map[string][]byte{}
	for _, k := range kernelTunables {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			t.Fatal(err)
		}
		saved[k] = b
	}
	t.Cleanup(func() {
		for _, k := range kernelTunables {
			if b, _ := os.ReadFile("/proc/sys/" + k); bytes.Equal(b, saved[k]) {
				continue
			}
			if err := os.WriteFile("/proc/sys/"+k, saved[k], 0o644); err != nil {
				t.Errorf("restoring %s to %s: %v", k, strings.TrimSpace(string(saved[k])), err)
			}
		}
	})
}

// newCgroups notes which cgroup hierarchies (v1 ones, or the v2 root) lack
// name now; the returned function lists the name's directories that
// appeared since.
func newCgroups(t *testing.T, name string) func() []string {
	t.Helper()
	glob := func() []string {
		v1, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
		v2, _ := filepath.Glob("/sys/fs/cgroup/" + name)
		return append(v1, v2...)
	}
	before := glob()
	return func() []string {
		after := glob()
		var made []string
		for _, d := range after {
			if !slices.Contains(before, d) {
				made = append(made, d)
			}
		}
		return made
	}
}

// podSubnet picks a /24 for the bridge from 10.213.0.0/16 by process ID,
// so that two runs on one machine do not share it.
func podSubnet() (bridge, subnet string) {
	n := os.Getpid() % 250
	return "ocmbr" + strconv.Itoa(os.Getpid()%100000), fmt.Sprintf("10.213.%d.0/24", n)
}
