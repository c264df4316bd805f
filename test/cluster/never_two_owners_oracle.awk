# The oracle of never_two_owners.sh. Input, one fact a line (owners are etcd owner
# keys, "vm:ns/name#if" or "pod:<container>#if"):
#   live IP OWNER SOURCE        an attachment: a live plugin ADD result or a SQLite row
#   ack IP OWNER                a binding acknowledged by ADD and not released since
#   etcd addr IP OWNER          etcd: address key
#   etcd owner OWNER NODE IPS   etcd: owner key (IPS comma separated)
#   etcd attach KEY NODE OWNER  etcd: attachment key (the address comes from OWNER's key)
# Prints every violation and exits 1 if there is one.
function attach(ip, owner, source) {
  if (!((ip, owner) in seen)) {
    seen[ip, owner] = 1
    owners[ip] = owners[ip] " " owner
    count[ip]++
  }
  where[ip, owner] = where[ip, owner] " " source
}
$1 == "live" { attach($2, $3, $4) }
$1 == "ack" { ack[$3] = $2 }
$1 == "etcd" && $2 == "addr" { addr[$3] = $4 }
$1 == "etcd" && $2 == "owner" { bound[$3] = $5 }
$1 == "etcd" && $2 == "attach" { attached[$3] = $5 }
END {
  for (key in attached) {
    owner = attached[key]
    if (!(owner in bound)) continue # released: the address is unknown to etcd
    n = split(bound[owner], ips, ",")
    for (i = 1; i <= n; i++) attach(ips[i], owner, "etcd:attach/" key)
  }
  bad = 0
  for (ip in count) {
    if (count[ip] < 2) continue
    msg = "DUPLICATE " ip " attached to"
    split(substr(owners[ip], 2), list, " ")
    for (i in list) msg = msg " [" list[i] " by" where[ip, list[i]] "]"
    print msg
    bad = 1
  }
  for (owner in ack) {
    if (!(owner in bound)) {
      print "LOST " owner ": acknowledged " ack[owner] ", no owner key in etcd"
      bad = 1
    } else if (bound[owner] != ack[owner]) {
      print "LOST " owner ": acknowledged " ack[owner] ", etcd binds " bound[owner]
      bad = 1
    } else if (addr[ack[owner]] != owner) {
      print "LOST " owner ": etcd's address key " ack[owner] " names [" addr[ack[owner]] "]"
      bad = 1
    }
  }
  exit bad
}
