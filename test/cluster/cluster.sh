#!/usr/bin/env bash
# Cluster mode end to end: 3 etcd members + 3 vmip-leased nodes, each pair in its
# own netns (n1..n3) on a test bridge (10.251.0.0/24, in a hub netns). The plugin is
# exec'd directly against each node's socket. Scenarios: cross-node migration
# success and failure, node loss then restart elsewhere, an ADD storm from all
# nodes with one node partitioned midway (zero duplicates), quorum loss (ADD 11,
# DEL 0, recovery), daemon restart.
source "$(dirname "$0")/../e2e/lib.sh"

NET=cnet
RANGES='[[{"subnet":"10.252.0.0/22"}]]'
TTL=3
ETCD_PIDS=()
NODE_PIDS=()
CLUSTER="e1=http://10.251.0.11:2380,e2=http://10.251.0.12:2380,e3=http://10.251.0.13:2380"
ENDPOINTS="http://10.251.0.11:2379,http://10.251.0.12:2379,http://10.251.0.13:2379"

cluster_cleanup() {
  local rc=$?
  kill -KILL "${NODE_PIDS[@]}" "${ETCD_PIDS[@]}" 2>/dev/null
  wait 2>/dev/null
  (exit "$rc")
  cleanup
}
trap cluster_cleanup EXIT

ns() { echo "${NS_PREFIX}$1"; }
setup_network() {
  ip netns add "$(ns hub)"
  ip -n "$(ns hub)" link add br0 type bridge
  ip -n "$(ns hub)" link set br0 up
  local i
  for i in 1 2 3; do
    ip netns add "$(ns n$i)"
    ip -n "$(ns n$i)" link set lo up
    ip link add "vmc$$n$i" netns "$(ns n$i)" type veth peer name "h$i" netns "$(ns hub)"
    ip -n "$(ns n$i)" link set "vmc$$n$i" name eth0
    ip -n "$(ns n$i)" addr add "10.251.0.1$i/24" dev eth0
    ip -n "$(ns n$i)" link set eth0 up
    ip -n "$(ns hub)" link set "h$i" master br0 up
  done
}
start_etcd() { # I
  local i=$1
  ip netns exec "$(ns n$i)" etcd --name "e$i" --data-dir "$T/etcd$i" \
    --listen-client-urls "http://10.251.0.1$i:2379" --advertise-client-urls "http://10.251.0.1$i:2379" \
    --listen-peer-urls "http://10.251.0.1$i:2380" --initial-advertise-peer-urls "http://10.251.0.1$i:2380" \
    --initial-cluster "$CLUSTER" --initial-cluster-state new --heartbeat-interval 50 --election-timeout 500 \
    >>"$T/etcd$i.log" 2>&1 &
  ETCD_PIDS[$i]=$!
}
etcdctl_() { ip netns exec "$(ns n1)" env ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --command-timeout=3s "$@"; }
wait_etcd() {
  local k
  for ((k = 0; k < 100; k++)); do etcdctl_ endpoint health >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "etcd cluster not healthy after 10 s"
}
start_node() { # I
  local i=$1 k
  ip netns exec "$(ns n$i)" "$LEASED" --socket "$T/n$i.sock" --db "$T/n$i.db" --spool-dir "$T/n$i.spool" \
    --node-name "n$i" --cluster etcd --etcd-endpoints "$ENDPOINTS" --peer-address "10.251.0.1$i:7070" \
    --etcd-lease-ttl "$TTL" --log-level debug >>"$T/n$i.log" 2>&1 &
  NODE_PIDS[$i]=$!
  for ((k = 0; k < 100; k++)); do
    "$VMIPCTL" --socket "$T/n$i.sock" status >/dev/null 2>&1 && return 0
    kill -0 "${NODE_PIDS[$i]}" 2>/dev/null || { tail "$T/n$i.log" >&2; die "node n$i exited at start"; }
    sleep 0.1
  done
  die "node n$i not ready"
}
conf() { # NODE
  jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" --argjson r "$RANGES" --arg n "$NET" \
    '{cniVersion: "1.0.0", name: $n, type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: $r}}'
}
cni() { # CMD NODE CONTAINERID POD [NAMESPACE]
  run_plugin "$1" "$(conf "$2")" CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=${5:-default};K8S_POD_NAME=$4"
}
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
attach_keys() { etcdctl_ get --prefix "/vmip/v1/attach/$NET/" --keys-only | grep . | sed "s|/vmip/v1/attach/$NET/||" | sort | paste -sd, -; }
nctl() { "$VMIPCTL" --socket "$T/$1.sock" "${@:2}"; }

setup_network
for i in 1 2 3; do start_etcd "$i"; done
wait_etcd
for i in 1 2 3; do start_node "$i"; done

echo "# cross-node live migration, success: source DEL on n1 leaves the target on n2"
cni ADD n1 src1 virt-launcher-vm1-aaaaa; expect_rc "vm1 ADD on n1" 0; VM1=$(ip_of)
cni ADD n2 dst1 virt-launcher-vm1-bbbbb; expect_rc "vm1 target ADD on n2" 0
expect_eq "target on n2 gets vm1's address" "$VM1" "$(ip_of)"
expect_eq "both attachments in etcd" "dst1#eth0,src1#eth0" "$(attach_keys)"
cni DEL n1 src1 virt-launcher-vm1-aaaaa; expect_rc "source DEL on n1" 0
sleep 1.5 # the outbox flusher runs every second
expect_eq "only the target stays attached" "dst1#eth0" "$(attach_keys)"
expect_eq "n2 shows vm1 attached" "attached" "$(nctl n2 leases --vm default/vm1 --json | jq -r '.[0].state')"
expect_match "n1's history shows the hand-off to n2" "handoff n2" \
  "$(nctl n1 history --vm default/vm1 --json | jq -r '.[] | "\(.kind) \(.node)"' | paste -sd' ')"
expect_eq "the cluster view has vm1 as n1 and n2 see it" "n1,n2" \
  "$(nctl n1 leases --cluster --vm default/vm1 --json | jq -r '[.[].reported_by] | unique | join(",")')"
expect_match "cluster history merges both nodes" "adopt.*bind" \
  "$(nctl n2 history --cluster --vm default/vm1 --json | jq -r '.[].kind' | paste -sd' ')"

echo "# cross-node live migration, failure: target DEL on n2 leaves the source on n1"
cni ADD n1 src2 virt-launcher-vm2-aaaaa; VM2=$(ip_of)
cni ADD n2 dst2 virt-launcher-vm2-bbbbb; expect_eq "vm2 target same address" "$VM2" "$(ip_of)"
cni DEL n2 dst2 virt-launcher-vm2-bbbbb; expect_rc "target DEL on n2" 0
sleep 1.5
expect_match "source still attached in etcd" "src2#eth0" "$(attach_keys)"
expect_eq "n1 shows vm2 attached" "attached" "$(nctl n1 leases --vm default/vm2 --json | jq -r '.[0].state')"
expect_ne "vm1 and vm2 differ" "$VM1" "$VM2"

echo "# node loss: n3 dies, its attachments expire with its etcd lease, vm3 restarts on n1"
cni ADD n3 src3 virt-launcher-vm3-aaaaa; VM3=$(ip_of)
kill -KILL "${NODE_PIDS[3]}"; wait "${NODE_PIDS[3]}" 2>/dev/null || true
for ((k = 0; k < 50; k++)); do [[ $(attach_keys) != *src3* ]] && break; sleep 0.2; done
expect_eq "n3's attachment expired" "" "$(grep -o src3 <<<"$(attach_keys)" || true)"
cni ADD n1 re3 virt-launcher-vm3-ccccc; expect_rc "vm3 ADD on n1" 0
expect_eq "vm3 keeps its address on n1" "$VM3" "$(ip_of)"
start_node 3

echo "# ADD storm for distinct VMs from all nodes, n3 partitioned midway: zero duplicate addresses"
storm() { # NODE COUNT
  local n=$1 c
  for ((c = 0; c < $2; c++)); do
    env -i CNI_COMMAND=ADD CNI_CONTAINERID="s$n-$c" CNI_NETNS=/x CNI_IFNAME=eth0 \
      CNI_ARGS="K8S_POD_NAMESPACE=storm;K8S_POD_NAME=virt-launcher-s$n-$c-abcde" "$VMIP" <<<"$(conf "$n")" >"$T/storm-$n-$c.json" 2>/dev/null || true
  done
}
storm n1 30 & S1=$!
storm n2 30 & S2=$!
storm n3 30 & S3=$!
sleep 0.3
ip -n "$(ns n3)" link set eth0 down
wait $S1 $S2 $S3
ip -n "$(ns n3)" link set eth0 up
wait_etcd
acked=$(cat "$T"/storm-*.json | jq -r 'select(.ips) | .ips[0].address' | sort)
dups=$(uniq -d <<<"$acked" | paste -sd, -)
expect_eq "no address acknowledged twice" "" "$dups"
expect_eq "the storm's owners are VMs" vm "$(sqlite3 "$T/n1.db" "select distinct owner_kind from leases where owner like 'storm/%'")"
n_acked=$(grep -c . <<<"$acked" || true)
((n_acked >= 50)) && pass "n1 and n2 kept serving ($n_acked ADDs acknowledged)" || fail "only $n_acked ADDs acknowledged"
failed_codes=$(cat "$T"/storm-*.json | jq -r 'select(.code) | .code' | sort -u | paste -sd, -)
expect_match "a failed storm ADD is code 11 only" '^(11)?$' "$failed_codes"
etcd_addrs=0
for ((k = 0; k < 5 && etcd_addrs == 0; k++)); do # a leader election may still be settling
  etcd_addrs=$(etcdctl_ get --prefix "/vmip/v1/addr/$NET/" --keys-only 2>/dev/null | grep -c . || true)
done
# A VM's address is bound on every node it ran on; two owners for one address never.
local_dups=$(for i in 1 2 3; do
  sqlite3 "$T/n$i.db" "select a.ip, l.owner_kind || ':' || l.owner from addresses a join leases l on l.id = a.lease_id"
done | sort -u | cut -d'|' -f1 | uniq -d | paste -sd, -)
expect_eq "no address held by two owners across the nodes" "" "$local_dups"
((etcd_addrs >= n_acked)) && pass "every acknowledged address is in etcd ($etcd_addrs keys)" || fail "etcd has $etcd_addrs keys for $n_acked acked"

echo "# quorum lost: ADD fails with 11, DEL succeeds and is applied after recovery"
cni ADD n1 q1 pod-q1; expect_rc "pod ADD before the outage" 0; Q1=$(ip_of)
kill -STOP "${ETCD_PIDS[2]}" "${ETCD_PIDS[3]}"
cni ADD n1 q2 pod-q2; expect_code "ADD without quorum" 11
cni DEL n1 q1 pod-q1; expect_rc "DEL without quorum" 0
expect_eq "DEL queued in the outbox" "2" "$(sqlite3 "$T/n1.db" 'select count(*) from cluster_outbox')"
kill -CONT "${ETCD_PIDS[2]}" "${ETCD_PIDS[3]}"
for ((k = 0; k < 50; k++)); do [[ $(sqlite3 "$T/n1.db" 'select count(*) from cluster_outbox') == 0 ]] && break; sleep 0.2; done
expect_eq "outbox drained after recovery" "0" "$(sqlite3 "$T/n1.db" 'select count(*) from cluster_outbox')"
expect_eq "q1's address released in etcd" "" "$(etcdctl_ get "/vmip/v1/addr/$NET/$Q1" --keys-only)"
cni ADD n1 q2 pod-q2; expect_rc "ADD after recovery" 0

echo "# an etcd member is killed and restarted: the nodes fail over, nothing is lost"
keys_before=$(etcdctl_ get --prefix "/vmip/v1/addr/$NET/" --keys-only | grep -c . || true)
kill -KILL "${ETCD_PIDS[1]}"; wait "${ETCD_PIDS[1]}" 2>/dev/null || true
cni ADD n1 m1 pod-m1; expect_rc "ADD on n1 while its local etcd member is down" 0
start_etcd 1 # same data dir: it rejoins as the member it was
wait_etcd
keys_after=0
for ((k = 0; k < 5 && keys_after == 0; k++)); do
  keys_after=$(etcdctl_ get --prefix "/vmip/v1/addr/$NET/" --keys-only 2>/dev/null | grep -c . || true)
done
expect_eq "every binding survived, plus the new one" "$((keys_before + 1))" "$keys_after"

echo "# daemon restart loses nothing and re-registers its attachments"
before=$(nctl n2 leases --json | jq -c 'map({owner, ips, state})')
kill -KILL "${NODE_PIDS[2]}"; wait "${NODE_PIDS[2]}" 2>/dev/null || true
start_node 2
expect_eq "n2 leases identical after kill -9" "$before" "$(nctl n2 leases --json | jq -c 'map({owner, ips, state})')"
sleep $((TTL + 2)) # the old lease expires; the new one must carry the attachment
expect_match "dst1 attachment re-registered under the new lease" "dst1#eth0" "$(attach_keys)"
for i in 1 2 3; do nctl "n$i" check >/dev/null && pass "n$i check ok" || fail "n$i check: $(nctl n$i check)"; done

finish
