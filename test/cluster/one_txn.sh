#!/usr/bin/env bash
# Cluster mode, issue 17: an ADD's etcd round trips, and what guards them. 3 etcd
# members + 3 vmip-leased nodes (lib_cluster.sh). Scenarios:
#  - a new pod's ADD is one Txn: binding, address keys and attachment at one revision;
#  - two nodes ADD two VMs asking for the same address at once: exactly one wins (the
#    claim's compare covers every address even though it now writes the attachment);
#  - a VM restarted on the same node attaches on the binding version its local lease
#    records (no read first); a binding that changed since is read and reclaimed;
#  - step 3 re-check: `vmipctl release --force` between steps 2 and 3 makes the ADD
#    fail with 11 and the undo remove its attachment (test hook VMIP_TEST_ADD_GATE,
#    leased/core/test_gate.h); the same for a new VM, whose ADD had no local lease
#    to compare: it fails too and leaves no lease without a binding behind;
#  - kill -9 between the claim's Txn and the local commit: the VM's next ADD adopts.
source "$(dirname "$0")/../e2e/lib.sh"

NET=tnet
TTL=3
CLUSTER_NET=10.249.0 VETH_TAG=vmt
source "$(dirname "$0")/lib_cluster.sh"

conf() { # NODE
  jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" --arg n "$NET" \
    '{cniVersion: "1.0.0", name: $n, type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp,
      ranges: [[{subnet: "10.248.0.0/24"}]]}}'
}
cni() { # CMD NODE CONTAINERID POD [EXTRA_CNI_ARGS]
  run_plugin "$1" "$(conf "$2")" CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4${5:+;$5}"
}
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
# cni_to FILE NODE CONTAINERID POD [EXTRA_CNI_ARGS]: an ADD that may run in the
# background; stdout to FILE, then OUT and RC from cni_result FILE.
cni_to() {
  local rc=0
  env -i CNI_COMMAND=ADD CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4${5:+;$5}" \
    "$VMIP" <<<"$(conf "$2")" >"$1" 2>>"$T/plugins.err" || rc=$?
  echo "$rc" >"$1.rc"
}
cni_result() { OUT=$(<"$1") RC=$(<"$1.rc"); }
owner_key() { echo "/vmip/v1/owner/$NET/vm:default/$1#eth0"; }
attach_key() { echo "/vmip/v1/attach/$NET/$1#eth0"; }
addr_key() { echo "/vmip/v1/addr/$NET/$1"; }
# kv_field KEY FIELD: a key's mod_revision, create_revision or value (base64-decoded); "" when
# absent, "etcdctl failed" (never a valid answer) when etcd did not answer.
kv_field() {
  local out
  out=$(etcdctl_ get "$1" -w json 2>/dev/null) || { echo "etcdctl failed"; return 0; }
  case $2 in
    value) jq -r '.kvs[0].value // empty' <<<"$out" | base64 -d ;;
    *) jq -r --arg f "$2" '.kvs[0][$f] // empty' <<<"$out" ;;
  esac
}
# etcd_calls METHOD: gRPC calls of METHOD (Txn, Range) all three members served so far.
etcd_calls() {
  local i sum=0 n
  for i in 1 2 3; do
    n=$(ip netns exec "$(ns n$i)" curl -s "http://$CLUSTER_NET.1$i:2379/metrics" |
      awk -v m="grpc_method=\"$1\"" 'index($0, "grpc_server_handled_total{") == 1 && index($0, m) {s += $2} END {print s + 0}')
    sum=$((sum + n))
  done
  echo "$sum"
}

export VMIP_TEST_ADD_GATE=$T/gate # inert while $T/gate does not exist
setup_cluster

echo "# a new pod's ADD: one etcd Txn writes the binding, its addresses and the attachment"
cni ADD n1 warm virt-launcher-warm-aaaaa; need "first ADD on the network (reads its bound addresses)"
txn0=$(etcd_calls Txn) range0=$(etcd_calls Range)
cni ADD n1 a1 virt-launcher-vma-aaaaa; need "vma ADD on n1"; VMA=$(ip_of)
txn1=$(etcd_calls Txn) range1=$(etcd_calls Range)
rev=$(kv_field "$(owner_key vma)" mod_revision)
expect_match "vma's binding is in etcd" '^[0-9]+$' "$rev"
# create_revision: a later re-registration (Reattach) rewrites the key, never creates it.
expect_eq "the attachment was created in the binding's Txn" "$rev" "$(kv_field "$(attach_key a1)" create_revision)"
expect_eq "the address key too" "$rev" "$(kv_field "$(addr_key "$VMA")" create_revision)"
expect_match "the attachment names n1, vma and a token" "^n1 vm:default/vma#eth0 [0-9a-f]{16}$" "$(kv_field "$(attach_key a1)" value)"
expect_eq "etcd served one Txn for the ADD (n1..n3 idle)" 1 "$((txn1 - txn0))"
expect_eq "and no Range" 0 "$((range1 - range0))"

echo "# a VM restarted on the same node: one Attach on the version its lease records"
cni DEL n1 a1 virt-launcher-vma-aaaaa; need "vma DEL on n1"
for ((k = 0; k < 30; k++)); do [[ -z $(kv_field "$(attach_key a1)" value) ]] && break; sleep 0.1; done
txn0=$(etcd_calls Txn) range0=$(etcd_calls Range)
cni ADD n1 a2 virt-launcher-vma-bbbbb; need "vma ADD again on n1"
txn1=$(etcd_calls Txn) range1=$(etcd_calls Range)
expect_eq "vma keeps its address" "$VMA" "$(ip_of)"
expect_eq "etcd served one Txn for the restart ADD" 1 "$((txn1 - txn0))"
expect_eq "and no Range" 0 "$((range1 - range0))"
expect_eq "the attachment joined the binding's version" "$rev" "$(sqlite3 "$T/n1.db" "select cluster_revision from leases where owner = 'default/vma'")"
expect_match "a2 attached in etcd" "^n1 vm:default/vma#eth0 " "$(kv_field "$(attach_key a2)" value)"

echo "# the binding changed since the local lease: the ADD reads it and reclaims"
cni DEL n1 a2 virt-launcher-vma-bbbbb; need "vma DEL on n1"
binding=$(kv_field "$(owner_key vma)" value)
etcdctl_ put "$(owner_key vma)" "$binding" >/dev/null # same holder and addresses, a new version
rev2=$(kv_field "$(owner_key vma)" mod_revision)
expect_ne "the binding has a new version" "$rev" "$rev2"
cni ADD n1 a3 virt-launcher-vma-ccccc; expect_rc "vma ADD on n1 after the binding changed" 0
expect_eq "vma keeps its address" "$VMA" "$(ip_of)"
expect_eq "n1's lease records the new version" "$rev2" "$(sqlite3 "$T/n1.db" "select cluster_revision from leases where owner = 'default/vma'")"
expect_match "n1 logged the fallback read" 'binding changed since the local lease' "$(cat "$T/n1.log")"

echo "# two nodes ADD two VMs asking for the same address at once: one wins each round"
bad=() wins=0
for ((r = 0; r < 16; r++)); do
  ip=10.248.0.$((200 + r))
  cni_to "$T/rx$r" n1 rx$r "virt-launcher-rx$r-abcde" "IP=$ip" & p1=$!
  cni_to "$T/ry$r" n2 ry$r "virt-launcher-ry$r-abcde" "IP=$ip" & p2=$!
  wait $p1 $p2
  won=$(jq -s '[.[] | select(.ips)] | length' "$T/rx$r" "$T/ry$r")
  wins=$((wins + won))
  ((won == 1)) || bad+=("$ip:$won-acknowledged")
  want=vm:default/ry$r#eth0
  jq -e .ips "$T/rx$r" >/dev/null 2>&1 && want=vm:default/rx$r#eth0
  holder=$(kv_field "$(addr_key "$ip")" value)
  [[ $holder == "$want" ]] || bad+=("$ip:etcd-names-$holder")
done
expect_eq "each of 16 contested addresses went to exactly one VM, the one etcd names" "" "${bad[*]}"
expect_eq "16 ADDs acknowledged" 16 "$wins"

wait_gate() { # the ADD in flight reached the gate (step 2 done)
  for ((k = 0; k < 100; k++)); do [[ -e $T/gate.reached ]] && break; sleep 0.05; done
  expect_eq "the ADD reached the gate" yes "$([[ -e $T/gate.reached ]] && echo yes || echo no)"
}
# release_during_gate VM CID WHY MSG: VM's ADD in container CID waits at the gate, with
# its attachment in etcd; `vmipctl release --force` of VM then makes it fail with 11 and
# MSG (WHY names the case), and leaves neither binding, attachment nor local lease.
release_during_gate() {
  local vm=$1 cid=$2 why=$3 msg=$4
  touch "$T/gate"
  cni_to "$T/$cid" n1 "$cid" "virt-launcher-$vm-bbbbb" & add_pid=$!
  wait_gate
  expect_match "$cid is attached in etcd before the local commit" "^n1 vm:default/$vm#eth0 " "$(kv_field "$(attach_key "$cid")" value)"
  ctl_out=$(nctl n1 release --vm "default/$vm" --force 2>&1) && pass "release --force of $vm during the pause" || fail "release --force: $ctl_out"
  rm -f "$T/gate" "$T/gate.reached"
  wait $add_pid
  cni_result "$T/$cid"
  expect_code "the ADD fails: $why" 11 "$msg"
  expect_eq "the undo removed $cid's attachment from etcd" "" "$(kv_field "$(attach_key "$cid")" value)"
  expect_eq "$vm is not bound in etcd" "" "$(kv_field "$(owner_key "$vm")" value)"
  expect_eq "n1 holds no lease of $vm" 0 "$(sqlite3 "$T/n1.db" "select count(*) from leases where owner = 'default/$vm'")"
}

echo "# step 3 re-check: vmipctl release --force while the ADD waits between steps 2 and 3"
cni ADD n1 g1 virt-launcher-vmg-aaaaa; need "vmg ADD on n1"
cni DEL n1 g1 virt-launcher-vmg-aaaaa; need "vmg DEL on n1"
release_during_gate vmg g2 "the local lease changed between steps 1 and 3" "changed on this node during this ADD"
cni ADD n1 g3 virt-launcher-vmg-ccccc; expect_rc "vmg's next ADD succeeds" 0

echo "# a new VM's binding released (release --force) between steps 2 and 3: no local lease without it"
release_during_gate vmf f1 "its binding was released during it" "was released on this node during this ADD"
cni ADD n1 f2 virt-launcher-vmf-ccccc; expect_rc "vmf's next ADD succeeds" 0
expect_match "and binds it in etcd again" "^n1 " "$(kv_field "$(owner_key vmf)" value)"

echo "# kill -9 between the claim's Txn and the local commit: the VM's next ADD adopts"
touch "$T/gate"
cni_to "$T/k1" n1 k1 virt-launcher-vmk-aaaaa & add_pid=$!
wait_gate
VMK=$(kv_field "$(owner_key vmk)" value)
expect_match "vmk is bound to n1 in etcd" "^n1 10\\.248\\." "$VMK"
{ kill -KILL "${NODE_PIDS[1]}" && wait "${NODE_PIDS[1]}"; } 2>/dev/null || true
rm -f "$T/gate" "$T/gate.reached"
wait $add_pid
cni_result "$T/k1"
expect_error "the ADD cut by the kill fails"
start_node 1
expect_eq "n1 committed no lease of vmk" 0 "$(sqlite3 "$T/n1.db" "select count(*) from leases where owner = 'default/vmk'")"
cni ADD n1 k2 virt-launcher-vmk-bbbbb; expect_rc "vmk's next ADD on n1" 0
expect_eq "it adopts the address etcd bound" "${VMK#n1 }" "$(ip_of)"
for ((k = 0; k < 50; k++)); do [[ -z $(kv_field "$(attach_key k1)" value) ]] && break; sleep 0.2; done
expect_eq "k1's attachment expired with the killed daemon's etcd lease" "" "$(kv_field "$(attach_key k1)" value)"
expect_match "k2 is attached" "^n1 vm:default/vmk#eth0 " "$(kv_field "$(attach_key k2)" value)"

expect_one_owner_per_address

finish
