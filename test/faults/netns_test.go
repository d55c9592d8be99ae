package faults

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/smsgate/smsgate/pkg/smppsim"
)

// netns is a network namespace joined to the host by a veth pair: the
// simulator listens inside it (nsIP), the gateway dials it from the host
// side, and faults (nftables drops, tc shaping) apply inside the namespace
// only, so no one else's traffic is touched.
type netns struct {
	t              *testing.T
	name           string
	hostIf, nsIf   string
	hostIP, nsIP   string
	nftTable       string
	shapedHost     bool
	shapedNS       bool
	droppingActive bool
}

// needTools skips the test naming the first missing tool.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network fault tests need root (network namespaces)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found (Debian: apt-get install -y %s)", tool, map[string]string{"nft": "nftables", "ip": "iproute2", "tc": "iproute2"}[tool])
		}
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	needTools(t, "ip")
	id := randHex(3)
	// A random 10.213.x.0/30: namespaces of concurrent runs do not clash.
	var b [1]byte
	_, _ = rand.Read(b[:])
	third := int(b[0])
	n := &netns{t: t, name: "smsf-" + id, hostIf: "smsfh" + id, nsIf: "smsfn" + id,
		hostIP: fmt.Sprintf("10.213.%d.1", third), nsIP: fmt.Sprintf("10.213.%d.2", third)}
	run(t, "ip", "netns", "add", n.name)
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", n.name).Run()
		_ = exec.Command("ip", "link", "del", n.hostIf).Run()
	})
	run(t, "ip", "link", "add", n.hostIf, "type", "veth", "peer", "name", n.nsIf)
	run(t, "ip", "link", "set", n.nsIf, "netns", n.name)
	run(t, "ip", "addr", "add", n.hostIP+"/30", "dev", n.hostIf)
	run(t, "ip", "link", "set", n.hostIf, "up")
	n.exec("ip", "addr", "add", n.nsIP+"/30", "dev", n.nsIf)
	n.exec("ip", "link", "set", n.nsIf, "up")
	n.exec("ip", "link", "set", "lo", "up")
	return n
}

func (n *netns) exec(args ...string) {
	n.t.Helper()
	run(n.t, append([]string{"ip", "netns", "exec", n.name}, args...)...)
}

// startSim starts the simulator with its listening socket created inside
// the namespace: the socket is made on an OS thread switched into the
// namespace, and keeps it after the thread switches back.
func (n *netns) startSim(o smppsim.Options) (*smppsim.Server, error) {
	o.Addr = n.nsIP + ":2775"
	o.AllowRemote = true
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("own netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + n.name)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("netns %s: %w", n.name, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", n.name, err)
	}
	srv, serr := smppsim.Start(o)
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays in the namespace: leave it locked so the runtime
		// discards it when this goroutine ends instead of reusing it.
		if srv != nil {
			srv.Close()
		}
		return nil, fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return srv, serr
}

// dropSMPP makes the SMSC silently unreachable: every packet to or from its
// port is dropped inside the namespace (no FIN, no RST).
func (n *netns) dropSMPP(port int) {
	n.t.Helper()
	n.nftTable = "smsf" + strings.ReplaceAll(n.name, "-", "")
	rules := fmt.Sprintf(`table inet %[1]s {
  chain in { type filter hook input priority 0; policy accept; tcp dport %[2]d drop; }
  chain out { type filter hook output priority 0; policy accept; tcp sport %[2]d drop; }
}
`, n.nftTable, port)
	cmd := exec.Command("ip", "netns", "exec", n.name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("nft: %v\n%s", err, out)
	}
	n.droppingActive = true
}

func (n *netns) undrop() {
	n.t.Helper()
	if n.droppingActive {
		n.exec("nft", "delete", "table", "inet", n.nftTable)
		n.droppingActive = false
	}
}

// shape limits both directions of the veth pair with a token bucket.
func (n *netns) shape(rate string) {
	n.t.Helper()
	args := []string{"root", "tbf", "rate", rate, "burst", "4kb", "latency", "400ms"}
	run(n.t, append([]string{"tc", "qdisc", "add", "dev", n.hostIf}, args...)...)
	n.shapedHost = true
	n.exec(append([]string{"tc", "qdisc", "add", "dev", n.nsIf}, args...)...)
	n.shapedNS = true
}

func (n *netns) unshape() {
	n.t.Helper()
	if n.shapedHost {
		run(n.t, "tc", "qdisc", "del", "dev", n.hostIf, "root")
		n.shapedHost = false
	}
	if n.shapedNS {
		n.exec("tc", "qdisc", "del", "dev", n.nsIf, "root")
		n.shapedNS = false
	}
}
