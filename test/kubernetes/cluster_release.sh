#!/usr/bin/env bash
# Issue 13 item 2 in cluster mode: exactly one daemon (elected through etcd) judges which
# VMs Kubernetes deleted; each node releases its own leases on that verdict. Fixture API
# server + 3 etcd members + 3 daemons (--kubernetes --cluster etcd), all on 127.0.0.1
# with ports picked at run time; the real plugin through libcni + bridge, each node's
# bridge in its own netns. Checks: one leader that every daemon names; a VM deleted on n1
# is released after the grace by n1 (history there, one verdict-driven release in the
# cluster) and its address can be taken again exactly once; a stopped VM is kept; nothing
# is released while the lists fail; after kill -9 of the leader another daemon leads and
# a deletion is still released (and the killed node, restarted, applies the verdict made
# while it was down); a VM migrated between nodes is kept while attached and released
# after its last DEL. After every step no address has two owners in any lease
# table or in etcd.
# shellcheck source-path=SCRIPTDIR source=lib_k8s.sh
source "$(dirname "$0")/lib_k8s.sh"

if ((REAL_CLUSTER)); then
  skip_real "cluster release (needs the fixture and a private etcd)"
  echo "# $(basename "$0"): 0 passed, 0 failed"
  exit 0
fi
GRACE=2 TTL=3 NET=clnet
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ETCD_PIDS=() NODE_PIDS=()
on_exit() {
  local rc=$?
  set +e
  kill -KILL "${NODE_PIDS[@]}" "${ETCD_PIDS[@]}" 2>/dev/null
  wait "${NODE_PIDS[@]}" "${ETCD_PIDS[@]}" 2>/dev/null
  if ((rc != 0)); then
    for i in 1 2 3; do echo "--- n$i log" >&2; grep -E "election|verdict|release|owner-gone" "$T/n$i.log" | tail -n 15 >&2; done
  fi
  (exit "$rc")
  fixture_on_exit
}
trap on_exit EXIT

# ---- 3 etcd members on loopback ----
declare -a CPORT PPORT
for i in 1 2 3; do CPORT[i]=$(free_port); PPORT[i]=$(free_port); done
INITIAL="e1=http://127.0.0.1:${PPORT[1]},e2=http://127.0.0.1:${PPORT[2]},e3=http://127.0.0.1:${PPORT[3]}"
ENDPOINTS="http://127.0.0.1:${CPORT[1]},http://127.0.0.1:${CPORT[2]},http://127.0.0.1:${CPORT[3]}"
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$T/etcd$i" --listen-client-urls "http://127.0.0.1:${CPORT[i]}" \
    --advertise-client-urls "http://127.0.0.1:${CPORT[i]}" --listen-peer-urls "http://127.0.0.1:${PPORT[i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PPORT[i]}" --initial-cluster "$INITIAL" \
    --initial-cluster-state new --heartbeat-interval 50 --election-timeout 500 >>"$T/etcd$i.log" 2>&1 &
  ETCD_PIDS[i]=$!
done
etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" --command-timeout=3s "$@"; }
wait_for 15 etcdctl_ endpoint health >/dev/null 2>&1 || die "etcd not healthy"

# ---- the fixture and 3 daemons, each with its own node netns for the bridge ----
fixture_start
start_node() { # I
  local i=$1
  "$LEASED" --socket "$T/n$i.sock" --db "$T/n$i.db" --spool-dir "$T/n$i.spool" --node-name "n$i" \
    --cluster etcd --etcd-endpoints "$ENDPOINTS" --peer-address "127.0.0.1:$(free_port)" \
    --etcd-lease-ttl "$TTL" --kubernetes --kubeconfig "$FIXTURE_KUBECONFIG" \
    --release-grace "${GRACE}s" --watch-timeout 5 --log-level debug >>"$T/n$i.log" 2>&1 &
  NODE_PIDS[i]=$!
  wait_for 10 nctl "n$i" status >/dev/null 2>&1 || die "node n$i not ready: $(tail -n 5 "$T/n$i.log")"
  [[ -e /run/netns/${NS_PREFIX}node$i ]] && return 0 # a restart
  ip netns add "${NS_PREFIX}node$i"
  ip -n "${NS_PREFIX}node$i" link set lo up
  jq -n --arg n "$NET" --arg s "$T/n$i.sock" --arg sp "$T/n$i.spool" \
    '{cniVersion: "1.0.0", name: $n, plugins: [{type: "bridge", bridge: "vmipcl0", isGateway: true,
      ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: [[{subnet: "10.250.48.0/24",
      rangeStart: "10.250.48.10", rangeEnd: "10.250.48.60"}]]}}]}' >"$T/n$i.conflist"
}
nctl() { "$VMIPCTL" --socket "$T/$1.sock" "${@:2}"; }
for i in 1 2 3; do start_node "$i"; done
for ns in A B C D E F G H I; do mk_netns "$ns"; done

# on NODE CMD VMNS CID NAME [EXTRA_ARGS]: libcni on node NODE for the pod of VM NAME
on() {
  local node=$1 cmd=$2 vmns=$3 cid=$4 name=$5
  NODE_NS=${NS_PREFIX}node$node drive "$cmd" "$T/n$node.conflist" "$vmns" "$cid" \
    --args "$(k8s_args prod "${PODS[$name]}" "$cid")${6:+;$6}"
}
declare -A PODS
leases_of() { nctl "n$1" leases --vm "prod/$2" --json | jq length; } # NODE VM
gone_from() { [[ $(leases_of "$1" "$2") == 0 ]]; }
synced() { [[ $(nctl "n$1" status --json | jq '[.kubernetes.resources[] | select(.synced)] | length') == 3 ]]; }
releasing() { nctl "n$1" status --json | jq -r '.kubernetes.releasing'; }
releaser() { nctl "n$1" status --json | jq -r '.kubernetes.releaser'; }
LIVE=(1 2 3)
leaders() { local i; for i in "${LIVE[@]}"; do if [[ $(releasing "$i") == true ]]; then echo "n$i"; fi; done | paste -sd, -; }
one_leader() { [[ $(leaders) =~ ^n[0-9]$ ]]; }
# no_two_owners STEP: every lease table (a killed node's too) and etcd's address keys
# together name at most one owner per address.
no_two_owners() {
  local dups
  dups=$({
    for i in 1 2 3; do
      sqlite3 -readonly "$T/n$i.db" "select a.ip, l.owner_kind || ':' || l.owner from addresses a join leases l on l.id = a.lease_id"
    done
    etcdctl_ get --prefix "/vmip/v1/addr/$NET/" | paste - - | sed -E "s|^/vmip/v1/addr/$NET/([^ \t]*)\t([^#]*)#.*|\1\|\2|"
  } | sort -u | cut -d'|' -f1 | uniq -d | paste -sd, -)
  expect_eq "$1: no address has two owners (lease tables and etcd)" "" "$dups"
}
# run_vm NODE NAME VMNS: a VM whose pod is ADDed then DELed on NODE: its lease stays, detached
run_vm() {
  PODS[$2]=$(fixture_ctl create-vm prod "$2")
  on "$1" add "$3" "cid-$2" "$2"
  need "ADD of VM $2 on n$1"
  on "$1" del "$3" "cid-$2" "$2"
  expect_eq "VM $2 detached on n$1" '"detached"' "$(nctl "n$1" leases --vm "prod/$2" --json | jq -c '.[0].state')"
}

for i in 1 2 3; do wait_for 15 synced "$i" || fail "n$i never synced its three resources"; done
echo "# exactly one leader, and every daemon names it"
wait_for 10 one_leader || fail "no single leader: [$(leaders)]"
LEADER=$(leaders)
expect_match "one daemon is the releaser" '^n[123]$' "$LEADER"
all_name() { [[ "$(releaser 1) $(releaser 2) $(releaser 3)" == "$LEADER $LEADER $LEADER" ]]; }
wait_for 5 all_name || true
expect_eq "every daemon names it" "$LEADER $LEADER $LEADER" "$(releaser 1) $(releaser 2) $(releaser 3)"
expect_eq "etcd's election key names it" "$LEADER" "$(etcdctl_ get /vmip/v1/kube/leader --print-value-only)"
expect_match "vmipctl status shows it" "kubernetes_releaser +$LEADER" "$(nctl "$LEADER" status)"

echo "# a VM on n1 deleted in the API: released after the grace by n1, exactly once"
run_vm 1 del-me A
run_vm 2 stopped B
OLD_IP=$(nctl n1 leases --vm prod/del-me --json | jq -r '.[0].ips[0]')
fixture_ctl stop-vm prod stopped >/dev/null
fixture_ctl delete-vm prod del-me >/dev/null
DELETED_AT=$SECONDS
wait_for 15 gone_from 1 del-me || fail "del-me not released on n1"
took=$((SECONDS - DELETED_AT))
if ((took >= GRACE)); then pass "not before the grace (${took}s)"; else fail "released after ${took}s, grace ${GRACE}s"; fi
expect_match "n1's history (newest first): vm-deleted, then release" "^release vm-deleted detach" \
  "$(nctl n1 history --json | jq -r '.[] | select(.owner == "vm:prod/del-me") | .kind' | paste -sd' ')"
expect_eq "one vm-deleted event in the whole cluster" 1 \
  "$(for i in 1 2 3; do nctl "n$i" history --json; done | jq -s '[.[][] | select(.owner == "vm:prod/del-me" and .kind == "vm-deleted")] | length')"
expect_eq "etcd forgot del-me's binding" "" "$(etcdctl_ get --prefix "/vmip/v1/owner/$NET/vm:prod/del-me" --keys-only)"
sleep 1 # the address watch tells n2 and n3 it is free (within about a second)
PODS[take1]=$(fixture_ctl create-vm prod take1)
PODS[take2]=$(fixture_ctl create-vm prod take2)
on 2 add C cid-take1 take1 "IP=$OLD_IP"
R1=$RC
on 3 add D cid-take2 take2 "IP=$OLD_IP"
R2=$RC
expect_eq "the freed address is taken again exactly once (n2 gets it, n3 is refused)" "0 1" "$R1 $((R2 != 0))"
no_two_owners "after the release"
expect_eq "no verdict left behind for del-me" "" "$(etcdctl_ get --prefix /vmip/v1/kube/gone/vm:prod/del-me --keys-only)"

echo "# the leader saw a VM go, then the lists fail: nothing is released while they do"
run_vm 3 vanish E
fixture_ctl delete-vm prod vanish >/dev/null
wait_for 5 grep -q "op=owner-gone owner=vm:prod/vanish" "$T/$LEADER.log" || fail "the leader never saw vanish go"
fixture_ctl fail 500 >/dev/null # within the grace
fixture_ctl drop-watches >/dev/null
sleep $((GRACE + 2))
expect_eq "vanish kept on n3 while the lists answer 500" 1 "$(leases_of 3 vanish)"
expect_eq "a stopped VM (VMI gone, VM there) is kept, long past the grace" '"detached"' \
  "$(nctl n2 leases --vm prod/stopped --json | jq -c '.[0].state')"
fixture_ctl clear-fail >/dev/null
wait_for 20 gone_from 3 vanish || fail "vanish not released after the lists recovered"
expect_eq "vanish released once the lists work again" 0 "$(leases_of 3 vanish)"
no_two_owners "after the failed lists"

echo "# a leader frozen past its etcd lease stops leading the moment it runs again"
F=${LEADER#n}
others_lead() { local i; for i in 1 2 3; do ((i == F)) || [[ $(releasing "$i") != true ]] || return 0; done; return 1; }
kill -STOP "${NODE_PIDS[F]}"
wait_for $((TTL + 8)) others_lead || fail "nobody took over from the frozen n$F"
kill -CONT "${NODE_PIDS[F]}"
expect_eq "n$F, thawed, does not lead (its lease ran out while frozen)" false "$(releasing "$F")"
wait_for 5 one_leader || fail "not one leader after the thaw: [$(leaders)]"
LEADER=$(leaders)
expect_ne "the leader changed" "n$F" "$LEADER"

echo "# a verdict for another UID of the name (the VM was re-created) leaves the lease alone"
L=${LEADER#n}
run_vm "$L" renamed I
UID_NOW=$(nctl "$LEADER" leases --vm prod/renamed --json | jq -r '.[0].owner_uid')
etcdctl_ put "/vmip/v1/kube/gone/vm:prod/renamed/0ld-uid-of-the-name" vm-deleted >/dev/null
verdict_gone() { [[ -z $(etcdctl_ get --prefix /vmip/v1/kube/gone/vm:prod/renamed --keys-only) ]]; }
wait_for 5 verdict_gone || true # the leader applies verdicts to its leases, then drops unheld ones
expect_eq "the lease with UID $UID_NOW stays" '"detached"' "$(nctl "$LEADER" leases --vm prod/renamed --json | jq -c '.[0].state')"
expect_eq "the leader dropped the verdict nobody holds" "" "$(etcdctl_ get --prefix /vmip/v1/kube/gone/vm:prod/renamed --keys-only)"

echo "# kill -9 the leader: another daemon leads, deletions are still released"
K=${LEADER#n}
{ # stderr muted: bash reports "Killed" when it reaps the daemon
  kill -KILL "${NODE_PIDS[K]}"
  wait "${NODE_PIDS[K]}" || true
} 2>/dev/null
unset "NODE_PIDS[K]"
mapfile -t LIVE < <(for i in 1 2 3; do ((i == K)) || echo "$i"; done)
KILLED_AT=$SECONDS
fixture_ctl delete-vm prod renamed >/dev/null # its lease is on the dead n$K
wait_for $((TTL + 8)) one_leader || fail "no new leader after the kill: [$(leaders)]"
NEW=$(leaders)
expect_ne "a survivor leads" "$LEADER" "$NEW"
echo "# (took over $((SECONDS - KILLED_AT)) s after the kill, etcd lease TTL ${TTL}s)"
A=${LIVE[0]} B=${LIVE[1]}
run_vm "$A" after-kill F
fixture_ctl delete-vm prod after-kill >/dev/null
wait_for 15 gone_from "$A" after-kill || fail "after-kill not released on n$A"
expect_eq "after-kill released under the new leader" 0 "$(leases_of "$A" after-kill)"
no_two_owners "after the leader change"

echo "# a VM migrated n$A -> n$B: kept while attached anywhere, released after its last DEL"
PODS[mig]=$(fixture_ctl create-vm prod mig)
on "$A" add G cid-mig-src mig
need "mig ADD on n$A"
MIG_IP=$(ip_of)
on "$B" add H cid-mig-dst mig
need "mig migration target ADD on n$B"
expect_eq "the target gets mig's address" "$MIG_IP" "$(ip_of)"
on "$A" del G cid-mig-src mig
need "mig source DEL on n$A"
no_two_owners "after the migration"
fixture_ctl delete-vm prod mig >/dev/null
sleep $((GRACE + 2))
expect_eq "mig kept while attached on n$B (deleted in the API)" '"attached"' \
  "$(nctl "n$B" leases --vm prod/mig --json | jq -c '.[0].state')"
on "$B" del H cid-mig-dst mig
need "mig DEL on n$B"
wait_for 15 gone_from "$B" mig || fail "mig not released on n$B after its DEL"
expect_eq "mig released on n$B" "0 0" "$(leases_of "$A" mig) $(leases_of "$B" mig)"
expect_eq "etcd forgot mig's binding" "" "$(etcdctl_ get --prefix "/vmip/v1/owner/$NET/vm:prod/mig" --keys-only)"
no_two_owners "after mig's release"

echo "# n$K, back, applies the verdict made while it was down"
verdict_for() { [[ -n $(etcdctl_ get --prefix "/vmip/v1/kube/gone/vm:prod/$1/" --keys-only) ]]; }
expect_eq "a verdict for renamed waits in etcd" yes "$(verdict_for renamed && echo yes || echo no)"
start_node "$K"
LIVE+=("$K")
wait_for 10 gone_from "$K" renamed || fail "n$K did not release renamed after its restart"
expect_match "n$K's history: vm-deleted, then release" "^release vm-deleted" \
  "$(nctl "n$K" history --json | jq -r '.[] | select(.owner == "vm:prod/renamed") | .kind' | paste -sd' ')"
no_verdict_for() { ! verdict_for "$1"; }
wait_for 5 no_verdict_for renamed || true
expect_eq "the verdict goes once nobody holds renamed" no "$(verdict_for renamed && echo yes || echo no)"
no_two_owners "after n$K came back"

for i in "${LIVE[@]}"; do
  kill -TERM "${NODE_PIDS[i]}"
  rc=0
  wait "${NODE_PIDS[i]}" 2>/dev/null || rc=$?
  expect_eq "n$i exits 0 on SIGTERM" 0 "$rc"
  unset "NODE_PIDS[i]"
done
finish
