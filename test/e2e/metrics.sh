#!/usr/bin/env bash
# Issue 15: vmip-leased --metrics-address against the real thing. ADD, DEL and a refused
# ADD through libcni + bridge + vmip; the scrape passes `promtool check metrics` and
# counts exactly those calls; a real Prometheus server scrapes the daemon on loopback
# every second and its HTTP API answers up == 1 and sum(vmip_cni_requests_total) == the
# calls made; vmipctl status shows the same counters; the PrometheusRule in deploy/
# passes `promtool check rules` and its alerts fire on series that should fire them
# (promtool test rules); /readyz turns 503 when a cluster daemon's etcd goes away.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
for tool in prometheus promtool curl etcd; do
  command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-deps"
done

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MPORT=$(free_port)
METRICS=http://127.0.0.1:$MPORT
PROM_PID='' ETCD_PID=''
metrics_cleanup() {
  local rc=$?
  set +e
  local pid
  for pid in $PROM_PID $ETCD_PID; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  (exit "$rc")
  cleanup
}
trap metrics_cleanup EXIT
http_code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 5 "$1" || true; } # URL -> status
series() { # SCRAPE_FILE NAME{LABELS}: the value of one series, or "absent"
  awk -v s="$2" '$1 == s {print $2; found = 1} END {if (!found) print "absent"}' "$1"
}

echo "# a bad --metrics-address is a usage error naming the flag; nothing is created"
for bad in nonsense 127.0.0.1:0 127.0.0.1:99999 ::1:9102; do
  RC=0
  OUT=$("$LEASED" --socket "$T/bad.sock" --db "$T/bad.db" --spool-dir "$SPOOL" \
    --metrics-address "$bad" 2>&1) || RC=$?
  expect_eq "--metrics-address $bad: exit non-zero, message names the flag" "yes" \
    "$( ((RC != 0)) && [[ $OUT == *--metrics-address* ]] && echo yes || echo "no (exit $RC: $OUT)")"
done
expect_eq "no database was created by the refused starts" no "$([[ -e $T/bad.db ]] && echo yes || echo no)"

echo "# the daemon with metrics on 127.0.0.1:$MPORT"
start_daemon --metrics-address "127.0.0.1:$MPORT"
expect_eq "/healthz answers 200" 200 "$(http_code "$METRICS/healthz")"
expect_eq "/readyz answers 200 (database open, standalone)" 200 "$(http_code "$METRICS/readyz")"

echo "# CNI calls through libcni + bridge + vmip"
setup_node_ns
conflist "$T/m.conflist" metnet 1.0.0 vmipbr9 '[[{"subnet":"10.250.90.0/28"}]]' '{"capabilities":{"ips":true}}'
k8s() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$1;K8S_POD_INFRA_CONTAINER_ID=$2"; }
for ns in A B C; do mk_netns "$ns"; done
drive add "$T/m.conflist" A pod-1 --args "$(k8s web-1 pod-1)"
need "ADD pod-1"
drive add "$T/m.conflist" B vm-1 --args "$(k8s virt-launcher-mvm-abcde vm-1)"
need "ADD VM default/mvm"
VM_IP=$(jq -r '.ips[0].address | split("/")[0]' <<<"$OUT")
drive add "$T/m.conflist" C pod-2 --args "$(k8s web-2 pod-2)" --cap-ips "$VM_IP/28"
expect_error "ADD pod-2 asking for the VM's address is refused by the daemon"
REFUSED=$(jq -r .code <<<"$OUT")
drive del "$T/m.conflist" A pod-1 --args "$(k8s web-1 pod-1)"
expect_rc "DEL pod-1" 0
drive del "$T/m.conflist" B vm-1 --args "$(k8s virt-launcher-mvm-abcde vm-1)"
expect_rc "DEL of the VM's pod" 0
CALLS=5 # 3 ADD (one refused), 2 DEL

echo "# the scrape"
expect_eq "/metrics answers 200" 200 "$(http_code "$METRICS/metrics")"
cp "$T/body" "$T/scrape.txt"
RC=0
promtool check metrics <"$T/scrape.txt" >"$T/promtool.out" 2>&1 || RC=$?
expect_eq "promtool check metrics accepts the scrape: $(head -c 300 "$T/promtool.out")" 0 "$RC"
S=$T/scrape.txt
expect_eq "ADD ok counted twice" 2 "$(series "$S" 'vmip_cni_requests_total{command="ADD",result="ok"}')"
expect_eq "the refused ADD counted under its code $REFUSED" 1 \
  "$(series "$S" "vmip_cni_requests_total{command=\"ADD\",result=\"$REFUSED\"}")"
expect_eq "DEL ok counted twice" 2 "$(series "$S" 'vmip_cni_requests_total{command="DEL",result="ok"}')"
expect_eq "every call in the ADD histogram (+Inf bucket)" 3 \
  "$(series "$S" 'vmip_cni_request_duration_seconds_bucket{command="ADD",le="+Inf"}')"
expect_eq "the pod's lease released, reason pod_deleted" 1 \
  "$(series "$S" 'vmip_leases_released_total{network="metnet",reason="pod_deleted"}')"
expect_eq "pool of a /28 less its gateway: 13, 1 lease (the VM's) detached, none attached, 12 free" "13 1 0 12" \
  "$(series "$S" 'vmip_pool_addresses{network="metnet"}') $(series "$S" 'vmip_pool_addresses_allocated{network="metnet",state="detached"}') $(series "$S" 'vmip_pool_addresses_allocated{network="metnet",state="attached"}') $(series "$S" 'vmip_pool_addresses_free{network="metnet"}')"
expect_eq "spool empty" 0 "$(series "$S" vmip_spool_pending)"
expect_eq "build_info carries the version" 1 \
  "$(series "$S" "vmip_build_info{version=\"$(ctl status --json | jq -r .version)\"}")"
expect_eq "no series names a container, VM or address" "" \
  "$(grep -v '^#' "$S" | grep -E 'pod-1|vm-1|mvm|10\.250\.90\.' || true)"

echo "# vmipctl status shows the same counters"
expect_eq "vmipctl status --json: sum of vmip_cni_requests_total" "$CALLS" \
  "$(ctl status --json | jq '[.metrics[] | select(.name == "vmip_cni_requests_total") | .value] | add')"
expect_match "vmipctl status (text) has the ADD ok row" \
  'vmip_cni_requests_total +command="ADD",result="ok" +2' "$(ctl status)"

echo "# a real Prometheus server scrapes the daemon every second"
PPORT=$(free_port)
PROM=http://127.0.0.1:$PPORT
cat >"$T/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vmip
    static_configs: [{targets: ["127.0.0.1:$MPORT"]}]
EOF
prometheus --config.file "$T/prometheus.yml" --storage.tsdb.path "$T/prom" \
  --web.listen-address "127.0.0.1:$PPORT" >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
query() { # PROMQL: the first result's value, or "none"
  curl -s --max-time 3 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    jq -r '.data.result[0].value[1] // "none"' 2>/dev/null || echo none
}
wait_query() { # PROMQL WANT: polls for up to 30 s; prints the last value seen
  local got=none i
  for ((i = 0; i < 60; i++)); do
    got=$(query "$1")
    [[ $got == "$2" ]] && break
    kill -0 "$PROM_PID" 2>/dev/null || break
    sleep 0.5
  done
  echo "$got"
}
expect_eq "Prometheus: up{job=\"vmip\"} == 1" 1 "$(wait_query 'up{job="vmip"}' 1)"
expect_eq "Prometheus: sum(vmip_cni_requests_total) == $CALLS calls made" "$CALLS" \
  "$(wait_query 'sum(vmip_cni_requests_total)' "$CALLS")"
expect_eq "Prometheus: the refused ADD by its result label" 1 \
  "$(wait_query "sum(vmip_cni_requests_total{command=\"ADD\",result=\"$REFUSED\"})" 1)"
kill "$PROM_PID"
wait "$PROM_PID" 2>/dev/null || true
PROM_PID=

echo "# the PrometheusRule's rules pass promtool check rules, and the alerts fire"
RULE=$SRC/deploy/kubernetes/monitoring/prometheusrule.yaml
python3 -c 'import sys, yaml; yaml.safe_dump({"groups": yaml.safe_load(open(sys.argv[1]))["spec"]["groups"]}, sys.stdout)' \
  "$RULE" >"$T/rules.yml"
RC=0
promtool check rules "$T/rules.yml" >"$T/rules.out" 2>&1 || RC=$?
expect_eq "promtool check rules: $(tr '\n' ' ' <"$T/rules.out" | head -c 300)" 0 "$RC"
cp "$SRC/test/e2e/metrics_alerts_test.yml" "$T/alerts_test.yml"
RC=0
(cd "$T" && promtool test rules alerts_test.yml) >"$T/rules_test.out" 2>&1 || RC=$?
expect_eq "promtool test rules: every alert fires on its series, and only then" 0 "$RC"
((RC == 0)) || head -n 40 "$T/rules_test.out" >&2
stop_daemon
drive del "$T/m.conflist" A pod-9 --args "$(k8s web-9 pod-9)"
expect_eq "a DEL while the daemon is down is spooled" "0 1" "$RC $(find "$SPOOL" -name '*.pb' | wc -l)"

echo "# cluster mode: /readyz is 503 with the reason while etcd is down"
CPORT=$(free_port) PEERPORT=$(free_port)
URL=http://127.0.0.1:$CPORT
etcd --name m1 --data-dir "$T/etcd" --listen-client-urls "$URL" --advertise-client-urls "$URL" \
  --listen-peer-urls "http://127.0.0.1:$PEERPORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEERPORT" \
  --initial-cluster "m1=http://127.0.0.1:$PEERPORT" >>"$T/etcd.log" 2>&1 &
ETCD_PID=$!
for ((i = 0; i < 100; i++)); do
  ETCDCTL_API=3 etcdctl --endpoints "$URL" endpoint health >/dev/null 2>&1 && break
  sleep 0.1
done
start_daemon --cluster etcd --etcd-endpoints "$URL" --peer-address "127.0.0.1:$(free_port)" \
  --metrics-address "127.0.0.1:$MPORT"
expect_eq "cluster mode, etcd up: /readyz 200" 200 "$(http_code "$METRICS/readyz")"
http_code "$METRICS/metrics" >/dev/null
expect_eq "the spooled DEL replayed at start, counted; the spool is empty" "1 0" \
  "$(series "$T/body" vmip_spool_replayed_total) $(series "$T/body" vmip_spool_pending)"
kill "$ETCD_PID"
wait "$ETCD_PID" 2>/dev/null || true
ETCD_PID=
expect_eq "etcd down: /readyz 503" 503 "$(http_code "$METRICS/readyz")"
expect_match "etcd down: one line naming the cluster store" '^not ready: the cluster store is unreachable' \
  "$(head -n 1 "$T/body")"
expect_eq "etcd down: the reason is one line" 1 "$(wc -l <"$T/body")"
expect_eq "etcd down: /healthz still 200" 200 "$(http_code "$METRICS/healthz")"
http_code "$METRICS/metrics" >/dev/null
expect_match "etcd calls were timed by op" '^[1-9]' \
  "$(series "$T/body" 'vmip_etcd_request_duration_seconds_count{op="range"}')"
expect_match "the failed etcd read counted as an error" '^[1-9]' \
  "$(series "$T/body" 'vmip_etcd_errors_total{op="range"}')"
finish
