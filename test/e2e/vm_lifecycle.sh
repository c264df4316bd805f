#!/usr/bin/env bash
# Issue 4, one node, through libcni + bridge + vmip in network namespaces:
# migration success and failure, requested addresses (runtimeConfig.ips, args.cni.ips,
# IP= in CNI_ARGS), reservations, release with oldest-first reuse, pool changes,
# multi-NIC and dual stack, history and show, the integrity check, and GC.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

start_daemon
setup_node_ns
V4='[[{"subnet":"10.250.20.0/24"}]]'
conflist "$T/n.conflist" lc 1.0.0 vmipbr1 "$V4" '{"capabilities":{"ips":true}}'
k8s() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=${3:-default};K8S_POD_NAME=$1;K8S_POD_INFRA_CONTAINER_ID=$2"; }
add() { drive add "$T/${CONF:-n}.conflist" "$1" "$2" --args "$(k8s "$3" "$2")" "${@:4}"; } # NS CID POD [flags]
del() { drive del "$T/${CONF:-n}.conflist" "$1" "$2" --args "$(k8s "$3" "$2")" "${@:4}"; }
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
for ns in A B C D E F G H I J K L M N; do mk_netns "$ns"; done

echo "# live migration succeeds: source and target hold the address, source DEL leaves the target"
add A src1 virt-launcher-vm1-aaaaa; need "vm1 source ADD"; VM1=$(ip_of)
add B dst1 virt-launcher-vm1-bbbbb; need "vm1 target ADD"
expect_eq "target gets the same address" "$VM1" "$(ip_of)"
expect_eq "both netns carry it" "$VM1/24 $VM1/24" "$(ns_addrs A eth0) $(ns_addrs B eth0)"
del A src1 virt-launcher-vm1-aaaaa; expect_rc "source DEL" 0
expect_eq "target stays attached, nothing released" "[\"attached\",[\"dst1\"],[\"$VM1\"]]" \
  "$(lease_field default/vm1 '[.state, [.attachments[].container_id], .ips]')"

echo "# live migration fails: target DEL leaves the source"
add C src2 virt-launcher-vm2-aaaaa; need "vm2 source ADD"; VM2=$(ip_of)
add D dst2 virt-launcher-vm2-bbbbb; need "vm2 target ADD"; expect_eq "vm2 target same address" "$VM2" "$(ip_of)"
del D dst2 virt-launcher-vm2-bbbbb; expect_rc "target DEL" 0
expect_eq "source stays attached" '["attached",["src2"]]' "$(lease_field default/vm2 '[.state, [.attachments[].container_id]]')"

echo "# requested addresses: runtimeConfig.ips, IP= in CNI_ARGS, args.cni.ips; conflicts"
add E req1 virt-launcher-vm3-aaaaa --cap-ips 10.250.20.77/24; expect_rc "runtimeConfig.ips ADD" 0
expect_eq "vm3 bound to the requested address" 10.250.20.77 "$(ip_of)"
drive add "$T/n.conflist" F req2 --args "$(k8s virt-launcher-vm4-aaaaa req2);IP=10.250.20.78"
expect_eq "IP= in CNI_ARGS binds vm4" 10.250.20.78 "$(ip_of)"
conflist "$T/args.conflist" lc 1.0.0 vmipbr1 "$V4" '{"args":{"cni":{"ips":["10.250.20.79"],"vm":"vm5"}}}'
CONF=args add G req3 launcher-x; expect_eq "args.cni.ips binds vm5 (args.cni.vm)" 10.250.20.79 "$(ip_of)"
run_plugin ADD "$(plugin_conf lc 1.0.0 "$V4")" CNI_CONTAINERID=req4 CNI_NETNS=/x CNI_IFNAME=eth0 \
  CNI_ARGS="$(k8s web-1 req4);IP=10.250.20.77"
expect_code "an address held by a VM is refused, naming the holder" 101 "vm default/vm3"
run_plugin ADD "$(plugin_conf lc 1.0.0 "$V4")" CNI_CONTAINERID=req5 CNI_NETNS=/x CNI_IFNAME=eth0 \
  CNI_ARGS="$(k8s web-2 req5);IP=10.99.0.5"
expect_code "an address outside the pool" 102 "outside"
run_plugin ADD "$(plugin_conf lc 1.0.0 "$V4")" CNI_CONTAINERID=req6 CNI_NETNS=/x CNI_IFNAME=eth0 \
  CNI_ARGS="$(k8s virt-launcher-vm3-ccccc req6);IP=10.250.20.90"
expect_code "a VM asking for another address than its own is refused (no silent move)" 106 "10.250.20.77"
run_plugin ADD "$(plugin_conf lc 1.0.0 "$V4")" CNI_CONTAINERID=req7 CNI_NETNS=/x CNI_IFNAME=eth0 \
  CNI_ARGS="$(k8s virt-launcher-vm3-ddddd req7);IP=10.250.20.77"
expect_rc "the same request as the binding is fine" 0

echo "# reservations: held addresses are never allocated; a VM claims one"
ctl reserve lc --name vip1 --ip 10.250.20.200 >/dev/null && RC=0 || RC=$?; expect_rc "reserve one address" 0
expect_eq "reserve --count 2 returns two addresses" 2 "$(ctl reserve lc --name pool2 --count 2 --json | jq '.ips | length')"
drive add "$T/n.conflist" H res1 --args "$(k8s virt-launcher-vm6-aaaaa res1);VMIP_RESERVATION=vip1"
expect_eq "vm6 claims the reserved address" 10.250.20.200 "$(ip_of)"
run_plugin ADD "$(plugin_conf lc 1.0.0 "$V4")" CNI_CONTAINERID=res2 CNI_NETNS=/x CNI_IFNAME=eth0 \
  CNI_ARGS="$(k8s virt-launcher-vm7-aaaaa res2);VMIP_RESERVATION=nope"
expect_code "an unknown reservation" 104 "nope"
expect_match "unreserve gives the unclaimed ones back" "released 2" "$(ctl unreserve lc --name pool2)"
# A 5-address pool: one ADD makes the network known, 2 reserved, so 2 are left to allocate.
RS=$(plugin_conf rs 1.0.0 '[[{"subnet":"10.250.23.0/24","rangeStart":"10.250.23.10","rangeEnd":"10.250.23.14"}]]')
rs_add() { run_plugin ADD "$RS" "CNI_CONTAINERID=$1" CNI_NETNS=/x CNI_IFNAME=eth0; }
rs_add rs0; need "first ADD on the 5-address network"
reserved=$(ctl reserve rs --name rsv --count 2 --json | jq -r '.ips | join(",")')
expect_match "2 of the 5 addresses reserved" '^10\.250\.23\.[0-9]+,10\.250\.23\.[0-9]+$' "$reserved"
got=''
for c in rs1 rs2; do rs_add "$c"; need "ADD $c while 2 addresses are reserved"; got+="$(addr_of "$(jq -r '.ips[0].address' <<<"$OUT")")"$'\n'; done
expect_eq "no ADD got a reserved address" "" "$(comm -12 <(tr , '\n' <<<"$reserved" | sort) <(sort <<<"${got%$'\n'}"))"
rs_add rs3
expect_code "only reserved addresses left: the pool is exhausted" 100

echo "# release: refused while attached, then frees; the freed address is reused last"
ctl release --vm default/vm2 >/dev/null 2>&1 && RC=0 || RC=$?
expect_rc "release refused while attached" 1
expect_match "the refusal names the attachment" "src2" "$(ctl release --vm default/vm2 2>&1 || true)"
del C src2 virt-launcher-vm2-aaaaa; need "vm2 source DEL"
expect_eq "release after DEL frees vm2's address" "$VM2" "$(ctl release --vm default/vm2 --json | jq -r '.ips[0]')"
add I fresh1 web-fresh; need "fresh1 ADD"; expect_ne "a new pod does not get the just-released address" "$VM2" "$(ip_of)"
expect_match "history shows the release" "release" "$(ctl history --ip "$VM2" --json | jq -r '.[].kind' | paste -sd' ')"

echo "# multi-NIC and dual stack"
add J nic1 virt-launcher-vm8-aaaaa; need "vm8 eth0 ADD"; A8=$(ip_of)
add J nic1 virt-launcher-vm8-aaaaa --ifname net1; need "vm8 net1 ADD"; B8=$(ip_of)
expect_ne "two NICs of one VM on one network hold two addresses" "$A8" "$B8"
expect_eq "two leases for vm8" 2 "$(lease_count default/vm8)"
conflist "$T/ds.conflist" ds 1.0.0 vmipbr2 '[[{"subnet":"10.250.21.0/24"}],[{"subnet":"fd00:250:21::/64"}]]'
CONF=ds add K ds1 virt-launcher-vm8-aaaaa; need "dual-stack ADD"
DS_PAIR=$(jq -r '[.ips[].address] | join(",")' <<<"$OUT")
expect_match "one v4 and one v6 address" '^10\.250\.21\.[0-9]+/24,fd00:250:21::[0-9a-f]+/64$' "$DS_PAIR"
expect_eq "vm8 on a second network is a separate binding" 3 "$(lease_count default/vm8)"
CONF=ds del K ds1 virt-launcher-vm8-aaaaa; need "dual-stack DEL"
CONF=ds add L ds2 virt-launcher-vm8-bbbbb; need "dual-stack ADD in a new pod"
expect_eq "dual-stack pair kept together: the same two addresses" "$DS_PAIR" "$(jq -r '[.ips[].address] | join(",")' <<<"$OUT")"

echo "# pool change: a bound address outside the new ranges fails the VM's ADD"
conflist "$T/moved.conflist" lc 1.0.0 vmipbr1 '[[{"subnet":"10.250.22.0/24"}]]'
CONF=moved add M moved1 virt-launcher-vm1-ccccc
expect_error "vm1 ADD after its range moved"
expect_match "the message names the address" "$VM1" "$(jq -r .msg <<<"$OUT")"
oor=$(pool_field lc .out_of_range)
((oor > 0)) && pass "vmipctl pools counts $oor out-of-range address(es)" || fail "pools shows no out-of-range address"
CONF=moved del M moved1 virt-launcher-vm1-ccccc # a runtime DELs after a failed ADD (ADD-4)
expect_rc "DEL after the failed ADD" 0
conflist "$T/gw.conflist" lc 1.0.0 vmipbr3 '[[{"subnet":"10.250.20.0/24","gateway":"10.250.20.254"}]]'
CONF=gw add N moved2 virt-launcher-vm1-ddddd
expect_eq "a changed gateway comes from the new config" 10.250.20.254 "$(jq -r '.ips[0].gateway' <<<"$OUT")"

echo "# inspection: show, history, filters"
expect_match "show <ip> names the owner" "vm default/vm1" "$(ctl show "$VM1")"
expect_match "show ns/vm lists its history" "attach" "$(ctl show default/vm1 --json | jq -r '.history[].kind' | paste -sd' ')"
expect_eq "history --vm is newest first and complete" "bind" "$(ctl history --vm default/vm1 --json | jq -r '.[-1].kind')"
expect_eq "leases --namespace default --vm vm8 --json" 3 "$(ctl leases --namespace default --vm vm8 --json | jq length)"

echo "# GC: attachments not listed are dropped; VM bindings stay, pod bindings go"
gc_conf=$(jq -cn --arg s "$SOCK" --arg sp "$SPOOL" --argjson r "$V4" \
  '{cniVersion: "1.1.0", name: "lc", type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: $r},
    "cni.dev/valid-attachments": [{containerID: "dst1", ifname: "eth0"}]}')
expect_eq "before GC fresh1 holds a pod lease" 1 "$(lease_count fresh1)"
run_plugin GC "$gc_conf" CNI_PATH=/usr/lib/cni
expect_rc "GC" 0
expect_eq "vm1 keeps its binding (GC detached moved2, kept dst1)" '["attached",["dst1"]]' \
  "$(lease_field default/vm1 '[.state, [.attachments[].container_id]]')"
expect_eq "the pod lease of fresh1 was released" 0 "$(lease_count fresh1)"
expect_eq "vm3 is detached, still bound" '["detached",["10.250.20.77"]]' "$(lease_field default/vm3 '[.state, .ips]')"

echo "# integrity: vmipctl check agrees, then finds a row written behind the daemon's back"
ctl check >/dev/null && RC=0 || RC=$?
expect_rc "check passes" 0
sqlite3 "$DB" "INSERT INTO leases(network, owner_kind, owner, ifname, created_at) VALUES('lc','pod','ghost','eth0',0);
  INSERT INTO addresses(lease_id, network, range_set, ip) VALUES(last_insert_rowid(), 'lc', 0, '10.250.20.250');"
ctl check >"$T/check.out" && RC=0 || RC=$?
expect_rc "check fails on a disagreement" 1
expect_match "it names the address" "10.250.20.250" "$(cat "$T/check.out")"

finish
