#!/usr/bin/env bash
# The daemon is unreachable: ADD/CHECK/GC fail fast with 11, DEL never blocks (spools and
# exits 0; the daemon replays the spool at start), STATUS says 50.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

mk_netns S
NS=$(ns_path S)
CONF=$(plugin_conf downnet 1.1.0 '[[{"subnet":"10.250.30.0/24"}]]')
vmip_cmd() { # CMD CID [VAR=VALUE...]
  local cmd=$1 cid=$2
  shift 2
  run_plugin "$cmd" "$CONF" "CNI_CONTAINERID=$cid" "CNI_NETNS=$NS" CNI_IFNAME=eth0 "$@"
}
spool_files() { find "$SPOOL" -maxdepth 1 -name 'del-*.pb' | wc -l; }
# timed_add NAME CID: ADD must fail with code 11 in under 2000 ms (spec requirement, DESIGN.md)
timed_add() {
  local t0 ms
  t0=$(date +%s%N)
  vmip_cmd ADD "$2"
  ms=$((($(date +%s%N) - t0) / 1000000))
  expect_code "$1: ADD gives 11" 11
  if ((ms < 2000)); then pass "$1: ADD answered in ${ms} ms (< 2000)"; else fail "$1: ADD took ${ms} ms (>= 2000)"; fi
}

echo "## no daemon has ever run (no socket file)"
timed_add "socket missing" nd-1
vmip_cmd CHECK nd-1
expect_code "CHECK with no daemon gives 11" 11
run_plugin GC "$(jq -c '.["cni.dev/valid-attachments"] = []' <<<"$CONF")" CNI_PATH=/usr/lib/cni
expect_code "GC with no daemon gives 11" 11
run_plugin STATUS "$CONF"
expect_code "ST-2 STATUS with no daemon gives 50" 50
vmip_cmd DEL never-added
expect_eq "DEL with no daemon: exit 0, no output" "0|" "$RC|$OUT"
expect_eq "DEL with no daemon writes one spool record" 1 "$(spool_files)"

echo "## daemon up: leases to delete later"
start_daemon
expect_eq "start replays the spool (file consumed)" 0 "$(spool_files)"
run_plugin STATUS "$CONF"
expect_eq "ST-1 STATUS with the daemon up: exit 0, no output" "0|" "$RC|$OUT"
vmip_cmd ADD pod-1
need "ADD pod-1"
POD_IP=$(addr_of "$(jq -r '.ips[0].address' <<<"$OUT")")
vmip_cmd ADD vm-cid-1 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=virt-launcher-downvm-abcde"
need "ADD VM default/downvm"
VM_IP=$(addr_of "$(jq -r '.ips[0].address' <<<"$OUT")")

echo "## daemon stopped (SIGTERM): stale or absent socket"
stop_daemon TERM
expect_eq "vmip-leased exits 0 on SIGTERM" 0 "$DAEMON_RC"
timed_add "daemon stopped" nd-2
vmip_cmd DEL pod-1
expect_eq "DEL pod-1 with the daemon down: exit 0" "0|" "$RC|$OUT"
vmip_cmd DEL vm-cid-1 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=virt-launcher-downvm-abcde"
expect_eq "DEL of the VM's pod with the daemon down: exit 0" "0|" "$RC|$OUT"
expect_eq "two spool records" 2 "$(spool_files)"
run_plugin STATUS "$CONF"
expect_code "STATUS with the daemon stopped gives 50" 50

echo "## daemon restarted: the spool is replayed"
start_daemon
expect_eq "spool consumed" 0 "$(spool_files)"
expect_eq "pod-1 lease released by the replayed DEL" 0 "$(lease_count pod-1)"
expect_eq "VM lease detached by the replayed DEL, address kept" "[\"detached\",[\"$VM_IP\"]]" \
  "$(lease_field default/downvm '[.state, .ips]')"
expect_eq "pod-1's address is free (no lease holds it)" 0 \
  "$(ctl leases --json | jq --arg ip "$POD_IP" 'map(select(.ips | index($ip))) | length')"
expect_eq "status reports the 2 replayed records" 2 "$(ctl status --json | jq .spool_replayed)"

echo "## daemon killed (stale socket file left behind)"
stop_daemon KILL
[[ -S $SOCK ]] && echo "# stale socket file present"
timed_add "daemon killed" nd-3

echo "## daemon hung (SIGSTOP): the ADD deadline still holds"
start_daemon
kill -STOP "$DAEMON_PID"
timed_add "daemon stopped with SIGSTOP" nd-4
kill -CONT "$DAEMON_PID"
expect_eq "no lease for the ADDs sent while no daemon ran" 0 \
  "$(ctl leases --json | jq '[.[] | select(.owner | test("^nd-[123]$"))] | length')"
# The hung daemon may still serve the ADD it had queued; the runtime then DELs (ADD-4).
sleep 0.5
vmip_cmd DEL nd-4
expect_rc "DEL after the timed-out ADD" 0
expect_eq "no lease left for nd-4" 0 "$(lease_count nd-4)"

finish
