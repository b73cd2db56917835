// Address validation without state: the cookie a `retry` carries and a `hello` must echo
// before the server creates or moves a session (QUIC's Retry token, RFC 9000 s8.1; DTLS's
// HelloVerifyRequest; WireGuard's cookie reply). A cookie is a MAC over the source endpoint and
// the current epoch, keyed with that epoch's random secret; epochs last kCookieEpoch, and a
// cookie from the epoch before is still accepted, so one is good for 60-120 s and only for the
// address it was sent to. Nothing per client is remembered: checking a cookie costs one BLAKE2b
// (two at an epoch boundary) and no memory, whoever sends it.
#pragma once

#include "proto/endpoint.hpp"
#include "proto/rng.hpp"
#include "proto/time.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace chat::rdv {

using namespace std::chrono_literals;

inline constexpr Duration kCookieEpoch = 60s; // a secret's life; a cookie lives one to two

class CookieJar {
  public:
    CookieJar(Rng& rng, Time now);

    // The cookie for `to` now: kCookieHexChars lowercase hex.
    std::string issue(const proto::Endpoint& to, Time now);
    // True if `cookie` was issued to `from` in this epoch or the one before. Constant time in
    // the cookie's content. `now` must not go back.
    bool valid(const proto::Endpoint& from, std::string_view cookie, Time now);

  private:
    struct Secret {
        std::array<unsigned char, 32> key{};
        std::int64_t epoch = -1; // -1: matches no cookie
    };
    void rotate(Time now);
    Secret fresh(std::int64_t epoch);
    std::string mac_hex(const Secret& s, const proto::Endpoint& e) const;

    Rng& rng_;
    Secret current_;
    Secret previous_;
};

} // namespace chat::rdv
