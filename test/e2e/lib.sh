# shellcheck shell=bash
# Shared helpers for vmip end-to-end tests. Source it from a test script.
#
# Every test gets: a temp dir $T, a private vmip-leased (socket/db/spool in $T),
# network namespaces named ${NS_PREFIX}*, and a "node" netns ($NODE_NS) in which
# the bridge plugin runs, so bridges and 10.250.x.x addresses never touch the
# host network. A trap removes all of it, even when the test fails.
set -euo pipefail

: "${VMIP_BIN_DIR:?set VMIP_BIN_DIR to the CMake build dir}"
VMIP=$VMIP_BIN_DIR/cni-plugin/vmip
LEASED=$VMIP_BIN_DIR/leased/vmip-leased
VMIPCTL=$VMIP_BIN_DIR/vmipctl/vmipctl
CNIDRIVER=${CNIDRIVER:-$VMIP_BIN_DIR/test/e2e/cnidriver}
# shellcheck disable=SC2034  # used by the test scripts
HOST_LOCAL=/usr/lib/cni/host-local

die() { echo "FATAL: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "end-to-end tests need root (network namespaces)"
for bin in "$VMIP" "$LEASED" "$VMIPCTL"; do
  [[ -x $bin ]] || die "missing binary $bin: build first"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/vmip-e2e.XXXXXX")
SOCK=$T/leased.sock
DB=$T/leases.db
SPOOL=$T/spool
LOG=$T/leased.log
NODE_NAME=e2e-node
NS_PREFIX=vmipt-$$-
NODE_NS=${NS_PREFIX}node
DAEMON_PID=
# shellcheck disable=SC2034  # read by the test scripts after stop_daemon
DAEMON_RC=
PASSES=0
FAILS=0
OUT='' ERR='' RC=0
mkdir -p "$SPOOL" "$T/cnibin" "$T/cnicache"
ln -s "$VMIP" "$T/cnibin/vmip"
for p in bridge host-local loopback; do ln -s "/usr/lib/cni/$p" "$T/cnibin/$p"; done

cleanup() {
  local rc=$?
  set +e
  if [[ -n $DAEMON_PID ]]; then # still up: the test ended before finish
    local drc=0
    kill -TERM "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null || drc=$?
    ((drc == 0)) || { echo "FAIL - vmip-leased exited $drc on SIGTERM at cleanup" >&2; ((rc != 0)) || rc=1; }
  fi
  local ns
  for ns in $(ip netns list | awk -v p="$NS_PREFIX" 'index($1, p) == 1 {print $1}'); do
    ip netns del "$ns"
  done
  if ((rc != 0)) && [[ -s $LOG ]]; then
    echo "--- last lines of the vmip-leased log ($LOG)" >&2
    tail -n 30 "$LOG" >&2
  fi
  if [[ -n ${KEEP_TMP:-} ]]; then echo "kept $T" >&2; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- assertions: count, print what differed, keep going; finish decides ----
pass() { PASSES=$((PASSES + 1)); echo "ok   - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL - $*" >&2; }
expect_eq() { # NAME EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
expect_ne() { # NAME UNEXPECTED ACTUAL: both non-empty and different (two empty strings are no proof)
  if [[ -z $2 || -z $3 ]]; then fail "$1: a side is empty: [$2] vs [$3]"
  elif [[ $2 != "$3" ]]; then pass "$1"; else fail "$1: got [$3], which it must not be"; fi
}
expect_match() { # NAME REGEX ACTUAL
  if [[ $3 =~ $2 ]]; then pass "$1"; else fail "$1: [$3] does not match /$2/"; fi
}
expect_rc() { # NAME RC   (of the last run_plugin / drive)
  if [[ $RC == "$2" ]]; then pass "$1"; else
    fail "$1: expected exit $2, got $RC; stdout=[${OUT:0:400}] stderr=[${ERR:0:400}]"
  fi
}
expect_code() { # NAME CODE [MSG_SUBSTRING]   error JSON on stdout, non-zero exit
  local code msg
  code=$(jq -r '.code // empty' <<<"$OUT" 2>/dev/null || true)
  msg=$(jq -r '.msg // empty' <<<"$OUT" 2>/dev/null || true)
  if [[ $RC != 0 && $code == "$2" && -n $msg ]] &&
    { [[ -z ${3:-} ]] || grep -qiF -- "$3" <<<"$msg $(jq -r '.details // empty' <<<"$OUT" 2>/dev/null)"; }; then
    pass "$1 (code $2: $msg)"
  else
    fail "$1: expected code $2${3:+ with \"$3\" in msg}; got exit $RC stdout=[${OUT:0:400}] stderr=[${ERR:0:300}]"
  fi
}
expect_error() { # NAME: any CNI error (code > 0, a msg) on stdout, non-zero exit
  if [[ $RC != 0 ]] && jq -e '(.code | type) == "number" and .code > 0 and (.msg | type) == "string" and (.msg | length) > 0' <<<"$OUT" >/dev/null 2>&1; then
    pass "$1 (code $(jq .code <<<"$OUT"): $(jq -r .msg <<<"$OUT"))"
  else
    fail "$1: expected a CNI error; got exit $RC stdout=[${OUT:0:400}] stderr=[${ERR:0:300}]"
  fi
}
# need NAME: a setup step a later check depends on must have worked (RC 0 of the last
# run_plugin / drive); a failed one counts as a failure and stops the test, rather than
# leaving empty values for the checks after it to compare.
need() {
  [[ $RC == 0 ]] && { pass "$1"; return 0; }
  fail "$1: exit $RC; stdout=[${OUT:0:300}] stderr=[${ERR:0:300}]"
  finish || true
  exit 1
}
# A sanitizer report anywhere in this test's logs (daemons, plugin stderr) fails the test,
# even when the process went on or exited 0 (UBSan without halt_on_error does).
SANITIZER_REPORT='(ERROR|SUMMARY): [A-Za-z]*Sanitizer|: runtime error: '
scan_sanitizer_reports() {
  local f
  while IFS= read -r f; do
    fail "sanitizer report in ${f#"$T"/}: $(grep -m 1 -E "$SANITIZER_REPORT" "$f")"
  done < <(grep -rlE --include='*.log' --include='*.err' "$SANITIZER_REPORT" "$T" 2>/dev/null)
}
# finish: stop the daemon (SIGTERM must exit 0), scan the logs, print the counts.
finish() {
  [[ -z $DAEMON_PID ]] || stop_daemon TERM
  scan_sanitizer_reports
  echo "# $(basename "$0"): $PASSES passed, $FAILS failed"
  ((FAILS == 0))
}

# ---- the daemon ----
start_daemon() { # [EXTRA DAEMON ARGS...]
  [[ -z $DAEMON_PID ]] || die "vmip-leased already running"
  "$LEASED" --socket "$SOCK" --db "$DB" --spool-dir "$SPOOL" --node-name "$NODE_NAME" \
    --log-level debug "$@" >>"$LOG" 2>&1 &
  DAEMON_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do # ready when the socket answers; 10 s at most
    if [[ -S $SOCK ]] && "$VMIPCTL" --socket "$SOCK" status >/dev/null 2>&1; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || { tail -n 20 "$LOG" >&2; DAEMON_PID=; die "vmip-leased exited at start"; }
    sleep 0.1
  done
  die "vmip-leased not ready after 10 s"
}
stop_daemon() { # [SIGNAL]; sets DAEMON_RC
  local sig=${1:-TERM} i
  [[ -n $DAEMON_PID ]] || return 0
  { # stderr muted here: bash reports "Killed" when it reaps the daemon
    kill -"$sig" "$DAEMON_PID"
    for ((i = 0; i < 100; i++)); do kill -0 "$DAEMON_PID" || break; sleep 0.1; done
  } 2>/dev/null
  if kill -0 "$DAEMON_PID" 2>/dev/null; then
    fail "vmip-leased ignored SIG$sig for 10 s"
    kill -KILL "$DAEMON_PID"
  fi
  DAEMON_RC=0
  # shellcheck disable=SC2034
  { wait "$DAEMON_PID"; } 2>/dev/null || DAEMON_RC=$?
  DAEMON_PID=
  # A clean shutdown exits 0: a crash or a sanitizer abort at exit is a failure.
  if [[ $sig == TERM && $DAEMON_RC != 0 ]]; then
    fail "vmip-leased exited $DAEMON_RC on SIGTERM; log: $(tail -n 3 "$LOG" | tr '\n' ' ')"
  fi
}
ctl() { "$VMIPCTL" --socket "$SOCK" "$@"; }
# lease_field OWNER JQ_EXPR: the expression applied to the lease of OWNER ("null" if none)
lease_field() {
  ctl leases --json | jq -c --arg o "$1" "(map(select(.owner == \$o)) | first) | $2"
}
lease_ips() { ctl leases --json | jq -r --arg o "$1" 'map(select(.owner == $o)) | first | (.ips // []) | join(",")'; }
lease_count() { ctl leases --json | jq --arg o "$1" 'map(select(.owner == $o)) | length'; }
pool_field() { ctl pools --json | jq -r --arg n "$1" "map(select(.network == \$n)) | first | $2"; }
db_snapshot() { sqlite3 -readonly "$DB" .dump; }
expect_db_unchanged() { # NAME BASELINE_DUMP
  local now
  now=$(db_snapshot)
  if [[ $now == "$2" ]]; then pass "$1"; else
    fail "$1: database changed:"$'\n'"$(diff <(echo "$2") <(echo "$now") | head -n 20)"
  fi
}

# ---- network namespaces ----
mk_netns() { ip netns add "$NS_PREFIX$1"; }         # mk_netns A -> /run/netns/${NS_PREFIX}A
ns_path() { echo "/run/netns/$NS_PREFIX$1"; }
ns_addrs() { # NAME IFNAME: the global addresses on IFNAME in netns NAME, sorted, comma-joined
  ip -n "$NS_PREFIX$1" -o addr show dev "$2" scope global | awk '{print $4}' | sort | paste -sd, -
}
setup_node_ns() { ip netns add "$NODE_NS"; ip -n "$NODE_NS" link set lo up; }

# ---- configs ----
# plugin_conf NAME VERSION RANGES_JSON [EXTRA_IPAM_JSON]: one plugin config (bridge+vmip)
plugin_conf() {
  local extra=${4:-'{}'}
  jq -cn --arg n "$1" --arg v "$2" --argjson r "$3" --argjson x "$extra" --arg s "$SOCK" --arg sp "$SPOOL" \
    '{cniVersion: $v, name: $n, type: "bridge",
      ipam: ({type: "vmip", socket: $s, spoolDir: $sp, ranges: $r, routes: [{dst: "0.0.0.0/0"}]} + $x)}'
}
# conflist FILE NAME VERSION BRIDGE RANGES_JSON [EXTRA_PLUGIN_JSON]: bridge+vmip conflist
conflist() {
  local extra=${6:-'{}'}
  jq -n --arg n "$2" --arg v "$3" --arg br "$4" --argjson r "$5" --argjson x "$extra" --arg s "$SOCK" --arg sp "$SPOOL" \
    '{cniVersion: $v, name: $n, plugins: [({type: "bridge", bridge: $br, isGateway: true,
      ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: $r, routes: [{dst: "0.0.0.0/0"}]}} + $x)]}' >"$1"
}

# ---- running plugins ----
# exec_plugin BIN CMD STDIN [VAR=VALUE...]: run with only the given env; sets OUT ERR RC.
# STDIN "@FILE" reads the file. CMD "" leaves CNI_COMMAND unset.
exec_plugin() {
  local bin=$1 cmd=$2 stdin=$3 input
  shift 3
  input=$T/stdin
  if [[ $stdin == @* ]]; then input=${stdin#@}; else printf '%s' "$stdin" >"$input"; fi
  RC=0
  OUT=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ${cmd:+"CNI_COMMAND=$cmd"} "$@" "$bin" <"$input" 2>"$T/stderr") || RC=$?
  ERR=$(<"$T/stderr")
  cat "$T/stderr" >>"$T/plugins.err" # scanned for sanitizer reports by finish
}
run_plugin() { exec_plugin "$VMIP" "$@"; } # CMD STDIN [VAR=VALUE...]
# drive add|del|check CONFLIST NETNS CONTAINERID [cnidriver flags...]: libcni in the node netns
drive() {
  local cmd=$1 conf=$2 ns=$3 cid=$4
  shift 4
  [[ -x $CNIDRIVER ]] || die "missing $CNIDRIVER: build the cnidriver target"
  RC=0
  OUT=$(ip netns exec "$NODE_NS" env CNI_PATH="$T/cnibin" "$CNIDRIVER" "$cmd" --conflist "$conf" \
    --netns "$(ns_path "$ns")" --containerid "$cid" --cache-dir "$T/cnicache" "$@" 2>"$T/stderr") || RC=$?
  ERR=$(<"$T/stderr")
  cat "$T/stderr" >>"$T/plugins.err"
}
# Address part of an "ip/prefix" string.
addr_of() { echo "${1%/*}"; }
