#!/usr/bin/env bash
# Issue 11 part 1 through libcni + the real bridge plugin + vmip: VM identity from pod names
# that Kubernetes may have cut at 63 characters (refused unless the VM is named explicitly),
# the 62-character name (still parsed), the default namespace when the runtime passes no
# K8S_POD_NAMESPACE, and CNI_ARGS keys vmip does not know (ARG-3).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
setup_node_ns
NET=idnet
CONF=$T/id.conflist
conflist "$CONF" "$NET" 1.0.0 vmipbr3 '[[{"subnet":"10.250.30.0/24"}]]'
k8s() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=$1;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$3"; }
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
for ns in A B1 B2 C D E F G H I J K; do mk_netns "$ns"; done

# Something in the database first, so "unchanged" means something.
drive add "$CONF" A base-pod --args "$(k8s prod web-1 base-pod)"
expect_rc "baseline pod ADD" 0

# VMs tenant-acme-production-database-cluster-abc-node1 and -node2: KubeVirt asks for
# generateName virt-launcher-<vm>-, Kubernetes keeps 58 characters of it (the cut lands on
# the dash after "abc") and appends 5 random ones, so both pods share one 58-char prefix.
VM1=tenant-acme-production-database-cluster-abc-node1
VM2=tenant-acme-production-database-cluster-abc-node2
PREFIX=virt-launcher-tenant-acme-production-database-cluster-abc-
CUT1=${PREFIX}b7x9q
CUT2=${PREFIX}k2m4z
expect_eq "the cut pod names have 63 characters" 63,63 "${#CUT1},${#CUT2}"
CUT_OWNER=prod/tenant-acme-production-database-cluster-abc

echo "# two VMs whose cut pod names share a prefix: both refused, nothing bound"
BASE=$(db_snapshot)
for i in 1 2; do
  pod=CUT$i
  pod=${!pod}
  # bridge 1.1.1 leaves its veth behind when IPAM fails: one netns per attempt
  drive add "$CONF" "B$i" "cid-$pod" --args "$(k8s prod "$pod" "cid-$pod")"
  expect_code "ADD $pod refused" 7 "cut"
  expect_match "the message says how to name the VM" 'args\.cni\.vm.*VMIP_VM' "$(jq -r .msg <<<"$OUT")"
  expect_eq "no lease for $pod's container" 0 "$(lease_count "cid-$pod")"
done
expect_eq "no lease for the cut VM name" 0 "$(lease_count "$CUT_OWNER")"
expect_db_unchanged "database unchanged by the refused ADDs" "$BASE"
expect_eq "netns B1 and B2 have no address" "" "$(ns_addrs B1 eth0 2>/dev/null || true)$(ns_addrs B2 eth0 2>/dev/null || true)"

echo "# the same pods with the VM named explicitly: two VMs, two addresses"
drive add "$CONF" C cid-cut1 --args "$(k8s prod "$CUT1" cid-cut1);VMIP_VM=$VM1"
expect_rc "ADD $CUT1 with VMIP_VM=$VM1" 0
IP1=$(ip_of)
conflist "$T/id-vm2.conflist" "$NET" 1.0.0 vmipbr3 '[[{"subnet":"10.250.30.0/24"}]]' \
  "$(jq -cn --arg vm "$VM2" '{args: {cni: {vm: $vm}}}')"
drive add "$T/id-vm2.conflist" D cid-cut2 --args "$(k8s prod "$CUT2" cid-cut2)"
expect_rc "ADD $CUT2 with args.cni.vm=$VM2" 0
IP2=$(ip_of)
expect_ne "the two VMs get different addresses" "$IP1" "$IP2"
expect_eq "both are VM leases with their own address" "[\"vm\",[\"$IP1\"]] [\"vm\",[\"$IP2\"]]" \
  "$(lease_field "prod/$VM1" '[.owner_kind, .ips]') $(lease_field "prod/$VM2" '[.owner_kind, .ips]')"
expect_eq "ip -n C and D show them" "$IP1/24 $IP2/24" "$(ns_addrs C eth0) $(ns_addrs D eth0)"
expect_eq "still no lease for the cut VM name" 0 "$(lease_count "$CUT_OWNER")"
drive del "$CONF" C cid-cut1 --args "$(k8s prod "$CUT1" cid-cut1);VMIP_VM=$VM1"
expect_rc "DEL of the explicitly named VM" 0
drive add "$CONF" E cid-cut1b --args "$(k8s prod "${PREFIX}zz9x8" cid-cut1b);VMIP_VM=$VM1"
expect_eq "$VM1 restarts in a new cut-name pod with its address" "$IP1" "$(ip_of)"

echo "# a cut that did not land on a dash (VM ...-cluster-abcd-node1): refused, not silently a pod"
NODASH=virt-launcher-tenant-acme-production-database-cluster-abcdx7k2q
expect_eq "that pod name has 63 characters" 63 "${#NODASH}"
BASE=$(db_snapshot)
drive add "$CONF" F cid-nodash --args "$(k8s prod "$NODASH" cid-nodash)"
expect_code "ADD $NODASH refused" 7 "cut"
expect_eq "no pod lease for it" 0 "$(lease_count cid-nodash)"
expect_db_unchanged "database unchanged" "$BASE"

echo "# a 62-character pod name is never cut: parsed as the VM"
VM62=tenant-acme-production-database-cluster-ab
drive add "$CONF" G cid-62a --args "$(k8s prod "virt-launcher-$VM62-abcde" cid-62a)"
expect_eq "pod name length" 62 "$(echo -n "virt-launcher-$VM62-abcde" | wc -c)"
expect_rc "ADD 62-character pod name" 0
IP62=$(ip_of)
expect_eq "owner is VM prod/$VM62" '"vm"' "$(lease_field "prod/$VM62" .owner_kind)"
drive del "$CONF" G cid-62a --args "$(k8s prod "virt-launcher-$VM62-abcde" cid-62a)"
drive add "$CONF" H cid-62b --args "$(k8s prod "virt-launcher-$VM62-fghij" cid-62b)"
expect_eq "the VM's next pod gets the same address" "$IP62" "$(ip_of)"

echo "# no K8S_POD_NAMESPACE (podman's CNI backend): the VM lives in namespace default"
drive add "$CONF" I cid-podman1 --args "IgnoreUnknown=1;K8S_POD_NAME=virt-launcher-podvm-abcde"
expect_rc "ADD without K8S_POD_NAMESPACE" 0
PODVM_IP=$(ip_of)
expect_eq "owner is VM default/podvm" '["vm","attached"]' "$(lease_field default/podvm '[.owner_kind, .state]')"
drive del "$CONF" I cid-podman1 --args "IgnoreUnknown=1;K8S_POD_NAME=virt-launcher-podvm-abcde"
drive add "$CONF" J cid-podman2 --args "IgnoreUnknown=1;K8S_POD_NAME=virt-launcher-podvm-fghij"
expect_eq "podvm keeps its address in its next container" "$PODVM_IP" "$(ip_of)"

echo "# CNI_ARGS: an unknown key is an error without IgnoreUnknown (ARG-3), ignored with it"
# vmip exec'd directly: through libcni the bridge plugin would refuse such CNI_ARGS itself.
PLUGIN=$(jq -c '.plugins[0] + {cniVersion, name}' "$CONF")
vmip_k() { run_plugin "$1" "$PLUGIN" CNI_CONTAINERID=cid-arg3 "CNI_NETNS=$(ns_path K)" CNI_IFNAME=eth0 "CNI_ARGS=$2"; }
BASE=$(db_snapshot)
vmip_k ADD "K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-2;FOO=bar"
expect_code "vmip ADD with FOO and no IgnoreUnknown" 4 "unknown args [FOO]"
vmip_k ADD "IgnoreUnknown=false;FOO=bar"
expect_code "vmip ADD with FOO and IgnoreUnknown=false" 4 "FOO"
vmip_k ADD "IgnoreUnknown=maybe"
expect_code "vmip ADD with IgnoreUnknown=maybe" 4 "IgnoreUnknown"
vmip_k CHECK "FOO=bar"
expect_code "vmip CHECK with FOO and no IgnoreUnknown" 4 "FOO"
expect_db_unchanged "database unchanged by the refused CNI_ARGS" "$BASE"
drive add "$CONF" K cid-arg3 --args "IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-2;FOO=bar"
expect_rc "ADD through libcni with FOO and IgnoreUnknown=1" 0
expect_eq "a pod lease for it" '"pod"' "$(lease_field cid-arg3 .owner_kind)"
vmip_k ADD "IgnoreUnknown=TRUE;K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-2;FOO=bar"
expect_rc "vmip ADD again with IgnoreUnknown=TRUE (same answer)" 0
vmip_k DEL "K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-2;FOO=bar"
expect_rc "vmip DEL with FOO and no IgnoreUnknown still succeeds (never blocks deletion)" 0
expect_eq "its lease is released" 0 "$(lease_count cid-arg3)"

expect_eq "no address is held twice" 0 "$(ctl leases --json | jq '[.[].ips[]] | length - (unique | length)')"
finish
