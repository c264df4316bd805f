#!/usr/bin/env bash
# Fault injection around vmip-leased:
#   1. the plugin is SIGKILLed mid-call (daemon SIGSTOPped, then SIGCONT): no corruption,
#      the runtime's retry cleans up, `vmipctl check` passes;
#   2. the disk fills up (database on a 2 MiB tmpfs): ADD fails with 11 and a message that
#      says database/disk, nothing acknowledged is lost, the database stays sound, and ADD
#      works again once space returns;
#   3. a damaged database file: vmip-leased refuses to start, says why, exits non-zero.
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
snapshot_bins

MNT=$T/full
PIDS=()
faults_cleanup() {
  set +e
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  [[ -n $DAEMON_PID ]] && kill -CONT "$DAEMON_PID" 2>/dev/null
  mountpoint -q "$MNT" && { stop_daemon TERM; umount "$MNT" || umount -l "$MNT"; }
}
trap 'rc=$?; faults_cleanup; (exit $rc); cleanup' EXIT

conf() { # NETWORK SUBNET
  jq -cn --arg s "$SOCK" --arg sp "$SPOOL" --arg n "$1" --arg sn "$2" \
    '{cniVersion: "1.0.0", name: $n, type: "faults",
      ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: [[{subnet: $sn}]]}}'
}
vmip_cmd() { # CMD CID
  run_plugin "$1" "$CONF" "CNI_CONTAINERID=$2" CNI_NETNS=/var/run/netns/faults CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni
}
spawn_plugin() { # CMD CID: in the background, PID in $!
  printf '%s' "$CONF" >"$T/bg.json"
  env -i PATH=/usr/bin:/bin CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS=/var/run/netns/faults \
    CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$VMIP" <"$T/bg.json" >"$T/bg.$2.out" 2>&1 &
}
check_ok() { # NAME: vmipctl check exits 0 and sqlite agrees the file is sound
  local rc=0
  ctl check >"$T/check.out" 2>&1 || rc=$?
  if [[ $rc == 0 ]]; then pass "$1: vmipctl check exits 0"; else
    fail "$1: vmipctl check exits $rc: $(head -c 600 "$T/check.out")"
  fi
  expect_eq "$1: sqlite integrity_check" ok "$(sqlite3 -readonly "$DB" 'PRAGMA integrity_check')"
}
ip_of() { jq -r '.ips[0].address | sub("/[0-9]+$"; "")' <<<"$OUT"; }

# ---- 1. plugin killed mid-call ----
kill_plugin_mid_call() { # ROUND DELAY_BEFORE_KILL
  local r=$1 p_add p_del
  vmip_cmd ADD "k$r-old"
  expect_rc "round $r: ADD k$r-old" 0
  kill -STOP "$DAEMON_PID"
  spawn_plugin ADD "k$r-new"
  p_add=$!
  spawn_plugin DEL "k$r-old"
  p_del=$!
  PIDS+=("$p_add" "$p_del")
  sleep "$2"
  kill -KILL "$p_add" "$p_del" 2>/dev/null || true
  { wait "$p_add"; wait "$p_del"; } 2>/dev/null || true
  kill -CONT "$DAEMON_PID"
  sleep 0.3 # the daemon serves what it had queued (or not): both are fine
  vmip_cmd CHECK "k$r-new"
  echo "# round $r: after the kill, CHECK k$r-new says rc=$RC ${OUT:0:120}"
  # The runtime never got either answer: it DELs both (ADD-4, DEL retry).
  vmip_cmd DEL "k$r-new"
  expect_rc "round $r: DEL k$r-new after the killed ADD" 0
  vmip_cmd DEL "k$r-old"
  expect_rc "round $r: DEL k$r-old retried after the killed DEL" 0
  expect_eq "round $r: no lease left for k$r-new / k$r-old" 0 \
    "$(ctl leases --json | jq --arg a "k$r-new" --arg b "k$r-old" 'map(select(.owner == $a or .owner == $b)) | length')"
  check_ok "round $r"
}
echo "## 1. the plugin is SIGKILLed mid-call while the daemon is SIGSTOPped"
CONF=$(conf killnet 10.252.1.0/24)
start_daemon
for r in 1 2 3 4 5; do kill_plugin_mid_call "$r" "0.$((r * 2 - 1))"; done

echo "## 1b. a DEL that times out against a hung daemon is spooled; is it applied without a restart?"
vmip_cmd ADD hung-1
expect_rc "ADD hung-1" 0
kill -STOP "$DAEMON_PID"
vmip_cmd DEL hung-1
kill -CONT "$DAEMON_PID"
expect_eq "DEL against a hung daemon: exit 0" "0|" "$RC|$OUT"
echo "# DEL against a hung daemon said on stderr: $ERR"
sleep 3
n=$(lease_count hung-1)
[[ $n == 0 ]] && ok=yes || ok=no
RC=0
ctl check >"$T/check.out" 2>&1 || RC=$?
expect_yes "the spooled DEL is applied while the daemon runs" "$ok" \
  "3 s after SIGCONT hung-1 still holds its lease ($n) and vmipctl check exits $RC: $(grep -i spool "$T/check.out" | head -n 1)"
stop_daemon KILL
start_daemon
expect_eq "the restart replays it: hung-1 released" 0 "$(lease_count hung-1)"
check_ok "after kill -9 of the daemon too"
stop_daemon TERM

# ---- 2. the disk fills up ----
echo "## 2. disk full: database on a 2 MiB tmpfs"
mkdir -p "$MNT"
mount -t tmpfs -o size=2m vmip-faults "$MNT"
DB=$MNT/leases.db
CONF=$(conf fullnet 10.252.0.0/16)
start_daemon
ACKED=()
for i in 1 2 3; do
  vmip_cmd ADD "f-$i"
  expect_rc "ADD f-$i before the disk fills" 0
  ACKED+=("f-$i=$(ip_of)")
done
dd if=/dev/zero of="$MNT/filler" bs=4k status=none 2>/dev/null || true
echo "# disk: $(df -k --output=avail "$MNT" | tail -n 1 | tr -d ' ') KiB left"
FULL_OUT='' FULL_ERR_ADDS=0
for i in $(seq 10 209); do # the WAL may still take a few commits; the 200th ADD at the latest fails
  vmip_cmd ADD "f-$i"
  if [[ $RC == 0 ]]; then ACKED+=("f-$i=$(ip_of)"); continue; fi
  FULL_ERR_ADDS=$((FULL_ERR_ADDS + 1))
  [[ -n $FULL_OUT ]] || { FULL_OUT=$OUT; expect_code "ADD on a full disk" 11; }
  vmip_cmd DEL "f-$i" # the runtime's ADD-4 cleanup
  [[ $RC == 0 ]] || echo "# DEL f-$i after the failed ADD on a full disk: rc=$RC ${OUT:0:200}"
  ((FULL_ERR_ADDS < 3)) || break
done
if [[ -n $FULL_OUT ]]; then pass "an ADD failed once the disk was full"; else fail "200 ADDs on a full disk all succeeded"; fi
expect_match "the error says database/disk" '[Dd]atabase|[Dd]isk' "$(jq -r '.msg + " " + (.details // "")' <<<"${FULL_OUT:-{\}}")"
echo "# full-disk ADD answered: $FULL_OUT"
vmip_cmd DEL "${ACKED[0]%%=*}"
echo "# DEL of an acked pod on a full disk: rc=$RC stdout=[${OUT:0:200}] stderr=[${ERR:0:200}]"
DEL_ON_FULL_RC=$RC
[[ $RC == 0 ]] && ok=yes || ok=no
expect_yes "DEL on a full disk does not block pod deletion (exit 0)" "$ok" \
  "DEL exits $RC with [${OUT:0:160}]; the plugin spools only transport failures, not the daemon's code 11"
if [[ $RC == 0 ]]; then ACKED=("${ACKED[@]:1}"); fi
expect_eq "database sound while the disk is full" ok "$(sqlite3 -readonly "$DB" 'PRAGMA quick_check')"
rm -f "$MNT/filler"
vmip_cmd ADD f-after
expect_rc "ADD works again once space returns" 0
ACKED+=("f-after=$(ip_of)")
if [[ $DEL_ON_FULL_RC != 0 ]]; then # the runtime retries the DEL that failed
  vmip_cmd DEL "${ACKED[0]%%=*}"
  expect_rc "retried DEL once space returns" 0
  ACKED=("${ACKED[@]:1}")
fi
# The DEL spooled during the episode is replayed by the daemon's once-a-second rescan.
for ((k = 0; k < 50; k++)); do ctl check >/dev/null 2>&1 && break; sleep 0.1; done
check_ok "after the disk-full episode"
stop_daemon KILL
start_daemon
lost=0
for a in "${ACKED[@]}"; do
  got=$(lease_ips "${a%%=*}")
  [[ $got == "${a#*=}" ]] || { lost=$((lost + 1)); echo "# ${a%%=*}: acked ${a#*=}, now [$got]" >&2; }
done
expect_eq "every acked ADD (${#ACKED[@]}) survives the full disk and a kill -9" 0 "$lost"
ACKED_OWNERS=$(printf '%s\n' "${ACKED[@]%%=*}" | jq -R . | jq -sc .)
expect_eq "the failed (and DEL'd) ADDs left no lease" 0 \
  "$(ctl leases --json | jq --argjson a "$ACKED_OWNERS" '[.[] | select(.network == "fullnet") | select(.owner as $o | $a | index($o) | not)] | length')"
check_ok "after the restart"
stop_daemon TERM
umount "$MNT"
DB=$T/leases.db

# ---- 3. damaged database files ----
echo "## 3. a damaged database: vmip-leased refuses to start"
CONF=$(conf corruptnet 10.252.2.0/24)
DB=$T/good.db
start_daemon
acked=0
for i in $(seq 1 40); do vmip_cmd ADD "c-$i"; [[ $RC != 0 ]] || acked=$((acked + 1)); done
expect_eq "40 ADDs into the database to damage" 40 "$acked"
stop_daemon TERM
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
PAGES=$(sqlite3 -readonly "$DB" 'PRAGMA page_count')
PSIZE=$(sqlite3 -readonly "$DB" 'PRAGMA page_size')
echo "# good database: $PAGES pages of $PSIZE bytes"
refuses() { # NAME DD_SEEK_PAGES DD_PAGES: garbage over those pages of a copy; must not serve
  local db=$T/bad-$2.db rc=0 out
  cp "$T/good.db" "$db"
  head -c $(($3 * PSIZE)) /dev/urandom | dd of="$db" bs="$PSIZE" seek="$2" conv=notrunc status=none
  out=$(timeout 10 "$LEASED" --socket "$T/bad.sock" --db "$db" --spool-dir "$T/badspool" 2>&1) || rc=$?
  echo "# $1: exit $rc: ${out:0:300}"
  printf '%s\n' "$out" >>"$T/refused.log" # scanned for sanitizer reports by finish
  if ((rc != 0 && rc != 124)); then pass "$1: refuses to start (exit $rc)"; else
    fail "$1: vmip-leased $([[ $rc == 124 ]] && echo "served from it for 10 s" || echo "exited 0")"
  fi
  expect_match "$1: the message names the problem" 'damaged|not a database|malformed|corrupt' "$out"
  rm -f "$T/bad.sock"
}
refuses "first 2 pages garbage" 0 2
refuses "pages 2-3 garbage (header intact)" 1 2
refuses "last page garbage" $((PAGES - 1)) 1
refuses "pages 3-$((PAGES - 1)) garbage" 2 $((PAGES - 3))
finish
