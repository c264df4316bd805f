# shellcheck shell=bash
# The cluster of never_two_owners.sh (sourced by it, after test/e2e/lib.sh): the
# layout of lib_cluster.sh on 10.253.0.0/24, read by etcdctl from the hub at
# 10.253.0.100, plus kill -9 / restart and cut / join.

TTL=3 # the nodes' etcd lease: a dead or cut-off node's attachments expire after it
CLUSTER_NET=10.253.0 VETH_TAG=vmo HUB_OCTET=100
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster.sh"

cut_member() { # etcdctl_ never goes through the member that is cut off
  if [[ ${SICK_KIND:-} == cut ]]; then echo "$SICK"; else echo 0; fi
}
kill_node() { # I: kill -9, as a crash would
  { kill -KILL "${NODE_PIDS[$1]}" && wait "${NODE_PIDS[$1]}"; } 2>/dev/null || true
}
cut_node() { ip -n "$(ns n$1)" link set eth0 down; }
join_node() {
  ip -n "$(ns n$1)" link set eth0 up
  wait_etcd
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
