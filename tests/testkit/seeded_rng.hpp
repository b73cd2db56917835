// A deterministic Rng for tests (splitmix64), so tokens and nonces repeat run to run.
#pragma once

#include "proto/rng.hpp"

namespace chat::testkit {

class SeededRng final : public Rng {
public:
    explicit SeededRng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next_u64() override {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

private:
    std::uint64_t state_;
};

} // namespace chat::testkit
