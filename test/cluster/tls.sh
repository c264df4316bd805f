#!/usr/bin/env bash
# Mutual TLS on the links that leave a node: one etcd member (https, client certs
# required) on 127.0.0.1 and two vmip-leased with --tls-*; certificates made here with
# openssl. A VM migrates between the nodes over TLS; the cluster view crosses the TLS
# peer service; a node without a certificate, or with one from another CA, cannot join,
# and the peer service refuses a client without a certificate or with another CA's.
source "$(dirname "$0")/../e2e/lib.sh"

PIDS=()
tls_cleanup() {
  local rc=$?
  set +e # under set -e the (exit "$rc") below would end the trap before cleanup ran
  kill -KILL "${PIDS[@]}" 2>/dev/null
  wait 2>/dev/null
  (exit "$rc")
  cleanup
}
trap tls_cleanup EXIT

C=$T/certs
mkdir -p "$C"
make_ca() { # NAME
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" \
    -keyout "$C/$1.key" -out "$C/$1.pem" 2>/dev/null
}
make_cert() { # NAME CA
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$C/$1.key" -out "$C/$1.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$C/$1.ext"
  openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial -days 1 \
    -extfile "$C/$1.ext" -out "$C/$1.pem" 2>/dev/null
}
make_ca ca
make_ca otherca
for n in etcd na nb; do make_cert "$n" ca; done
make_cert stranger otherca

etcd --name tls --data-dir "$T/etcd" --listen-client-urls https://127.0.0.1:23797 \
  --advertise-client-urls https://127.0.0.1:23797 --listen-peer-urls http://127.0.0.1:23807 \
  --initial-advertise-peer-urls http://127.0.0.1:23807 --initial-cluster tls=http://127.0.0.1:23807 \
  --cert-file "$C/etcd.pem" --key-file "$C/etcd.key" --trusted-ca-file "$C/ca.pem" --client-cert-auth \
  >"$T/etcd.log" 2>&1 &
PIDS+=($!)
for ((k = 0; k < 100; k++)); do
  ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:23797 --cacert "$C/ca.pem" --cert "$C/na.pem" \
    --key "$C/na.key" endpoint health >/dev/null 2>&1 && break
  sleep 0.1
done

node() { # NAME PORT CERT [extra flags]: start a daemon in the background, PID in NODE_PID
  "$LEASED" --socket "$T/$1.sock" --db "$T/$1.db" --spool-dir "$T/$1.spool" --node-name "$1" \
    --cluster etcd --etcd-endpoints https://127.0.0.1:23797 --peer-address "127.0.0.1:$2" \
    --etcd-lease-ttl 3 --tls-ca "$C/ca.pem" --tls-cert "$C/$3.pem" --tls-key "$C/$3.key" "${@:4}" \
    >>"$T/$1.log" 2>&1 &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
}
ready() { # NAME
  local k
  for ((k = 0; k < 100; k++)); do "$VMIPCTL" --socket "$T/$1.sock" status >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
node na 27971 na
ready na && pass "node na joins over TLS" || fail "na did not start: $(tail -3 "$T/na.log")"
node nb 27972 nb
ready nb && pass "node nb joins over TLS" || fail "nb did not start: $(tail -3 "$T/nb.log")"

conf() { jq -cn --arg s "$T/$1.sock" --arg sp "$T/$1.spool" \
  '{cniVersion: "1.0.0", name: "tlsnet", type: "bridge", ipam: {type: "vmip", socket: $s, spoolDir: $sp, ranges: [[{subnet: "10.252.8.0/24"}]]}}'; }
cni() { run_plugin "$1" "$(conf "$2")" CNI_CONTAINERID="$3" CNI_NETNS=/x CNI_IFNAME=eth0 \
  CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4"; }
cni ADD na s1 virt-launcher-vm1-aaaaa; expect_rc "vm1 ADD on na" 0; A=$(jq -r '.ips[0].address' <<<"$OUT")
cni ADD nb d1 virt-launcher-vm1-bbbbb; expect_rc "vm1 migration ADD on nb" 0
expect_eq "same address across nodes over TLS" "$A" "$(jq -r '.ips[0].address' <<<"$OUT")"
expect_eq "the cluster view reaches the other node through the TLS peer service" "na,nb" \
  "$("$VMIPCTL" --socket "$T/na.sock" leases --cluster --json | jq -r '[.[].reported_by] | unique | join(",")')"

# The peer service asked directly (curl: HTTP/2 over TLS, an empty gRPC ListLeases).
# A cluster certificate gets a gRPC answer; no certificate, or another CA's, is refused
# in the TLS handshake, so no HTTP status at all (000).
printf '\0\0\0\0\0' >"$T/empty.grpc"
peer_call() { # CERT|none: the HTTP status and grpc-status of one call to na's peer port
  local -a cert=()
  [[ $1 == none ]] || cert=(--cert "$C/$1.pem" --key "$C/$1.key")
  : >"$T/peer.headers"
  curl -s -o /dev/null -D "$T/peer.headers" -w '%{http_code}' --http2 --max-time 5 \
    --cacert "$C/ca.pem" "${cert[@]}" -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary @"$T/empty.grpc" https://127.0.0.1:27971/vmip.v1.Peer/ListLeases || true
  echo " $(tr -d '\r' <"$T/peer.headers" | sed -n 's/^grpc-status: //p')"
}
expect_eq "the peer service answers a client with a cluster certificate" "200 0" "$(peer_call nb)"
expect_eq "the peer service refuses a client without a certificate" "000 " "$(peer_call none)"
expect_eq "the peer service refuses a certificate from another CA" "000 " "$(peer_call stranger)"

"$LEASED" --socket "$T/plain.sock" --db "$T/plain.db" --spool-dir "$T/plain.spool" --cluster etcd \
  --etcd-endpoints https://127.0.0.1:23797 >"$T/plain.out" 2>&1 && RC=0 || RC=$?
expect_rc "https endpoints without --tls-* are refused" 1
expect_match "it says why" "needs|expected https|tls" "$(cat "$T/plain.out")"
node stranger 27973 stranger
for ((k = 0; k < 50; k++)); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
wait "$NODE_PID" 2>/dev/null && RC=0 || RC=$?
expect_rc "a certificate from another CA cannot reach etcd" 1
expect_match "it says it could not reach etcd" "etcd" "$(cat "$T/stranger.log")"

finish
