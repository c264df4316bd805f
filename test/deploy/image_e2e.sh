#!/usr/bin/env bash
# Issue 14 end to end: build the image with scripts/image, run the rendered DaemonSet's
# init container and daemon container with podman exactly as the manifest says, a
# scratch directory standing in for the node's root, then drive bridge + the
# installed plugin through libcni against the containerized daemon's socket:
#  - the init container installs the plugin atomically (checksum, no temp file left)
#  - the probes answer; a stale socket file does not stop the daemon
#  - a VM keeps its address across pod re-creation, also across a daemon pod re-creation
#  - SIGTERM stops the daemon container within the grace period, exit 0
#  - the image holds exactly the four executables, the loader and the shared libraries
#    their DT_NEEDED closure names (no shell), and its daemon has Kubernetes mode: with
#    the fixture API server's kubeconfig it names a VM from its virt-launcher pod
# Podman keeps its images and containers under the test's temp dir (removed at exit).
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"
# shellcheck source=lib_deploy.sh
source "$(dirname "$0")/lib_deploy.sh"
# shellcheck source=../kubernetes/fixture/fixture.sh
source "$(dirname "$0")/../kubernetes/fixture/fixture.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed"; exit 77; }
command -v podman >/dev/null || die "podman missing: run scripts/install-deps"

HOST=$T/host
export VMIP_PODMAN_ARGS="--root $T/podman/root --runroot $T/podman/run --runtime runc --cgroup-manager cgroupfs"
# shellcheck disable=SC2206  # a list of flags
PODMAN=(podman $VMIP_PODMAN_ARGS)
# This host refuses podman's default rlimits; these are below its hard limits.
RUN_FLAGS=(--ulimit nofile=16384:16384 --ulimit nproc=4096:4096)
POD_NET=none   # the daemon container's network; host only to reach the fixture API server
POD_VOLUMES=() # extra volumes of the daemon container
CTR=vmipd-$$
podman_cleanup() {
  "${PODMAN[@]}" rm -f -t 0 "$CTR" >/dev/null 2>&1
  "${PODMAN[@]}" rmi -f "$TAG" >/dev/null 2>&1
}
deploy_cleanup() {
  local rc=$?
  set +e
  podman_cleanup
  fixture_stop
  (exit "$rc")
  cleanup # lib.sh's: reports, removes netns and $T, exits with rc
}
trap deploy_cleanup EXIT
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

echo "# scripts/image"
TAG=$("$SRC/scripts/image" --print-tag)
start=$(date +%s%N)
RC=0
VMIP_BUILD_DIR=$VMIP_BIN_DIR "$SRC/scripts/image" >"$T/image.out" 2>&1 || RC=$?
echo "# scripts/image took $(ms_since "$start") ms"
expect_eq "scripts/image succeeds" 0 "$RC"
((RC == 0)) || { cat "$T/image.out" >&2; finish; }
expect_eq "the image carries the bundle's tag" "$TAG" "$(tail -n 1 "$T/image.out")"
expect_eq "FROM scratch: one layer, nothing underneath" 1 \
  "$("${PODMAN[@]}" image inspect --format '{{len .RootFS.Layers}}' "$TAG")"
echo "# image size: $("${PODMAN[@]}" image inspect --format '{{.Size}}' "$TAG") bytes"

# elf_closure ROOT FILE...: FILE... (paths inside ROOT), their program interpreter and
# every library their DT_NEEDED entries name, transitively, each looked up in the
# loader's default directories under ROOT (the loader's own name is the loader, as it
# is already loaded); "MISSING name" for one that is not there.
elf_closure() {
  local root=$1 f lib d found interp=
  shift
  local -a queue=("$@")
  local -A seen=()
  while ((${#queue[@]})); do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -z ${seen[$f]:-} ]] || continue
    seen[$f]=1
    echo "$f"
    [[ -f $root$f ]] || continue
    lib=$(readelf -l "$root$f" 2>/dev/null | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
    [[ -z $lib ]] || { interp=$lib; queue+=("$lib"); }
    while read -r lib; do
      found=
      [[ -z $interp || $lib != "${interp##*/}" ]] || found=$interp
      for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib /usr/lib; do
        [[ -f $root$d/$lib ]] && { found=$d/$lib; break; }
      done
      queue+=("${found:-MISSING $lib}")
    done < <(readelf -d "$root$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
  done
}
echo "# the image's files: the executables, the loader and the libraries they need, nothing else"
MNT=$("${PODMAN[@]}" image mount "$TAG")
find "$MNT" -mindepth 1 ! -type d -printf '/%P %y\n' | sort >"$T/image.files"
EXES=(/usr/bin/vmip-leased /usr/bin/vmipctl /usr/bin/vmip-install-plugin /opt/vmip/bin/vmip)
WANT_FILES=$(elf_closure "$MNT" "${EXES[@]}" | sort)
"${PODMAN[@]}" image unmount "$TAG" >/dev/null
expect_eq "image files = the executables + their loader and DT_NEEDED closure" "$WANT_FILES" \
  "$(cut -d' ' -f1 "$T/image.files")"
expect_eq "every file is a regular file (no symlinks)" "" "$(grep -v ' f$' "$T/image.files" || true)"
expect_eq "no shell in the image" "" "$(grep -E '/(ba|da)?sh ' "$T/image.files" || true)"
echo "# $(wc -l <"$T/image.files") files in the image"
RC=0
"${PODMAN[@]}" run --rm --network none "${RUN_FLAGS[@]}" "$TAG" /usr/bin/vmip-leased --help >"$T/help.out" 2>&1 || RC=$?
expect_eq "the image's vmip-leased runs (--help)" 0 "$RC"
expect_match "it has Kubernetes mode (--kubernetes)" '--kubernetes' "$(cat "$T/help.out")"

R=$(render_json "$BUNDLE")
DAEMON_NAME=$(jq -r '.[] | select(.kind == "DaemonSet") | .spec.template.spec.containers[0].name' <<<"$R")
GRACE=$(jq -r '.[] | select(.kind == "DaemonSet") | .spec.template.spec.terminationGracePeriodSeconds' <<<"$R")
probe() { # liveness|readiness: the probe's HTTP GET, made as the kubelet makes it (to the
  # pod's address, here the container's loopback: pod_run_args gives POD_IP 127.0.0.1);
  # sets RC (0: 2xx/3xx, as the kubelet counts success)
  local path port pid
  path=$(jq -r ".[] | select(.kind == \"DaemonSet\") | .spec.template.spec.containers[0].${1}Probe.httpGet.path" <<<"$R")
  port=$(jq -r ".[] | select(.kind == \"DaemonSet\") | .spec.template.spec.containers[0] as \$c
    | \$c.${1}Probe.httpGet.port as \$p | \$c.ports[] | select(.name == \$p) | .containerPort" <<<"$R")
  pid=$("${PODMAN[@]}" inspect --format '{{.State.Pid}}' "$CTR" 2>/dev/null || echo 0)
  RC=0
  ((pid > 0)) && nsenter -t "$pid" -n curl -fsS --max-time 5 "http://127.0.0.1:$port$path" >"$T/probe.out" 2>&1 || RC=$?
}
run_init() {
  local args
  mapfile -t args < <(pod_run_args "$R" initContainers install-plugin "$HOST" "$NODE_NAME")
  RC=0
  "${PODMAN[@]}" run --rm --network none "${RUN_FLAGS[@]}" "${args[@]}" >"$T/init.out" 2>&1 || RC=$?
}
start_pod() { # [DAEMON ARGS...]: the daemon container, detached; waits (20 s at most) for readiness
  local args i
  mapfile -t args < <(pod_run_args "$R" containers "$DAEMON_NAME" "$HOST" "$NODE_NAME")
  "${PODMAN[@]}" run -d --name "$CTR" --network "$POD_NET" "${RUN_FLAGS[@]}" "${POD_VOLUMES[@]}" \
    "${args[@]}" "$@" >/dev/null
  for ((i = 0; i < 100; i++)); do
    probe readiness
    ((RC == 0)) && return 0
    sleep 0.2
  done
  "${PODMAN[@]}" logs "$CTR" >&2
  die "daemon container not ready after 20 s: $(cat "$T/probe.out")"
}
stop_pod() { # as the kubelet: SIGTERM, SIGKILL after the grace period; sets STOP_MS, STOP_RC
  local t0
  t0=$(date +%s%N)
  "${PODMAN[@]}" stop --time "$GRACE" "$CTR" >/dev/null
  STOP_MS=$(ms_since "$t0")
  STOP_RC=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$CTR")
  "${PODMAN[@]}" logs "$CTR" >>"$LOG" 2>&1
  "${PODMAN[@]}" rm "$CTR" >/dev/null
}

echo "# the node: hostPaths under $HOST; the runtime's CNI bin dir already has bridge and an old vmip"
while read -r p; do mkdir -p "$HOST$p"; done < <(pod_host_paths "$R")
BIN=$HOST/opt/cni/bin
for p in bridge host-local loopback; do ln -s "/usr/lib/cni/$p" "$BIN/$p"; done
echo 'an older plugin' >"$BIN/vmip"
touch "$BIN/.vmip-install.AbC123" # left by an install that was killed
rm -rf "$T/cnibin"
ln -s "$BIN" "$T/cnibin" # drive() runs plugins from $T/cnibin
WANT_SHA=$(sha256sum <"$VMIP" | cut -d' ' -f1)

run_init
expect_eq "init container exits 0" 0 "$RC"
expect_eq "installed plugin has the build's sha256" "$WANT_SHA" "$(sha256sum <"$BIN/vmip" | cut -d' ' -f1)"
expect_match "installer reports the checksum" "installed /host/cni-bin/vmip sha256 $WANT_SHA" "$(cat "$T/init.out")"
expect_eq "installed plugin is executable (0755)" 755 "$(stat -c %a "$BIN/vmip")"
expect_eq "no temporary file left in the bin dir" "" "$(find "$BIN" -name '.vmip-install*' -printf '%f ')"
run_init
expect_eq "init container again (pod re-created): exit 0" 0 "$RC"
expect_match "second install sees the same plugin and leaves it" "already sha256 $WANT_SHA" "$(cat "$T/init.out")"

echo "# a stale socket file from a killed daemon is in the way"
SOCK=$HOST/run/vmip/leased.sock
SPOOL=$HOST/var/lib/vmip/spool
DB=$HOST/var/lib/vmip/leases.db
"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK"
start_pod
expect_eq "readiness probe passes (database open)" 0 "$RC"
probe liveness
expect_eq "liveness probe passes" 0 "$RC"
expect_eq "host sees the daemon's socket" "$NODE_NAME" "$(ctl status --json | jq -r .node)"

echo "# VM default/vm1 through the sample conflist (paths under the host dir)"
setup_node_ns
for ns in A B C; do mk_netns "$ns"; done
BR=vmipd$$
jq --arg h "$HOST" --arg br "${BR:0:15}" '.plugins[0].bridge = $br
  | .plugins[0].ipam.socket = $h + .plugins[0].ipam.socket
  | .plugins[0].ipam.spoolDir = $h + .plugins[0].ipam.spoolDir
  | .plugins[0].ipam.ranges |= .[:1]' "$SRC/deploy/10-vmnet.conflist" >"$T/vmnet.conflist"
k8s_args() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$1;K8S_POD_INFRA_CONTAINER_ID=$2"; }
drive add "$T/vmnet.conflist" A cid-a --args "$(k8s_args virt-launcher-vm1-abcde cid-a)"
expect_rc "ADD vm1, pod 1" 0
VM_CIDR=$(jq -r '.ips[0].address' <<<"$OUT")
expect_match "vm1 address from the sample pool" '^10\.250\.0\.[0-9]+/24$' "$VM_CIDR"
expect_eq "netns A has it" "$VM_CIDR" "$(ns_addrs A eth0)"
drive del "$T/vmnet.conflist" A cid-a --args "$(k8s_args virt-launcher-vm1-abcde cid-a)"
expect_rc "DEL vm1, pod 1" 0
drive add "$T/vmnet.conflist" B cid-b --args "$(k8s_args virt-launcher-vm1-fghij cid-b)"
expect_rc "ADD vm1, pod 2" 0
expect_eq "vm1 keeps its address in the re-created pod" "$VM_CIDR" "$(jq -r '.ips[0].address' <<<"$OUT")"

echo "# the daemon pod is re-created (rolling update): SIGTERM, init again, new daemon"
stop_pod
expect_eq "daemon container exits 0 on SIGTERM" 0 "$STOP_RC"
expect_eq "stopped well within the ${GRACE} s grace period (< 10 s)" yes "$( ((STOP_MS < 10000)) && echo yes || echo "no: $STOP_MS ms")"
echo "# stopped in $STOP_MS ms"
expect_eq "socket removed on a clean stop" no "$([[ -e $SOCK ]] && echo yes || echo no)"
expect_eq "database stays on the host" yes "$([[ -s $DB ]] && echo yes || echo no)"
expect_eq "plugin still installed while no daemon runs" "$WANT_SHA" "$(sha256sum <"$BIN/vmip" | cut -d' ' -f1)"
drive del "$T/vmnet.conflist" B cid-b --args "$(k8s_args virt-launcher-vm1-fghij cid-b)"
expect_rc "DEL vm1, pod 2 while the daemon is down (spooled)" 0
run_init
expect_eq "init container of the new pod: exit 0" 0 "$RC"
start_pod
drive add "$T/vmnet.conflist" C cid-c --args "$(k8s_args virt-launcher-vm1-klmno cid-c)"
expect_rc "ADD vm1, pod 3, new daemon pod" 0
expect_eq "vm1 keeps its address across the daemon pod re-creation" "$VM_CIDR" "$(jq -r '.ips[0].address' <<<"$OUT")"
expect_eq "the spooled DEL was replayed: only pod 3 attached" '["cid-c"]' \
  "$(lease_field default/vm1 '[.attachments[].container_id]')"
RC=0
ctl check >"$T/check.out" 2>&1 || RC=$?
expect_eq "vmipctl check: consistent" 0 "$RC"

stop_pod
expect_eq "second daemon container exits 0 on SIGTERM" 0 "$STOP_RC"

echo "# Kubernetes mode: the image's daemon names a VM from its virt-launcher pod (fixture API server)"
# shellcheck disable=SC2119  # no serve options
fixture_start
VMPOD=$(fixture_ctl create-vm default vmk8s)
POD_NET=host # the fixture listens on the host's 127.0.0.1
POD_VOLUMES=(--volume="$FIXTURE_KUBECONFIG:/etc/vmip/kubeconfig:ro")
start_pod --kubernetes --kubeconfig /etc/vmip/kubeconfig
expect_eq "vmipctl status names the API server" "$FIXTURE_URL" "$(ctl status --json | jq -r .kubernetes.server)"
mk_netns D
drive add "$T/vmnet.conflist" D cid-d --args "$(k8s_args "$VMPOD" cid-d)"
expect_rc "ADD of $VMPOD with no VM name in the args" 0
expect_eq "its lease: VM vmk8s named by the API, with the VM's UID" \
  "[\"vm\",\"kubernetes\",\"$(fixture_ctl get vm default vmk8s | jq -r .metadata.uid)\"]" \
  "$(lease_field default/vmk8s '[.owner_kind, .identity_source, .owner_uid]')"
drive del "$T/vmnet.conflist" D cid-d --args "$(k8s_args "$VMPOD" cid-d)"
expect_rc "DEL of $VMPOD" 0
stop_pod
expect_eq "Kubernetes-mode daemon container exits 0 on SIGTERM" 0 "$STOP_RC"
finish
