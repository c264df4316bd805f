#!/usr/bin/env bash
# Bad input, table driven: each row is env + stdin + the exact CNI error code (and a word the
# message must contain). After every row the lease database must be byte-for-byte unchanged.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
mk_netns S
NS=$(ns_path S)
GOOD=$(plugin_conf badnet 1.0.0 '[[{"subnet":"10.250.20.0/24"}]]')
mod() { jq -c "$1" <<<"$GOOD"; }        # mod JQ_FILTER: GOOD with a change
ranges() { mod ".ipam.ranges = $1"; }    # ranges JSON: GOOD with other ranges

# Something in the database first, so "unchanged" means something.
run_plugin ADD "$GOOD" CNI_CONTAINERID=base-vm "CNI_NETNS=$NS" CNI_IFNAME=eth0 \
  "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;VMIP_VM=basevm"
need "baseline VM ADD"
run_plugin ADD "$GOOD" CNI_CONTAINERID=base-pod "CNI_NETNS=$NS" CNI_IFNAME=eth0
need "baseline pod ADD"
HELD=$(addr_of "$(jq -r '.ips[0].address' <<<"$OUT")")
BASE=$(db_snapshot)
[[ -n $BASE ]] || die "empty database dump"

# row CODE MSG_PART NAME STDIN [VAR=VALUE | -VAR ...]   (base env: ADD with a valid attachment)
row() {
  local code=$1 part=$2 name=$3 stdin=$4 kv k
  shift 4
  local -A env=([CNI_COMMAND]=ADD [CNI_CONTAINERID]=bad-1 [CNI_NETNS]=$NS [CNI_IFNAME]=eth0)
  for kv in "$@"; do
    if [[ $kv == -* ]]; then unset "env[${kv#-}]"; else env[${kv%%=*}]=${kv#*=}; fi
  done
  local args=()
  for k in "${!env[@]}"; do [[ $k == CNI_COMMAND ]] || args+=("$k=${env[$k]}"); done
  run_plugin "${env[CNI_COMMAND]-}" "$stdin" "${args[@]}"
  expect_code "$name" "$code" "$part"
  expect_db_unchanged "$name: database unchanged" "$BASE"
}

echo "## environment"
row 4 CNI_COMMAND "unknown CNI_COMMAND" "$GOOD" CNI_COMMAND=FROB
row 4 CNI_COMMAND "lower-case CNI_COMMAND" "$GOOD" CNI_COMMAND=add
row 4 CNI_CONTAINERID "missing CNI_CONTAINERID" "$GOOD" -CNI_CONTAINERID
row 4 CNI_CONTAINERID "empty CNI_CONTAINERID" "$GOOD" CNI_CONTAINERID=
row 4 CNI_CONTAINERID "CNI_CONTAINERID with /" "$GOOD" CNI_CONTAINERID=bad/id
row 4 CNI_CONTAINERID "CNI_CONTAINERID with a space" "$GOOD" "CNI_CONTAINERID=a b"
row 4 CNI_NETNS "missing CNI_NETNS on ADD" "$GOOD" -CNI_NETNS
row 4 CNI_IFNAME "missing CNI_IFNAME" "$GOOD" -CNI_IFNAME
row 4 CNI_IFNAME "CNI_IFNAME of 16 characters" "$GOOD" CNI_IFNAME=abcdefghijklmnop
row 4 CNI_IFNAME "CNI_IFNAME with /" "$GOOD" CNI_IFNAME=a/b
row 4 CNI_IFNAME "CNI_IFNAME ." "$GOOD" CNI_IFNAME=.
row 4 CNI_NETNS "missing CNI_NETNS on CHECK" "$GOOD" CNI_COMMAND=CHECK -CNI_NETNS
row 4 CNI_CONTAINERID "missing CNI_CONTAINERID on DEL" "$GOOD" CNI_COMMAND=DEL -CNI_CONTAINERID
row 4 CNI_IFNAME "missing CNI_IFNAME on DEL" "$GOOD" CNI_COMMAND=DEL -CNI_IFNAME

echo "## stdin"
row 6 "" "stdin is not JSON" "hello"
row 6 "" "truncated JSON" "${GOOD:0:60}"
row 6 "" "empty stdin" ""
row 6 "" "stdin is a JSON array" "[]"
row 6 "" "stdin is a JSON string" '"x"'
row 6 "" "cniVersion is a number" "$(mod '.cniVersion = 1')"
jq -c '.pad = ("x" * 2097152)' <<<"$GOOD" >"$T/big.json"
row 5 "" "2 MiB stdin" "@$T/big.json"
row 1 9.9.9 "unknown cniVersion 9.9.9" "$(mod '.cniVersion = "9.9.9"')"
row 1 "" "cniVersion 1.0 (not a released version)" "$(mod '.cniVersion = "1.0"')"
row 1 "" "CHECK with config version 0.3.1" "$(mod '.cniVersion = "0.3.1"')" CNI_COMMAND=CHECK
row 1 "" "GC with config version 1.0.0" "$GOOD" CNI_COMMAND=GC -CNI_CONTAINERID -CNI_NETNS -CNI_IFNAME
row 1 "" "STATUS with config version 1.0.0" "$GOOD" CNI_COMMAND=STATUS -CNI_CONTAINERID -CNI_NETNS -CNI_IFNAME

echo "## network config"
row 7 name "missing name" "$(mod 'del(.name)')"
row 7 name "empty name" "$(mod '.name = ""')"
row 7 name "name with bad characters" "$(mod '.name = "bad name!"')"
row 7 name "name with /" "$(mod '.name = "a/b"')"
row 7 ipam "missing ipam" "$(mod 'del(.ipam)')"
row 7 "" "ipam without ranges or subnet" "$(mod 'del(.ipam.ranges)')"
row 7 10.250.20.0/33 "bad CIDR prefix /33" "$(ranges '[[{"subnet":"10.250.20.0/33"}]]')"
row 7 banana "subnet is not a CIDR" "$(ranges '[[{"subnet":"banana"}]]')"
row 7 10.250.300.0 "subnet octet > 255" "$(ranges '[[{"subnet":"10.250.300.0/24"}]]')"
row 7 10.250.20.5/24 "subnet with host bits" "$(ranges '[[{"subnet":"10.250.20.5/24"}]]')"
row 7 fd00:250::/129 "IPv6 prefix /129" "$(ranges '[[{"subnet":"fd00:250::/129"}]]')"
row 7 "" "IPv6 subnet with a zone id" "$(ranges '[[{"subnet":"fe80::%eth0/64"}]]')"
row 7 10.250.21.5 "rangeStart outside subnet" "$(ranges '[[{"subnet":"10.250.20.0/24","rangeStart":"10.250.21.5"}]]')"
row 7 10.250.21.5 "rangeEnd outside subnet" "$(ranges '[[{"subnet":"10.250.20.0/24","rangeEnd":"10.250.21.5"}]]')"
row 7 "" "rangeEnd before rangeStart" "$(ranges '[[{"subnet":"10.250.20.0/24","rangeStart":"10.250.20.50","rangeEnd":"10.250.20.10"}]]')"
row 7 10.250.21.1 "gateway outside subnet" "$(ranges '[[{"subnet":"10.250.20.0/24","gateway":"10.250.21.1"}]]')"
row 7 overlap "overlapping range sets" "$(ranges '[[{"subnet":"10.250.20.0/24"}],[{"subnet":"10.250.20.128/25"}]]')"
row 7 overlap "overlapping ranges in one set" "$(ranges '[[{"subnet":"10.250.20.0/24"},{"subnet":"10.250.20.0/25"}]]')"
row 7 ranges "ranges is a string" "$(ranges '"10.250.20.0/24"')"
row 7 "" "ranges is empty" "$(ranges '[]')"
row 7 "" "a range set is empty" "$(ranges '[[]]')"
row 7 "" "a range is a string" "$(ranges '[["10.250.20.0/24"]]')"
row 7 "" "subnet shorthand with a bad CIDR" "$(mod 'del(.ipam.ranges) | .ipam.subnet = "10.250.20.0/33"')"
row 7 routes "routes is a string" "$(mod '.ipam.routes = "x"')"
row 7 nope "route dst is not a CIDR" "$(mod '.ipam.routes = [{"dst":"nope"}]')"
row 7 banana "exclude entry is not an address" "$(mod '.ipam.exclude = ["banana"]')"

echo "## requested addresses"
row 102 10.99.0.5 "CNI_ARGS IP outside the pool" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;IP=10.99.0.5"
row 102 10.99.0.6 "runtimeConfig.ips outside the pool" "$(mod '.runtimeConfig.ips = ["10.99.0.6/24"]')"
row 102 10.99.0.7 "args.cni.ips outside the pool" "$(mod '.args.cni.ips = ["10.99.0.7"]')"
row 102 fd00:250::5 "requested IPv6 address in an IPv4-only pool" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;IP=fd00:250::5"
row 101 "$HELD" "requested address held by another owner" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;IP=$HELD"

row 102 gateway "requested address is the gateway" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;IP=10.250.20.1"
row 7 "not an IP" "requested address is not an address" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;IP=10.250.20.x"
row 7 "more than one" "two requested addresses for one range set" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;IP=10.250.20.7,10.250.20.8"

echo "## identity and reservations"
row 7 "VM name" "VMIP_VM is not a Kubernetes name" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;VMIP_VM=Bad_VM"
row 7 namespace "args.cni.vm with a bad namespace" "$(mod '.args.cni.vm = "NS!/vm1"')"
row 104 ghost "unknown reservation" "$GOOD" "CNI_ARGS=IgnoreUnknown=1;VMIP_VM=v9;VMIP_RESERVATION=ghost"

echo "## commands the version does not have"
row 1 GC "GC with cniVersion 1.0.0" "$(mod '.cniVersion = "1.0.0" | .["cni.dev/valid-attachments"] = []')" CNI_COMMAND=GC
row 1 STATUS "STATUS with cniVersion 0.4.0" "$(mod '.cniVersion = "0.4.0"')" CNI_COMMAND=STATUS

echo "## CNI_ARGS stays lenient (ARG-5)"
for a in "IgnoreUnknown=1;K8S_POD_NAME=a=b" "IgnoreUnknown=1;;;" "IgnoreUnknown=true;K8S_POD_NAMESPACE=;K8S_POD_NAME=x;"; do
  run_plugin ADD "$GOOD" CNI_CONTAINERID=lenient "CNI_NETNS=$NS" CNI_IFNAME=eth0 "CNI_ARGS=$a"
  expect_rc "CNI_ARGS [$a] accepted" 0
  run_plugin DEL "$GOOD" CNI_CONTAINERID=lenient CNI_IFNAME=eth0 "CNI_ARGS=$a"
  expect_rc "DEL with CNI_ARGS [$a]" 0
  expect_eq "lease of [$a] released" 0 "$(lease_count lenient)"
done

finish
