#!/usr/bin/env bash
# Cluster mode, issue 11: never one address for two running VMs. 3 etcd members +
# 3 vmip-leased nodes, each pair in its own netns (n1..n3) on a test bridge
# (10.251.0.0/24 in a hub netns); the setup is lib_cluster.sh's. Scenarios:
# a VM migrates n1 -> n2 and the source pod goes: n1 drops its copy (history keeps
# the hand-off); `vmipctl release` on n1 and n3 is refused naming n2 and its
# container, --force too; after the target's DEL the release succeeds and the
# address is free on another node within 2 s (etcd watch); a late outbox replay of
# an old release never removes a newer binding of the same owner and address; a
# node whose etcd lease expired replaces it on the next ADD and re-puts its keys.
source "$(dirname "$0")/../e2e/lib.sh"

NET=onet
RANGES='[[{"subnet":"10.253.0.0/24"}]]'
TTL=3
CLUSTER_NET=10.251.0 VETH_TAG=vmo
source "$(dirname "$0")/lib_cluster.sh"

conf() { # NODE
  jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" --argjson r "$RANGES" --arg n "$NET" \
    '{cniVersion: "1.0.0", name: $n, type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: $r}}'
}
cni() { # CMD NODE CONTAINERID POD [EXTRA_CNI_ARGS]
  run_plugin "$1" "$(conf "$2")" CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4${5:+;$5}"
}
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
# ctl_run NODE ARGS...: vmipctl on NODE; sets OUT (stdout+stderr) and RC
ctl_run() {
  RC=0
  OUT=$(nctl "$@" 2>&1) || RC=$?
}
etcd_val() { etcdctl_ get "$1" --print-value-only; }
owner_key() { echo "/vmip/v1/owner/$NET/$1"; }
addr_key() { echo "/vmip/v1/addr/$NET/$1"; }
outbox_count() { sqlite3 "$T/$1.db" 'select count(*) from cluster_outbox'; }
wait_outbox_empty() { # NODE
  local k
  for ((k = 0; k < 50; k++)); do [[ $(outbox_count "$1") == 0 ]] && return 0; sleep 0.1; done
}

setup_cluster

echo "# a VM migrates n1 -> n2; the source pod goes"
cni ADD n1 src1 virt-launcher-vm1-aaaaa; expect_rc "vm1 ADD on n1" 0; VM1=$(ip_of)
cni ADD n3 p3 pod-p3; expect_rc "a pod on n3 (n3 learns vm1's address is taken)" 0
cni ADD n2 dst1 virt-launcher-vm1-bbbbb; expect_rc "vm1 target ADD on n2" 0
expect_eq "the target gets vm1's address" "$VM1" "$(ip_of)"
cni DEL n1 src1 virt-launcher-vm1-aaaaa; expect_rc "source DEL on n1" 0
wait_outbox_empty n1
sleep 0.5 # the hand-off notice and the outbox run once a second
expect_eq "n1 no longer lists vm1" "0" "$(nctl n1 leases --vm default/vm1 --json | jq length)"
expect_eq "n1's free sets do not count vm1's address as its own" "0" \
  "$(sqlite3 "$T/n1.db" "select count(*) from addresses where ip = '$VM1'")"
expect_match "n1's history keeps the hand-off to n2" "handoff n2" \
  "$(nctl n1 history --vm default/vm1 --json | jq -r '.[] | "\(.kind) \(.node)"' | paste -sd' ')"
expect_eq "n2 holds vm1 attached" "attached" "$(nctl n2 leases --vm default/vm1 --json | jq -r '.[0].state')"

echo "# release while n2 runs the VM: refused on every other node, --force too"
for n in n1 n3; do
  ctl_run "$n" release --vm default/vm1
  expect_eq "release on $n exits 1 (refused)" 1 "$RC"
  expect_match "release on $n names n2, its container and code 108" "n2.*dst1|dst1.*n2" "$OUT"
  expect_match "release on $n says code 108" "code 108" "$OUT"
  ctl_run "$n" release --vm default/vm1 --force
  expect_eq "release --force on $n exits 1 (refused)" 1 "$RC"
  expect_match "release --force on $n names n2 and dst1" "n2.*dst1|dst1.*n2" "$OUT"
done
expect_eq "vm1's owner key is still in etcd" "vm:default/vm1#eth0" "$(etcd_val "$(addr_key "$VM1")")"
expect_match "vm1's binding is still in etcd" "$VM1" "$(etcd_val "$(owner_key 'vm:default/vm1#eth0')")"
cni ADD n1 other1 virt-launcher-vmx-aaaaa "IP=$VM1"
expect_code "another VM cannot take vm1's address on n1" 101

echo "# after the target's DEL, the release succeeds and the address is free cluster-wide"
cni DEL n2 dst1 virt-launcher-vm1-bbbbb; expect_rc "target DEL on n2" 0
wait_outbox_empty n2
ctl_run n3 release --vm default/vm1
expect_eq "release on n3 (no local copy) succeeds once nothing is attached" 0 "$RC"
expect_eq "vm1's address key is gone from etcd" "" "$(etcd_val "$(addr_key "$VM1")")"
expect_eq "vm1's owner key is gone from etcd" "" "$(etcd_val "$(owner_key 'vm:default/vm1#eth0')")"
sleep 1.5 # a node learns of the freed address within about a second (etcd watch)
cni ADD n1 new1 virt-launcher-vmnew-aaaaa "IP=$VM1"
expect_rc "n1 hands the freed address to a new VM within 1.5 s" 0
expect_eq "the new VM has vm1's old address" "$VM1" "$(ip_of)"
ctl_run n2 leases --vm default/vm1 --json
expect_eq "n2 keeps no stale copy of vm1" "0" "$(jq length <<<"$OUT")"

echo "# a late outbox replay of an old release never removes a newer binding"
cni ADD n1 r1 pod-r1; expect_rc "pod r1 ADD on n1" 0; R1=$(ip_of)
kill -STOP "${ETCD_PIDS[2]}" "${ETCD_PIDS[3]}" # quorum lost: the DEL is queued
cni DEL n1 r1 pod-r1; expect_rc "pod r1 DEL without quorum" 0
sqlite3 "$T/n1.db" "select op, network, key, value from cluster_outbox order by id" >"$T/stale.rows"
expect_match "the release is queued" "release" "$(cat "$T/stale.rows")"
kill -CONT "${ETCD_PIDS[2]}" "${ETCD_PIDS[3]}"
wait_etcd
wait_outbox_empty n1
expect_eq "r1's address released in etcd" "" "$(etcd_val "$(addr_key "$R1")")"
cni ADD n1 r1 pod-r1 "IP=$R1"; expect_rc "pod r1 ADDed again with the same address" 0
NEW_BINDING=$(etcd_val "$(owner_key 'pod:r1#eth0')")
expect_match "the newer binding is in etcd" "$R1" "$NEW_BINDING"
while IFS='|' read -r op net key value; do
  sqlite3 "$T/n1.db" "insert into cluster_outbox(op, network, key, value) values('$op', '$net', '$key', '$value')"
done <"$T/stale.rows"
wait_outbox_empty n1
expect_eq "the stale rows were processed" 0 "$(outbox_count n1)"
expect_eq "the newer binding survived the stale release" "$NEW_BINDING" "$(etcd_val "$(owner_key 'pod:r1#eth0')")"
expect_eq "the address key still names r1" "pod:r1#eth0" "$(etcd_val "$(addr_key "$R1")")"
expect_eq "the attachment survived the stale detach" 1 \
  "$(etcdctl_ get --prefix "/vmip/v1/attach/$NET/" --keys-only | grep -c "/attach/$NET/r1#eth0\$" || true)"

echo "# n1's liveness lease is gone (an outage longer than its TTL): the next ADD replaces it"
# (grep, not jq: a lease ID is a 64-bit integer, which jq would round)
LEASE=$(etcdctl_ get "/vmip/v1/node/n1" -w json | grep -o '"lease":[0-9]*' | cut -d: -f2)
expect_match "n1's node key has a lease" '^[0-9]+$' "$LEASE"
RC=0; etcdctl_ lease revoke "$(printf '%x' "$LEASE")" >/dev/null || RC=$?
need "n1's lease revoked"
# The daemon's keepalive (every TTL/3 = 1 s) may see the lease gone and re-put the key
# under a new lease before this reads it: either way no key may be left on the old one.
NODE_LEASE=$(etcdctl_ get "/vmip/v1/node/n1" -w json | grep -o '"lease":[0-9]*' | cut -d: -f2 || true)
expect_ne "the revoke took n1's node key off the old lease" "$LEASE" "${NODE_LEASE:-none}"
cni ADD n1 lease1 pod-lease1; expect_rc "ADD right after the lease was lost succeeds" 0
expect_match "n1's node key is back, under a new lease" "." "$(etcd_val /vmip/v1/node/n1)"
expect_eq "r1's attachment is back too" 1 \
  "$(etcdctl_ get --prefix "/vmip/v1/attach/$NET/" --keys-only | grep -c "/attach/$NET/r1#eth0\$" || true)"

echo "# invariant: no address bound to two owners, on any node or in etcd"
expect_one_owner_per_address

finish
