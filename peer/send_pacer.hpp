// Paces what the user (or a script) sends below the rendezvous's per-session rate limit
// (PROTOCOL.md: 20 datagrams/s, bursts of 50), which drops the excess silently. A token
// bucket that may go into debt: a command is never cut in half, but the next one waits
// until the debt is paid. Heartbeats and rejoins are not paced; the margin below the
// server's limit is theirs. Pure: `now` is passed in.
#pragma once

#include "proto/time.hpp"

#include <algorithm>
#include <chrono>

namespace chat::peer {

class SendPacer {
  public:
    // Implementation constants: half the server's rate, two fifths of its burst.
    static constexpr double kPerSecond = 10;
    static constexpr double kBurst = 20;

    explicit SendPacer(Time now) : tokens_(kBurst), last_(now) {}

    void spend(std::size_t datagrams, Time now) {
        refill(now);
        tokens_ -= static_cast<double>(datagrams);
    }
    // True when the next command may go out now.
    bool ready(Time now) const { return tokens_at(now) >= 1.0; }
    // When ready() becomes true (now if it already is).
    Time ready_at(Time now) const {
        const double missing = 1.0 - tokens_at(now);
        if (missing <= 0)
            return now;
        const auto ms = static_cast<std::int64_t>(missing * 1000.0 / kPerSecond) + 1;
        return now + Duration{ms};
    }

  private:
    double tokens_at(Time now) const {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        return std::min(kBurst, tokens_ + std::max(0.0, elapsed) * kPerSecond);
    }
    void refill(Time now) {
        tokens_ = tokens_at(now);
        last_ = std::max(last_, now);
    }

    double tokens_;
    Time last_;
};

} // namespace chat::peer
