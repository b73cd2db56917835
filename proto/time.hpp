// Core time: a monotonic instant with millisecond resolution that the caller passes in.
// Cores never read a clock; the shells convert libuv's uv_now() into a Time, and tests
// start from Time{} and add durations. There is deliberately no now() on CoreClock.
#pragma once

#include <chrono>
#include <cstdint>

namespace chat {

struct CoreClock {
    using rep = std::int64_t;
    using period = std::milli;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<CoreClock>;
    static constexpr bool is_steady = true;
};

using Duration = CoreClock::duration;
using Time = CoreClock::time_point;

// Milliseconds since the clock's origin: for logs and for the shells' timers.
constexpr std::int64_t to_millis(Time t) {
    return t.time_since_epoch().count();
}
constexpr Time time_from_millis(std::int64_t ms) {
    return Time{Duration{ms}};
}

} // namespace chat
