#!/usr/bin/env bash
# Property test "never two owners": a real 3-member etcd cluster and 3 vmip-leased
# nodes (each pair in its own netns on a private 10.253.0.0/24 test bridge, in a hub
# netns) run a seeded random mix of VM start/stop/migrate (success and failure),
# release on any node (the right one or a stale one), pod churn, requested addresses,
# daemon kill -9 + restart and one node partitioned. After every step an oracle
# (oracle.awk) checks:
#   - no address attached to two different owners at once, across every live node's
#     SQLite attachments, the etcd attach keys and the plugin's live ADD results;
#   - every acknowledged binding (ADD answered OK, not since released with success)
#     is in etcd with the acknowledged address; a running VM keeps its address;
#   - `vmipctl check` exits 0 on every reachable node.
# The plugin is exec'd directly against each node's socket (as cluster.sh does), not
# through libcni + bridge: there is no interface whose addresses could be checked.
# Refused or failed calls (release on the old node, exhausted pool, held requested
# address, code 11 while a node is cut off) are legitimate outcomes, not failures.
#
#   never_two_owners.sh [--seconds S] [--round-seconds R] [--seed N|time]... [--without ACTION]...
# Each seed runs one round of at most R seconds on a fresh network (same cluster) until
# S seconds are used; rounds past the listed seeds use seed+1, ... A round stops at its
# first violation. The seed replays the choices; timings (etcd, the daemons' refresh)
# may still differ between runs. ACTION: start stop migrate release pod request kill cut;
# --without check leaves vmipctl check out of the per-step oracle (it still runs at the end).
source "$(dirname "$0")/../e2e/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

TOTAL_SECONDS=60 ROUND_SECONDS=60 MAX_STEPS=100000 SEEDS=() WITHOUT=" "
while (($#)); do
  case $1 in
    --seconds) TOTAL_SECONDS=$2 ;;
    --round-seconds) ROUND_SECONDS=$2 ;;
    --max-steps) MAX_STEPS=$2 ;;
    --seed) SEEDS+=("$([[ $2 == time ]] && echo $(($(date +%s%N) / 1000 % 1000000)) || echo "$2")") ;;
    --without) WITHOUT+="$2 " ;;
    *) die "unknown argument $1" ;;
  esac
  shift 2
done
((${#SEEDS[@]})) || SEEDS=($(($(date +%s%N) / 1000 % 1000000)))

VMS=8       # VM names vm0..vm7 (short, so identity is never a cut name)
MAX_PODS=3  # ordinary pods alive at once
POOL_LO=10 POOL_HI=19 # 10 addresses: reuse of a freed address comes quickly
source "$HERE/never_two_owners_cluster.sh"

# ---- the model: what the test was told by the plugin and vmipctl ----
declare -A POD_NODE POD_IP POD_OWNER POD_NAME VM_ACK VM_PODS # VM_PODS: VM name -> live pods
SICK=0 SICK_KIND='' SICK_UNTIL=0 # the one node that is down or cut off, and until when
STEP=0 SEQ=0 ROUND_STEPS=0 ROUND_FAILED=0
TRACE=()

# The choices come from this generator alone (bash reseeds $RANDOM in subshells):
# rnd N sets R to a number in [0, N). Never call it inside $(...).
rnd() {
  RNG=$(((RNG * 1103515245 + 12345) % 2147483648))
  R=$(((RNG >> 8) % $1))
}
note() { # one line of the trace; the last lines are printed on a violation
  TRACE+=("$STEP $*")
  echo "$SEED $STEP $*" >>"$T/trace.log"
  ((${#TRACE[@]} <= 40)) || TRACE=("${TRACE[@]:1}")
}
vm_of() { local v=${1#vm:default/}; echo "${v%#eth0}"; } # OWNER -> VM name
live_pods_of() { # OWNER: the container IDs of its live pods
  local c
  for c in "${!POD_OWNER[@]}"; do [[ ${POD_OWNER[$c]} == "$1" ]] && echo "$c"; done | sort
}
node_ok() { ((SICK != $1)); }
pick_node() { # sets N: a node that is neither down nor cut off, other than $1
  while :; do rnd 3; N=$((R + 1)); ((N != ${1:-0})) && node_ok "$N" && return; done
}
new_cid() { SEQ=$((SEQ + 1)); CID=c$SEED-$SEQ; }
suffix() { # 5 letters from the sequence number, as a virt-launcher pod name ends
  local s=$SEQ i x='' abc=abcdefghijklmnopqrstuvwxyz
  for ((i = 0; i < 5; i++)); do x+=${abc:s % 26:1} s=$((s / 26)); done
  echo "$x"
}

# ADD: on success, records the live pod and checks the address against the ack.
add() { # NODE CID OWNER PODNAME [EXTRA_CNI_ARGS]
  local n=$1 cid=$2 owner=$3 pod=$4 ip
  cni ADD "n$n" "$cid" "$pod" "${5:-}"
  if ((RC != 0)); then
    note "ADD $owner on n$n ($cid) refused: $(jq -c '{code, msg}' <<<"$OUT" 2>/dev/null || echo "$OUT")"
    return 1
  fi
  ip=$(jq -r '.ips[0].address | split("/")[0]' <<<"$OUT")
  note "ADD $owner on n$n ($cid) -> $ip"
  POD_NODE[$cid]=$n POD_IP[$cid]=$ip POD_OWNER[$cid]=$owner POD_NAME[$cid]=$pod
  if [[ $owner == vm:* ]]; then
    VM_PODS[$(vm_of "$owner")]=$((${VM_PODS[$(vm_of "$owner")]:-0} + 1))
    if [[ -n ${VM_ACK[$owner]:-} && ${VM_ACK[$owner]} != "$ip" && -z ${5:-} ]]; then
      violation "$owner was acknowledged ${VM_ACK[$owner]}, ADD on n$n returned $ip"
    fi
    VM_ACK[$owner]=$ip
  fi
}
del() { # CID
  local cid=$1 n=${POD_NODE[$1]}
  cni DEL "n$n" "$cid" "${POD_NAME[$cid]}"
  note "DEL ${POD_OWNER[$cid]} on n$n ($cid) rc=$RC"
  ((RC == 0)) || violation "DEL of $cid on n$n failed: $OUT"
  [[ ${POD_OWNER[$cid]} == vm:* ]] && VM_PODS[$(vm_of "${POD_OWNER[$cid]}")]=$((VM_PODS[$(vm_of "${POD_OWNER[$cid]}")] - 1))
  unset "POD_NODE[$cid]" "POD_IP[$cid]" "POD_OWNER[$cid]" "POD_NAME[$cid]"
}
violation() {
  ROUND_FAILED=$((ROUND_FAILED + 1))
  fail "seed $SEED step $STEP: $*"
  echo "$SEED $STEP VIOLATION $*" >>"$T/trace.log"
}

# ---- the actions ----
pick_vm() { # idle|running|one|any: sets VM and OWNER to such a VM; 1 if there is none
  local v c fits=()
  for ((v = 0; v < VMS; v++)); do
    c=${VM_PODS[vm$v]:-0}
    case $1 in idle) ((c == 0)) ;; running) ((c > 0)) ;; one) ((c == 1)) ;; *) true ;; esac && fits+=("vm$v")
  done
  ((${#fits[@]})) || return 1
  rnd ${#fits[@]}
  VM=${fits[$R]} OWNER=vm:default/${fits[$R]}#eth0
}
act_start() { # a VM without a live pod starts on some node, maybe asking for an address
  local extra=''
  pick_vm idle || return 0
  rnd 3; local n=$((R + 1))
  [[ ${1:-} == request ]] && { rnd $((POOL_HI - POOL_LO + 1)); extra="IP=10.254.0.$((POOL_LO + R))"; }
  new_cid
  add "$n" "$CID" "$OWNER" "virt-launcher-$VM-$(suffix)" "$extra" || true
}
act_stop() { # a running VM's pod goes (on a down node the DEL is spooled)
  local cids
  pick_vm running || return 0
  mapfile -t cids < <(live_pods_of "$OWNER")
  rnd ${#cids[@]}; del "${cids[$R]}"
}
act_migrate() { # a VM with one pod gets a target pod elsewhere; then one of the two goes
  local cids src tgt
  pick_vm one || return 0
  mapfile -t cids < <(live_pods_of "$OWNER")
  src=${cids[0]}
  pick_node "${POD_NODE[$src]}"
  new_cid; tgt=$CID
  add "$N" "$tgt" "$OWNER" "virt-launcher-$VM-$(suffix)" || return 0
  [[ ${POD_IP[$tgt]} == "${POD_IP[$src]}" ]] ||
    violation "$OWNER runs on ${POD_IP[$src]} and its migration target got ${POD_IP[$tgt]}"
  rnd 2
  if ((R)); then del "$src"; else del "$tgt"; fi
}
copies_of() { # VM: the reachable nodes whose SQLite holds a lease of it (space separated)
  local i
  for i in 1 2 3; do
    node_ok "$i" || continue
    [[ $(sqlite3 "$T/n$i.db" "select count(*) from leases where network = '$NET' and owner = 'default/$1'") == 0 ]] || echo "$i"
  done | paste -sd' '
}
act_release() { # vmipctl release on a node that holds a copy (right or stale), or any node
  local cids c rc=0 nodes n where=''
  rnd 2
  if ((R)); then pick_vm running || return 0; else pick_vm any; fi
  mapfile -t cids < <(live_pods_of "$OWNER")
  # A VM running on a node that is down or cut off looks gone to the cluster (its
  # etcd lease expires): releasing it then is the documented node-loss rule, not tested.
  for c in "${cids[@]}"; do node_ok "${POD_NODE[$c]}" || return 0; where+="n${POD_NODE[$c]} "; done
  read -ra nodes <<<"$(copies_of "$VM")"
  rnd 4
  if ((${#nodes[@]} && R)); then rnd ${#nodes[@]}; n=${nodes[$R]}; else pick_node; n=$N; fi
  nctl "n$n" release --vm "default/$VM" --network "$NET" >"$T/release.out" 2>&1 || rc=$?
  note "release $OWNER on n$n (copies on: ${nodes[*]:-none}; running on: ${where:-none}) rc=$rc: $(head -c 200 "$T/release.out" | tr '\n' ' ')"
  ((rc == 0)) && unset "VM_ACK[$OWNER]"
  return 0
}
act_pod() { # ordinary pod churn
  local cids
  mapfile -t cids < <(for c in "${!POD_OWNER[@]}"; do [[ ${POD_OWNER[$c]} == pod:* ]] && echo "$c"; done | sort)
  rnd 2
  if ((${#cids[@]} >= MAX_PODS || (${#cids[@]} > 0 && R))); then
    rnd ${#cids[@]}; del "${cids[$R]}"
  else
    rnd 3; new_cid
    add $((R + 1)) "$CID" "pod:$CID#eth0" "pod-$CID" || true
  fi
}
act_sick() { # KIND: kill -9 one daemon, or cut one node off the bridge, for a few steps
  ((SICK == 0)) || return 0
  rnd 3; SICK=$((R + 1)) SICK_KIND=$1
  rnd 10; SICK_UNTIL=$((STEP + 3 + R))
  note "$1 n$SICK until step $SICK_UNTIL"
  if [[ $1 == kill ]]; then kill_node "$SICK"; else cut_node "$SICK"; fi
}
heal() {
  ((SICK != 0 && STEP >= SICK_UNTIL)) || return 0
  local n=$SICK
  note "heal n$n ($SICK_KIND)"
  if [[ $SICK_KIND == kill ]]; then start_node "$n"; else join_node "$n"; fi
  SICK=0
  wait_registered "$n" || violation "n$n's attachments not back in etcd 15 s after it came back"
}
wait_registered() { # NODE: its live pods' attach keys are in etcd again
  local k c want have
  want=$(for c in "${!POD_NODE[@]}"; do ((POD_NODE[$c] == $1)) && echo "$c#eth0"; done | sort)
  [[ -n $want ]] || return 0
  for ((k = 0; k < 150; k++)); do
    have=$(etcdctl_ get --prefix "/vmip/v1/attach/$NET/" --keys-only 2>/dev/null | sed -n "s|^/vmip/v1/attach/$NET/||p" | sort)
    [[ -z $(comm -23 <(echo "$want") <(echo "$have")) ]] && return 0
    sleep 0.1
  done
  return 1
}

# Weights: VMs run long enough (few stops) for a wrong release to meet a new owner.
ACTIONS=(start start start start stop stop migrate migrate migrate release release release
  pod pod pod pod request kill cut)
one_step() {
  rnd ${#ACTIONS[@]}
  local a=${ACTIONS[$R]}
  [[ $WITHOUT == *" $a "* ]] && return 0
  case $a in
    start) act_start ;; request) act_start request ;; stop) act_stop ;;
    migrate) act_migrate ;; release) act_release ;; pod) act_pod ;;
    kill | cut) act_sick "$a" ;;
  esac
}

# ---- the oracle ----
oracle() { # prints violations; returns 1 if any
  local i snapshot=$T/oracle.in c o k
  for ((k = 0; k < 20; k++)); do # a leader election may be under way: 10 s at most
    etcdctl_ get --prefix "/vmip/v1/" -w json >"$T/etcd.json" 2>"$T/etcdctl.err" && break
    sleep 0.5
  done
  ((k < 20)) || { echo "etcd unreadable for 10 s: $(tail -c 300 "$T/etcdctl.err")"; return 1; }
  {
    for c in "${!POD_NODE[@]}"; do
      echo "live ${POD_IP[$c]} ${POD_OWNER[$c]} plugin:n${POD_NODE[$c]}/$c"
      [[ ${POD_OWNER[$c]} == pod:* ]] && echo "ack ${POD_IP[$c]} ${POD_OWNER[$c]}"
    done
    for o in "${!VM_ACK[@]}"; do echo "ack ${VM_ACK[$o]} $o"; done
    for i in 1 2 3; do
      [[ $SICK == "$i" && $SICK_KIND == kill ]] && continue # frozen: its spool replays at start
      sqlite3 -separator ' ' "$T/n$i.db" "select 'live', a.ip, l.owner_kind || ':' || l.owner || '#' || l.ifname,
        'sqlite:n$i/' || t.container_id from attachments t join leases l on l.id = t.lease_id
        join addresses a on a.lease_id = l.id where t.network = '$NET'"
    done
    jq -r --arg net "$NET" '.kvs[]? | [(.key | @base64d), (.value | @base64d)] |
      "etcd \(.[0] | ltrimstr("/vmip/v1/") | sub("/" + $net + "/"; " ")) \(.[1])"' "$T/etcd.json" | grep "^etcd [a-z]* " || true
  } >"$snapshot"
  awk -f "$HERE/never_two_owners_oracle.awk" "$snapshot" || return 1
  for i in 1 2 3; do
    if ! node_ok "$i" || [[ $WITHOUT == *" check "* ]]; then continue; fi
    check_node "$i" || return 1
  done
}
FAILED_NETS=none
check_node() { # NODE: vmipctl check, but problems of networks whose round failed already
  local rc=0 problems
  nctl "n$1" check >"$T/check.out" 2>&1 || rc=$?
  ((rc != 0)) || return 0
  problems=$(grep '^PROBLEM' "$T/check.out" || true)
  [[ -n $problems ]] || problems=$(<"$T/check.out")
  problems=$(grep -vE "^PROBLEM: (${FAILED_NETS// /|}):" <<<"$problems" || true)
  [[ -z $problems ]] && return 0
  echo "vmipctl check on n$1 (exit $rc): ${problems:0:600}"
  return 1
}

run_round() { # SEED SECONDS
  SEED=$1 NET=net$1 RNG=$1 ROUND_STEPS=0 ROUND_FAILED=0 TRACE=()
  POD_NODE=() POD_IP=() POD_OWNER=() POD_NAME=() VM_ACK=() VM_PODS=()
  local deadline=$((SECONDS + $2)) out
  echo "# round: seed $SEED, network $NET, at most $2 s (replay: --seed $SEED)"
  while ((SECONDS < deadline && ROUND_STEPS < MAX_STEPS && ROUND_FAILED == 0)); do
    STEP=$((STEP + 1)) ROUND_STEPS=$((ROUND_STEPS + 1))
    heal
    one_step
    out=$(oracle) || violation "oracle: $out"
  done
  SICK_UNTIL=0 && heal
  ((ROUND_FAILED == 0)) && { out=$(oracle) || violation "oracle at the end: $out"; }
  if ((ROUND_FAILED)); then
    FAILED_NETS+=" $NET"
    echo "--- seed $SEED: the last steps before the violation" >&2
    printf '  %s\n' "${TRACE[@]}" >&2
  fi
  echo "# seed $SEED: $ROUND_STEPS steps, $ROUND_FAILED violation(s)"
}

setup_cluster
START=$SECONDS ROUNDS=0 DUPS=0 k=0
while ((SECONDS - START < TOTAL_SECONDS && k < 1000)); do
  seed=${SEEDS[$k]:-$((${SEEDS[-1]} + k - ${#SEEDS[@]} + 1))}
  left=$((TOTAL_SECONDS - (SECONDS - START)))
  run_round "$seed" $((left < ROUND_SECONDS ? left : ROUND_SECONDS))
  ROUNDS=$((ROUNDS + 1)) DUPS=$((DUPS + ROUND_FAILED)) k=$((k + 1))
done
((ROUNDS >= ${#SEEDS[@]})) || fail "only $ROUNDS of ${#SEEDS[@]} seeds ran in $TOTAL_SECONDS s"
for i in 1 2 3; do
  if out=$(check_node "$i"); then pass "n$i check ok at the end (but for: $FAILED_NETS)"; else fail "$out"; fi
done
echo "# never_two_owners: $STEP steps in $ROUNDS round(s) (seeds ${SEEDS[*]}...), $DUPS violation(s), $((SECONDS - START)) s"
((DUPS == 0)) && pass "no invariant violated in $STEP steps"
finish
