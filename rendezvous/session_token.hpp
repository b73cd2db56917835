// SessionToken: a session's 128-bit token as its 16 raw bytes. The wire carries it as 32
// lowercase hex digits (kTokenHexChars; the codec admits nothing else), which decode to one
// byte string and back, so comparing bytes says what comparing the hex said, in a quarter of
// the space and without the heap allocation a 32-character std::string needs.
#pragma once

#include "proto/heartbeat_tag.hpp"
#include "proto/limits.hpp"
#include "proto/message.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace chat::rdv {

class SessionToken {
  public:
    SessionToken() = default; // empty: a plain-text client's, which matches no token
    // From kTokenHexChars lowercase hex digits, as Rng::hex makes them and the codec admits;
    // anything else gives the empty token.
    static SessionToken from_hex(std::string_view hex) {
        SessionToken t;
        if (hex.size() != proto::kTokenHexChars)
            return t;
        for (std::size_t i = 0; i < hex.size(); ++i) {
            const char c = hex[i];
            const bool digit = c >= '0' && c <= '9';
            if (!digit && !(c >= 'a' && c <= 'f'))
                return SessionToken{};
            const auto v = static_cast<std::uint8_t>(digit ? c - '0' : c - 'a' + 10);
            t.bytes_[i / 2] =
                static_cast<std::uint8_t>(t.bytes_[i / 2] | (i % 2 == 0 ? v << 4 : v));
        }
        t.set_ = true;
        return t;
    }
    proto::Token hex() const {
        static constexpr char kHex[] = "0123456789abcdef";
        proto::Token out;
        if (!set_)
            return out;
        out.reserve(proto::kTokenHexChars);
        for (const std::uint8_t b : bytes_) {
            out += kHex[b >> 4];
            out += kHex[b & 0xf];
        }
        return out;
    }
    // True if `hex` (a token from a request) is this token; constant time in the bytes.
    bool matches(std::string_view hex) const {
        const SessionToken other = from_hex(hex);
        return set_ && other.set_ &&
               sodium_memcmp(bytes_.data(), other.bytes_.data(), bytes_.size()) == 0;
    }
    // True if `tag` (what follows "#ping#") is this session's heartbeat tag (heartbeat_tag.hpp),
    // computed from the raw bytes, without the heap; constant time in the tag.
    bool heartbeat_tag_matches(std::string_view tag) const {
        static_assert(crypto_shorthash_KEYBYTES == proto::kTokenHexChars / 2);
        std::array<unsigned char, crypto_shorthash_BYTES> got{};
        std::size_t got_len = 0;
        if (!set_ || tag.size() != 2 * got.size() ||
            sodium_hex2bin(got.data(), got.size(), tag.data(), tag.size(), nullptr, &got_len,
                           nullptr) != 0 ||
            got_len != got.size())
            return false;
        std::array<unsigned char, crypto_shorthash_BYTES> want{};
        crypto_shorthash(want.data(),
                         reinterpret_cast<const unsigned char*>(proto::kHeartbeatTagLabel.data()),
                         proto::kHeartbeatTagLabel.size(), bytes_.data());
        return sodium_memcmp(want.data(), got.data(), want.size()) == 0;
    }

    friend bool operator==(const SessionToken&, const SessionToken&) = default;

  private:
    std::array<std::uint8_t, proto::kTokenHexChars / 2> bytes_{};
    bool set_ = false;
};

} // namespace chat::rdv
