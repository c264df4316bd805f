#!/usr/bin/env bash
# CNI conformance of the vmip plugin, by checklist ID (../shared/reference/cni-spec-and-peers.md §1).
# Direct exec with env + stdin; where behaviour should match, the same case runs against
# Debian's host-local as a reference. A libcni-driven subset parses results per version.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
mk_netns S
NS=$(ns_path S)
VERSIONS=(0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0)
V4='[[{"subnet":"10.250.1.0/24"}]]'

vmip_cmd() { # CMD CONF CID [VAR=VALUE...]
  local cmd=$1 conf=$2 cid=$3
  shift 3
  run_plugin "$cmd" "$conf" "CNI_CONTAINERID=$cid" "CNI_NETNS=$NS" CNI_IFNAME=eth0 "$@"
}
hl_conf() { # the same config for host-local (non-JSON input passes through)
  jq -c --arg d "$T/host-local" '.ipam |= (.type = "host-local" | .dataDir = $d | del(.socket, .spoolDir))' <<<"$1" 2>/dev/null ||
    printf '%s' "$1"
}
hl_cmd() { # CMD CONF CID [VAR=VALUE...]   (host-local needs CNI_PATH)
  local cmd=$1 conf=$2 cid=$3
  shift 3
  exec_plugin "$HOST_LOCAL" "$cmd" "$(hl_conf "$conf")" CNI_PATH=/usr/lib/cni "CNI_CONTAINERID=$cid" \
    "CNI_NETNS=$NS" CNI_IFNAME=eth0 "$@"
}
# both_code ID CODE CMD CONF [VAR=VALUE...]: same env/stdin to vmip and host-local, same error code
both_code() {
  local id=$1 code=$2 cmd=$3 conf=$4
  shift 4
  run_plugin "$cmd" "$conf" "$@"
  expect_code "$id vmip" "$code"
  exec_plugin "$HOST_LOCAL" "$cmd" "$(hl_conf "$conf")" CNI_PATH=/usr/lib/cni "$@"
  expect_code "$id host-local (reference)" "$code"
}
# The parts of a result whose presence the spec fixes (dns excluded: host-local always prints {}).
shape() {
  jq -c '{top: (keys - ["dns"]), ips: [.ips[]? | keys], routes: .routes,
          ip4: (.ip4 | if . then {keys: keys, routes: .routes} else null end),
          ip6: (.ip6 | if . then {keys: keys, routes: .routes} else null end)}' <<<"$1"
}
ATT=("CNI_CONTAINERID=c1" "CNI_NETNS=$NS" "CNI_IFNAME=eth0")
CONF=$(plugin_conf conf 1.0.0 "$V4")

echo "## ENV: environment variables"
run_plugin "" "$CONF"
expect_eq "ENV-9 no CNI_COMMAND: exit 0, nothing on stdout" "0|" "$RC|$OUT"
expect_match "ENV-9 about text on stderr lists versions 0.1.0..1.1.0" '0\.1\.0.*1\.1\.0' "$(tr '\n' ' ' <<<"$ERR")"
both_code "ENV-1 unknown CNI_COMMAND" 4 BOGUS "$CONF" "${ATT[@]}"
both_code "ENV-1 lower-case command" 4 add "$CONF" "${ATT[@]}"
both_code "ENV-2 ADD without CNI_CONTAINERID" 4 ADD "$CONF" "CNI_NETNS=$NS" CNI_IFNAME=eth0
both_code "ENV-2 ADD without CNI_NETNS" 4 ADD "$CONF" CNI_CONTAINERID=c1 CNI_IFNAME=eth0
both_code "ENV-2 ADD without CNI_IFNAME" 4 ADD "$CONF" CNI_CONTAINERID=c1 "CNI_NETNS=$NS"
both_code "ENV-2 CHECK without CNI_NETNS" 4 CHECK "$(plugin_conf conf 1.0.0 "$V4")" CNI_CONTAINERID=c1 CNI_IFNAME=eth0
run_plugin ADD "$CONF" "CNI_CONTAINERID=nopath" "CNI_NETNS=$NS" CNI_IFNAME=eth0
expect_rc "ENV-2r vmip does not require CNI_PATH" 0
run_plugin DEL "$CONF" "CNI_CONTAINERID=nopath" CNI_IFNAME=eth0
expect_rc "ENV-2r DEL without CNI_PATH" 0
both_code "ENV-3 CNI_CONTAINERID with /" 4 ADD "$CONF" CNI_CONTAINERID=bad/id "CNI_NETNS=$NS" CNI_IFNAME=eth0
both_code "ENV-3 CNI_CONTAINERID starting with -" 4 ADD "$CONF" CNI_CONTAINERID=-abc "CNI_NETNS=$NS" CNI_IFNAME=eth0
for ifn in eth0123456789012 . .. "a b" a:b a/b; do
  both_code "ENV-4 CNI_IFNAME [$ifn]" 4 ADD "$CONF" CNI_CONTAINERID=c1 "CNI_NETNS=$NS" "CNI_IFNAME=$ifn"
done

echo "## CFG: stdin configuration"
both_code "CFG-2 missing name" 7 ADD "$(jq -c 'del(.name)' <<<"$CONF")" "${ATT[@]}"
both_code "CFG-2 bad name characters" 7 ADD "$(jq -c '.name = "bad name!"' <<<"$CONF")" "${ATT[@]}"
both_code "CFG-2 stdin not JSON" 6 ADD 'this is not json' "${ATT[@]}"
both_code "CFG-10 unsupported cniVersion 9.9.9" 1 ADD "$(jq -c '.cniVersion = "9.9.9"' <<<"$CONF")" "${ATT[@]}"
NOVER=$(jq -c 'del(.cniVersion) | .name = "nover"' <<<"$CONF")
vmip_cmd ADD "$NOVER" nover
need "CFG-10 missing cniVersion is 0.1.0: ADD succeeds"
expect_eq "CFG-10 result is 0.1.0 with ip4" '["0.1.0",true,false]' "$(jq -c '[.cniVersion, has("ip4"), has("ips")]' <<<"$OUT")"
VM_SHAPE=$(shape "$OUT")
hl_cmd ADD "$NOVER" nover
expect_eq "CFG-10 same shape as host-local" "$(shape "$OUT")" "$VM_SHAPE"
vmip_cmd DEL "$NOVER" nover

echo "## ADD / RES: result per version, IPv4 and dual stack"
# check_result ID VERSION FAMILIES RESULT: RES-1..4, ADD-2
check_result() {
  local id=$1 v=$2 fam=$3 r=$4
  expect_eq "$id ADD-2 cniVersion echoes the input" "$v" "$(jq -r .cniVersion <<<"$r")"
  expect_eq "$id RES-3 no interfaces, no ips[].interface" false \
    "$(jq 'has("interfaces") or any(.ips[]?; has("interface"))' <<<"$r")"
  case $v in
    0.1.0 | 0.2.0)
      expect_eq "$id RES-1 ip4 shape" '[false,"10.250.N.X/24","10.250.N.1"]' \
        "$(jq -c '[has("ips"), (.ip4.ip | sub("\\.[0-9]+\\.[0-9]+/"; ".N.X/")), (.ip4.gateway | sub("\\.[0-9]+\\.1$"; ".N.1"))]' <<<"$r")"
      if [[ $fam == dual ]]; then
        expect_match "$id RES-4 ip6 /64 in fd00:250::" '^fd00:250::[0-9a-f:]+/64 fd00:250::1$' "$(jq -r '"\(.ip6.ip) \(.ip6.gateway)"' <<<"$r")"
      else
        expect_eq "$id no ip6 in a v4-only result" false "$(jq 'has("ip6")' <<<"$r")"
      fi
      ;;
    *)
      local want='["4"]'
      [[ $fam == dual ]] && want='["4","6"]'
      case $v in 1.*) want='[null]'; [[ $fam == dual ]] && want='[null,null]' ;; esac
      expect_eq "$id RES-2 ips[].version" "$want" "$(jq -c '[.ips[].version]' <<<"$r")"
      expect_match "$id RES-4 v4 address has the subnet prefix, gateway .1" '^10\.250\.[0-9]+\.[0-9]+/24 10\.250\.[0-9]+\.1$' \
        "$(jq -r '.ips[0] | "\(.address) \(.gateway)"' <<<"$r")"
      if [[ $fam == dual ]]; then
        expect_match "$id RES-4 v6 address /64, gateway ::1" '^fd00:250::[0-9a-f:]+/64 fd00:250::1$' \
          "$(jq -r '.ips[1] | "\(.address) \(.gateway)"' <<<"$r")"
      fi
      ;;
  esac
}
DUAL='[[{"subnet":"10.250.2.0/24"}],[{"subnet":"fd00:250::/64"}]]'
DUAL_ROUTES='{"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}'
for v in "${VERSIONS[@]}"; do
  for fam in v4 dual; do
    if [[ $fam == v4 ]]; then conf=$(plugin_conf "res-$fam" "$v" "$V4"); else conf=$(plugin_conf "res-$fam" "$v" "$DUAL" "$DUAL_ROUTES"); fi
    cid=res-${v//./}-$fam
    vmip_cmd ADD "$conf" "$cid"
    need "ADD-1 $v $fam exit 0"
    expect_eq "ADD-1 $v $fam made one lease" 1 "$(lease_count "$cid")"
    check_result "$v $fam" "$v" "$fam" "$OUT"
    if [[ $v != 1.1.0 ]]; then # Debian host-local supports up to 1.0.0
      vm_shape=$(shape "$OUT")
      hl_cmd ADD "$conf" "$cid"
      expect_eq "RES-1 $v $fam result shape matches host-local" "$(shape "$OUT")" "$vm_shape"
      hl_cmd DEL "$conf" "$cid"
    fi
    vmip_cmd DEL "$conf" "$cid"
    need "DEL $v $fam exit 0"
    expect_eq "DEL $v $fam releases the pod lease" 0 "$(lease_count "$cid")"
  done
done

echo "## ADD-3: repeated ADD for the same container + ifname"
vmip_cmd ADD "$CONF" add3
need "ADD-3 first ADD"
first=$(jq -S -c . <<<"$OUT")
vmip_cmd ADD "$CONF" add3
expect_rc "ADD-3 second ADD succeeds" 0
expect_eq "ADD-3 same result" "$first" "$(jq -S -c . <<<"$OUT")"
expect_eq "ADD-3 one lease, one attachment" '[1,1]' \
  "$(ctl leases --json | jq -c '[map(select(.owner == "add3")) | length, (map(select(.owner == "add3"))[0].attachments | length)]')"
vmip_cmd ADD "$CONF" add3 CNI_IFNAME=net1
expect_rc "ADD-3 same container, second ifname" 0
expect_ne "ADD-3 second ifname gets its own address" "$(jq -r '.ips[0].address' <<<"$first")" "$(jq -r '.ips[0].address' <<<"$OUT")"
expect_eq "ADD-3 two leases before the DELs" 2 "$(lease_count add3)"
vmip_cmd DEL "$CONF" add3 CNI_IFNAME=net1
need "ADD-3 DEL of net1"
vmip_cmd DEL "$CONF" add3
need "ADD-3 DEL of eth0"
expect_eq "ADD-3 both leases released" 0 "$(lease_count add3)"

echo "## requested addresses (CNI_ARGS IP, runtimeConfig.ips, args.cni.ips)"
vmip_cmd ADD "$CONF" req1 CNI_ARGS="IgnoreUnknown=1;IP=10.250.1.77"
expect_eq "CNI_ARGS IP=10.250.1.77" 10.250.1.77/24 "$(jq -r '.ips[0].address' <<<"$OUT")"
hl_cmd ADD "$CONF" req1 CNI_ARGS="IgnoreUnknown=1;IP=10.250.1.77"
expect_eq "host-local gives the same requested address" 10.250.1.77/24 "$(jq -r '.ips[0].address' <<<"$OUT")"
hl_cmd DEL "$CONF" req1
vmip_cmd ADD "$CONF" req2 CNI_ARGS="IgnoreUnknown=1;IP=10.250.1.77"
expect_code "requested address held by another owner" 101
vmip_cmd ADD "$(jq -c '.runtimeConfig.ips = ["10.250.1.78/24"]' <<<"$CONF")" req3
expect_eq "runtimeConfig.ips" 10.250.1.78/24 "$(jq -r '.ips[0].address' <<<"$OUT")"
vmip_cmd ADD "$(jq -c '.args.cni.ips = ["10.250.1.79"]' <<<"$CONF")" req4 CNI_ARGS="IgnoreUnknown=1;IP=10.250.1.80"
expect_eq "CFG-8 args.cni.ips wins over CNI_ARGS IP" 10.250.1.79/24 "$(jq -r '.ips[0].address' <<<"$OUT")"
for c in req1 req3 req4; do vmip_cmd DEL "$CONF" "$c"; done

echo "## DEL"
for impl in vmip hl; do
  "${impl}_cmd" DEL "$CONF" never-added
  expect_eq "DEL-1 $impl unknown container: exit 0, no output" "0|" "$RC|$OUT"
done
vmip_cmd ADD "$CONF" del2
need "ADD del2"
expect_eq "DEL-2 del2 holds a lease before its DEL" 1 "$(lease_count del2)"
run_plugin DEL "$CONF" CNI_CONTAINERID=del2 CNI_IFNAME=eth0
expect_eq "DEL-2 without CNI_NETNS: exit 0, no output" "0|" "$RC|$OUT"
expect_eq "DEL-2 the lease is released" 0 "$(lease_count del2)"
vmip_cmd DEL "$CONF" del2
expect_rc "DEL-1 second DEL of the same container" 0
vmip_cmd ADD "$CONF" del2b
need "ADD del2b"
expect_eq "DEL-2 del2b holds a lease before its DEL" 1 "$(lease_count del2b)"
vmip_cmd DEL "$CONF" del2b CNI_NETNS=/run/netns/vmip-does-not-exist
expect_rc "DEL-2 with a netns that no longer exists" 0
expect_eq "DEL-2 ... and the lease is released" 0 "$(lease_count del2b)"
vmip_cmd ADD "$CONF" del3
need "ADD del3"
expect_eq "DEL-3 del3 holds a lease before its DEL" 1 "$(lease_count del3)"
prev=$OUT
vmip_cmd DEL "$(jq -c --argjson p "$prev" '.prevResult = $p' <<<"$CONF")" del3
expect_eq "DEL-3 with prevResult: exit 0, no output" "0|" "$RC|$OUT"
expect_eq "DEL-3 the lease is released" 0 "$(lease_count del3)"

echo "## CHECK"
for v in 0.2.0 0.3.1; do
  both_code "CHK-1 CHECK with config version $v" 1 CHECK "$(plugin_conf conf "$v" "$V4")" "${ATT[@]}"
done
vmip_cmd ADD "$CONF" chk
need "ADD chk"
prev=$OUT
vmip_cmd CHECK "$(jq -c --argjson p "$prev" '.prevResult = $p' <<<"$CONF")" chk
expect_eq "CHK-2/CHK-3 CHECK with the ADD result: exit 0, no output" "0|" "$RC|$OUT"
hl_cmd ADD "$CONF" chk
hl_cmd CHECK "$(jq -c --argjson p "$OUT" '.prevResult = $p' <<<"$CONF")" chk
expect_eq "CHK-3 host-local (reference) same" "0|" "$RC|$OUT"
hl_cmd DEL "$CONF" chk
vmip_cmd CHECK "$(jq -c --argjson p "$prev" '.prevResult = $p | .prevResult.ips[0].address = "10.250.1.250/24"' <<<"$CONF")" chk
expect_code "CHK-2 prevResult with an address the lease does not hold: 106" 106
vmip_cmd CHECK "$(jq -c --argjson p "$prev" '.prevResult = $p' <<<"$CONF")" chk-unknown
expect_code "CHK-2 CHECK of a container without a lease: 105" 105
vmip_cmd DEL "$CONF" chk

echo "## GC (1.1.0, direct exec)"
GCN=$(plugin_conf gcnet 1.1.0 '[[{"subnet":"10.250.3.0/24"}]]')
OTHER=$(plugin_conf gcother 1.1.0 '[[{"subnet":"10.250.4.0/24"}]]')
vmip_cmd ADD "$GCN" gc-1; need "ADD gc-1"
vmip_cmd ADD "$GCN" gc-2; need "ADD gc-2"
vmip_cmd ADD "$GCN" gc-3 CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;VMIP_VM=gcvm"; need "ADD gc-3 (VM gcvm)"
GCVM_IPS=$(lease_ips default/gcvm)
vmip_cmd ADD "$OTHER" gc-other; need "ADD gc-other"
expect_eq "GC-3 before GC: gc-1, gc-2 and gc-other hold a lease each" "1 1 1" "$(lease_count gc-1) $(lease_count gc-2) $(lease_count gc-other)"
run_plugin GC "$(jq -c '.["cni.dev/valid-attachments"] = [{"containerID": "gc-1", "ifname": "eth0"}]' <<<"$(plugin_conf gcnet 1.0.0 '[[{"subnet":"10.250.3.0/24"}]]')")" CNI_PATH=/usr/lib/cni
expect_code "GC-1 GC with config version 1.0.0" 1
run_plugin GC "$(jq -c '.["cni.dev/valid-attachments"] = [{"containerID": "gc-1", "ifname": "eth0"}]' <<<"$GCN")" CNI_PATH=/usr/lib/cni
expect_eq "GC-2/GC-3 GC with cni.dev/valid-attachments: exit 0, no output" "0|" "$RC|$OUT"
expect_eq "GC-3 listed attachment kept, pod gc-2 released" "1 0" "$(lease_count gc-1) $(lease_count gc-2)"
expect_eq "GC-3 VM lease kept detached with its address" "[\"detached\",\"$GCVM_IPS\"]" \
  "$(lease_field default/gcvm '[.state, (.ips | join(","))]')"
run_plugin GC "$(jq -c '.["cni.dev/attachments"] = []' <<<"$GCN")" CNI_PATH=/usr/lib/cni
expect_eq "GC-2 old key cni.dev/attachments, empty list: exit 0" "0|" "$RC|$OUT"
expect_eq "GC-3 empty list drops gc-1 too" 0 "$(lease_count gc-1)"
expect_eq "GC-3 other networks untouched" '"attached"' "$(lease_field gc-other .state)"
run_plugin GC "$(jq -c '.["cni.dev/valid-attachments"] = []' <<<"$GCN")" CNI_PATH=/usr/lib/cni
expect_eq "GC-3 GC is idempotent" "0|" "$RC|$OUT"

echo "## STATUS (1.1.0, direct exec)"
run_plugin STATUS "$(plugin_conf conf 1.1.0 "$V4")"
expect_eq "ST-1 daemon up, pool has room: exit 0, no output" "0|" "$RC|$OUT"
run_plugin STATUS "$(plugin_conf conf 1.0.0 "$V4")"
expect_code "ST-4 STATUS with config version 1.0.0" 1
TINY=$(plugin_conf tiny 1.1.0 '[[{"subnet":"10.250.9.0/24","rangeStart":"10.250.9.10","rangeEnd":"10.250.9.10"}]]')
vmip_cmd ADD "$TINY" tiny-1
need "ADD tiny-1"
expect_eq "one-address pool hands out rangeStart" 10.250.9.10/24 "$(jq -r '.ips[0].address' <<<"$OUT")"
vmip_cmd ADD "$TINY" tiny-2
expect_code "exhausted pool: code 100" 100
run_plugin STATUS "$TINY"
expect_code "ST-2 exhausted pool: STATUS 50" 50
vmip_cmd DEL "$TINY" tiny-1
need "DEL tiny-1"
run_plugin STATUS "$TINY"
expect_rc "ST-1 after DEL the pool has room again" 0

echo "## VERSION"
run_plugin VERSION '{"cniVersion":"0.4.0"}'
expect_rc "VER-1 VERSION exits 0" 0
expect_match "VER-1 cniVersion is the input's or the plugin's current" '^(0\.4\.0|1\.1\.0)$' "$(jq -r .cniVersion <<<"$OUT")"
expect_eq "VER-2 supportedVersions" '["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]' \
  "$(jq -c .supportedVersions <<<"$OUT")"
run_plugin VERSION ''
expect_rc "VER-1 VERSION with empty stdin" 0
exec_plugin "$HOST_LOCAL" VERSION ''
expect_rc "VER-1 host-local (reference) same" 0

echo "## ERR-1: errors are one JSON object on stdout, exit non-zero"
run_plugin ADD "$(jq -c '.cniVersion = "9.9.9"' <<<"$CONF")" "${ATT[@]}"
expect_error "ERR-1 non-zero exit, stdout is one object with a numeric code and a msg"
expect_eq "ERR-1 stdout holds exactly one JSON value" 1 "$(jq -s length <<<"$OUT" 2>/dev/null)"

echo "## ARG-5: lenient CNI_ARGS"
vmip_cmd ADD "$CONF" arg5 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=a=b;;EMPTY=;DUP=1;DUP=2;"
expect_rc "ARG-5 '=' in a value, empty pair, empty value, duplicate key, trailing ';'" 0
vmip_cmd DEL "$CONF" arg5 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=a=b;;EMPTY=;DUP=1;DUP=2;"
vmip_cmd ADD "$CONF" arg5vm "CNI_ARGS=IgnoreUnknown=1;FOO=x=y;K8S_POD_NAMESPACE=default;K8S_POD_NAME=virt-launcher-argvm-abcde"
expect_eq "ARG-5 pod-name identity parsed next to an odd pair" vm "$(lease_field default/argvm .owner_kind | tr -d '"')"

echo "## deploy/10-vmnet.conflist is accepted as written (dual stack, rangeStart, exclude)"
EXAMPLE=$(jq -c --arg s "$SOCK" --arg sp "$SPOOL" '.plugins[0] + {cniVersion, name} | .ipam.socket = $s | .ipam.spoolDir = $sp' \
  "$(dirname "$0")/../../deploy/10-vmnet.conflist")
vmip_cmd ADD "$EXAMPLE" example-1
expect_match "example conflist: v4 from rangeStart, v6 /64" '^10\.250\.0\.10/24 10\.250\.0\.1 fd00:250::[0-9a-f:]+/64$' \
  "$(jq -r '[.ips[0].address, .ips[0].gateway, .ips[1].address] | join(" ")' <<<"$OUT")"
vmip_cmd ADD "$EXAMPLE" example-2 "CNI_ARGS=IgnoreUnknown=1;IP=10.250.0.100"
expect_code "example conflist: an excluded address cannot be requested" 102

echo "## libcni as oracle: conflist with vmip as the plugin, results parsed per version"
setup_node_ns
for v in 0.3.1 0.4.0 1.0.0; do
  jq -n --arg v "$v" --arg s "$SOCK" --arg sp "$SPOOL" '{cniVersion: $v, name: "libcni", plugins: [{type: "vmip",
    ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: [[{subnet: "10.250.5.0/24"}]]}}]}' >"$T/libcni.conflist"
  drive add "$T/libcni.conflist" S "lc-${v//./}"
  need "RES-1 libcni $v parses the ADD result"
  expect_eq "libcni $v ADD made one lease" 1 "$(lease_count "lc-${v//./}")"
  expect_match "RES-1 libcni $v result" "^$v 10\\.250\\.5\\.[0-9]+/24\$" "$(jq -r '"\(.cniVersion) \(.ips[0].address)"' <<<"$OUT")"
  if [[ $v != 0.3.1 ]]; then
    drive check "$T/libcni.conflist" S "lc-${v//./}"
    expect_rc "CHK-2 libcni $v CHECK with cached prevResult" 0
  fi
  drive del "$T/libcni.conflist" S "lc-${v//./}"
  expect_rc "DEL-3 libcni $v DEL with cached prevResult" 0
  expect_eq "libcni $v lease released" 0 "$(lease_count "lc-${v//./}")"
done

finish
