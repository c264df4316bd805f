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
CLUSTER_NET=10.251.0 VETH_TAG=vmc
source "$(dirname "$0")/lib_cluster.sh"

conf() { # NODE
  jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" --argjson r "$RANGES" --arg n "$NET" \
    '{cniVersion: "1.0.0", name: $n, type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: $r}}'
}
cni() { # CMD NODE CONTAINERID POD [NAMESPACE]
  run_plugin "$1" "$(conf "$2")" CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=${5:-default};K8S_POD_NAME=$4"
}
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
# etcd_keys PREFIX: the keys under PREFIX (PREFIX cut off), sorted, comma-joined. A failed
# etcdctl is retried (a leader election may be settling), then printed as "etcdctl failed:
# ..." with status 1, which no expectation accepts: a failure never reads as "no such key".
etcd_keys() {
  local out k
  for ((k = 0; k < 5; k++)); do
    if out=$(etcdctl_ get --prefix "$1" --keys-only 2>"$T/etcdctl.err"); then
      sed '/^$/d' <<<"$out" | sed "s|^$1||" | sort | paste -sd, -
      return 0
    fi
    sleep 0.5
  done
  echo "etcdctl failed: $(tr '\n' ' ' <"$T/etcdctl.err")"
  return 1
}
etcd_count() { # PREFIX: how many keys, or "etcdctl failed: ..." and status 1
  local keys
  keys=$(etcd_keys "$1") || { echo "$keys"; return 1; }
  tr , '\n' <<<"$keys" | grep -c . || true
}
expect_keys_lack() { # NAME PREFIX KEY: etcd answered, and KEY is not among PREFIX's keys
  local keys
  if ! keys=$(etcd_keys "$2"); then fail "$1: $keys"
  elif [[ ,$keys, == *",$3,"* ]]; then fail "$1: $3 is still in etcd ($keys)"
  else pass "$1"; fi
}
attach_keys() { etcd_keys "/vmip/v1/attach/$NET/"; }

setup_cluster

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
expect_eq "the cluster view has vm1 on n2 only: n1 dropped its copy after the hand-off" "n2" \
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
for ((k = 0; k < 50; k++)); do keys=$(attach_keys) && [[ $keys != *src3* ]] && break; sleep 0.2; done
expect_keys_lack "n3's attachment expired" "/vmip/v1/attach/$NET/" "src3#eth0"
cni ADD n1 re3 virt-launcher-vm3-ccccc; expect_rc "vm3 ADD on n1" 0
expect_eq "vm3 keeps its address on n1" "$VM3" "$(ip_of)"
start_node 3

echo "# ADD storm for distinct VMs from all nodes, n3 partitioned midway: zero duplicate addresses"
# Each call's result goes to storm-NODE-C.json, created when the call starts. A storm
# stops after 3 failed ADDs: n3's calls fail once it is cut off (each after the daemon's
# 1.5 s etcd deadline), and three of them prove the cut fell inside its storm.
storm() { # NODE COUNT
  local n=$1 c failed=0
  for ((c = 0; c < $2 && failed < 3; c++)); do
    env -i CNI_COMMAND=ADD CNI_CONTAINERID="s$n-$c" CNI_NETNS=/x CNI_IFNAME=eth0 \
      CNI_ARGS="K8S_POD_NAMESPACE=storm;K8S_POD_NAME=virt-launcher-s$n-$c-abcde" "$VMIP" <<<"$(conf "$n")" >"$T/storm-$n-$c.json" 2>/dev/null || failed=$((failed + 1))
  done
}
storm_results() { # NODE: the exit codes of the node's calls, "0" for an acknowledged ADD
  cat "$T"/storm-"$1"-*.json | jq -r 'if .ips then 0 else .code end'
}
storm n1 30 & S1=$!
storm n2 30 & S2=$!
storm n3 30 & S3=$!
# The cut comes when n3 has finished 10 calls, not after a guessed sleep.
for ((k = 0; k < 200; k++)); do [[ -e $T/storm-n3-10.json ]] && break; sleep 0.05; done
started=$(ls "$T" | grep -c '^storm-n[12]-' || true)
kill -0 "$S3" 2>/dev/null && n3_running=yes || n3_running=no
ip -n "$(ns n3)" link set eth0 down
wait $S1 $S2 $S3
ip -n "$(ns n3)" link set eth0 up
wait_etcd
expect_eq "n3's storm was still running when it was cut off" yes "$n3_running"
((started < 60)) && pass "n1 and n2 had $((60 - started)) ADDs still to make at the cut" ||
  fail "n1 and n2 had finished their storms before the cut"
n3_ok=$(storm_results n3 | grep -c '^0$' || true)
n3_failed=$(storm_results n3 | grep -vc '^0$' || true)
((n3_ok >= 10 && n3_failed >= 1)) && pass "the cut hit n3 mid-storm: $n3_ok ADDs acknowledged, then $n3_failed failed" ||
  fail "the cut did not fall inside n3's storm: $n3_ok acknowledged, $n3_failed failed"
acked=$(cat "$T"/storm-*.json | jq -r 'select(.ips) | .ips[0].address | split("/")[0]' | sort)
dups=$(uniq -d <<<"$acked" | paste -sd, -)
expect_eq "no address acknowledged twice" "" "$dups"
expect_eq "the storm's owners are VMs" vm "$(sqlite3 "$T/n1.db" "select distinct owner_kind from leases where owner like 'storm/%'")"
n_acked=$(grep -c . <<<"$acked" || true)
n12_acked=$(cat <(storm_results n1) <(storm_results n2) | grep -c '^0$' || true)
((n12_acked >= 50)) && pass "n1 and n2 kept serving through the cut ($n12_acked of 60 ADDs acknowledged)" ||
  fail "n1 and n2 acknowledged only $n12_acked of 60 ADDs"
failed_codes=$( (storm_results n1; storm_results n2; storm_results n3) | grep -v '^0$' | sort -u | paste -sd, -)
expect_match "a failed storm ADD is code 11 only" '^(11)?$' "$failed_codes"
# A VM's address is bound on every node it ran on; two owners for one address never.
expect_eq "no address held by two owners across the nodes" "" "$(local_duplicates)"
if etcd_addrs=$(etcd_keys "/vmip/v1/addr/$NET/"); then
  missing=$(comm -23 <(sort -u <<<"$acked") <(tr , '\n' <<<"$etcd_addrs" | sort) | paste -sd, -)
  expect_eq "every acknowledged address ($n_acked) is bound in etcd" "" "$missing"
else
  fail "etcd's bindings after the storm: $etcd_addrs"
fi

echo "# quorum lost: ADD fails with 11, DEL succeeds and is applied after recovery"
cni ADD n1 q1 pod-q1; expect_rc "pod ADD before the outage" 0; Q1=$(ip_of)
kill -STOP "${ETCD_PIDS[2]}" "${ETCD_PIDS[3]}"
cni ADD n1 q2 pod-q2; expect_code "ADD without quorum" 11
cni DEL n1 q1 pod-q1; expect_rc "DEL without quorum" 0
expect_eq "DEL queued in the outbox" "2" "$(sqlite3 "$T/n1.db" "select count(*) from cluster_outbox where key like '%q1#eth0'")"
# The failed claim may have landed with its attachment: the undo queues its removal (by token).
expect_eq "the failed ADD's attachment removal queued" "1" "$(sqlite3 "$T/n1.db" "select count(*) from cluster_outbox where key = 'q2#eth0'")"
kill -CONT "${ETCD_PIDS[2]}" "${ETCD_PIDS[3]}"
for ((k = 0; k < 50; k++)); do [[ $(sqlite3 "$T/n1.db" 'select count(*) from cluster_outbox') == 0 ]] && break; sleep 0.2; done
expect_eq "outbox drained after recovery" "0" "$(sqlite3 "$T/n1.db" 'select count(*) from cluster_outbox')"
expect_keys_lack "q1's address released in etcd" "/vmip/v1/addr/$NET/" "$Q1"
cni ADD n1 q2 pod-q2; expect_rc "ADD after recovery" 0

echo "# an etcd member is killed and restarted: the nodes fail over, nothing is lost"
keys_before=$(etcd_count "/vmip/v1/addr/$NET/") || { fail "etcd's bindings before the kill: $keys_before"; keys_before=-2; }
kill -KILL "${ETCD_PIDS[1]}"; wait "${ETCD_PIDS[1]}" 2>/dev/null || true
# If the killed member led, the others elect a new leader (about a second): an ADD in
# that window answers 11 within 2 s, and the runtime retries it. Failover must make
# one of at most 4 tries succeed, and every 11 must be etcd's, not a lost binding.
for ((try = 1; try <= 4; try++)); do
  cni ADD n1 m1 pod-m1
  [[ $RC == 0 ]] && break
  echo "# ADD try $try during failover: exit $RC ${OUT:0:160}"
  [[ $OUT == *'"code":11'* ]] || break
done
expect_rc "ADD on n1 while its local etcd member is down (try $try)" 0
start_etcd 1 # same data dir: it rejoins as the member it was
wait_etcd
keys_after=$(etcd_count "/vmip/v1/addr/$NET/") || true
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
