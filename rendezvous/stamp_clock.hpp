// How the rendezvous shell turns readings of a nanosecond monotonic clock (uv_hrtime) into the
// core's millisecond Times so that no deadline ever falls due early in real time.
//
// A Time has millisecond resolution, so a reading must be rounded one way or the other. An
// arrival is stamped with its reading rounded UP, a tick with its reading rounded DOWN: a
// peer last heard at real time A has its deadline at ceil(A) + timeout >= A + timeout, and a
// tick at real time R only takes deadlines <= floor(R) <= R, so a peer is never evicted before
// its timeout, by any clock read after its last datagram left. (Stamping with libuv's cached
// loop time, a floor, lets the deadline fall up to a millisecond before A + timeout.)
//
// The core takes the larger of its inputs' times, so a tick stamped before an arrival's
// rounded-up stamp would run at that later stamp: tick() then returns nullopt and the shell
// ticks again a millisecond later. Stamps handed out are never decreasing.
#pragma once

#include "proto/time.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace chat::rdv {

class StampClock {
  public:
    static constexpr std::int64_t kNanosPerTick = 1'000'000; // one CoreClock tick: 1 ms

    // A datagram that arrived at `nanos` (or earlier: read the clock after receiving it).
    Time arrival(std::uint64_t nanos) {
        last_ = std::max(last_, ceil_time(nanos));
        return last_;
    }
    // A timer that fired at `nanos`: the time to tick at, or nullopt if an arrival was stamped
    // later than floor(nanos); tick again a millisecond later.
    std::optional<Time> tick(std::uint64_t nanos) {
        const Time t = floor_time(nanos);
        if (t < last_)
            return std::nullopt;
        last_ = t;
        return t;
    }
    // For anything that sets no deadline for a peer (start-up, shutdown, arming the timer):
    // the reading rounded down, but never before a stamp already handed out.
    Time reading(std::uint64_t nanos) const { return std::max(last_, floor_time(nanos)); }

    static Time floor_time(std::uint64_t nanos) {
        return time_from_millis(static_cast<std::int64_t>(nanos) / kNanosPerTick);
    }
    static Time ceil_time(std::uint64_t nanos) {
        return time_from_millis((static_cast<std::int64_t>(nanos) + kNanosPerTick - 1) /
                                kNanosPerTick);
    }

  private:
    Time last_{}; // the latest stamp handed out by arrival() or tick()
};

} // namespace chat::rdv
