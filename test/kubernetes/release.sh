#!/usr/bin/env bash
# Issue 13 item 5 through libcni + bridge + vmip against the fixture API server: a deleted
# VM is released after --release-grace (history names why), a stopped VM (VMI gone, VM
# there) is kept, nothing is released while lists fail, a VM that vanished while the watch
# was down is released after the relist, a VM re-created under its name (new UID) is a new
# owner, a StatefulSet scaled below a pod's ordinal releases that pod; vmipctl status shows
# the API and the last sync per resource.
# shellcheck source-path=SCRIPTDIR source=lib_k8s.sh
source "$(dirname "$0")/lib_k8s.sh"

if ((REAL_CLUSTER)); then
  skip_real "deletion and relist checks"
  echo "# $(basename "$0"): 0 passed, 0 failed"
  exit 0
fi
GRACE=2
k8s_start --release-grace ${GRACE}s --watch-timeout 5
NET=relnet
CONF=$T/rel.conflist
conflist "$CONF" "$NET" 1.0.0 vmipbr14 '[[{"subnet":"10.250.32.0/24"}]]'
for ns in A B C D E F G; do mk_netns "$ns"; done
gone() { [[ $(lease_count "$1") == 0 ]]; }
# run_vm NAME NS: a VM whose pod is ADDed then DELed: its lease stays, detached
run_vm() {
  local pod
  pod=$(fixture_ctl create-vm prod "$1")
  drive add "$CONF" "$2" "cid-$1" --args "$(k8s_args prod "$pod" "cid-$1")"
  need "ADD of VM $1"
  drive del "$CONF" "$2" "cid-$1" --args "$(k8s_args prod "$pod" "cid-$1")"
  expect_eq "VM $1 detached after DEL" '"detached"' "$(lease_field "prod/$1" .state)"
}
synced() { [[ $(ctl status --json | jq '[.kubernetes.resources[] | select(.synced)] | length') == 3 ]]; }
wait_for 15 synced || fail "the daemon never synced its three resources"

echo "# vmipctl status: the API connection and the last sync per resource"
expect_eq "three resources, all synced, each listed at least once" \
  '[["virtualmachines",true,true],["virtualmachineinstances",true,true],["statefulsets",true,true]]' \
  "$(ctl status --json | jq -c '[.kubernetes.resources[] | [.resource, .synced, (.last_sync > 0 and .lists > 0)]]')"
expect_match "table output names the server and last_sync" "kubernetes_server.*127.0.0.1.*last_sync virtualmachines" \
  "$(ctl status | tr '\n' ' ')"

echo "# a deleted VM is released after the grace, with its reason in the history"
run_vm del-me A
run_vm stopped B
fixture_ctl stop-vm prod stopped >/dev/null
fixture_ctl delete-vm prod del-me >/dev/null
DELETED_AT=$SECONDS
wait_for 15 gone prod/del-me
expect_eq "del-me released" 0 "$(lease_count prod/del-me)"
took=$((SECONDS - DELETED_AT))
if ((took >= GRACE)); then pass "not before the grace (${took}s)"; else fail "released after ${took}s, grace is ${GRACE}s"; fi
expect_match "history: vm-deleted, then release" "vm-deleted.*release|release.*vm-deleted" \
  "$(ctl history --json | jq -r '.[] | select(.owner == "vm:prod/del-me") | .kind' | tr '\n' ' ')"
sleep $((GRACE + 1))
expect_eq "a stopped VM (VMI gone, VM there) is kept" '"detached"' "$(lease_field prod/stopped .state)"

echo "# nothing is released while lists fail; a VM that vanished meanwhile goes after the relist"
run_vm vanish C
fixture_ctl fail 500 >/dev/null
fixture_ctl drop-watches >/dev/null # every informer must list again, and cannot
fixture_ctl delete-vm prod vanish >/dev/null
sleep $((GRACE + 3))
expect_eq "vanish kept while the lists answer 500" 1 "$(lease_count prod/vanish)"
expect_match "status says the resources are not synced" "false" \
  "$(ctl status --json | jq -c '[.kubernetes.resources[].synced]')"
fixture_ctl clear-fail >/dev/null
wait_for 40 gone prod/vanish
expect_eq "vanish released after the relist" 0 "$(lease_count prod/vanish)"

echo "# a watch resumed from a compacted revision gets 410 (an ERROR event in a 200 stream): relist"
run_vm after-410 D
fixture_ctl bookmark-interval 1000 >/dev/null # no bookmark moves the daemon's revision on
fixture_ctl drop-watches >/dev/null           # (for watches opened from now on)
wait_for 15 synced || fail "no resync after the dropped watches"
fixture_ctl wait "open watch virtualmachines" 1 --timeout 15 >/dev/null || fail "no new watch"
fixture_ctl create-pod prod unwatched >/dev/null # the revision moves past the daemon's
fixture_ctl compact >/dev/null
fixture_ctl reset-stats >/dev/null
# Each watch lasts --watch-timeout 5 s; the next one starts from the compacted revision.
if fixture_ctl wait "list virtualmachines" 1 --timeout 20 >/dev/null; then
  pass "the 410 made the daemon list virtualmachines again"
else
  fail "no relist of virtualmachines within 20 s of the compaction"
fi
fixture_ctl bookmark-interval 1 >/dev/null
fixture_ctl delete-vm prod after-410 >/dev/null
wait_for 30 gone prod/after-410
expect_eq "after-410 released: the new watch follows the relist" 0 "$(lease_count prod/after-410)"

echo "# a VM re-created under the same name (new UID) is a new owner"
run_vm again E
OLD_IP=$(lease_ips prod/again)
OLD_UID=$(lease_field prod/again .owner_uid | jq -r .)
fixture_ctl delete-vm prod again >/dev/null
POD=$(fixture_ctl create-vm prod again)
drive add "$CONF" F cid-again2 --args "$(k8s_args prod "$POD" cid-again2)"
need "ADD of the re-created VM"
expect_ne "it has a new UID" "$OLD_UID" "$(lease_field prod/again .owner_uid | jq -r .)"
expect_ne "and a new address" "$OLD_IP" "$(ip_of)"
sleep $((GRACE + 2))
expect_eq "the new VM's lease survives the old one's deletion" '"attached"' "$(lease_field prod/again .state)"

echo "# a StatefulSet scaled below a pod's ordinal releases that pod"
fixture_ctl create-sts prod db 2 >/dev/null
drive add "$CONF" G cid-db1 --args "$(k8s_args prod db-1 cid-db1)"
need "ADD db-1"
drive del "$CONF" G cid-db1 --args "$(k8s_args prod db-1 cid-db1)"
fixture_ctl scale-sts prod db 1 >/dev/null
wait_for 15 gone prod/db-1
expect_eq "db-1 released" 0 "$(lease_count prod/db-1)"
expect_match "history: statefulset-scaled-down" "statefulset-scaled-down" \
  "$(ctl history --json | jq -r '.[] | select(.owner == "sts:prod/db-1") | .kind' | tr '\n' ' ')"

finish
