#!/usr/bin/env bash
# Issue 14: the kustomize bundle, rendered offline (kubectl kustomize), base and every
# overlay: kinds, RBAC exactly, probes, host paths, scheduling, update strategy, the
# image scripts/image builds, and daemon flags that vmip-leased accepts.
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source=lib_deploy.sh
source "$(dirname "$0")/lib_deploy.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed"; exit 77; }

TAG=$("$SRC/scripts/image" --print-tag)
CONFLIST=$SRC/deploy/10-vmnet.conflist
RBAC='[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]},{"apiGroups":["apps"],"resources":["statefulsets"],"verbs":["get","list","watch"]},{"apiGroups":["kubevirt.io"],"resources":["virtualmachineinstances","virtualmachines"],"verbs":["get","list","watch"]}]'
LEASED_HELP=$("$LEASED" --help)

# check_bundle LABEL DIR CNI_BIN_DIR
check_bundle() {
  local label=$1 dir=$2 bin_dir=$3 r ds pod daemon init sock flag
  r=$(render_json "$dir") || { fail "$label: kubectl kustomize $dir"; return; }
  expect_eq "$label: kinds" "ClusterRole,ClusterRoleBinding,ConfigMap,DaemonSet,ServiceAccount" \
    "$(jq -r 'map(.kind) | sort | join(",")' <<<"$r")"
  expect_eq "$label: namespaced objects in kube-system" kube-system \
    "$(jq -r '[.[] | select(.kind | test("^Cluster") | not) | .metadata.namespace] | unique | join(",")' <<<"$r")"
  expect_eq "$label: ClusterRole rules are exactly get/list/watch on pods, VMs, VMIs, StatefulSets" "$RBAC" \
    "$(jq -c '.[] | select(.kind == "ClusterRole") | .rules | map({apiGroups, resources: (.resources | sort), verbs: (.verbs | sort)}) | sort_by(.apiGroups)' <<<"$r")"
  expect_eq "$label: binding gives the role to the DaemonSet's service account" \
    '["ClusterRole","vmip","ServiceAccount","vmip","kube-system","vmip"]' \
    "$(jq -c '(.[] | select(.kind == "ClusterRoleBinding")) as $b | (.[] | select(.kind == "DaemonSet")) as $d
      | [$b.roleRef.kind, $b.roleRef.name, $b.subjects[0].kind, $b.subjects[0].name, $b.subjects[0].namespace,
         $d.spec.template.spec.serviceAccountName]' <<<"$r")"

  ds=$(jq -c '.[] | select(.kind == "DaemonSet")' <<<"$r")
  pod=$(jq -c .spec.template.spec <<<"$ds")
  daemon=$(jq -c '.containers[] | select(.name == "vmip-leased")' <<<"$pod")
  init=$(jq -c '.initContainers[] | select(.name == "install-plugin")' <<<"$pod")
  expect_eq "$label: priority class" system-node-critical "$(jq -r .priorityClassName <<<"$pod")"
  expect_eq "$label: tolerates every taint" '[{"operator":"Exists"}]' "$(jq -c .tolerations <<<"$pod")"
  expect_eq "$label: rolling update, one node at a time, no surge (one daemon per database)" \
    '{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1},"type":"RollingUpdate"}' "$(jq -cS .spec.updateStrategy <<<"$ds")"
  expect_eq "$label: nothing removes the plugin when a pod stops (no lifecycle hooks)" 0 \
    "$(jq '[.containers[], .initContainers[] | select(.lifecycle)] | length' <<<"$pod")"
  expect_eq "$label: both containers run the image scripts/image tags" "$TAG $TAG" \
    "$(jq -r '[.initContainers[0].image, .containers[0].image] | join(" ")' <<<"$pod")"
  expect_eq "$label: hostPaths cni-bin, run, state" "$bin_dir /run/vmip /var/lib/vmip" \
    "$(jq -r '.volumes | map(select(.hostPath)) | map({(.name): .hostPath.path}) | add | [.["cni-bin"], .run, .state] | join(" ")' <<<"$pod")"
  expect_eq "$label: daemon mounts /run/vmip and /var/lib/vmip from those host paths" "run:/run/vmip state:/var/lib/vmip" \
    "$(jq -r '[.volumeMounts[] | select(.name == "run" or .name == "state") | "\(.name):\(.mountPath)"] | join(" ")' <<<"$daemon")"
  expect_eq "$label: init container installs into the mounted CNI bin dir" \
    "$(jq -r '.volumeMounts[] | select(.name == "cni-bin") | .mountPath' <<<"$init")" \
    "$(jq -r '.args[] | select(startswith("--bin-dir=")) | ltrimstr("--bin-dir=")' <<<"$init")"
  expect_eq "$label: node name from the downward API" '["--node-name=$(NODE_NAME)","spec.nodeName"]' \
    "$(jq -c '[(.args[] | select(startswith("--node-name"))), (.env[] | select(.name == "NODE_NAME") | .valueFrom.fieldRef.fieldPath)]' <<<"$daemon")"
  sock=$(jq -r '.args[] | select(startswith("--socket=")) | ltrimstr("--socket=")' <<<"$daemon")
  expect_eq "$label: daemon socket and spool are the sample conflist's" \
    "$(jq -r '.plugins[0].ipam | "\(.socket) \(.spoolDir)"' "$CONFLIST")" \
    "$sock $(jq -r '.args[] | select(startswith("--spool-dir=")) | ltrimstr("--spool-dir=")' <<<"$daemon")"
  expect_eq "$label: liveness and startup: GET /healthz, readiness: GET /readyz, on the metrics port" \
    '[["/healthz","metrics"],["/healthz","metrics"],["/readyz","metrics"]]' \
    "$(jq -c '[.livenessProbe, .startupProbe, .readinessProbe] | map([.httpGet.path, .httpGet.port])' <<<"$daemon")"
  expect_eq "$label: the metrics port is the one --metrics-address listens on (ConfigMap)" \
    "--metrics-address=\$(POD_IP):\$(VMIP_METRICS_PORT) status.podIP $(jq -r '.[] | select(.kind == "ConfigMap") | .data.VMIP_METRICS_PORT' <<<"$r")" \
    "$(jq -r '[(.args[] | select(startswith("--metrics-address="))), (.env[] | select(.name == "POD_IP") | .valueFrom.fieldRef.fieldPath),
      (.ports[] | select(.name == "metrics") | .containerPort | tostring)] | join(" ")' <<<"$daemon")"
  expect_eq "$label: probe timeouts leave room for an etcd read (>= 3 s)" true \
    "$(jq '[.livenessProbe, .readinessProbe, .startupProbe] | all(.timeoutSeconds >= 3)' <<<"$daemon")"
  expect_eq "$label: cpu and memory requests on both containers" true \
    "$(jq '[.containers[], .initContainers[]] | all(.resources.requests.cpu and .resources.requests.memory)' <<<"$pod")"
  expect_eq "$label: every \$(VAR) in the args is defined (env or the ConfigMap)" "" \
    "$(jq -r --argjson cm "$(jq -c '.[] | select(.kind == "ConfigMap") | .data' <<<"$r")" \
      '([.env[].name] + ($cm | keys)) as $defined | [.args[] | scan("\\$\\(([A-Za-z_0-9]+)\\)")[0]]
       | map(select(. as $v | $defined | index($v) | not)) | join(",")' <<<"$daemon")"
  for flag in $(jq -r '.args[] | sub("=.*"; "")' <<<"$daemon"); do
    grep -q -- "$flag" <<<"$LEASED_HELP" || fail "$label: vmip-leased has no flag $flag"
  done
}

check_bundle base "$BUNDLE" /opt/cni/bin
check_bundle cluster "$BUNDLE/overlays/cluster" /opt/cni/bin
check_bundle openshift "$BUNDLE/overlays/openshift" /var/lib/cni/bin
check_bundle k3s "$BUNDLE/overlays/k3s" /var/lib/rancher/k3s/data/cni

echo "# the cluster overlay turns on etcd with endpoints from the ConfigMap, peers on the node address"
r=$(render_json "$BUNDLE/overlays/cluster")
expect_eq "cluster: etcd flags" '["--cluster=etcd","--etcd-endpoints=$(VMIP_ETCD_ENDPOINTS)","--peer-address=$(NODE_IP):$(VMIP_PEER_PORT)"]' \
  "$(jq -c '[.[] | select(.kind == "DaemonSet") | .spec.template.spec.containers[0].args[] | select(test("^--(cluster|etcd-endpoints|peer-address)="))]' <<<"$r")"
expect_match "cluster: ConfigMap has etcd endpoints" '^https://' \
  "$(jq -r '.[] | select(.kind == "ConfigMap") | .data.VMIP_ETCD_ENDPOINTS' <<<"$r")"
expect_eq "cluster: host network for the peer links" true \
  "$(jq '.[] | select(.kind == "DaemonSet") | .spec.template.spec.hostNetwork' <<<"$r")"
expect_eq "base: no host network" null \
  "$(render_json "$BUNDLE" | jq '.[] | select(.kind == "DaemonSet") | .spec.template.spec.hostNetwork')"

echo "# the monitoring bundle: a Service on the daemon pods' metrics port, its ServiceMonitor, the alerts"
m=$(render_json "$BUNDLE/monitoring")
expect_eq "monitoring: kinds" "PrometheusRule,Service,ServiceMonitor" "$(jq -r 'map(.kind) | sort | join(",")' <<<"$m")"
expect_eq "monitoring: the Service selects the DaemonSet's pods" true \
  "$(jq --argjson pod "$(render_json "$BUNDLE" | jq -c '.[] | select(.kind == "DaemonSet") | .spec.template.metadata.labels')" \
    '.[] | select(.kind == "Service") | .spec.selector | to_entries | all(.value == $pod[.key])' <<<"$m")"
expect_eq "monitoring: Service port targets the named metrics port; the ServiceMonitor scrapes it" "metrics metrics /metrics" \
  "$(jq -r '[(.[] | select(.kind == "Service") | .spec.ports[0] | .targetPort, .name),
    (.[] | select(.kind == "ServiceMonitor") | .spec.endpoints[0].path)] | join(" ")' <<<"$m")"
expect_eq "monitoring: the ServiceMonitor selects the Service" true \
  "$(jq '(.[] | select(.kind == "Service") | .metadata.labels) as $l
    | .[] | select(.kind == "ServiceMonitor") | .spec.selector.matchLabels | to_entries | all(.value == $l[.key])' <<<"$m")"
expect_eq "monitoring: the alerts" "VmipAddSlow,VmipAllocationFailures,VmipPoolAlmostFull,VmipReleasesStuck,VmipSpoolNotDraining" \
  "$(jq -r '[.[] | select(.kind == "PrometheusRule") | .spec.groups[].rules[].alert] | sort | join(",")' <<<"$m")"
finish
