#!/usr/bin/env bash
# Least privilege: vmip-leased makes its socket 0600 in a 0700 directory it creates, and a
# non-root caller of the plugin gets a clear permission error (ADD: code 11 saying
# "permission denied"; DEL: exit 0 and a stderr line that says the spool write failed too).
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "$0")/common.sh"
snapshot_bins

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
mode_of() { stat -c %a "$1"; }

# A non-root caller must reach the plugin binary; the config comes on stdin (opened by us).
chmod 0711 "$T"
PLUGIN=$VMIP # snapshot_bins put it in $T/bin, 0755
as_nobody() { # CMD CID: the plugin as uid/gid 65534; sets OUT ERR RC MS
  local t0
  t0=$(date +%s%N)
  RC=0
  OUT=$("${NOBODY[@]}" env -i PATH=/usr/bin:/bin CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
    CNI_NETNS=/var/run/netns/priv CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$PLUGIN" <"$T/conf.json" 2>"$T/stderr") || RC=$?
  ERR=$(<"$T/stderr")
  cat "$T/stderr" >>"$T/plugins.err"
  MS=$((($(date +%s%N) - t0) / 1000000))
}
write_conf() {
  jq -n --arg s "$SOCK" --arg sp "$SPOOL" \
    '{cniVersion: "1.0.0", name: "privnet", type: "priv",
      ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: [[{subnet: "10.253.0.0/24"}]]}}' >"$T/conf.json"
  chmod 0644 "$T/conf.json"
}

echo "## the daemon creates the socket directory: 0700, socket 0600"
SOCK=$T/run/vmip/leased.sock
DB=$T/lib/vmip/leases.db
SPOOL=$T/lib/vmip/spool
rmdir "$T/spool" 2>/dev/null || true
start_daemon
write_conf
expect_eq "socket directory mode" 700 "$(mode_of "$T/run/vmip")"
expect_eq "parent directory it created too" 700 "$(mode_of "$T/run")"
expect_eq "socket mode" 600 "$(mode_of "$SOCK")"
expect_eq "socket owner" root:root "$(stat -c %U:%G "$SOCK")"
expect_eq "database directory mode" 700 "$(mode_of "$T/lib/vmip")"
expect_eq "spool directory mode" 700 "$(mode_of "$SPOOL")"
echo "# database file modes: $(stat -c '%n=%a' "$DB"* | sed "s|$T/lib/vmip/||g" | paste -sd' ' -)"

echo "## root can use it"
run_plugin ADD "$(<"$T/conf.json")" CNI_CONTAINERID=root-1 CNI_NETNS=/var/run/netns/priv CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni
expect_rc "ADD as root" 0
BASE=$(db_snapshot)

echo "## a non-root caller (uid 65534)"
as_nobody ADD nobody-1
expect_code "ADD as nobody" 11 "permission denied"
echo "# ADD as nobody said: $OUT"
if ((MS < 2000)); then pass "ADD as nobody answered in $MS ms"; else fail "ADD as nobody took $MS ms"; fi
as_nobody DEL nobody-1
expect_eq "DEL as nobody: exit 0, no stdout" "0|" "$RC|$OUT"
expect_match "DEL as nobody says on stderr that it could not spool" 'spool.*(denied|Permission)|(denied|Permission).*spool' "$ERR"
echo "# DEL as nobody said on stderr: $ERR"
RC=0
OUT=$("${NOBODY[@]}" "$VMIPCTL" --socket "$SOCK" status 2>&1) || RC=$?
expect_eq "vmipctl as nobody exits 3 (daemon unreachable)" 3 "$RC"
echo "# vmipctl as nobody said: ${OUT:0:200}"
expect_db_unchanged "nothing a non-root caller did reached the database" "$BASE"
stop_daemon TERM

echo "## the socket directory already exists and is world-searchable (0755)"
SOCK=$T/run755/leased.sock
install -d -m 0755 "$T/run755"
start_daemon
write_conf
expect_eq "socket mode in a pre-existing 0755 directory" 600 "$(mode_of "$SOCK")"
echo "# the daemon left the pre-existing directory at $(mode_of "$T/run755")"
as_nobody ADD nobody-2
echo "# ADD as nobody said (${MS} ms): $OUT"
msg=$(jq -r '.code|tostring' <<<"$OUT" 2>/dev/null)/$(jq -r .msg <<<"$OUT" 2>/dev/null)
if [[ $RC != 0 && $msg == 11/* ]]; then pass "ADD as nobody fails with 11"; else fail "ADD as nobody: rc=$RC $OUT"; fi
[[ ${msg,,} == *"permission denied"* ]] && ok=yes || ok=no
expect_yes "ADD as nobody names the permission problem" "$ok" \
  "the plugin says [${msg#*/}] after ${MS} ms: connect(2) got EACCES, the plugin waited out the 1.5 s connect budget"
as_nobody DEL nobody-2
expect_eq "DEL as nobody: exit 0, no stdout" "0|" "$RC|$OUT"
expect_match "DEL as nobody says it could not spool" 'spool' "$ERR"
echo "# DEL as nobody said on stderr: $ERR"
stop_daemon TERM

finish
