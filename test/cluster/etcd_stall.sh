#!/usr/bin/env bash
# Cluster mode, issue 17: an ADD's etcd round trips run outside the node-wide lock,
# serialized per owner. Real 3-member etcd + node n1 (lib_cluster.sh).
#  - every etcd member stopped (SIGSTOP: calls hang to their deadline) while 16 ADDs
#    of new pods wait on etcd: a DEL of another pod and `vmipctl leases` on the same
#    node answer within 1 s each (on a node-wide lock they wait for the ADDs);
#  - etcd stalled for 0.4 s: a DEL of a container whose ADD is in etcd waits for
#    that ADD and then removes it, here and in etcd (never interleaved with it);
#  - etcd back: the 16 ADDs succeed on retry and no address has two owners, on n1
#    or in etcd;
#  - a daemon killed between its etcd claim and its local commit (the keys it leaves
#    put by hand): after a restart no other pod gets the address, and the VM's next
#    ADD adopts it.
source "$(dirname "$0")/../e2e/lib.sh"
NET=snet TTL=5 CLUSTER_NET=10.250.0 VETH_TAG=vms
source "$(dirname "$0")/lib_cluster.sh"
conf() { # NODE
  jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" --arg n "$NET" \
    '{cniVersion: "1.0.0", name: $n, type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp,
      ranges: [[{subnet: "10.249.0.0/24"}]]}}'
}
# The config is read from a file written once: calls run in parallel here, and
# run_plugin's own stdin file would be rewritten under a running call.
cni() { # CMD NODE CONTAINERID POD
  [[ -s $T/$2.conf ]] || conf "$2" >"$T/$2.conf"
  run_plugin "$1" "@$T/$2.conf" CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4"
}
now_ms() { date +%s%3N; }
# timed NAME LIMIT_MS CMD...: CMD (a cni or nctl call) answers within LIMIT_MS
timed() {
  local t0 ms
  t0=$(now_ms)
  "${@:3}"
  ms=$(($(now_ms) - t0))
  echo "# $1: ${ms} ms"
  if ((ms < $2)); then pass "$1 within $2 ms"; else fail "$1 took ${ms} ms (limit $2)"; fi
}
ctl_leases() { RC=0; OUT=$(nctl n1 leases --json 2>&1) || RC=$?; }
wait_outbox_empty() {
  local k
  for ((k = 0; k < 50; k++)); do
    [[ $(sqlite3 "$T/n1.db" 'select count(*) from cluster_outbox') == 0 ]] && return 0
    sleep 0.1
  done
}
# No address twice in n1's table, and etcd's bindings are exactly n1's leases.
expect_one_owner_each() { # NAME
  local local_ips etcd_ips
  local_ips=$(sqlite3 "$T/n1.db" 'select ip from addresses order by ip' | paste -sd, -)
  expect_eq "$1: no address twice on n1" "" "$(sqlite3 "$T/n1.db" 'select ip from addresses group by ip having count(*) > 1')"
  etcd_ips=$(etcdctl_ get --prefix "/vmip/v1/addr/$NET/" --keys-only | sed '/^$/d' |
    sed "s|^/vmip/v1/addr/$NET/||" | sort | paste -sd, -)
  expect_eq "$1: etcd binds exactly n1's addresses" "$local_ips" "$etcd_ips"
}

setup_network
for i in 1 2 3; do start_etcd "$i"; done
wait_etcd
start_node 1
for i in 1 2 3 4; do cni ADD n1 "c$i" "pod-c$i"; need "pod c$i ADD"; done

timed "DEL of a pod, etcd idle (for comparison)" 1000 cni DEL n1 c3 pod-c3
expect_rc "that DEL succeeds" 0

echo "# every etcd member stopped: 16 ADDs wait on etcd, DEL and vmipctl do not"
kill -STOP "${ETCD_PIDS[@]}"
WAITERS=()
for i in $(seq 1 16); do
  (cni ADD n1 "w$i" "pod-w$i"; echo "$OUT" >"$T/w$i.out") &
  WAITERS+=($!)
done
sleep 0.6 # the 16 plugins start, reach the daemon and wait on etcd (1.5 s per call)
timed "DEL of another pod while 16 ADDs wait on etcd" 1000 cni DEL n1 c1 pod-c1
expect_rc "that DEL succeeds" 0
timed "vmipctl leases while 16 ADDs wait on etcd" 1000 ctl_leases
expect_rc "vmipctl leases answers" 0
timed "a second DEL while the ADDs wait" 1000 cni DEL n1 c2 pod-c2
expect_rc "the second DEL succeeds" 0
alive=0
for p in "${WAITERS[@]}"; do ! kill -0 "$p" 2>/dev/null || alive=$((alive + 1)); done
expect_eq "the 16 ADDs were still waiting on etcd meanwhile" "16" "$alive"
wait "${WAITERS[@]}" || true
kill -CONT "${ETCD_PIDS[@]}"
wait_etcd
expect_eq "the 16 waiting ADDs all failed with 11 (etcd's deadline)" "16" \
  "$(cat "$T"/w*.out | jq -r .code | grep -cx 11 || true)"
for i in $(seq 1 16); do cni ADD n1 "w$i" "pod-w$i"; expect_rc "pod w$i ADD after etcd returned" 0; done
wait_outbox_empty
expect_one_owner_each "after the stall"

echo "# etcd stalls for 0.4 s: a DEL of a container whose ADD is in etcd waits for it"
kill -STOP "${ETCD_PIDS[@]}"
(cni ADD n1 s1 pod-s1; echo "$RC" >"$T/s1.add") &
ADDER=$!
sleep 0.2 # the ADD waits in its first etcd call
(cni DEL n1 s1 pod-s1; echo "$RC" >"$T/s1.del") &
DELETER=$!
sleep 0.2
kill -CONT "${ETCD_PIDS[@]}" # within the call's deadline: the ADD goes through
wait "$ADDER" "$DELETER" || true
expect_eq "the ADD went through once etcd resumed" "0" "$(cat "$T/s1.add")"
expect_eq "the DEL succeeded" "0" "$(cat "$T/s1.del")"
# The daemon's log orders them: the ADD committed, then the DEL released (a DEL that
# ran first would have found nothing and logged no release).
add_line=$(grep -n 'op=add .*container=s1 ' "$T/n1.log" | tail -1 | cut -d: -f1 || true)
del_line=$(grep -n 'op=del .*container=s1 .*released=' "$T/n1.log" | tail -1 | cut -d: -f1 || true)
expect_eq "the DEL ran after the ADD (log lines ${add_line:-none} < ${del_line:-none})" "yes" \
  "$([[ -n $add_line && -n $del_line ]] && ((add_line < del_line)) && echo yes || echo no)"
expect_eq "the DEL removed s1's attachment on n1" "0" \
  "$(sqlite3 "$T/n1.db" "select count(*) from attachments where container_id = 's1'")"
wait_outbox_empty
expect_eq "and in etcd" "" "$(etcdctl_ get --prefix "/vmip/v1/attach/$NET/s1" --keys-only | sed '/^$/d')"
expect_one_owner_each "after the DEL"

echo "# kill -9 between an ADD's etcd claim and its local commit: etcd holds a binding n1 lacks"
# What the claim Txn of a daemon killed before its commit leaves: the owner and address
# keys (its attachment key dies with the node's etcd lease).
kill -KILL "${NODE_PIDS[1]}"; wait "${NODE_PIDS[1]}" 2>/dev/null || true
etcdctl_ put "/vmip/v1/owner/$NET/vm:default/vmk#eth0" "n1 10.249.0.250" >/dev/null
etcdctl_ put "/vmip/v1/addr/$NET/10.249.0.250" "vm:default/vmk#eth0" >/dev/null
start_node 1
for i in $(seq 1 8); do cni ADD n1 "x$i" "pod-x$i"; need "pod x$i ADD after the restart"
  [[ $OUT != *'"10.249.0.250/'* ]] || fail "pod x$i got the orphan binding's address"; done
cni ADD n1 k1 virt-launcher-vmk-abcde
expect_rc "the VM's ADD again, after the killed one" 0
expect_eq "it gets the address its binding holds" "10.249.0.250" "$(jq -r '.ips[0].address | split("/")[0]' <<<"$OUT")"
expect_one_owner_each "after the kill and the retry"
finish
