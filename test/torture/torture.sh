#!/usr/bin/env bash
# Crash torture: concurrent plugin execs (ADD/DEL of pods and VMs) while a killer loop
# SIGKILLs vmip-leased at random moments and restarts it. Every call is logged with its
# outcome; at every checkpoint (every --check-every kills, and at the end) the workers
# pause, the daemon restarts (spool replayed) and an oracle compares the logs with the
# database (sqlite3, read-only) and `vmipctl leases --json`:
#   (a) no address held twice        (b) no acknowledged ADD lost or changed
#   (c) every DEL'd container gone   (d) no binding the runtime never got left behind
#   (e) `vmipctl check` exits 0      (f) the daemon really died of SIGKILL N times
# and (g) the storm really exercised the daemon: at least --min-adds acknowledged ADDs,
# --min-dels DELs the daemon answered (not spooled) and --min-midcall kills that landed
# while a plugin call was in flight on a daemon that was answering; a run against a dead
# daemon passes none of them.
# Usage: torture.sh [--kills N] [--seconds S] [--workers W] [--check-every K]
#                   [--min-adds A] [--min-dels D] [--min-midcall M]
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
snapshot_bins

KILLS=1000 BUDGET=1800 WORKERS=6 CHECK_EVERY=100 MIN_ADDS='' MIN_DELS='' MIN_MIDCALL=''
while (($#)); do
  case $1 in
    --min-adds) MIN_ADDS=$2; shift 2 ;;
    --min-dels) MIN_DELS=$2; shift 2 ;;
    --min-midcall) MIN_MIDCALL=$2; shift 2 ;;
    --kills) KILLS=$2; shift 2 ;;
    --seconds) BUDGET=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --check-every) CHECK_EVERY=$2; shift 2 ;;
    *) die "usage: $0 [--kills N] [--seconds S] [--workers W] [--check-every K] [--min-adds A] [--min-dels D] [--min-midcall M]" ;;
  esac
done
# Defaults scale with the kills; the margins are far below what a working daemon does.
: "${MIN_ADDS:=$((KILLS * 2))}" "${MIN_DELS:=$KILLS}" "${MIN_MIDCALL:=$((KILLS / 3))}"

NET=tnet
NVMS=12          # bounded VM name space, shared by all workers (live-migration shape)
MAX_LIVE=8       # live containers per worker; beyond that the worker DELs
CALL_TIMEOUT=30  # a plugin exec is SIGKILLed after this (its own deadline is 10 s)
CONF=$T/conf.json
jq -n --arg s "$SOCK" --arg sp "$SPOOL" --arg n "$NET" \
  '{cniVersion: "1.0.0", name: $n, type: "torture",
    ipam: {type: "vmip", socket: $s, spoolDir: $sp,
           ranges: [[{subnet: "10.251.0.0/22"}], [{subnet: "fd00:251::/64"}]]}}' >"$CONF"
WORKER_PIDS=()
KILLED=0 CYCLES=0 SELF_EXITS=0 CHECKPOINTS=0

torture_cleanup() {
  set +e
  touch "$T/stop"
  local p
  for p in "${WORKER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${WORKER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap 'rc=$?; torture_cleanup; (exit $rc); cleanup' EXIT

# ---- workers: a runtime that ADDs and DELs; one log line per call ----
# log line (tab separated): worker seq op kind cid owner rc result t0 t1
#   result: the addresses "ip[,ip]" of an acked ADD, the CNI code of a failed one, "-" for DEL
call_plugin() { # CMD CID CNI_ARGS -> RC OUT, and the call's start and end times CT0 CT1
  RC=0 CT0=$EPOCHREALTIME
  OUT=$(timeout -s KILL "$CALL_TIMEOUT" env -i PATH=/usr/bin:/bin CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
    CNI_NETNS=/var/run/netns/torture CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni ${3:+"CNI_ARGS=$3"} \
    "$VMIP" <"$CONF" 2>>"$WERR") || RC=$?
  CT1=$EPOCHREALTIME
}
addrs_of() { # the addresses of an ADD result, comma-joined, prefix cut
  local rest=$1 out=''
  while [[ $rest =~ \"address\":\"([^\"/]+)/[0-9]+\" ]]; do
    out+=${out:+,}${BASH_REMATCH[1]}
    rest=${rest#*"${BASH_REMATCH[0]}"}
  done
  echo "$out"
}
wlog() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$W" "$SEQ" "$@" "$CT0" "$CT1" >>"$WLOG"; SEQ=$((SEQ + 1)); }
do_del() { # KIND CID OWNER ARGS
  call_plugin DEL "$2" "${4:-}"
  wlog DEL "$1" "$2" "$3" "$RC" -
}
do_add() { # KIND CID OWNER ARGS; returns 0 when acked
  local res
  call_plugin ADD "$2" "${4:-}"
  if [[ $RC == 0 ]]; then res=$(addrs_of "$OUT"); else
    res=$([[ $OUT =~ \"code\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo "rc$RC")
  fi
  wlog ADD "$1" "$2" "$3" "$RC" "${res:--}"
  [[ $RC == 0 ]] && return 0
  do_del "$@" # ADD-4: the runtime cleans up after a failed ADD
  return 1
}
pause_point() { # idle while the main loop checks; bounded
  local i
  [[ -e $T/pause ]] || return 0
  touch "$T/idle.$W"
  for ((i = 0; i < 6000; i++)); do [[ -e $T/pause && ! -e $T/stop ]] || break; sleep 0.05; done
  rm -f "$T/idle.$W"
}
worker() { # W
  W=$1 SEQ=0 WLOG=$T/w$1.log WERR=$T/w$1.err
  RANDOM=$((W * 7919 + $$))
  local -a live=() # "kind cid owner args"
  local n=0 r k cid owner args entry
  : >"$WLOG"
  while [[ ! -e $T/stop ]] && ((n < 1000000)); do
    pause_point
    [[ -e $T/stop ]] && break
    n=$((n + 1)) r=$((RANDOM % 100))
    if ((${#live[@]} >= MAX_LIVE || (${#live[@]} > 0 && r < 40))); then
      k=$((RANDOM % ${#live[@]}))
      entry=${live[k]}
      live=("${live[@]:0:k}" "${live[@]:k+1}")
      # shellcheck disable=SC2086
      do_del $entry
    elif ((r < 45 && ${#live[@]} > 0)); then # repeated ADD of a live container: idempotent
      k=$((RANDOM % ${#live[@]}))
      entry=${live[k]}
      # shellcheck disable=SC2086
      do_add $entry || live=("${live[@]:0:k}" "${live[@]:k+1}")
    elif ((r < 80)); then
      cid=w${W}p$n
      do_add pod "$cid" "$cid" "" && live+=("pod $cid $cid")
    else
      k=$((RANDOM % NVMS)) cid=w${W}v$n
      owner=tt/vm$k args="IgnoreUnknown=1;K8S_POD_NAMESPACE=tt;K8S_POD_NAME=virt-launcher-vm$k-$(printf %05d $((n % 100000)))"
      do_add vm "$cid" "$owner" "$args" && live+=("vm $cid $owner $args")
    fi
  done
  return 0
}

# ---- the daemon: start, kill, count ----
daemon_spawn() {
  "$LEASED" --socket "$SOCK" --db "$DB" --spool-dir "$SPOOL" --node-name "$NODE_NAME" >>"$LOG" 2>&1 &
  DAEMON_PID=$! SPAWNED_AT=$EPOCHREALTIME
}
daemon_ready() { # up to 10 s
  local i
  for ((i = 0; i < 500; i++)); do
    if [[ -S $SOCK ]] && "$VMIPCTL" --socket "$SOCK" status >/dev/null 2>&1; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || return 1
    sleep 0.02
  done
  return 1
}
rand_sleep() { sleep "$(printf '0.%03d' $(($1 + RANDOM % ($2 - $1 + 1))))"; } # MIN_MS MAX_MS (< 1000)
daemon_kill() { # SIGKILL; count it when the process really died of it
  local rc=0 t=$EPOCHREALTIME
  { kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID"; } 2>/dev/null || rc=$?
  DAEMON_PID=
  if ((rc == 137)); then KILLED=$((KILLED + 1)) && printf '%s\t%s\n' "$SPAWNED_AT" "$t" >>"$T/kills.tsv"; else
    SELF_EXITS=$((SELF_EXITS + 1))
    fail "vmip-leased exited by itself (status $rc) before the kill"
    tail -n 5 "$LOG" >&2
  fi
}
kill_cycle() { # one restart + kill; one in five kills during start-up (spool replay)
  CYCLES=$((CYCLES + 1))
  daemon_spawn
  if ((RANDOM % 5 == 0)); then
    rand_sleep 0 60
  else
    daemon_ready || fail "vmip-leased not ready after 10 s (cycle $CYCLES)"
    rand_sleep 20 300
  fi
  daemon_kill
}

# ---- the oracle ----
sql() { sqlite3 -batch -bail -cmd ".timeout 5000" -cmd "ATTACH 'file:$DB?mode=ro' AS l" "$@" "$T/oracle.db"; }
load_oracle() { # the call logs and vmipctl's view into a scratch database
  rm -f "$T/oracle.db"
  cat "$T"/w*.log >"$T/calls.tsv"
  touch "$T/kills.tsv"
  ctl leases --json | jq -r '.[] | [.owner_kind, .owner, .state, (.ips | join(",")),
    ([.attachments[].container_id] | join(","))] | @tsv' >"$T/ctl.tsv"
  sqlite3 -batch "$T/oracle.db" <<EOF
CREATE TABLE calls(w INT, seq INT, op TEXT, kind TEXT, cid TEXT, owner TEXT, rc INT, result TEXT, t0 REAL, t1 REAL);
CREATE TABLE ctl(kind TEXT, owner TEXT, state TEXT, ips TEXT, cids TEXT);
CREATE TABLE kills(spawned REAL, t REAL);
.mode tabs
.import $T/calls.tsv calls
.import $T/ctl.tsv ctl
.import $T/kills.tsv kills
EOF
  # Views over the lease database: addresses of each lease, attachments with their lease.
  sql <<EOF
CREATE TEMP VIEW ips AS SELECT lease_id, group_concat(ip, ',') AS ips
  FROM (SELECT * FROM l.addresses ORDER BY lease_id, range_set) GROUP BY lease_id;
CREATE TABLE db_att AS SELECT a.container_id AS cid, le.owner_kind AS kind, le.owner, ips.ips
  FROM l.attachments a JOIN l.leases le ON le.id = a.lease_id JOIN ips ON ips.lease_id = le.id
  WHERE a.network = '$NET' AND a.ifname = 'eth0';
CREATE TABLE db_lease AS SELECT le.owner_kind AS kind, le.owner, ips.ips
  FROM l.leases le JOIN ips ON ips.lease_id = le.id WHERE le.network = '$NET';
CREATE INDEX calls_by_cid ON calls(w, cid, seq);
CREATE INDEX calls_by_t0 ON calls(t0);
CREATE INDEX calls_by_owner ON calls(owner, op, rc);
CREATE INDEX db_att_by_cid ON db_att(cid);
CREATE INDEX db_lease_by_owner ON db_lease(owner, kind);
-- the last call on each container decides what must be there
CREATE TABLE last AS SELECT c.* FROM calls c
  WHERE c.seq = (SELECT max(seq) FROM calls d WHERE d.w = c.w AND d.cid = c.cid);
CREATE TABLE want AS SELECT kind, cid, owner, result AS ips FROM last WHERE op = 'ADD' AND rc = 0;
CREATE TABLE gone AS SELECT kind, cid, owner FROM last WHERE op = 'DEL';
CREATE INDEX want_by_cid ON want(cid);
CREATE INDEX want_by_owner ON want(owner);
EOF
}
count() { sql -cmd "$1" </dev/null; }
show() { sql -header -column -cmd "$1" </dev/null | head -n 20 >&2; }
check_count() { # NAME SQL_COUNT SQL_SHOW
  local n
  n=$(count "$2")
  if [[ $n == 0 ]]; then pass "$CP: $1: 0"; else fail "$CP: $1: $n"; show "$3"; fi
  printf -v "$4" '%d' $((${!4} + n))
}
oracle() { # the daemon is up, the spool replayed, no worker busy
  CP="checkpoint $CHECKPOINTS (kills $KILLED)"
  load_oracle
  local rc=0
  DUP=0 LOST=0 WRONG_DEL=0 LEFTOVERS=0 MOVED=0 CTL_DIFF=0
  check_count "(a) addresses held twice" \
    "SELECT count(*) FROM (SELECT network, ip FROM l.addresses GROUP BY 1, 2 HAVING count(*) > 1)" \
    "SELECT network, ip, count(*) FROM l.addresses GROUP BY 1, 2 HAVING count(*) > 1" DUP
  local ctl_dups
  ctl_dups=$(ctl leases --json | jq '[.[].ips[]] | length - (unique | length)')
  expect_eq "$CP: (a) vmipctl leases: no address twice" 0 "$ctl_dups"
  check_count "(b) acked ADDs lost or with another address" \
    "SELECT count(*) FROM want w LEFT JOIN db_att a ON a.cid = w.cid WHERE a.ips IS NOT w.ips" \
    "SELECT w.*, a.ips AS db_ips FROM want w LEFT JOIN db_att a ON a.cid = w.cid WHERE a.ips IS NOT w.ips" LOST
  check_count "(b) acked ADDs of one owner with different addresses" \
    "SELECT count(*) FROM (SELECT owner FROM calls WHERE op = 'ADD' AND rc = 0 GROUP BY owner HAVING count(DISTINCT result) > 1)" \
    "SELECT owner, group_concat(DISTINCT result) FROM calls WHERE op = 'ADD' AND rc = 0 GROUP BY owner HAVING count(DISTINCT result) > 1" MOVED
  check_count "(b) VMs ever acked without their lease and address" \
    "SELECT count(*) FROM (SELECT DISTINCT owner, result FROM calls WHERE kind = 'vm' AND op = 'ADD' AND rc = 0) c
       LEFT JOIN db_lease d ON d.kind = 'vm' AND d.owner = c.owner WHERE d.ips IS NOT c.result" \
    "SELECT c.*, d.ips FROM (SELECT DISTINCT owner, result FROM calls WHERE kind = 'vm' AND op = 'ADD' AND rc = 0) c
       LEFT JOIN db_lease d ON d.kind = 'vm' AND d.owner = c.owner WHERE d.ips IS NOT c.result" LOST
  check_count "(c) DEL'd containers still attached or pod leases still bound" \
    "SELECT count(*) FROM gone g WHERE g.cid IN (SELECT cid FROM db_att)
       OR (g.kind = 'pod' AND g.owner IN (SELECT owner FROM db_lease WHERE kind = 'pod'))" \
    "SELECT g.* FROM gone g WHERE g.cid IN (SELECT cid FROM db_att)
       OR (g.kind = 'pod' AND g.owner IN (SELECT owner FROM db_lease WHERE kind = 'pod'))" WRONG_DEL
  check_count "(d) attachments or pod leases nobody acked (leftovers)" \
    "SELECT (SELECT count(*) FROM db_att WHERE cid NOT IN (SELECT cid FROM want))
          + (SELECT count(*) FROM db_lease WHERE kind = 'pod' AND owner NOT IN (SELECT owner FROM want))" \
    "SELECT 'attachment' AS what, cid, owner, ips FROM db_att WHERE cid NOT IN (SELECT cid FROM want)
       UNION ALL SELECT 'pod lease', owner, owner, ips FROM db_lease WHERE kind = 'pod' AND owner NOT IN (SELECT owner FROM want)" LEFTOVERS
  VM_NEVER_ACKED=$(count "SELECT count(*) FROM db_lease WHERE kind = 'vm' AND owner NOT IN
    (SELECT owner FROM calls WHERE kind = 'vm' AND op = 'ADD' AND rc = 0)")
  echo "# $CP: $VM_NEVER_ACKED VM lease(s) bound by an ADD the runtime never got (kept detached by design)"
  check_count "vmipctl leases and the database disagree" \
    "SELECT count(*) FROM (SELECT kind, owner, ips FROM db_lease EXCEPT SELECT kind, owner, ips FROM ctl
       UNION ALL SELECT kind, owner, ips FROM ctl EXCEPT SELECT kind, owner, ips FROM db_lease)" \
    "SELECT 'db' AS src, * FROM (SELECT kind, owner, ips FROM db_lease EXCEPT SELECT kind, owner, ips FROM ctl)
       UNION ALL SELECT 'ctl', * FROM (SELECT kind, owner, ips FROM ctl EXCEPT SELECT kind, owner, ips FROM db_lease)" CTL_DIFF
  ctl check >"$T/check.out" 2>&1 || rc=$?
  if [[ $rc == 0 ]]; then pass "$CP: (e) vmipctl check exits 0"; else
    fail "$CP: (e) vmipctl check exits $rc"; head -n 20 "$T/check.out" >&2
  fi
  CHECK_RC=$rc
  expect_eq "$CP: sqlite integrity_check" ok "$(sqlite3 -readonly "$DB" 'PRAGMA integrity_check')"
}
checkpoint() { # pause the workers, restart the daemon (spool replayed), run the oracle, resume
  local i
  CHECKPOINTS=$((CHECKPOINTS + 1))
  touch "$T/pause"
  for ((i = 0; i < 1200; i++)); do # workers finish their current call: 60 s at most
    (($(find "$T" -maxdepth 1 -name 'idle.*' | wc -l) >= WORKERS)) && break
    sleep 0.05
  done
  ((i < 1200)) || fail "workers did not pause within 60 s"
  [[ -z $DAEMON_PID ]] || daemon_kill
  start_daemon
  oracle
  [[ ${1:-} == final ]] && return 0
  stop_daemon KILL
  [[ $DAEMON_RC == 137 ]] && KILLED=$((KILLED + 1))
  rm -f "$T/pause"
}

# ---- the storm ----
echo "## storm: $WORKERS workers, $KILLS SIGKILLs of vmip-leased (at most $BUDGET s)"
for ((w = 0; w < WORKERS; w++)); do
  worker "$w" &
  WORKER_PIDS+=($!)
done
T0=$SECONDS
next_check=$CHECK_EVERY
while ((KILLED < KILLS && SECONDS - T0 < BUDGET)); do
  kill_cycle
  if ((KILLED >= next_check && KILLED < KILLS)); then
    checkpoint
    next_check=$((next_check + CHECK_EVERY))
  fi
done
ELAPSED=$((SECONDS - T0))
echo "## final: stop the workers, start the daemon (spool replayed), check"
touch "$T/stop" "$T/pause"
for p in "${WORKER_PIDS[@]}"; do wait "$p" || fail "worker $p exited with $?"; done
WORKER_PIDS=()
for ((w = 0; w < WORKERS; w++)); do touch "$T/idle.$w"; done
SPOOLED_AT_END=$(find "$SPOOL" -maxdepth 1 -name 'del-*.pb' | wc -l)
checkpoint final
expect_eq "(f) vmip-leased died of SIGKILL $KILLS times" "$KILLS" "$KILLED"
expect_eq "vmip-leased never exited by itself" 0 "$SELF_EXITS"
expect_eq "spool empty after the final start" 0 "$(find "$SPOOL" -maxdepth 1 -name 'del-*.pb' | wc -l)"
expect_eq "no unreadable spool record" 0 "$(find "$SPOOL" -maxdepth 1 -name '*.bad' | wc -l)"

calls=$(count "SELECT count(*) FROM calls")
add_ok=$(count "SELECT count(*) FROM calls WHERE op = 'ADD' AND rc = 0")
add_fail=$(count "SELECT count(*) FROM calls WHERE op = 'ADD' AND rc != 0")
codes=$(count "SELECT group_concat(result || ':' || n, ' ') FROM (SELECT result, count(*) n FROM calls WHERE op = 'ADD' AND rc != 0 GROUP BY result)")
del_ok=$(count "SELECT count(*) FROM calls WHERE op = 'DEL' AND rc = 0")
del_fail=$(count "SELECT count(*) FROM calls WHERE op = 'DEL' AND rc != 0")
spooled=$(cat "$T"/w*.err 2>/dev/null | grep -c 'for replay' || true)
expect_eq "every DEL exits 0 (acked or spooled)" 0 "$del_fail"
# (g) the storm did what it is for: the daemon answered, and was killed under load. A kill
# counts as mid-call when a call was in flight and the daemon had acked an ADD since its start.
midcall=$(count "SELECT count(*) FROM kills k WHERE EXISTS (SELECT 1 FROM calls c WHERE c.t0 < k.t AND c.t1 > k.t)
  AND EXISTS (SELECT 1 FROM calls a WHERE a.op = 'ADD' AND a.rc = 0 AND a.t1 > k.spawned AND a.t1 < k.t)")
at_least() { # NAME MIN ACTUAL
  if (($3 >= $2)); then pass "(g) $1: $3 (at least $2)"; else fail "(g) $1: $3, fewer than $2"; fi
}
at_least "acknowledged ADDs" "$MIN_ADDS" "$add_ok"
at_least "DELs the daemon answered (not spooled)" "$MIN_DELS" "$((del_ok - spooled))"
at_least "kills that landed while a plugin call was in flight" "$MIN_MIDCALL" "$midcall"
live_end=$(count "SELECT count(*) FROM want")
echo "TORTURE kills=$KILLED/$KILLS cycles=$CYCLES checkpoints=$CHECKPOINTS seconds=$ELAPSED calls=$calls" \
  "midcall_kills=$midcall add_acked=$add_ok add_failed=$add_fail(codes ${codes:-none}) del_acked=$del_ok del_spooled=$spooled" \
  "spool_at_end=$SPOOLED_AT_END live_at_end=$live_end duplicates=$DUP lost=$LOST moved=$MOVED del_not_applied=$WRONG_DEL leftovers=$LEFTOVERS ctl_vs_db=$CTL_DIFF" \
  "vm_leases_never_acked=$VM_NEVER_ACKED check_rc=$CHECK_RC"
finish
