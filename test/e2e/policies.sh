#!/usr/bin/env bash
# Issue 16, lease policies, one node, through libcni + bridge + vmip in network
# namespaces with second-scale durations: a detached VM binding expires
# (--detached-ttl, and ipam.detachedTTL that wins), re-attaching within the TTL keeps
# it and restarts the clock, an attached VM never expires; a stopped VM moves to a
# requested free address (all three request ways), refused while it runs; history
# older than --history-retention is pruned; bad durations are usage errors.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

V4='[[{"subnet":"10.250.40.0/24"}]]'
KV4='[[{"subnet":"10.250.41.0/24"}]]'
k8s() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$1;K8S_POD_INFRA_CONTAINER_ID=$2"; }
add() { drive add "$T/$1.conflist" "$2" "$3" --args "$(k8s "$4" "$3")" "${@:5}"; } # CONF NS CID POD [flags]
del() { drive del "$T/$1.conflist" "$2" "$3" --args "$(k8s "$4" "$3")"; }
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
bound() { lease_ips "default/$1"; } # the VM's addresses, "" once released
# No address held by two leases, and the table agrees with the free sets.
no_two_owners() {
  expect_eq "$1: no address has two owners" "" "$(ctl leases --json | jq -r '[.[].ips[]] | group_by(.) | map(select(length > 1)) | .[][0]')"
  ctl check >/dev/null && RC=0 || RC=$?
  expect_rc "$1: vmipctl check agrees" 0
}
wait_released() { # VM SECONDS: until its binding is gone; echoes the seconds waited
  local i
  for ((i = 0; i < $2 * 10; i++)); do [[ -z $(bound "$1") ]] && break; sleep 0.1; done
  echo $((i / 10))
}

echo "# a bad duration is a usage error naming the flag, and nothing is created"
for flag in --detached-ttl --history-retention; do
  RC=0
  OUT=$("$LEASED" --socket "$T/bad.sock" --db "$T/bad/leases.db" --spool-dir "$T/bad" "$flag" 5x 2>&1) || RC=$?
  ((RC != 0)) && pass "$flag 5x exits $RC" || fail "$flag 5x was accepted"
  expect_match "$flag 5x: the message names the flag and the text" "$flag.*5x" "$OUT"
  [[ ! -e $T/bad ]] && pass "$flag 5x: no database or socket made" || fail "$flag 5x created $T/bad"
done
run_plugin ADD "$(plugin_conf pol 1.0.0 "$V4" '{"detachedTTL":"1h30m"}')" CNI_CONTAINERID=x CNI_NETNS=/x CNI_IFNAME=eth0
expect_code "a bad ipam.detachedTTL is code 7 naming the key" 7 "ipam.detachedTTL"

start_daemon --detached-ttl 6s
setup_node_ns
for ns in A B C D E K L M N O P Q; do mk_netns "$ns"; done
# pol: the daemon's TTL (6 s); keep: ipam.detachedTTL "0" wins (never), for the moves.
conflist "$T/pol.conflist" pol 1.0.0 vmipbr40 "$V4"
conflist "$T/k.conflist" keep 1.0.0 vmipbr41 "$KV4" '{"capabilities":{"ips":true}}'
jq '.plugins[0].ipam.detachedTTL = "0"' "$T/k.conflist" >"$T/keep.conflist"
jq '.plugins[0].args = {cni: {ips: ["10.250.41.79"]}}' "$T/keep.conflist" >"$T/keepargs.conflist"

echo "# expiry: detached longer than the TTL is released; re-attach within it keeps; attached never"
add pol A run1 virt-launcher-vm3-aaaaa; need "vm3 ADD (stays attached)"; VM3=$(ip_of)
add pol B c1 virt-launcher-vm1-aaaaa; need "vm1 ADD"; VM1=$(ip_of)
add pol C c2 virt-launcher-vm2-aaaaa; need "vm2 ADD"; VM2=$(ip_of)
add keep K k9 virt-launcher-vm9-aaaaa; need "vm9 ADD on keep"; VM9=$(ip_of)
del keep K k9 virt-launcher-vm9-aaaaa; need "vm9 DEL on keep (ipam.detachedTTL 0)"
del pol B c1 virt-launcher-vm1-aaaaa; need "vm1 DEL"
del pol C c2 virt-launcher-vm2-aaaaa; need "vm2 DEL"
since=$(lease_field default/vm1 .detached_at)
((since > 0)) && pass "vmipctl leases --json shows detached_at ($since)" || fail "no detached_at: $since"
expect_match "the table shows DETACHED SINCE" "DETACHED SINCE.*"$'\n'".*default/vm1.*detached +20[0-9-]+ [0-9:]+" "$(ctl leases --network pol)"
sleep 3.5 # TTL - 2.5 s: the clock counts whole seconds
expect_eq "vm1 is still bound before its TTL" "$VM1" "$(bound vm1)"
add pol D c3 virt-launcher-vm2-bbbbb; need "vm2 re-attaches within the TTL"
expect_eq "re-attach keeps vm2's address" "$VM2" "$(ip_of)"
expect_eq "re-attached: detached_at cleared" 0 "$(lease_field default/vm2 .detached_at)"
del pol D c3 virt-launcher-vm2-bbbbb; need "vm2 DEL again: its clock restarts"
waited=$(wait_released vm1 10)
expect_eq "vm1 expires after the TTL (released after ${waited}s more)" "" "$(bound vm1)"
expect_eq "vm2, detached again after its re-attach, still holds its address past its first deadline" "$VM2" "$(bound vm2)"
expect_match "vm1's history has an expire event" "expire" "$(ctl history --ip "$VM1" --json | jq -r '.[].kind' | paste -sd' ')"
expect_eq "expire replaces release in vm1's history" "" "$(ctl history --ip "$VM1" --json | jq -r '.[] | select(.kind == "release") | .kind')"
expect_match "the daemon logs the expiry" "op=expire network=pol owner=vm:default/vm1" "$(cat "$LOG")"
no_two_owners "after vm1 expired"
waited=$(wait_released vm2 10)
expect_eq "vm2 expires in its turn (after ${waited}s more)" "" "$(bound vm2)"
expect_eq "vm3, attached all along, keeps its address" "[\"attached\",\"$VM3\"]" "$(lease_field default/vm3 '[.state, .ips[0]]')"
expect_eq "pool pol counts only vm3" 1 "$(pool_field pol .used)"
expect_eq "vm9, detached as long on keep, stays: ipam.detachedTTL \"0\" wins over --detached-ttl" "$VM9" "$(bound vm9)"
add pol E p1 web-1 ; need "a pod may take an expired address"
run_plugin ADD "$(plugin_conf pol 1.0.0 "$V4")" CNI_CONTAINERID=p2 CNI_NETNS=/x CNI_IFNAME=eth0 CNI_ARGS="$(k8s web-2 p2);IP=$VM1"
expect_rc "the expired vm1 address can be requested by another owner" 0
no_two_owners "after both expired"

echo "# move: a stopped VM that asks for another free address moves; refused while it runs"
add keep K m1 virt-launcher-vm4-aaaaa; need "vm4 ADD"; VM4=$(ip_of)
add keep L m2 virt-launcher-vm5-aaaaa; need "vm5 ADD"; VM5=$(ip_of)
add keep M m3 virt-launcher-vm6-aaaaa; need "vm6 ADD"; VM6=$(ip_of)
used=$(pool_field keep .used)
add keep Q m0 virt-launcher-vm4-bbbbb --cap-ips 10.250.41.77/24
expect_code "vm4 running: a move is refused" 106 "attached to container m1"
del keep Q m0 virt-launcher-vm4-bbbbb # the runtime DELs after a failed ADD
expect_eq "vm4 kept its address" "$VM4" "$(bound vm4)"
for v in "K m1 4" "L m2 5" "M m3 6"; do read -r ns cid n <<<"$v"; del keep "$ns" "$cid" "virt-launcher-vm$n-aaaaa"; need "vm$n DEL (stopped)"; done
add keep N m4 virt-launcher-vm4-bbbbb --cap-ips 10.250.41.77/24; need "vm4 asks for .77 by runtimeConfig.ips"
expect_eq "vm4 moved to .77" "10.250.41.77" "$(bound vm4)"
drive add "$T/keep.conflist" O m5 --args "$(k8s virt-launcher-vm5-bbbbb m5);IP=10.250.41.78"; need "vm5 asks for .78 by IP= in CNI_ARGS"
expect_eq "vm5 moved to .78" "10.250.41.78" "$(bound vm5)"
add keepargs P m6 virt-launcher-vm6-bbbbb; need "vm6 asks for .79 by args.cni.ips"
expect_eq "vm6 moved to .79" "10.250.41.79" "$(bound vm6)"
expect_eq "the netns carries the new address" "10.250.41.77/24" "$(ns_addrs N eth0)"
expect_eq "pool keep: a move frees as much as it takes" "$used" "$(pool_field keep .used)"
expect_eq "no lease holds the old addresses" "" "$(ctl leases --json | jq -r --arg a "$VM4" --arg b "$VM5" --arg c "$VM6" '.[] | select(.ips | index($a) or index($b) or index($c)) | .owner')"
expect_match "history: move to the new address" "move" "$(ctl history --ip 10.250.41.77 --json | jq -r '.[].kind' | paste -sd' ')"
expect_match "history: the old address released" "release" "$(ctl history --ip "$VM4" --json | jq -r '.[].kind' | paste -sd' ')"
run_plugin ADD "$(plugin_conf keep 1.0.0 "$KV4" '{"detachedTTL":"0"}')" CNI_CONTAINERID=p3 CNI_NETNS=/x CNI_IFNAME=eth0 CNI_ARGS="$(k8s web-3 p3);IP=$VM4"
expect_rc "vm4's old address is free for another owner" 0
run_plugin ADD "$(plugin_conf keep 1.0.0 "$KV4" '{"detachedTTL":"0"}')" CNI_CONTAINERID=m7 CNI_NETNS=/x CNI_IFNAME=eth0 CNI_ARGS="$(k8s virt-launcher-vm4-ccccc m7);IP=10.250.41.90"
expect_code "vm4 running again: moving is refused, naming the attachment" 106 "attached to container m4"
no_two_owners "after the moves"

echo "# history retention: events older than --history-retention go, in batches, in the background"
stop_daemon TERM
old=$(($(date +%s) - 91 * 86400))
sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
  INSERT INTO events(at, network, kind, owner, ip) SELECT $old + i, 'pol', 'bind', 'vm:old/x', '10.250.40.250' FROM n;"
recent=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE at > $old + 86400")
start_daemon --detached-ttl 6s # --history-retention: the default, 90d
for ((i = 0; i < 50; i++)); do
  [[ $(sqlite3 -readonly "$DB" "SELECT count(*) FROM events WHERE owner = 'vm:old/x'") == 0 ]] && break; sleep 0.1
done
expect_eq "the 1200 events older than 90d are gone" 0 "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM events WHERE owner = 'vm:old/x'")"
expect_eq "the recent ones are kept" "$recent" "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM events")"
expect_match "the daemon logs the prune" "op=prune-history deleted=1200" "$(cat "$LOG")"
expect_match "vmipctl history says how far back it reaches" "history kept for 90d; oldest event 20[0-9-]+ [0-9:]+" "$(ctl history)"
expect_eq "vmipctl history --json stays a list" array "$(ctl history --json | jq -r type)"

finish
