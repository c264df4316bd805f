#!/usr/bin/env bash
# A lease table larger than gRPC's 4 MB default answer (about 35,000 leases): vmipctl
# still lists it, whole and filtered, and a new VM's ADD after a restart on it gets an
# address none of those leases holds. The leases are seeded as scripts/bench seeds
# them: one real ADD (libcni + bridge), then its rows copied in one SQL transaction.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# ~120 bytes of protobuf per lease: about 6 MB, half again over the 4 MB default.
N=50000
start_daemon
setup_node_ns
NET=bignet
conflist "$T/big.conflist" "$NET" 1.0.0 vmipbr0 '[[{"subnet":"10.250.0.0/16"}]]'
k8s_args() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=virt-launcher-$1-abcde;K8S_POD_INFRA_CONTAINER_ID=$2"; }
mk_netns A
mk_netns B
drive add "$T/big.conflist" A cid-1 --args "$(k8s_args vm1 cid-1)"
need "ADD of default/vm1"
expect_eq "the first VM gets the first address" 10.250.0.2/16 "$(jq -r '.ips[0].address' <<<"$OUT")"
stop_daemon

# vm2..vmN: lease i holds 10.250.0.1 + i (as integer 184156161 + i), attached in cid-i.
sqlite3 -bail "$DB" <<SQL
BEGIN;
CREATE TEMP TABLE seed AS
  WITH RECURSIVE k(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM k WHERE i < $N)
  SELECT i, 'cid-' || i AS cid, 'default/vm' || i AS owner,
    ((v >> 24) & 255) || '.' || ((v >> 16) & 255) || '.' || ((v >> 8) & 255) || '.' || (v & 255) AS ip
  FROM (SELECT i, 184156161 + i AS v FROM k);
INSERT INTO leases(id, network, owner_kind, owner, owner_uid, ifname, created_at, reservation,
    identity_source)
  SELECT s.i + 1000, l.network, l.owner_kind, s.owner, l.owner_uid, l.ifname, l.created_at,
    l.reservation, l.identity_source FROM seed s, leases l WHERE l.owner = 'default/vm1';
INSERT INTO addresses(lease_id, network, range_set, ip)
  SELECT s.i + 1000, a.network, a.range_set, s.ip FROM seed s, addresses a;
INSERT INTO attachments(network, container_id, ifname, lease_id, netns, node, attached_at)
  SELECT t.network, s.cid, t.ifname, s.i + 1000, t.netns, t.node, t.attached_at
  FROM seed s, attachments t WHERE t.container_id = 'cid-1';
COMMIT;
SQL
expect_eq "seeded: $N leases, $N addresses" "$N $N" \
  "$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM leases) || ' ' || (SELECT count(*) FROM addresses)")"
start_daemon

RC=0
ctl leases --json >"$T/all.json" 2>"$T/ctl.err" || RC=$?
expect_eq "leases --json answers every lease (over 4 MB)" "0 $N" "$RC $(jq length "$T/all.json" 2>/dev/null)"
[[ $RC == 0 ]] || echo "vmipctl said: $(head -c 300 "$T/ctl.err")" >&2
expect_eq "leases (table): a header and one row per lease" "$((N + 1))" "$(ctl leases | wc -l)"
expect_eq "leases --vm picks one lease among them" "default/vm$N 10.250.195.81" \
  "$(ctl leases --vm "vm$N" --json | jq -r '.[] | "\(.owner) \(.ips[0])"')"

# The restarted daemon rebuilt its free set from the table: a new VM gets an address
# none of the seeded leases holds (two owners on one address would show here).
drive add "$T/big.conflist" B cid-new --args "$(k8s_args newvm cid-new)"
need "ADD of a new VM after the restart"
NEW_IP=$(addr_of "$(jq -r '.ips[0].address' <<<"$OUT")")
expect_eq "the new VM's address is the first one after the seeded leases" 10.250.195.82 "$NEW_IP"
expect_eq "no other lease holds it" 1 \
  "$(ctl leases --json | jq --arg ip "$NEW_IP" '[.[] | select(.ips | index($ip))] | length')"
RC=0
ctl check >"$T/check.out" 2>&1 || RC=$?
expect_eq "vmipctl check: table, free sets and spool agree" 0 "$RC"
finish
