// The one budget every direct path's datagrams (probes and probe_acks) share: a token bucket
// of kPerSecond with bursts of kBurst. Each exchange is capped on its own (PathConfig), but
// many exchanges at once, from many names, could still add up; this bounds what the peer
// sends to addresses other peers told it about, whatever they do. Chat datagrams on a
// direct path (p2p_msg, p2p_ack) are not counted: the user's own typing paces those.
// Pure: `now` is passed in.
#pragma once

#include "proto/time.hpp"

#include <algorithm>
#include <chrono>

namespace chat::peer {

class ProbeBudget {
  public:
    // Implementation constants. One exchange to the usual two candidates sends 10 probes/s
    // and answers the remote's 10/s: two such exchanges at once fit.
    static constexpr double kPerSecond = 50;
    static constexpr double kBurst = 50;

    explicit ProbeBudget(Time now) : tokens_(kBurst), last_(now) {}

    // Takes one datagram's worth; false (nothing taken) when the budget is spent.
    bool take(Time now) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(kBurst, tokens_ + std::max(0.0, elapsed) * kPerSecond);
        last_ = std::max(last_, now);
        if (tokens_ < 1.0)
            return false;
        tokens_ -= 1.0;
        return true;
    }

  private:
    double tokens_;
    Time last_;
};

} // namespace chat::peer
