#!/usr/bin/env bash
# The readiness probe's daemon side (vmipctl status --ready, the DaemonSet's readiness
# probe): ready when the database is open and, in cluster mode, etcd answers. Liveness
# (vmipctl status) stays green while etcd is down, so the kubelet takes the pod out of
# service instead of restarting a daemon for an etcd outage. etcd runs on loopback in
# a network namespace of this test.
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
command -v etcd >/dev/null || die "etcd missing: run scripts/install-deps"

ready() { # vmipctl status [--ready]: sets RC, OUT (stderr included)
  RC=0
  OUT=$(ctl status "$@" 2>&1) || RC=$?
}

echo "# standalone: ready as soon as it serves"
start_daemon
ready --ready
expect_eq "standalone: status --ready exits 0" 0 "$RC"
stop_daemon

echo "# cluster mode, one etcd member on the namespace's loopback"
NS=${NS_PREFIX}etcd
ip netns add "$NS"
ip -n "$NS" link set lo up
ETCD_PID=
readiness_cleanup() {
  local rc=$?
  set +e
  [[ -n $ETCD_PID ]] && kill "$ETCD_PID" 2>/dev/null && wait "$ETCD_PID" 2>/dev/null
  (exit "$rc")
  cleanup
}
trap readiness_cleanup EXIT
URL=http://127.0.0.1:2379
ip netns exec "$NS" etcd --name e1 --data-dir "$T/etcd" --listen-client-urls "$URL" \
  --advertise-client-urls "$URL" --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster e1=http://127.0.0.1:2380 \
  >>"$T/etcd.log" 2>&1 &
ETCD_PID=$!
for ((i = 0; i < 100; i++)); do
  ip netns exec "$NS" env ETCDCTL_API=3 etcdctl --endpoints "$URL" endpoint health >/dev/null 2>&1 && break
  sleep 0.1
done
ip netns exec "$NS" "$LEASED" --socket "$SOCK" --db "$DB" --spool-dir "$SPOOL" --node-name "$NODE_NAME" \
  --cluster etcd --etcd-endpoints "$URL" --log-level debug >>"$LOG" 2>&1 &
DAEMON_PID=$!
for ((i = 0; i < 100; i++)); do
  ctl status >/dev/null 2>&1 && break
  kill -0 "$DAEMON_PID" 2>/dev/null || die "cluster-mode daemon exited at start"
  sleep 0.1
done
ready --ready
expect_eq "cluster mode, etcd up: status --ready exits 0" 0 "$RC"

kill "$ETCD_PID"
wait "$ETCD_PID" 2>/dev/null || true
ETCD_PID=
start=$(date +%s%N)
ready --ready
expect_eq "etcd down: status --ready exits 1 (not ready)" 1 "$RC"
expect_match "etcd down: the answer says why" "not ready: the cluster store is unreachable.*code 11" "$OUT"
expect_eq "etcd down: the answer comes within the probe's 5 s timeout" yes \
  "$( (($(date +%s%N) - start < 5000000000)) && echo yes || echo no)"
ready
expect_eq "etcd down: status (liveness) still exits 0" 0 "$RC"
finish
