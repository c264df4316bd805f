// cnidriver drives CNI plugins through Debian's libcni, the way a container
// runtime does: it loads a conflist, adds runtime args and capability args,
// keeps libcni's result cache (so DEL and CHECK get prevResult) and parses the
// plugin output per cniVersion. Used by vmip's end-to-end tests.
//
//	cnidriver add|del|check --conflist FILE --netns PATH --containerid ID
//	          [--ifname eth0] [--args 'K=V;K2=V2'] [--cap-ips 10.0.0.5/24,...]
//	          [--cache-dir DIR]
//
// Plugins are searched in CNI_PATH. On success "add" prints the result JSON.
// On failure it prints {"code":N,"msg":...,"details":...} on stdout (code 0 when
// the error did not come from a plugin), the full error on stderr, and exits 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s add|del|check --conflist FILE --netns PATH --containerid ID [--ifname eth0] [--args 'K=V;...'] [--cap-ips IP/N,...] [--cache-dir DIR]\n", filepath.Base(os.Args[0]))
	os.Exit(2)
}

// parseArgs splits 'K=V;K2=V2' at the first '=' of each pair; empty pairs are skipped.
func parseArgs(s string) ([][2]string, error) {
	var out [][2]string
	for _, pair := range strings.Split(s, ";") {
		if pair == "" {
			continue
		}
		kv := strings.SplitN(pair, "=", 2)
		if len(kv) != 2 || kv[0] == "" {
			return nil, fmt.Errorf("bad --args pair %q (want K=V)", pair)
		}
		out = append(out, [2]string{kv[0], kv[1]})
	}
	return out, nil
}

func fail(err error) {
	report := struct {
		Code    uint   `json:"code"`
		Msg     string `json:"msg"`
		Details string `json:"details,omitempty"`
	}{Msg: err.Error()}
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		report.Code, report.Msg, report.Details = cniErr.Code, cniErr.Msg, cniErr.Details
	}
	out, _ := json.Marshal(report)
	fmt.Println(string(out))
	fmt.Fprintln(os.Stderr, "cnidriver:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	conflist := fs.String("conflist", "", "network configuration list file")
	netns := fs.String("netns", "", "network namespace path, e.g. /run/netns/x")
	containerID := fs.String("containerid", "", "container (sandbox) ID")
	ifname := fs.String("ifname", "eth0", "interface name inside the netns")
	cniArgs := fs.String("args", "", "CNI_ARGS as 'K=V;K2=V2'")
	capIPs := fs.String("cap-ips", "", "comma-separated IPs for the 'ips' capability")
	cacheDir := fs.String("cache-dir", filepath.Join(os.TempDir(), "vmip-cnidriver-cache"), "libcni result cache dir")
	timeout := fs.Duration("timeout", 30*time.Second, "overall deadline")
	if err := fs.Parse(os.Args[2:]); err != nil {
		usage()
	}
	if *conflist == "" || *containerID == "" || fs.NArg() != 0 {
		usage()
	}

	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(err)
	}
	pairs, err := parseArgs(*cniArgs)
	if err != nil {
		fail(err)
	}
	rt := &libcni.RuntimeConf{
		ContainerID:    *containerID,
		NetNS:          *netns,
		IfName:         *ifname,
		Args:           pairs,
		CapabilityArgs: map[string]interface{}{},
	}
	if *capIPs != "" {
		rt.CapabilityArgs["ips"] = strings.Split(*capIPs, ",")
	}

	paths := filepath.SplitList(os.Getenv("CNI_PATH"))
	cni := libcni.NewCNIConfigWithCacheDir(paths, *cacheDir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	switch cmd {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		if err := res.Print(); err != nil {
			fail(err)
		}
		fmt.Println()
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	default:
		usage()
	}
}
