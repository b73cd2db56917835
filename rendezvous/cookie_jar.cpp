// CookieJar; see cookie_jar.hpp. The MAC is BLAKE2b-128 (libsodium's crypto_generichash, keyed)
// over the epoch number, the address family, the address and the port.
#include "cookie_jar.hpp"

#include "proto/limits.hpp"

#include <sodium.h>

#include <cstring>

namespace chat::rdv {
namespace {

std::int64_t epoch_of(Time now) {
    return now.time_since_epoch() / kCookieEpoch;
}

} // namespace

CookieJar::CookieJar(Rng& rng, Time now) : rng_(rng) {
    rotate(now);
}

CookieJar::Secret CookieJar::fresh(std::int64_t epoch) {
    Secret s;
    for (std::size_t i = 0; i < s.key.size(); i += 8) {
        const std::uint64_t r = rng_.next_u64();
        std::memcpy(s.key.data() + i, &r, 8);
    }
    s.epoch = epoch;
    return s;
}

void CookieJar::rotate(Time now) {
    const std::int64_t e = epoch_of(now);
    if (e == current_.epoch)
        return;
    // A gap of more than one epoch issued no cookie in the epoch before this one.
    previous_ = e == current_.epoch + 1 ? current_ : Secret{};
    current_ = fresh(e);
}

std::string CookieJar::mac_hex(const Secret& s, const proto::Endpoint& e) const {
    std::array<unsigned char, 8 + 1 + 16 + 2> in{};
    const auto epoch = static_cast<std::uint64_t>(s.epoch);
    std::memcpy(in.data(), &epoch, 8);
    in[8] = e.is_v6() ? 6 : 4;
    std::memcpy(in.data() + 9, e.bytes().data(), 16);
    in[25] = static_cast<unsigned char>(e.port() >> 8);
    in[26] = static_cast<unsigned char>(e.port() & 0xff);
    std::array<unsigned char, proto::kCookieHexChars / 2> mac{};
    crypto_generichash(mac.data(), mac.size(), in.data(), in.size(), s.key.data(), s.key.size());
    std::string hex(proto::kCookieHexChars + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), mac.data(), mac.size());
    hex.pop_back();
    return hex;
}

std::string CookieJar::issue(const proto::Endpoint& to, Time now) {
    rotate(now);
    return mac_hex(current_, to);
}

bool CookieJar::valid(const proto::Endpoint& from, std::string_view cookie, Time now) {
    rotate(now);
    if (cookie.size() != proto::kCookieHexChars)
        return false;
    bool ok = false;
    for (const Secret* s : {&current_, &previous_}) {
        if (s->epoch < 0)
            continue;
        const std::string want = mac_hex(*s, from);
        ok |= sodium_memcmp(want.data(), cookie.data(), want.size()) == 0;
    }
    return ok;
}

} // namespace chat::rdv
