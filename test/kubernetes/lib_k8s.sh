# shellcheck shell=bash
# Kubernetes-mode test helpers: test/e2e/lib.sh + the fixture API server
# (test/kubernetes/fixture) + a network through bridge + vmip. Source from a test.
#
# With VMIP_TEST_KUBECONFIG set, the tests talk to that (real) cluster instead and skip
# every step that needs the fixture's control interface (REAL_CLUSTER=1).
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
# shellcheck source=fixture/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixture/fixture.sh"

REAL_CLUSTER=0
[[ -z ${VMIP_TEST_KUBECONFIG:-} ]] || REAL_CLUSTER=1

# k8s_start [DAEMON ARGS...]: the fixture (unless a real cluster) and a Kubernetes-mode daemon.
k8s_start() {
  if ((REAL_CLUSTER)); then
    KUBECONFIG_FILE=$VMIP_TEST_KUBECONFIG
  else
    fixture_start
    KUBECONFIG_FILE=$FIXTURE_KUBECONFIG
  fi
  start_daemon --kubernetes --kubeconfig "$KUBECONFIG_FILE" "$@"
  setup_node_ns
}

# skip_real NAME: true (and says so) when a step needs the fixture's control interface.
skip_real() {
  ((REAL_CLUSTER)) || return 1
  echo "skip - $1 (needs the fixture's control interface)"
}

# k8s_args NS POD CID: CNI_ARGS as a Kubernetes runtime sends them.
k8s_args() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=$1;K8S_POD_NAME=$2;K8S_POD_INFRA_CONTAINER_ID=$3"; }
ip_of() { jq -r '.ips[0].address | split("/")[0]' <<<"$OUT"; }
uid_of() { fixture_ctl get "$1" "$2" "$3" | jq -r .metadata.uid; } # KIND NS NAME

# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.2 s); false after SECONDS.
wait_for() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 5; i++)); do "$@" && return 0; sleep 0.2; done
  return 1
}
