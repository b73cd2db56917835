// The randomness interface cores draw tokens, nonces and jitter from. The shells pass a
// SystemRng (getrandom(2), unpredictable: tokens are credentials); tests pass a seeded one
// so a failing run replays exactly.
#pragma once

#include <cstdint>
#include <string>

namespace chat {

class Rng {
  public:
    virtual ~Rng() = default;
    virtual std::uint64_t next_u64() = 0;

    // `hex_chars` lowercase hex digits (a 128-bit token is 32).
    std::string hex(std::size_t hex_chars) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string out;
        std::uint64_t bits = 0;
        for (std::size_t i = 0; i < hex_chars; ++i) {
            if (i % 16 == 0)
                bits = next_u64();
            out += kHex[bits & 0xf];
            bits >>= 4;
        }
        return out;
    }
    // Uniform in [0, bound) for bound > 0 (tiny modulo bias is fine for jitter).
    std::uint64_t below(std::uint64_t bound) { return next_u64() % bound; }
};

// Cryptographically strong randomness from the kernel.
class SystemRng final : public Rng {
  public:
    std::uint64_t next_u64() override;
};

} // namespace chat
