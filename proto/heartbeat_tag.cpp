// heartbeat_tag: see heartbeat_tag.hpp.
#include "heartbeat_tag.hpp"

#include "limits.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>

namespace chat::proto {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

} // namespace

std::string heartbeat_tag(std::string_view token_hex) {
    static_assert(crypto_shorthash_KEYBYTES * 2 == kTokenHexChars);
    static_assert(crypto_shorthash_BYTES * 2 == kHeartbeatTagHexChars);
    if (token_hex.size() != kTokenHexChars)
        return {};
    std::array<unsigned char, crypto_shorthash_KEYBYTES> key{};
    for (std::size_t i = 0; i < token_hex.size(); ++i) {
        const int v = hex_value(token_hex[i]);
        if (v < 0)
            return {};
        key[i / 2] = static_cast<unsigned char>(key[i / 2] | (i % 2 == 0 ? v << 4 : v));
    }
    std::array<unsigned char, crypto_shorthash_BYTES> tag{};
    crypto_shorthash(tag.data(), reinterpret_cast<const unsigned char*>(kHeartbeatTagLabel.data()),
                     kHeartbeatTagLabel.size(), key.data());
    sodium_memzero(key.data(), key.size());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(kHeartbeatTagHexChars);
    for (const unsigned char b : tag) {
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
    }
    return out;
}

} // namespace chat::proto
