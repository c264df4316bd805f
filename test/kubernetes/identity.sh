#!/usr/bin/env bash
# Issue 13 items 1, 3, 4 through libcni + bridge + vmip against the fixture API server:
# VM identity from the pod's VirtualMachineInstance owner (cut names resolved exactly),
# the VM's UID stored, requested addresses from the vmip.io/ip.<network> annotation,
# StatefulSet pods keep their address by name, API down -> the name rules (a cut name
# answers 11), and a 401 is a clear error.
# shellcheck source-path=SCRIPTDIR source=lib_k8s.sh
source "$(dirname "$0")/lib_k8s.sh"

k8s_start
NET=k8snet
CONF=$T/k8s.conflist
conflist "$CONF" "$NET" 1.0.0 vmipbr13 '[[{"subnet":"10.250.31.0/24"}]]'
for ns in A B C D E F F2 G H I J K L M; do mk_netns "$ns"; done

if ((REAL_CLUSTER)); then
  # A real cluster: an existing virt-launcher pod names its VM through the API.
  : "${VMIP_TEST_POD:?with VMIP_TEST_KUBECONFIG, set VMIP_TEST_POD=namespace/virt-launcher-pod}"
  drive add "$CONF" A cid-real --args "$(k8s_args "${VMIP_TEST_POD%/*}" "${VMIP_TEST_POD#*/}" cid-real)"
  need "ADD of $VMIP_TEST_POD"
  expect_eq "its lease is a VM named by the API" '["vm","kubernetes"]' \
    "$(ctl leases --json | jq -c 'map(select(.attachments[0].container_id == "cid-real")) | first | [.owner_kind, .identity_source]')"
  drive del "$CONF" A cid-real --args "$(k8s_args "${VMIP_TEST_POD%/*}" "${VMIP_TEST_POD#*/}" cid-real)"
  finish
  exit
fi

echo "# two VMs whose pod names Kubernetes cut to the same 58-character prefix"
VM1=tenant-acme-production-database-cluster-abc-node1
VM2=tenant-acme-production-database-cluster-abc-node2
POD1=$(fixture_ctl create-vm prod "$VM1")
POD2=$(fixture_ctl create-vm prod "$VM2")
expect_eq "both pod names are 63 characters and share the cut prefix" "63 63 ${POD1:0:58}" \
  "${#POD1} ${#POD2} ${POD2:0:58}"
drive add "$CONF" A cid-vm1 --args "$(k8s_args prod "$POD1" cid-vm1)"
need "ADD $POD1 (no explicit VM name)"
IP1=$(ip_of)
drive add "$CONF" B cid-vm2 --args "$(k8s_args prod "$POD2" cid-vm2)"
need "ADD $POD2"
IP2=$(ip_of)
expect_ne "the two VMs get different addresses" "$IP1" "$IP2"
expect_eq "lease of $VM1: full VM name, kind vm, source kubernetes, the VM's UID" \
  "[\"vm\",\"kubernetes\",\"$(uid_of vm prod "$VM1")\",[\"$IP1\"]]" \
  "$(lease_field "prod/$VM1" '[.owner_kind, .identity_source, .owner_uid, .ips]')"
expect_eq "lease of $VM2 has its own UID" "$(uid_of vm prod "$VM2")" \
  "$(lease_field "prod/$VM2" '.owner_uid' | jq -r .)"
expect_match "vmipctl leases shows the source and the UID" "prod/$VM1 .*kubernetes $(uid_of vm prod "$VM1")" \
  "$(ctl leases | tr -s ' ')"

echo "# a new pod of the same VM (restart): the same address"
drive del "$CONF" A cid-vm1 --args "$(k8s_args prod "$POD1" cid-vm1)"
fixture_ctl stop-vm prod "$VM1" >/dev/null
POD1B=$(fixture_ctl start-vm prod "$VM1")
expect_ne "the restarted VM has another pod" "$POD1" "$POD1B"
drive add "$CONF" C cid-vm1b --args "$(k8s_args prod "$POD1B" cid-vm1b)"
need "ADD $POD1B"
expect_eq "$VM1 keeps $IP1" "$IP1" "$(ip_of)"

echo "# explicit args.cni.vm still wins over the API"
drive add "$CONF" D cid-explicit --args "$(k8s_args prod "$POD2" cid-explicit);VMIP_VM=named-by-hand"
need "ADD with VMIP_VM"
expect_eq "owner is the explicit name, source args" '["vm","args"]' \
  "$(lease_field prod/named-by-hand '[.owner_kind, .identity_source]')"

echo "# the vmip.io/ip.$NET annotation requests an address"
PODA=$(fixture_ctl create-vm prod annotated --annotation "vmip.io/ip.$NET=10.250.31.50")
drive add "$CONF" E cid-ann --args "$(k8s_args prod "$PODA" cid-ann)"
need "ADD of the annotated VM"
expect_eq "it got the annotated address" 10.250.31.50 "$(ip_of)"
PODH=$(fixture_ctl create-vm prod wants-held --annotation "vmip.io/ip.$NET=$IP2")
BASE=$(db_snapshot)
drive add "$CONF" F cid-held --args "$(k8s_args prod "$PODH" cid-held)"
expect_code "an annotation naming $VM2's address is refused" 101 "prod/$VM2"
expect_db_unchanged "database unchanged by the refused ADD" "$BASE"
PODX=$(fixture_ctl create-vm prod wants-outside --annotation "vmip.io/ip.$NET=10.99.0.1")
drive add "$CONF" F2 cid-outside --args "$(k8s_args prod "$PODX" cid-outside)"
expect_code "an annotation outside the pool is refused" 102 "outside"
PODO=$(fixture_ctl create-vm prod other-net --annotation "vmip.io/ip.othernet=10.250.31.60")
drive add "$CONF" G cid-othernet --args "$(k8s_args prod "$PODO" cid-othernet)"
need "ADD of a VM annotated for another network"
expect_ne "that annotation does not apply to $NET" 10.250.31.60 "$(ip_of)"

echo "# StatefulSet pods: the pod name is the identity, kept across re-creation"
mapfile -t WEB < <(fixture_ctl create-sts prod web 2)
expect_eq "the StatefulSet's pods" "web-0 web-1" "${WEB[*]}"
drive add "$CONF" H cid-web0 --args "$(k8s_args prod web-0 cid-web0)"
need "ADD web-0"
IPW=$(ip_of)
expect_eq "web-0's lease: kind sts, the StatefulSet's UID" \
  "[\"sts\",\"kubernetes\",\"$(uid_of sts prod web)\"]" \
  "$(lease_field prod/web-0 '[.owner_kind, .identity_source, .owner_uid]')"
drive del "$CONF" H cid-web0 --args "$(k8s_args prod web-0 cid-web0)"
expect_eq "after DEL the lease stays (detached)" '"detached"' "$(lease_field prod/web-0 .state)"
fixture_ctl delete-pod prod web-0 >/dev/null # the StatefulSet makes a new web-0
drive add "$CONF" I cid-web0b --args "$(k8s_args prod web-0 cid-web0b)"
need "ADD of the re-created web-0"
expect_eq "web-0 keeps its address" "$IPW" "$(ip_of)"

echo "# API down (HTTP 500): an unambiguous launcher name falls back to the name rule"
PODS=$(fixture_ctl create-vm prod short-vm)
POD3=$(fixture_ctl create-vm prod "${VM1%1}3") # another cut name, made before the fault
fixture_ctl fail 500 >/dev/null
drive add "$CONF" J cid-short --args "$(k8s_args prod "$PODS" cid-short)"
need "ADD $PODS while the API answers 500"
expect_eq "named by the pod-name rule, no UID" '["vm","pod-name",""]' \
  "$(lease_field prod/short-vm '[.owner_kind, .identity_source, .owner_uid]')"
BASE=$(db_snapshot)
drive add "$CONF" K cid-cut3 --args "$(k8s_args prod "$POD3" cid-cut3)"
expect_code "a cut name while the API is down answers 11" 11 "kubernetes"
expect_db_unchanged "database unchanged" "$BASE"
fixture_ctl clear-fail >/dev/null
drive add "$CONF" L cid-cut3 --args "$(k8s_args prod "$POD3" cid-cut3)"
need "the same ADD once the API answers"
expect_eq "resolved to the full VM name" '"kubernetes"' "$(lease_field "prod/${VM1%1}3" .identity_source)"

echo "# a token the API server no longer accepts: a clear error"
fixture_ctl rotate-token >/dev/null # the daemon's kubeconfig holds the old token inline
PODT=$(fixture_ctl create-vm prod token-test)
BASE=$(db_snapshot)
drive add "$CONF" M cid-401 --args "$(k8s_args prod "$PODT" cid-401)"
expect_code "ADD with a rejected token" 11 "401"
expect_match "the message says unauthorized" "unauthorized" "$(jq -r .msg <<<"$OUT")"
expect_db_unchanged "database unchanged" "$BASE"

finish
