#!/usr/bin/env bash
# Issue 3 scenario through libcni + the real bridge plugin + vmip, one netns per sandbox:
# a VM keeps its address across pod re-creation; an ordinary pod's address is released.
# Also the other VM identity sources (VMIP_VM in CNI_ARGS, args.cni.vm) and a live
# migration (two pods of one VM attached at once).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
setup_node_ns
NET=net1
conflist "$T/net1.conflist" "$NET" 1.0.0 vmipbr0 '[[{"subnet":"10.250.10.0/24"}]]'
k8s_args() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=$1;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$3"; }
for ns in A B E P Q C D F G; do mk_netns "$ns"; done

echo "# VM default/vm1 starts in pod virt-launcher-vm1-abcde (netns A)"
drive add "$T/net1.conflist" A cid-a1 --args "$(k8s_args default virt-launcher-vm1-abcde cid-a1)"
need "ADD vm1 pod 1"
VM_CIDR=$(jq -r '.ips[0].address' <<<"$OUT")
VM_IP=$(addr_of "$VM_CIDR")
expect_match "vm1 address is in 10.250.10.0/24 with the subnet prefix" '^10\.250\.10\.([2-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])/24$' "$VM_CIDR"
expect_eq "vm1 gateway" 10.250.10.1 "$(jq -r '.ips[0].gateway' <<<"$OUT")"
expect_eq "ip -n A addr shows vm1's address on eth0" "$VM_CIDR" "$(ns_addrs A eth0)"
expect_eq "lease of default/vm1: kind, ips, state, attachment" \
  "[\"vm\",[\"$VM_IP\"],\"attached\",[[\"cid-a1\",\"eth0\",\"$(ns_path A)\",\"$NODE_NAME\"]]]" \
  "$(lease_field default/vm1 '[.owner_kind, .ips, .state, [.attachments[] | [.container_id, .ifname, .netns, .node]]]')"

echo "# the pod is deleted: the VM's lease stays, detached"
drive del "$T/net1.conflist" A cid-a1 --args "$(k8s_args default virt-launcher-vm1-abcde cid-a1)"
expect_rc "DEL vm1 pod 1" 0
ip netns del "${NS_PREFIX}A"
expect_eq "vm1 lease detached, same address, no attachment" "[\"detached\",[\"$VM_IP\"],0]" \
  "$(lease_field default/vm1 '[.state, .ips, (.attachments | length)]')"
expect_eq "leases --state detached lists default/vm1" default/vm1 \
  "$(ctl leases --state detached --json | jq -r 'map(.owner) | join(",")')"
expect_eq "leases --state attached is empty" 0 "$(ctl leases --state attached --json | jq length)"
expect_eq "pool net1 still counts the detached lease as used" 1 "$(pool_field "$NET" .used)"
expect_match "vmipctl leases (table) shows default/vm1 detached" "default/vm1.*$VM_IP.*detached|default/vm1.*detached.*$VM_IP" \
  "$(ctl leases | tr -s ' ')"

echo "# the VM starts again in pod virt-launcher-vm1-fghij (netns B)"
drive add "$T/net1.conflist" B cid-b1 --args "$(k8s_args default virt-launcher-vm1-fghij cid-b1)"
expect_rc "ADD vm1 pod 2" 0
expect_eq "vm1 gets the same address back" "$VM_CIDR" "$(jq -r '.ips[0].address' <<<"$OUT")"
expect_eq "ip -n B addr shows the same address" "$VM_CIDR" "$(ns_addrs B eth0)"
expect_eq "vm1 lease attached to cid-b1" '["attached",["cid-b1"]]' \
  "$(lease_field default/vm1 '[.state, [.attachments[].container_id]]')"
expect_eq "still one lease for default/vm1" 1 "$(lease_count default/vm1)"

echo "# an ordinary pod comes and goes"
drive add "$T/net1.conflist" P cid-p1 --args "$(k8s_args default nginx-6d4cf56db6-x2x9z cid-p1)"
need "ADD ordinary pod"
POD_CIDR=$(jq -r '.ips[0].address' <<<"$OUT")
expect_match "pod address in the subnet" '^10\.250\.10\.[0-9]+/24$' "$POD_CIDR"
expect_ne "pod address differs from vm1's" "$VM_CIDR" "$POD_CIDR"
expect_eq "ip -n P addr shows the pod address" "$POD_CIDR" "$(ns_addrs P eth0)"
expect_eq "pod lease is owned by its container ID" "[\"pod\",\"attached\",[\"$(addr_of "$POD_CIDR")\"]]" \
  "$(lease_field cid-p1 '[.owner_kind, .state, .ips]')"
drive del "$T/net1.conflist" P cid-p1 --args "$(k8s_args default nginx-6d4cf56db6-x2x9z cid-p1)"
expect_rc "DEL ordinary pod" 0
expect_eq "pod lease is gone after DEL" 0 "$(lease_count cid-p1)"
expect_eq "no lease holds the pod's old address" 0 \
  "$(ctl leases --json | jq --arg ip "$(addr_of "$POD_CIDR")" 'map(select(.ips | index($ip))) | length')"
expect_eq "pool used back to 1" 1 "$(pool_field "$NET" .used)"

echo "# a pod name that only looks like virt-launcher is an ordinary pod"
drive add "$T/net1.conflist" Q cid-q1 --args "$(k8s_args default virt-launcher-vm1 cid-q1)"
need "ADD virt-launcher-vm1 (no suffix)"
expect_eq "owner is the container ID, kind pod" pod "$(lease_field cid-q1 .owner_kind | tr -d '"')"
drive del "$T/net1.conflist" Q cid-q1 --args "$(k8s_args default virt-launcher-vm1 cid-q1)"
need "DEL virt-launcher-vm1 (no suffix)"
expect_eq "its lease is released" 0 "$(lease_count cid-q1)"

echo "# live migration: a second pod of vm1 (netns E) while B is attached"
drive add "$T/net1.conflist" E cid-e1 --args "$(k8s_args default virt-launcher-vm1-mig01 cid-e1)"
expect_rc "ADD migration target" 0
expect_eq "target gets vm1's address" "$VM_CIDR" "$(jq -r '.ips[0].address' <<<"$OUT")"
expect_eq "two attachments" '["cid-b1","cid-e1"]' "$(lease_field default/vm1 '[.attachments[].container_id] | sort')"
drive del "$T/net1.conflist" B cid-b1 --args "$(k8s_args default virt-launcher-vm1-fghij cid-b1)"
need "DEL migration source"
expect_eq "source DEL leaves the target attached" '["attached",["cid-e1"]]' \
  "$(lease_field default/vm1 '[.state, [.attachments[].container_id]]')"
drive del "$T/net1.conflist" E cid-e1 --args "$(k8s_args default virt-launcher-vm1-mig01 cid-e1)"
expect_eq "after both DELs vm1 is detached and keeps its address" "[\"detached\",[\"$VM_IP\"]]" \
  "$(lease_field default/vm1 '[.state, .ips]')"

echo "# identity from VMIP_VM in CNI_ARGS (vm name with dashes)"
drive add "$T/net1.conflist" C cid-c1 --args "$(k8s_args ns2 launcher-pod-1 cid-c1);VMIP_VM=my-vm-2"
need "ADD VMIP_VM=my-vm-2"
VM2_CIDR=$(jq -r '.ips[0].address' <<<"$OUT")
expect_eq "owner ns2/my-vm-2 is a VM" vm "$(lease_field ns2/my-vm-2 .owner_kind | tr -d '"')"
expect_ne "my-vm-2 and vm1 differ" "$VM_CIDR" "$VM2_CIDR"
drive del "$T/net1.conflist" C cid-c1 --args "$(k8s_args ns2 launcher-pod-1 cid-c1);VMIP_VM=my-vm-2"
need "DEL VMIP_VM=my-vm-2"
drive add "$T/net1.conflist" D cid-d1 --args "$(k8s_args ns2 launcher-pod-2 cid-d1);VMIP_VM=my-vm-2"
expect_rc "ADD VMIP_VM=my-vm-2 again, new container" 0
expect_eq "my-vm-2 keeps its address" "$VM2_CIDR" "$(jq -r '.ips[0].address' <<<"$OUT")"
expect_eq "ip -n D addr" "$VM2_CIDR" "$(ns_addrs D eth0)"

echo "# identity from args.cni.vm in the config (wins over the pod name pattern)"
conflist "$T/net1-vm3.conflist" "$NET" 1.0.0 vmipbr0 '[[{"subnet":"10.250.10.0/24"}]]' '{"args":{"cni":{"vm":"vm3"}}}'
drive add "$T/net1-vm3.conflist" F cid-f1 --args "$(k8s_args ns3 virt-launcher-other-abcde cid-f1)"
need "ADD args.cni.vm=vm3"
VM3_CIDR=$(jq -r '.ips[0].address' <<<"$OUT")
expect_eq "owner is ns3/vm3" '["vm","attached"]' "$(lease_field ns3/vm3 '[.owner_kind, .state]')"
expect_eq "no lease for the pod-name identity ns3/other" 0 "$(lease_count ns3/other)"
drive del "$T/net1-vm3.conflist" F cid-f1 --args "$(k8s_args ns3 virt-launcher-other-abcde cid-f1)"
need "DEL args.cni.vm=vm3"
drive add "$T/net1-vm3.conflist" G cid-g1 --args "$(k8s_args ns3 virt-launcher-other-fghij cid-g1)"
need "ADD args.cni.vm=vm3 again, new container"
expect_eq "vm3 keeps its address" "$VM3_CIDR" "$(jq -r '.ips[0].address' <<<"$OUT")"

echo "# leases filters and uniqueness"
expect_eq "leases --namespace ns2 --vm my-vm-2" ns2/my-vm-2 \
  "$(ctl leases --namespace ns2 --vm my-vm-2 --json | jq -r 'map(.owner) | join(",")')"
expect_eq "leases --network net1 counts 3 VM leases" 3 "$(ctl leases --network "$NET" --json | jq length)"
expect_eq "leases --node $NODE_NAME: the 2 attached VMs" "ns2/my-vm-2,ns3/vm3" \
  "$(ctl leases --node "$NODE_NAME" --json | jq -r 'map(.owner) | sort | join(",")')"
expect_eq "no address is held twice" 0 "$(ctl leases --json | jq '[.[].ips[]] | length - (unique | length)')"
expect_eq "pool used = 3" 3 "$(pool_field "$NET" .used)"

echo "# the VM is deleted: vmipctl release (refused while attached)"
RC=0
ctl release --vm ns3/vm3 >"$T/release.out" 2>&1 || RC=$?
expect_eq "release of an attached VM is refused (exit 1)" 1 "$RC"
expect_eq "vm3 still holds its address" "$(addr_of "$VM3_CIDR")" "$(lease_ips ns3/vm3)"
drive del "$T/net1-vm3.conflist" G cid-g1 --args "$(k8s_args ns3 virt-launcher-other-fghij cid-g1)"
need "DEL args.cni.vm=vm3, second container"
RC=0
ctl release --vm ns3/vm3 >"$T/release.out" 2>&1 || RC=$?
expect_eq "release of the detached VM succeeds" 0 "$RC"
expect_eq "vm3 lease gone" 0 "$(lease_count ns3/vm3)"
expect_eq "pool used = 2" 2 "$(pool_field "$NET" .used)"
RC=0
ctl check >"$T/check.out" 2>&1 || RC=$?
expect_eq "vmipctl check finds no problem" 0 "$RC"

finish
