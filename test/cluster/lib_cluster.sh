# shellcheck shell=bash
# The cluster the cluster tests share (sourced after test/e2e/lib.sh): 3 etcd members
# and 3 vmip-leased nodes, member and node i in netns n<i> at $CLUSTER_NET.1<i>, on a
# bridge in a hub netns. Nothing touches the host's network. The sourcing script sets
# first:
#   CLUSTER_NET  the test /24 without its last octet, e.g. 10.251.0
#   VETH_TAG     a short tag for the veth names (made unique by the PID)
#   TTL          the nodes' etcd lease in seconds: a dead node's attachments expire after it
#   HUB_OCTET    optional: the hub bridge gets $CLUSTER_NET.$HUB_OCTET (etcdctl from the hub)
# It defines setup_cluster (network, etcd, nodes) and the pieces it is made of, etcdctl_,
# nctl, and a cleanup trap that kills every member and node before lib.sh's cleanup.

ETCD_PIDS=() NODE_PIDS=()
CLUSTER="e1=http://$CLUSTER_NET.11:2380,e2=http://$CLUSTER_NET.12:2380,e3=http://$CLUSTER_NET.13:2380"

endpoints() { # every member's client URL; without member $1 (one that is cut off)
  local i
  for i in 1 2 3; do [[ $i == "${1:-0}" ]] || echo "http://$CLUSTER_NET.1$i:2379"; done | paste -sd, -
}
ENDPOINTS=$(endpoints)

cluster_cleanup() {
  local rc=$?
  set +e # else "(exit 1)" below would end the trap before cleanup removes the netns
  kill -KILL "${NODE_PIDS[@]}" "${ETCD_PIDS[@]}" 2>/dev/null
  wait 2>/dev/null
  (exit "$rc")
  cleanup
}
trap cluster_cleanup EXIT

ns() { echo "${NS_PREFIX}$1"; }
setup_network() {
  local i
  ip netns add "$(ns hub)"
  ip -n "$(ns hub)" link add br0 type bridge
  [[ -z ${HUB_OCTET:-} ]] || ip -n "$(ns hub)" addr add "$CLUSTER_NET.$HUB_OCTET/24" dev br0
  ip -n "$(ns hub)" link set br0 up
  for i in 1 2 3; do
    ip netns add "$(ns n$i)"
    ip -n "$(ns n$i)" link set lo up
    ip link add "$VETH_TAG$$n$i" netns "$(ns n$i)" type veth peer name "h$i" netns "$(ns hub)"
    ip -n "$(ns n$i)" link set "$VETH_TAG$$n$i" name eth0
    ip -n "$(ns n$i)" addr add "$CLUSTER_NET.1$i/24" dev eth0
    ip -n "$(ns n$i)" link set eth0 up
    ip -n "$(ns hub)" link set "h$i" master br0 up
  done
}
start_etcd() { # I
  local i=$1
  ip netns exec "$(ns n$i)" etcd --name "e$i" --data-dir "$T/etcd$i" \
    --listen-client-urls "http://$CLUSTER_NET.1$i:2379" --advertise-client-urls "http://$CLUSTER_NET.1$i:2379" \
    --listen-peer-urls "http://$CLUSTER_NET.1$i:2380" --initial-advertise-peer-urls "http://$CLUSTER_NET.1$i:2380" \
    --initial-cluster "$CLUSTER" --initial-cluster-state new --heartbeat-interval 50 --election-timeout 500 \
    >>"$T/etcd$i.log" 2>&1 &
  ETCD_PIDS[i]=$!
}
# The member etcdctl_ must not go through (0: none); a script that cuts one off
# redefines it.
cut_member() { echo 0; }
# etcdctl against the cluster, from n1 (or, with HUB_OCTET, from the hub).
etcdctl_() {
  ip netns exec "$(ns "$([[ -n ${HUB_OCTET:-} ]] && echo hub || echo n1)")" \
    env ETCDCTL_API=3 etcdctl --endpoints "$(endpoints "$(cut_member)")" --command-timeout=3s "$@"
}
wait_etcd() {
  local k
  for ((k = 0; k < 100; k++)); do etcdctl_ endpoint health >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "etcd cluster not healthy after 10 s"
}
start_node() { # I
  local i=$1 k
  ip netns exec "$(ns n$i)" "$LEASED" --socket "$T/n$i.sock" --db "$T/n$i.db" --spool-dir "$T/n$i.spool" \
    --node-name "n$i" --cluster etcd --etcd-endpoints "$ENDPOINTS" --peer-address "$CLUSTER_NET.1$i:7070" \
    --etcd-lease-ttl "$TTL" --log-level debug >>"$T/n$i.log" 2>&1 &
  NODE_PIDS[i]=$!
  for ((k = 0; k < 100; k++)); do
    "$VMIPCTL" --socket "$T/n$i.sock" status >/dev/null 2>&1 && return 0
    kill -0 "${NODE_PIDS[$i]}" 2>/dev/null || { tail "$T/n$i.log" >&2; die "node n$i exited at start"; }
    sleep 0.1
  done
  die "node n$i not ready"
}
setup_cluster() {
  local i
  setup_network
  for i in 1 2 3; do start_etcd "$i"; done
  wait_etcd
  for i in 1 2 3; do start_node "$i"; done
}
nctl() { "$VMIPCTL" --socket "$T/$1.sock" "${@:2}"; }
# The addresses two owners hold across the three nodes' lease tables, comma-joined.
local_duplicates() {
  local i
  for i in 1 2 3; do
    sqlite3 "$T/n$i.db" "select a.ip, l.owner_kind || ':' || l.owner from addresses a join leases l on l.id = a.lease_id"
  done | sort -u | cut -d'|' -f1 | uniq -d | paste -sd, -
}
# expect_one_owner_per_address [STEP]: no address has two owners across the nodes'
# tables, and each node's `vmipctl check` passes.
expect_one_owner_per_address() {
  local p=${1:+$1: } i
  expect_eq "${p}no address held by two owners across the nodes" "" "$(local_duplicates)"
  for i in 1 2 3; do nctl "n$i" check >/dev/null && pass "${p}n$i check ok" || fail "${p}n$i check: $(nctl "n$i" check)"; done
}
