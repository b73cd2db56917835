# shellcheck shell=bash
# scripts/lib.sh: shared by scripts/test, demo, package-test and clang-build (sourced, never run).
# chat_install_deps installs the Debian 12 packages the build and the tests need, only when one
# is missing, so a second run costs one dpkg-query. chat_build configures and builds a build
# directory with Ninja at -j2. Nothing here runs tests or starts programs.

# Everything the build, the tests, the NAT lab (ip, iptables, conntrack: tests/nat/lab.sh only
# checks for them) and the Debian package (dpkg-shlibdeps from dpkg-dev, file for CPack) use.
CHAT_PACKAGES=(g++ cmake ninja-build pkg-config libuv1-dev libsodium-dev libcxxopts-dev nlohmann-json3-dev
    libgtest-dev python3 iproute2 iptables conntrack tmux procps dpkg-dev file)
# The second compiler CI builds with (scripts/clang-build).
# shellcheck disable=SC2034 # read by the scripts that source this file
CHAT_CLANG_PACKAGES=(clang)

chat_log() { printf '%s: %s\n' "${CHAT_SCRIPT:-chat}" "$*" >&2; }

# chat_missing_packages [PACKAGE...]: prints those (default: CHAT_PACKAGES) that dpkg does not
# have installed, one per line.
chat_missing_packages() {
    local p status
    [ "$#" -gt 0 ] || set -- "${CHAT_PACKAGES[@]}"
    for p in "$@"; do
        status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
        [ "${status:0:2}" = "ii" ] || printf '%s\n' "$p"
    done
}

# chat_install_deps [PACKAGE...]: installs those (default: CHAT_PACKAGES) that are missing.
chat_install_deps() {
    [ "$#" -gt 0 ] || set -- "${CHAT_PACKAGES[@]}"
    if ! command -v dpkg-query >/dev/null 2>&1; then
        chat_log "not a Debian system (no dpkg-query): install $* yourself"
        return 0
    fi
    local missing
    mapfile -t missing < <(chat_missing_packages "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            chat_log "missing packages: ${missing[*]}; run as root or install sudo"
            return 1
        fi
    fi
    chat_log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
}

# chat_configure DIR [CMAKE ARGS...]: configures DIR (Ninja for a new directory; an existing
# one keeps its generator) with the caller's arguments, then $CMAKE_ARGS (word-split on purpose).
chat_configure() {
    local dir="$1"
    shift
    local gen=()
    [ -f "$dir/CMakeCache.txt" ] || gen=(-G Ninja)
    # shellcheck disable=SC2086 # CMAKE_ARGS holds several arguments
    cmake -S . -B "$dir" "${gen[@]}" "$@" ${CMAKE_ARGS:-}
}

# chat_build DIR [TARGET...]: builds DIR (everything, or only the given targets) at -j2:
# two cores is what CI and the shared development machine have.
chat_build() {
    local dir="$1"
    shift
    local targets=()
    [ "$#" -gt 0 ] && targets=(--target "$@")
    cmake --build "$dir" -j2 "${targets[@]}"
}
