#!/usr/bin/env bash
# The DEL spool end to end (issue 11): records of networks and containers whose names contain
# '-' never overwrite each other, and a daemon that finds another one serving its socket
# leaves the spool alone (it used to replay it into its own database before giving up).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
mk_netns S
NS=$(ns_path S)
CONF_AB=$(plugin_conf a-b 1.0.0 '[[{"subnet":"10.250.40.0/24"}]]')
CONF_A=$(plugin_conf a 1.0.0 '[[{"subnet":"10.250.41.0/24"}]]')
att() { echo "CNI_CONTAINERID=$1" "CNI_NETNS=$NS" CNI_IFNAME=eth0; }
spool_count() { find "$1" -maxdepth 1 -name '*.pb' | wc -l; }

echo "# network a-b + container c and network a + container b-c: two spooled DELs"
# shellcheck disable=SC2046
run_plugin ADD "$CONF_AB" $(att c)
expect_rc "ADD network a-b container c" 0
# shellcheck disable=SC2046
run_plugin ADD "$CONF_A" $(att b-c)
expect_rc "ADD network a container b-c" 0
expect_eq "two pod leases" 1,1 "$(lease_count c),$(lease_count b-c)"
stop_daemon TERM
# shellcheck disable=SC2046
run_plugin DEL "$CONF_AB" $(att c)
expect_rc "DEL a-b/c with the daemon down succeeds" 0
# shellcheck disable=SC2046
run_plugin DEL "$CONF_A" $(att b-c)
expect_rc "DEL a/b-c with the daemon down succeeds" 0
expect_eq "two spool records, not one overwritten" 2 "$(spool_count "$SPOOL")"
start_daemon
expect_eq "both DELs replayed at start: both leases gone" 0,0 "$(lease_count c),$(lease_count b-c)"
expect_eq "spool empty after the replay" 0 "$(spool_count "$SPOOL")"

echo "# a second daemon on the live socket exits before it touches another spool"
OTHER_SPOOL=$T/other-spool
mkdir -p "$OTHER_SPOOL"
# shellcheck disable=SC2046
run_plugin DEL "$(jq -c --arg s "$T/nobody.sock" --arg sp "$OTHER_SPOOL" '.ipam.socket = $s | .ipam.spoolDir = $sp' <<<"$CONF_A")" $(att z-1)
expect_rc "DEL spooled for an absent daemon" 0
expect_eq "one record in the other spool" 1 "$(spool_count "$OTHER_SPOOL")"
RC=0
timeout 20 "$LEASED" --socket "$SOCK" --db "$T/other.db" --spool-dir "$OTHER_SPOOL" \
  --node-name other >"$T/second.log" 2>&1 || RC=$?
expect_eq "second daemon exits 1" 1 "$RC"
expect_match "it names the live socket" "another daemon is serving $SOCK" "$(cat "$T/second.log")"
expect_eq "the other spool's record is still there" 1 "$(spool_count "$OTHER_SPOOL")"
expect_eq "no database was created" no "$([[ -e $T/other.db ]] && echo yes || echo no)"
expect_eq "the first daemon still serves" 0 "$(ctl status >/dev/null 2>&1; echo $?)"

finish
