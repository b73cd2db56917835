// A keyed hash for every table whose keys an attacker chooses (source endpoints, networks):
// SipHash-2-4 (libsodium's crypto_shorthash) under a key drawn from the injected Rng at start,
// so nobody outside the process can pick keys that collide and turn a table's O(1) lookups
// into O(n) scans. One KeyedHash per server, copied into each table that needs it.
#pragma once

#include "proto/endpoint.hpp"
#include "proto/rng.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

namespace chat::rdv {

class KeyedHash {
  public:
    KeyedHash() = default; // all-zero key: for tables in tests that do not care
    explicit KeyedHash(Rng& rng) {
        for (std::size_t i = 0; i < key_.size(); i += 8) {
            const std::uint64_t r = rng.next_u64();
            std::memcpy(key_.data() + i, &r, 8);
        }
    }

    std::uint64_t operator()(std::span<const unsigned char> bytes) const {
        std::array<unsigned char, crypto_shorthash_BYTES> out{};
        crypto_shorthash(out.data(), bytes.data(), bytes.size(), key_.data());
        std::uint64_t h = 0;
        std::memcpy(&h, out.data(), sizeof h);
        return h;
    }
    // The address, port and family: what Endpoint's operator== compares.
    std::uint64_t operator()(const proto::Endpoint& e) const {
        std::array<unsigned char, 19> b{};
        std::memcpy(b.data(), e.bytes().data(), 16);
        b[16] = static_cast<unsigned char>(e.port() >> 8);
        b[17] = static_cast<unsigned char>(e.port() & 0xff);
        b[18] = e.is_v6() ? 1 : 0;
        return (*this)(std::span<const unsigned char>(b));
    }

  private:
    static_assert(crypto_shorthash_KEYBYTES == 16);
    std::array<unsigned char, crypto_shorthash_KEYBYTES> key_{};
};

// For std::unordered_map<proto::Endpoint, V, EndpointKeyedHash>.
struct EndpointKeyedHash {
    KeyedHash hash;
    std::size_t operator()(const proto::Endpoint& e) const {
        return static_cast<std::size_t>(hash(e));
    }
};

} // namespace chat::rdv
