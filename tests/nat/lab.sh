#!/usr/bin/env bash
# tests/nat/lab.sh: the NAT lab. A small internet made of network namespaces that are linked
# only to each other (never to the host's own namespace), with two NAT routers and three hosts
# behind them, so the rendezvous and the peer meet real Linux NAT behaviour on one machine.
#
#   lab.sh up [--nat-a cone|symmetric] [--nat-b cone|symmetric] [--delay-ms N] [--loss-pct P]
#             [--dup-pct P] [--reorder-pct P] [--seed S]
#   lab.sh down                      remove exactly what `up` made, by name and by PID
#   lab.sh exec NODE CMD...          run CMD in NODE (inet rdv nata natb a a2 b); keeps the PID
#   lab.sh ns NODE                   print NODE's namespace name
#   lab.sh status                    what is up, with addresses, NAT rules and counters
#   lab.sh cut-rdv | restore-rdv     drop / pass traffic to and from rdv in both NAT routers
#   lab.sh flush-nat a|b             conntrack -F in that NAT router: every mapping is forgotten
#   lab.sh counters                  WAN fault counts so far, one JSON line (loss drops, forwarder)
#
# Topology (README.md draws it): `inet` is a router joining 203.0.113.0/24 (proxy ARP, so the
# others see one segment); `rdv` 203.0.113.10; `nata` WAN 203.0.113.1, LAN 192.168.77.1/25 with
# `a` .2 and `a2` .3 on a bridge inside nata; `natb` WAN 203.0.113.2, LAN 192.168.77.129/25 with
# `b` .130. Delay, duplication, reordering: this kernel has no netem, so `inet` routes every
# packet that arrives from a WAN link through a TUN device served by fault_forwarder.py, which
# writes it back N ms later, twice with probability --dup-pct, held back by an extra 5-40 ms
# with probability --reorder-pct (seeded by --seed). Loss: an iptables `statistic` DROP as each
# packet enters `inet`, so every datagram that crosses the internet is lost with probability
# P, exactly once, whatever its path (before the forwarder: a duplicate is never lost with it).
#
# State lives in $UCL_LAB_DIR (default /tmp/ucl-lab): the namespace prefix, the namespaces and
# PIDs made, the settings. Tests give each run its own directory and set UCL_LAB_OWNER to their
# PID, so a later `up` can sweep a lab whose test was killed (SIGKILL leaves no trap to run).
# Exit status 77 with a "SKIPPED: reason" line: the lab cannot run here (not root, no network
# namespaces, an address range already used by the host, tools missing).
# shellcheck disable=SC2015 # `[ test ] && [ test ] || continue` is meant: skip unless both hold
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
readonly LAB_DIR="${UCL_LAB_DIR:-/tmp/ucl-lab}"
readonly SKIP=77
readonly NODES="inet rdv nata natb a a2 b"
readonly INET_NET=203.0.113.0/24 LAN_NET=192.168.77.0/24
readonly RDV_IP=203.0.113.10 NATA_WAN=203.0.113.1 NATB_WAN=203.0.113.2 INET_IP=203.0.113.254
readonly FWD_TABLE=100 # routing table in `inet` that sends WAN packets through the fault TUN

log() { echo "lab: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}
skip() {
    echo "SKIPPED: $*"
    exit "$SKIP"
}
usage() {
    sed -n '6,15s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# ---- state ----

state_get() { [ -f "$LAB_DIR/$1" ] && cat "$LAB_DIR/$1" || true; }
PREFIX="" # the namespace prefix of the lab in $LAB_DIR, once known (load_prefix or up)
load_prefix() {
    [ -n "$PREFIX" ] && return 0
    PREFIX="$(state_get prefix)"
    [ -n "$PREFIX" ] || die "no lab is up in $LAB_DIR (run: lab.sh up)"
}
prefix() {
    load_prefix
    echo "$PREFIX"
}
ns() {
    load_prefix
    echo "$PREFIX$1"
}
in_ns() { # in_ns NODE CMD...: run CMD in NODE's namespace (no subshell: up runs ~150 of these)
    load_prefix
    local n="$1"
    shift
    ip netns exec "$PREFIX$n" "$@"
}

# ---- preflight ----

need_root() { [ "$(id -u)" = 0 ] || skip "the NAT lab needs root (network namespaces, iptables)"; }

ensure_tools() {
    local missing=()
    command -v ip >/dev/null || missing+=(iproute2)
    command -v iptables >/dev/null || missing+=(iptables)
    command -v conntrack >/dev/null || missing+=(conntrack)
    command -v python3 >/dev/null || missing+=(python3)
    [ "${#missing[@]}" = 0 ] && return 0
    # Nothing is installed at test time: scripts/test installs these up front (scripts/lib.sh).
    skip "missing ${missing[*]}: run scripts/test, or apt-get install ${missing[*]}"
}

# ip2int A.B.C.D
ip2int() {
    local IFS=.
    # shellcheck disable=SC2086 # split on dots on purpose
    set -- $1
    echo $((($1 << 24) | ($2 << 16) | ($3 << 8) | $4))
}

# overlaps NET1 NET2: true if the two CIDR ranges share an address.
overlaps() {
    local a="${1%/*}" al="${1#*/}" b="${2%/*}" bl="${2#*/}" len mask
    len=$((al < bl ? al : bl))
    mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
    [ "$len" = 0 ] && mask=0
    [ $(($(ip2int "$a") & mask)) = $(($(ip2int "$b") & mask)) ]
}

check_host_ranges() {
    local cidr
    for cidr in $(ip -o -4 addr show | awk '{print $4}'); do
        for ours in "$INET_NET" "$LAN_NET"; do
            if overlaps "$cidr" "$ours"; then
                skip "the host's own address $cidr overlaps the lab range $ours"
            fi
        done
    done
}

check_netns() {
    local probe="ucl-probe-$$"
    if ! ip netns add "$probe" 2>/dev/null; then
        skip "cannot create network namespaces (ip netns add failed)"
    fi
    local ok=1
    ip netns exec "$probe" iptables -t nat -L -n >/dev/null 2>&1 || ok=0
    ip netns del "$probe" 2>/dev/null || true
    [ "$ok" = 1 ] || skip "iptables NAT does not work in a network namespace here"
}

# ---- sweeping labs whose test died ----

# A lab made by a test records that test's PID as its owner; if that process is gone (a test
# killed by SIGKILL on timeout), nothing else will ever take the lab down, so the next `up`
# does. Labs made by hand have no owner and are never swept.
sweep_orphans() {
    local dir owner
    for dir in /tmp/ucl-lab /tmp/ucl-lab.*; do
        [ -d "$dir" ] && [ "$dir" != "$LAB_DIR" ] && [ -f "$dir/owner" ] || continue
        owner="$(cat "$dir/owner")"
        [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null || continue
        log "sweeping the lab of dead test PID $owner in $dir"
        UCL_LAB_DIR="$dir" "$0" down >&2 || true
    done
}

# ---- teardown ----

kill_pid() { # kill_pid PID: TERM, wait up to 2 s, then KILL
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 20); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cmd_down() {
    [ -d "$LAB_DIR" ] || return 0
    local pid name
    # Processes the lab started itself (the delay forwarder).
    if [ -f "$LAB_DIR/pids" ]; then
        while read -r pid; do [ -n "$pid" ] && kill_pid "$pid"; done <"$LAB_DIR/pids"
    fi
    # Anything still running inside our namespaces (a test that died before stopping what it
    # started there): found by namespace, stopped by PID. Deleting a namespace's name does not
    # end it while a process lives in it.
    if [ -f "$LAB_DIR/namespaces" ]; then
        while read -r name; do
            [ -n "$name" ] && [ -e "/run/netns/$name" ] || continue
            for pid in $(ip netns pids "$name" 2>/dev/null); do kill_pid "$pid"; done
        done <"$LAB_DIR/namespaces"
        while read -r name; do
            [ -n "$name" ] && [ -e "/run/netns/$name" ] || continue
            ip netns del "$name" || log "could not delete namespace $name"
        done <"$LAB_DIR/namespaces"
    fi
    rm -rf "$LAB_DIR"
}

# ---- build ----

add_ns() { # add_ns NODE: create the namespace, recorded before it exists
    local name="$PREFIX$1"
    echo "$name" >>"$LAB_DIR/namespaces"
    ip netns add "$name"
    in_ns "$1" ip link set lo up
    in_ns "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# veth NODE1 IF1 NODE2 IF2: a cable between two namespaces, made inside NODE1's (the host's
# own namespace never sees either end).
veth() {
    ip -n "$PREFIX$1" link add "$2" type veth peer name "$4" netns "$PREFIX$3"
    ip -n "$PREFIX$1" link set "$2" up
    ip -n "$PREFIX$3" link set "$4" up
}

# proxy_arp IF: `inet` answers ARP on IF for the addresses it routes elsewhere, so the WAN
# nodes see one 203.0.113.0/24 segment. proxy_delay=0: by default the kernel holds each proxy
# ARP reply back a random 0-0.8 s, which made the first datagrams of a run late or lost.
proxy_arp() {
    in_ns inet sysctl -qw "net.ipv4.conf.$1.proxy_arp=1" "net.ipv4.neigh.$1.proxy_delay=0"
}

# nat_router NODE WAN_IP LAN_GW LAN_NET KIND
nat_router() {
    local n="$1" wan="$2" gw="$3" lan="$4" kind="$5" masq=(-j MASQUERADE)
    [ "$kind" = symmetric ] && masq+=(--random-fully)
    veth inet "w-$n" "$n" wan
    in_ns "$n" ip addr add "$wan/24" dev wan
    in_ns "$n" ip route add default via "$INET_IP" dev wan onlink
    in_ns "$n" ip link add lan type bridge
    in_ns "$n" ip link set lan up
    in_ns "$n" ip addr add "$gw" dev lan
    in_ns "$n" sysctl -qw net.ipv4.ip_forward=1
    in_ns "$n" iptables -t nat -A POSTROUTING -o wan -s "$lan" "${masq[@]}"
    # cut-rdv fills this chain.
    in_ns "$n" iptables -N UCL-CUT
    in_ns "$n" iptables -A FORWARD -j UCL-CUT
    # A NAT passes in only replies to what went out: what arrives unsolicited is dropped
    # silently. Dropping it in the filter table also keeps it from leaving a conntrack entry
    # (an unsolicited punch would otherwise be confirmed as a connection, and the reply tuple
    # it holds would make MASQUERADE pick another port for the host's own punch outward).
    in_ns "$n" iptables -A FORWARD -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    in_ns "$n" iptables -A FORWARD -i wan -j DROP
    in_ns "$n" iptables -A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    in_ns "$n" iptables -A INPUT -i wan -p icmp --icmp-type echo-request -j ACCEPT
    in_ns "$n" iptables -A INPUT -i wan -j DROP
    # No hairpin: a LAN host sending to the router's public address gets silence.
    in_ns "$n" iptables -A INPUT -i lan -d "$wan" -p udp -j DROP
    in_ns inet ip addr add "$INET_IP/32" dev "w-$n"
    in_ns inet ip route add "$wan/32" dev "w-$n"
    proxy_arp "w-$n"
}

# lan_host NODE ROUTER IP/LEN GW
lan_host() {
    veth "$2" "p-$1" "$1" eth0
    in_ns "$2" ip link set "p-$1" master lan
    in_ns "$1" ip addr add "$3" dev eth0
    in_ns "$1" ip route add default via "$4"
}

# start_forwarder MS DUP_PCT REORDER_PCT SEED: every packet entering `inet` from a WAN link
# goes through fault_forwarder.py (delay, duplication, reordering), by policy routing into the
# TUN device `fwd`; the forwarder writes it back and the main table routes it on.
start_forwarder() {
    local ms="$1" dup="$2" reorder="$3" seed="$4" i
    in_ns inet ip tuntap add dev fwd mode tun
    # setsid: the forwarder outlives this script and ignores the terminal's Ctrl-C; it writes
    # its own PID, which `down` kills.
    setsid ip netns exec "$(ns inet)" python3 "$HERE/fault_forwarder.py" --dev fwd \
        --delay-ms "$ms" --dup-pct "$dup" --reorder-pct "$reorder" --seed "$seed" \
        --stats-file "$LAB_DIR/fault.stats" --pid-file "$LAB_DIR/fault.pid" \
        --ready-file "$LAB_DIR/fault.ready" </dev/null >>"$LAB_DIR/fault.log" 2>&1 &
    for i in $(seq 50); do
        [ -f "$LAB_DIR/fault.ready" ] && break
        sleep 0.1
    done
    [ -f "$LAB_DIR/fault.pid" ] && cat "$LAB_DIR/fault.pid" >>"$LAB_DIR/pids"
    [ -f "$LAB_DIR/fault.ready" ] ||
        die "the fault forwarder did not start: $(cat "$LAB_DIR/fault.log")"
    in_ns inet ip link set fwd up
    in_ns inet ip route add default dev fwd table "$FWD_TABLE"
    for i in w-nata w-natb w-rdv; do
        in_ns inet ip rule add iif "$i" lookup "$FWD_TABLE"
    done
}

on_up_exit() { # a failure half-way through `up` takes the half-built lab down
    local rc=$?
    if [ "$rc" != 0 ]; then
        log "up failed; tearing down"
        cmd_down
    fi
    exit "$rc"
}

cmd_up() {
    local nat_a=cone nat_b=cone delay=0 loss=0 dup=0 reorder=0 seed=1
    while [ $# -gt 0 ]; do
        case "$1" in
        --nat-a) nat_a="${2:-}" && shift 2 ;;
        --nat-b) nat_b="${2:-}" && shift 2 ;;
        --delay-ms) delay="${2:-}" && shift 2 ;;
        --loss-pct) loss="${2:-}" && shift 2 ;;
        --dup-pct) dup="${2:-}" && shift 2 ;;
        --reorder-pct) reorder="${2:-}" && shift 2 ;;
        --seed) seed="${2:-}" && shift 2 ;;
        *) usage ;;
        esac
    done
    for k in "$nat_a" "$nat_b"; do
        case "$k" in cone | symmetric) ;; *) die "NAT kind \"$k\": use cone or symmetric" ;; esac
    done
    [[ "$delay" =~ ^[0-9]+$ ]] && [ "$delay" -le 5000 ] ||
        die "--delay-ms \"$delay\": use a whole number of ms, 0-5000"
    [[ "$loss" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v p="$loss" 'BEGIN{exit !(p < 100)}' ||
        die "--loss-pct \"$loss\": use a percentage below 100"
    [[ "$dup" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v p="$dup" 'BEGIN{exit !(p <= 100)}' ||
        die "--dup-pct \"$dup\": use a percentage, 0-100"
    [[ "$reorder" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v p="$reorder" 'BEGIN{exit !(p <= 100)}' ||
        die "--reorder-pct \"$reorder\": use a percentage, 0-100"
    [[ "$seed" =~ ^[0-9]+$ ]] || die "--seed \"$seed\": use a whole number"

    need_root
    ensure_tools
    check_host_ranges
    check_netns
    sweep_orphans
    # Idempotent: a lab already up in this state directory is replaced by the one asked for.
    cmd_down

    mkdir -p "$LAB_DIR"
    # A fresh prefix for every lab: parallel and leftover labs never share a name.
    local p="ucl-$$-"
    while ip netns list | grep -q "^$p"; do p="ucl-$$-$RANDOM-"; done
    echo "$p" >"$LAB_DIR/prefix"
    PREFIX="$p"
    [ -n "${UCL_LAB_OWNER:-}" ] && echo "$UCL_LAB_OWNER" >"$LAB_DIR/owner"
    : >"$LAB_DIR/namespaces"
    : >"$LAB_DIR/pids"
    printf 'nat_a=%s\nnat_b=%s\ndelay_ms=%s\nloss_pct=%s\ndup_pct=%s\nreorder_pct=%s\nseed=%s\n' \
        "$nat_a" "$nat_b" "$delay" "$loss" "$dup" "$reorder" "$seed" >"$LAB_DIR/config"
    # A failure half-way leaves a half-built lab: take it down before reporting.
    trap on_up_exit EXIT

    local n
    for n in $NODES; do add_ns "$n"; done

    in_ns inet sysctl -qw net.ipv4.ip_forward=1
    veth inet w-rdv rdv eth0
    in_ns rdv ip addr add "$RDV_IP/24" dev eth0
    in_ns rdv ip route add default via "$INET_IP" dev eth0 onlink
    in_ns inet ip addr add "$INET_IP/32" dev w-rdv
    in_ns inet ip route add "$RDV_IP/32" dev w-rdv
    proxy_arp w-rdv

    nat_router nata "$NATA_WAN" 192.168.77.1/25 192.168.77.0/25 "$nat_a"
    nat_router natb "$NATB_WAN" 192.168.77.129/25 192.168.77.128/25 "$nat_b"
    lan_host a nata 192.168.77.2/25 192.168.77.1
    lan_host a2 nata 192.168.77.3/25 192.168.77.1
    lan_host b natb 192.168.77.130/25 192.168.77.129

    if [ "$loss" != 0 ]; then
        local prob
        prob="$(awk -v p="$loss" 'BEGIN{printf "%.6f", p / 100}')"
        for n in w-nata w-natb w-rdv; do
            in_ns inet iptables -A FORWARD -i "$n" -m statistic --mode random \
                --probability "$prob" -j DROP
        done
    fi
    # The forwarder only when a fault needs it (`0.0` counts as asked: it is harmless).
    if [ "$delay" != 0 ] || [ "$dup" != 0 ] || [ "$reorder" != 0 ]; then
        start_forwarder "$delay" "$dup" "$reorder" "$seed"
    fi

    trap - EXIT
    echo "lab up: prefix=$p nat_a=$nat_a nat_b=$nat_b delay_ms=$delay loss_pct=$loss" \
        "dup_pct=$dup reorder_pct=$reorder seed=$seed dir=$LAB_DIR"
}

# ---- operations on a running lab ----

cmd_exec() {
    [ $# -ge 2 ] || usage
    local node="$1"
    shift
    case " $NODES " in *" $node "*) ;; *) die "unknown node \"$node\": one of $NODES" ;; esac
    # exec: the caller's PID is the command's PID (ip netns exec execs it in turn).
    exec ip netns exec "$(ns "$node")" "$@"
}

cmd_cut_rdv() {
    local n
    for n in nata natb; do
        in_ns "$n" iptables -F UCL-CUT
        in_ns "$n" iptables -A UCL-CUT -d "$RDV_IP" -j DROP
        in_ns "$n" iptables -A UCL-CUT -s "$RDV_IP" -j DROP
    done
    echo "rdv cut off in nata and natb"
}

cmd_restore_rdv() {
    local n
    for n in nata natb; do in_ns "$n" iptables -F UCL-CUT; done
    echo "rdv restored in nata and natb"
}

cmd_flush_nat() {
    local n
    case "${1:-}" in a) n=nata ;; b) n=natb ;; *) die "flush-nat a|b" ;; esac
    in_ns "$n" conntrack -F 2>&1 | sed "s/^/$n: /"
}

cmd_status() {
    if [ ! -f "$LAB_DIR/prefix" ]; then
        echo "no lab up in $LAB_DIR"
        return 0
    fi
    echo "prefix $(prefix)  dir $LAB_DIR  owner $(state_get owner)"
    tr '\n' ' ' <"$LAB_DIR/config"
    echo
    local n pid
    while read -r pid; do
        if kill -0 "$pid" 2>/dev/null; then echo "pid $pid running"; else echo "pid $pid GONE"; fi
    done <"$LAB_DIR/pids"
    for n in $NODES; do
        if [ ! -e "/run/netns/$(ns "$n")" ]; then
            echo "== $n: namespace $(ns "$n") MISSING"
            continue
        fi
        echo "== $n ($(ns "$n"))"
        in_ns "$n" ip -br -4 addr show | grep -v '^lo ' | sed 's/^/   /'
    done
    for n in nata natb; do
        echo "== $n NAT and filter rules, conntrack"
        in_ns "$n" iptables -t nat -S POSTROUTING | sed 's/^/   /'
        in_ns "$n" iptables -S UCL-CUT | sed 's/^/   /'
        echo "   conntrack entries: $(in_ns "$n" conntrack -C 2>/dev/null || echo '?')"
    done
    echo "== inet loss rules"
    in_ns inet iptables -S FORWARD | grep statistic | sed 's/^/   /' || echo "   none"
    echo "== counters"
    echo "   $(cmd_counters)"
}

# counters: one JSON line. loss_dropped: packets the `statistic` rules dropped as they entered
# `inet`; forwarder: fault_forwarder.py's counts (null when it is not running), refreshed by
# SIGUSR1 before reading so they are current.
cmd_counters() {
    load_prefix
    local dropped pid gen0 i stats=null
    dropped="$(in_ns inet iptables -L FORWARD -v -n -x | awk '/statistic/ {n += $1} END {print n + 0}')"
    pid="$(state_get fault.pid)"
    if [ -n "$pid" ] && [ -f "$LAB_DIR/fault.stats" ] && kill -0 "$pid" 2>/dev/null; then
        gen0="$(grep -o '"gen": [0-9]*' "$LAB_DIR/fault.stats" || true)"
        kill -USR1 "$pid"
        for i in $(seq 20); do
            [ "$(grep -o '"gen": [0-9]*' "$LAB_DIR/fault.stats" || true)" != "$gen0" ] && break
            sleep 0.05
        done
    fi
    [ -f "$LAB_DIR/fault.stats" ] && stats="$(cat "$LAB_DIR/fault.stats")"
    echo "{\"loss_dropped\": $dropped, \"forwarder\": $stats}"
}

main() {
    local cmd="${1:-}"
    [ -n "$cmd" ] || usage
    shift
    case "$cmd" in
    up) cmd_up "$@" ;;
    down) need_root && cmd_down ;;
    exec) cmd_exec "$@" ;;
    ns) ns "${1:?node}" ;;
    status) cmd_status ;;
    cut-rdv) cmd_cut_rdv ;;
    restore-rdv) cmd_restore_rdv ;;
    flush-nat) cmd_flush_nat "$@" ;;
    counters) cmd_counters ;;
    -h | --help | help) usage ;;
    *) usage ;;
    esac
}

main "$@"
