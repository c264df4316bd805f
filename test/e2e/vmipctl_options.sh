#!/usr/bin/env bash
# vmipctl's numeric options (issue 11): a value that is not a number in range is a usage
# error, exit 2 with the option named, never an uncaught exception (exit 134).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
mk_netns S
run_plugin ADD "$(plugin_conf optnet 1.0.0 '[[{"subnet":"10.250.42.0/24"}]]')" \
  CNI_CONTAINERID=opt-1 "CNI_NETNS=$(ns_path S)" CNI_IFNAME=eth0
expect_rc "a pod ADD so the network has a pool" 0

# usage NAME OPTION ARGS...: vmipctl ARGS exits 2 and names OPTION on stderr
usage() {
  local name=$1 option=$2 rc=0 err
  shift 2
  err=$(ctl "$@" 2>&1 >/dev/null) || rc=$?
  if [[ $rc == 2 ]] && grep -qF -- "$option" <<<"$err"; then pass "$name (exit 2: ${err%%$'\n'*})"; else
    fail "$name: expected exit 2 naming $option; got exit $rc: ${err:0:300}"
  fi
}

echo "## history --limit"
for v in abc -1 0 1.5 99999999999 ''; do
  usage "history --limit [$v]" --limit history --limit "$v"
done
RC=0
ctl history --limit 1 --json >"$T/h.json" || RC=$?
expect_eq "history --limit 1 works" "0 1" "$RC $(jq length "$T/h.json")"

echo "## reserve --count"
for v in abc -1 0 4097 99999999999 2x; do
  usage "reserve --count [$v]" --count reserve optnet --name r1 --count "$v"
done
RC=0
ctl reserve optnet --name r1 --count 2 --json >"$T/r.json" || RC=$?
expect_eq "reserve --count 2 works" "0 2" "$RC $(jq '.ips | length' "$T/r.json")"

echo "## other usage errors are 2 as well"
usage "unknown option" --frob leases --frob
usage "missing required --vm" --vm release
RC=0
ctl --help >/dev/null || RC=$?
expect_eq "--help exits 0" 0 "$RC"

finish
