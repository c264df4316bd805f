# shellcheck shell=bash
# Helpers for the deployment tests: render the kustomize bundle offline as JSON, and
# turn a container of the rendered DaemonSet into the podman arguments that run it
# the way the kubelet would (command, args with $(VAR) expanded, env, security
# context, volumes with each hostPath under a scratch "host" directory).

SRC=${VMIP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUNDLE=$SRC/deploy/kubernetes
# Debian's python3 with python3-yaml (scripts/install-deps), not whatever is first on PATH.
PYTHON=/usr/bin/python3

# render_json DIR: kubectl kustomize DIR as one JSON array of objects.
render_json() {
  kubectl kustomize "$1" |
    "$PYTHON" -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)'
}

# pod_run_args RENDERED SECTION NAME HOST_ROOT NODE_NAME: podman run arguments for the
# container NAME in SECTION (initContainers or containers), one per line.
pod_run_args() {
  jq -r --arg sec "$2" --arg name "$3" --arg host "$4" --arg node "$5" '
    (map(select(.kind == "ConfigMap")) | first) as $cm
    | (map(select(.kind == "DaemonSet")) | first | .spec.template.spec) as $pod
    | ($pod[$sec] | map(select(.name == $name)) | first) as $c
    | ($pod.volumes | map({key: .name, value: .}) | from_entries) as $vols
    | ([($c.envFrom // [])[] | .configMapRef.name as $n
        | if $n == $cm.metadata.name then ($cm.data | to_entries[]) else error("no ConfigMap " + $n) end]
       + [($c.env // [])[] | {key: .name, value: (
            if .value != null then .value
            elif .valueFrom.fieldRef.fieldPath == "spec.nodeName" then $node
            elif .valueFrom.fieldRef.fieldPath == "status.hostIP" then "127.0.0.1"
            elif .valueFrom.fieldRef.fieldPath == "status.podIP" then "127.0.0.1"
            else error("unsupported env source of " + .name) end)}]) as $envs
    | ($envs | from_entries) as $env
    | def expand: gsub("\\$\\((?<v>[A-Za-z_][A-Za-z0-9_]*)\\)"; $env[.v] // "$(\(.v))");
      ($c.securityContext // {}) as $sc
    | ["--user=\($sc.runAsUser // 0)"]
      + (if $sc.readOnlyRootFilesystem then ["--read-only", "--read-only-tmpfs=false"] else [] end)
      + (if ($sc.capabilities.drop // []) | index("ALL") then ["--cap-drop=all"] else [] end)
      + (if $sc.allowPrivilegeEscalation == false then ["--security-opt=no-new-privileges"] else [] end)
      + ($envs | map("--env=\(.key)=\(.value)"))
      + [($c.volumeMounts // [])[] | $vols[.name] as $v
          | if $v.hostPath then "--volume=\($host)\($v.hostPath.path):\(.mountPath)\(if .readOnly then ":ro" else "" end)"
            elif $v.emptyDir then "--tmpfs=\(.mountPath)"
            else error("unsupported volume \(.name)") end]
      + ["--entrypoint=\($c.command[0] | expand)", $c.image]
      + ([$c.command[1:][], ($c.args // [])[]] | map(expand))
    | .[]' <<<"$1"
}

# pod_host_paths RENDERED: every hostPath of the DaemonSet, one per line.
pod_host_paths() {
  jq -r '.[] | select(.kind == "DaemonSet") | .spec.template.spec.volumes[] | .hostPath.path // empty' <<<"$1"
}
