#!/usr/bin/env bash
# kill -9 durability: every acknowledged ADD/DEL survives a SIGKILL of vmip-leased, a VM gets
# its address back after the restart, and a fresh pod never gets an address already taken.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
mk_netns S
NS=$(ns_path S)
CONF=$(plugin_conf rnet 1.0.0 '[[{"subnet":"10.250.40.0/24"}],[{"subnet":"fd00:250::/64"}]]' \
  '{"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}')
VM_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=virt-launcher-rvm-abcde"
vmip_cmd() { # CMD CID [VAR=VALUE...]
  local cmd=$1 cid=$2
  shift 2
  run_plugin "$cmd" "$CONF" "CNI_CONTAINERID=$cid" "CNI_NETNS=$NS" CNI_IFNAME=eth0 "$@"
}
ips_of() { jq -r '[.ips[].address | sub("/[0-9]+$"; "")] | join(",")' <<<"$1"; }
leases_now() { ctl leases --json | jq -S -c 'sort_by(.network, .owner, .ifname)'; }
no_dups() { expect_eq "$1: no address held twice" 0 "$(ctl leases --json | jq '[.[].ips[]] | length - (unique | length)')"; }

echo "## a VM, a pod and a burst of 20 pods, each ADD acknowledged"
vmip_cmd ADD r-vm-1 "CNI_ARGS=$VM_ARGS"
need "ADD VM default/rvm (dual stack)"
VM_IPS=$(ips_of "$OUT")
expect_match "VM has a v4 and a v6 address" '^10\.250\.40\.[0-9]+,fd00:250::[0-9a-f:]+$' "$VM_IPS"
vmip_cmd ADD r-pod-1
need "ADD pod r-pod-1"
POD_IPS=$(ips_of "$OUT")
declare -A ACKED=([default/rvm]=$VM_IPS [r-pod-1]=$POD_IPS)
for i in $(seq 1 20); do
  vmip_cmd ADD "r-burst-$i"
  [[ $RC == 0 ]] && ACKED[r-burst-$i]=$(ips_of "$OUT")
done
expect_eq "all 22 ADDs acknowledged" 22 "${#ACKED[@]}"
BEFORE=$(leases_now)

echo "## SIGKILL right after the last acknowledged ADD, then restart"
stop_daemon KILL
start_daemon
expect_eq "leases identical after kill -9" "$BEFORE" "$(leases_now)"
lost=0
for owner in "${!ACKED[@]}"; do
  got=$(lease_ips "$owner")
  [[ $got == "${ACKED[$owner]}" ]] || { lost=$((lost + 1)); echo "# $owner: acked ${ACKED[$owner]}, now [$got]" >&2; }
done
expect_eq "every acknowledged lease is there with its addresses" 0 "$lost"
no_dups "after kill -9"
SCHEMA=$(find "$(dirname "$0")/../../schema" -name '[0-9][0-9][0-9][0-9]_*.sql' -printf '%f\n' | sort | tail -n 1)
SCHEMA=$((10#${SCHEMA%%_*}))
expect_eq "status: 22 leases, schema version = newest migration" "[22,$SCHEMA]" "$(ctl status --json | jq -c '[.leases, .schema_version]')"
expect_eq "PRAGMA user_version = newest migration" "$SCHEMA" "$(sqlite3 -readonly "$DB" 'PRAGMA user_version')"
expect_eq "sqlite integrity_check" ok "$(sqlite3 -readonly "$DB" 'PRAGMA integrity_check')"
RC=0
ctl check >"$T/check.out" 2>&1 || RC=$?
expect_eq "vmipctl check after kill -9: no problem" 0 "$RC"
expect_eq "database is in WAL mode" wal "$(sqlite3 -readonly "$DB" 'PRAGMA journal_mode')"

echo "## the VM's pod goes, a new pod of the VM comes: same addresses"
vmip_cmd DEL r-vm-1 "CNI_ARGS=$VM_ARGS"
need "DEL VM pod"
stop_daemon KILL
start_daemon
expect_eq "acknowledged DEL survives kill -9: VM detached" '"detached"' "$(lease_field default/rvm .state)"
vmip_cmd ADD r-vm-2 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=virt-launcher-rvm-fghij"
need "ADD VM in a new pod"
expect_eq "VM gets the same addresses" "$VM_IPS" "$(ips_of "$OUT")"

echo "## a DEL'd pod stays released across kill -9; fresh pods get free addresses"
vmip_cmd DEL r-pod-1
need "DEL r-pod-1"
stop_daemon KILL
start_daemon
expect_eq "r-pod-1 still released" 0 "$(lease_count r-pod-1)"
TAKEN=$(ctl leases --json | jq -r '[.[].ips[]] | join(" ")')
for i in 1 2 3; do
  vmip_cmd ADD "r-fresh-$i"
  expect_rc "ADD fresh pod $i" 0
  for ip in $(ips_of "$OUT" 2>/dev/null | tr , ' '); do
    if [[ " $TAKEN " == *" $ip "* ]]; then fail "fresh pod $i got taken address $ip"; else pass "fresh pod $i: $ip was free"; fi
  done
done
no_dups "after fresh ADDs"

echo "## SIGTERM is a clean shutdown"
BEFORE=$(leases_now)
stop_daemon TERM
expect_eq "vmip-leased exits 0 on SIGTERM" 0 "$DAEMON_RC"
start_daemon
expect_eq "leases identical after SIGTERM restart" "$BEFORE" "$(leases_now)"

finish
