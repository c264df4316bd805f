# shellcheck shell=bash
# The cluster of never_two_owners.sh (sourced by it, after test/e2e/lib.sh): 3 etcd
# members + 3 vmip-leased nodes, member and node i in netns n<i> at 10.253.0.1<i>, on a
# bridge in a hub netns that reads etcd from 10.253.0.100. Nothing touches the host's
# network. The same layout as cluster.sh, plus kill -9 / restart and cut / join.

TTL=3 # the nodes' etcd lease: a dead or cut-off node's attachments expire after it
ETCD_PIDS=() NODE_PIDS=()
CLUSTER="e1=http://10.253.0.11:2380,e2=http://10.253.0.12:2380,e3=http://10.253.0.13:2380"

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
  ip -n "$(ns hub)" addr add 10.253.0.100/24 dev br0
  ip -n "$(ns hub)" link set br0 up
  for i in 1 2 3; do
    ip netns add "$(ns n$i)"
    ip -n "$(ns n$i)" link set lo up
    ip link add "vmo$$n$i" netns "$(ns n$i)" type veth peer name "h$i" netns "$(ns hub)"
    ip -n "$(ns n$i)" link set "vmo$$n$i" name eth0
    ip -n "$(ns n$i)" addr add "10.253.0.1$i/24" dev eth0
    ip -n "$(ns n$i)" link set eth0 up
    ip -n "$(ns hub)" link set "h$i" master br0 up
  done
}
start_etcd() { # I
  local i=$1
  ip netns exec "$(ns n$i)" etcd --name "e$i" --data-dir "$T/etcd$i" \
    --listen-client-urls "http://10.253.0.1$i:2379" --advertise-client-urls "http://10.253.0.1$i:2379" \
    --listen-peer-urls "http://10.253.0.1$i:2380" --initial-advertise-peer-urls "http://10.253.0.1$i:2380" \
    --initial-cluster "$CLUSTER" --initial-cluster-state new --heartbeat-interval 50 --election-timeout 500 \
    >>"$T/etcd$i.log" 2>&1 &
  ETCD_PIDS[i]=$!
}
endpoints() { # every member's client URL; without $1 (a node that is cut off)
  local i
  for i in 1 2 3; do [[ $i == "${1:-0}" ]] || echo "http://10.253.0.1$i:2379"; done | paste -sd, -
}
etcdctl_() { # from the hub, never through the member that is cut off
  local cut=0
  [[ ${SICK_KIND:-} == cut ]] && cut=$SICK
  ip netns exec "$(ns hub)" env ETCDCTL_API=3 etcdctl --endpoints "$(endpoints "$cut")" --command-timeout=3s "$@"
}
wait_etcd() {
  local k
  for ((k = 0; k < 100; k++)); do etcdctl_ endpoint health >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "etcd cluster not healthy after 10 s"
}
start_node() { # I
  local i=$1 k
  ip netns exec "$(ns n$i)" "$LEASED" --socket "$T/n$i.sock" --db "$T/n$i.db" --spool-dir "$T/n$i.spool" \
    --node-name "n$i" --cluster etcd --etcd-endpoints "$(endpoints)" --peer-address "10.253.0.1$i:7070" \
    --etcd-lease-ttl "$TTL" --log-level debug >>"$T/n$i.log" 2>&1 &
  NODE_PIDS[i]=$!
  for ((k = 0; k < 100; k++)); do
    "$VMIPCTL" --socket "$T/n$i.sock" status >/dev/null 2>&1 && return 0
    kill -0 "${NODE_PIDS[$i]}" 2>/dev/null || { tail "$T/n$i.log" >&2; die "node n$i exited at start"; }
    sleep 0.1
  done
  die "node n$i not ready"
}
kill_node() { # I: kill -9, as a crash would
  { kill -KILL "${NODE_PIDS[$1]}" && wait "${NODE_PIDS[$1]}"; } 2>/dev/null || true
}
cut_node() { ip -n "$(ns n$1)" link set eth0 down; }
join_node() {
  ip -n "$(ns n$1)" link set eth0 up
  wait_etcd
}
setup_cluster() {
  local i
  setup_network
  for i in 1 2 3; do start_etcd "$i"; done
  wait_etcd
  for i in 1 2 3; do start_node "$i"; done
}

conf() { # NODE
  jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" --arg n "$NET" \
    --arg lo "10.254.0.$POOL_LO" --arg hi "10.254.0.$POOL_HI" \
    '{cniVersion: "1.0.0", name: $n, type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp,
      ranges: [[{subnet: "10.254.0.0/24", rangeStart: $lo, rangeEnd: $hi}]]}}'
}
cni() { # CMD NODE CONTAINERID POD [EXTRA_CNI_ARGS]
  run_plugin "$1" "$(conf "$2")" CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4${5:+;$5}"
}
nctl() { "$VMIPCTL" --socket "$T/$1.sock" "${@:2}"; }
