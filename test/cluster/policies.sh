#!/usr/bin/env bash
# Cluster mode, issue 16: a detached binding expires on its node of record only,
# through the same conditional etcd release as `vmipctl release`, and never while
# another node holds an attachment. Real 3-member etcd + 3 nodes (lib_cluster.sh);
# the TTL comes per network (ipam.detachedTTL, 3 s).
#  - vm1 runs on n1, its migration target on n2 fails (n2 DELs): n2 is now the
#    binding's node of record with a detached local copy while n1 still runs it, so
#    nothing expires past the TTL (n2 stops the clock); after n1's DEL the clock
#    starts, and a TTL later n2 expires it and the address is free cluster-wide;
#  - vm2 stops on n3 and expires there: etcd forgets it, n1 can hand its address out.
# Every step ends with: no address has two owners, on any node or in etcd.
source "$(dirname "$0")/../e2e/lib.sh"
NET=pnet TTL=3 CLUSTER_NET=10.252.0 VETH_TAG=vmp
source "$(dirname "$0")/lib_cluster.sh"
conf() { # NODE: a 51-address pool whose detached bindings expire after 3 s
  jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" --arg n "$NET" \
    '{cniVersion: "1.0.0", name: $n, type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp,
      detachedTTL: "3s", ranges: [[{subnet: "10.254.0.0/24", rangeStart: "10.254.0.10", rangeEnd: "10.254.0.60"}]]}}'
}
cni() { # CMD NODE CONTAINERID POD [EXTRA_CNI_ARGS]
  run_plugin "$1" "$(conf "$2")" CNI_CONTAINERID="$3" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4${5:+;$5}"
}
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
etcd_val() { etcdctl_ get "$1" --print-value-only; }
owner_key() { echo "/vmip/v1/owner/$NET/vm:default/$1#eth0"; }
addr_key() { echo "/vmip/v1/addr/$NET/$1"; }
holders() { # NODE IP: owners of IP in NODE's table
  sqlite3 "$T/$1.db" "select l.owner from addresses a join leases l on l.id = a.lease_id where a.ip = '$2'" | paste -sd, -
}
wait_gone() { # KEY SECONDS: until etcd no longer has KEY
  local k
  for ((k = 0; k < $2 * 10; k++)); do [[ -z $(etcd_val "$1") ]] && return 0; sleep 0.1; done
  return 1
}

setup_cluster

echo "# a detached copy on the node of record does not expire while another node runs the VM"
cni ADD n1 src1 virt-launcher-vm1-aaaaa; need "vm1 ADD on n1"; VM1=$(ip_of)
cni ADD n2 dst1 virt-launcher-vm1-bbbbb; need "vm1 migration target ADD on n2"
expect_eq "the target gets vm1's address" "$VM1" "$(ip_of)"
cni DEL n2 dst1 virt-launcher-vm1-bbbbb; need "the migration fails: target DEL on n2"
expect_match "n2 is the node of record" "^n2 $VM1\$" "$(etcd_val "$(owner_key vm1)")"
since=$(nctl n2 leases --vm default/vm1 --json | jq '.[0].detached_at')
((since > 0)) && pass "n2's copy is detached since $since" || fail "n2's copy has no detached_at: $since"
sleep 5 # past the 3 s TTL, with the expiry running every second
expect_eq "n1 still runs vm1" '["attached","src1"]' "$(nctl n1 leases --vm default/vm1 --json | jq -c '[.[0].state, .[0].attachments[0].container_id]')"
expect_match "vm1's binding is still in etcd" "$VM1" "$(etcd_val "$(owner_key vm1)")"
expect_eq "n2 kept its copy" "default/vm1" "$(holders n2 "$VM1")"
expect_match "n2 skipped it: attached on n1" "op=expire network=pnet owner=vm:default/vm1#eth0 skipped=\"attached on node n1\"" "$(cat "$T/n2.log")"
cni ADD n3 thief1 virt-launcher-vmx-aaaaa "IP=$VM1"
expect_code "another VM cannot take vm1's address on n3 while n1 runs it" 101
cni DEL n3 thief1 virt-launcher-vmx-aaaaa
expect_one_owner_per_address "while n1 runs vm1"

echo "# once n1's pod goes too, n2 expires it and the address is free cluster-wide"
expect_match "n2 stopped vm1's clock" "op=detached-clock network=pnet owner=vm:default/vm1#eth0 state=attached-elsewhere" "$(cat "$T/n2.log")"
cni DEL n1 src1 virt-launcher-vm1-aaaaa; need "source DEL on n1"
sleep 1.5
expect_match "1.5 s after n1's DEL vm1 is still bound: its TTL counts from there" "$VM1" "$(etcd_val "$(owner_key vm1)")"
wait_gone "$(owner_key vm1)" 8 && pass "n2 released vm1's binding in etcd" || fail "vm1's binding still in etcd: $(etcd_val "$(owner_key vm1)")"
expect_eq "vm1's address key is gone" "" "$(etcd_val "$(addr_key "$VM1")")"
expect_match "n2's history has the expire" "expire n2" "$(nctl n2 history --vm default/vm1 --json | jq -r '.[] | "\(.kind) \(.node)"' | paste -sd' ')"
expect_eq "n1 and n2 hold no copy" "," "$(holders n1 "$VM1"),$(holders n2 "$VM1")"
sleep 1.5 # other nodes learn of the freed address by the etcd watch
cni ADD n3 new1 virt-launcher-vmnew-aaaaa "IP=$VM1"; expect_rc "n3 hands vm1's old address to a new VM" 0
expect_one_owner_per_address "after n2 expired vm1"

echo "# a VM stopped on n3 expires there; n1 can hand its address out"
cni ADD n3 c2 virt-launcher-vm2-aaaaa; need "vm2 ADD on n3"; VM2=$(ip_of)
cni DEL n3 c2 virt-launcher-vm2-aaaaa; need "vm2 DEL on n3"
wait_gone "$(owner_key vm2)" 8 && pass "n3 expired vm2 in etcd" || fail "vm2's binding still in etcd"
expect_eq "n3 holds no copy" "" "$(holders n3 "$VM2")"
sleep 1.5
cni ADD n1 p1 pod-p1 "IP=$VM2"; expect_rc "n1 gives vm2's expired address to a pod" 0
expect_one_owner_per_address "after n3 expired vm2"

finish
