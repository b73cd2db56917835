// The retransmission timer of RFC 6298, shared by both ends of every reliable hop (author ->
// server, server -> member, peer -> peer). A value type fed RTT samples; it never reads a
// clock. Backoff is per datagram: the caller doubles for each resend of the same datagram
// with backoff(), which is capped so a chat line is still tried about once a second on a
// lossy link (see "Reliable delivery" in PROTOCOL.md).
#pragma once

#include "time.hpp"

#include <algorithm>
#include <optional>

namespace chat::proto {

inline constexpr Duration kRtoMin = std::chrono::milliseconds{200};      // RFC 6298 says 1 s; chat
                                                                         // lines are tiny and rare
inline constexpr Duration kRtoInitial = std::chrono::milliseconds{1000}; // RFC 6298 2.1
inline constexpr Duration kRtoBackoffCap = std::chrono::milliseconds{1000}; // or RTO if larger
inline constexpr Duration kDeliveryDeadline = std::chrono::seconds{30};     // then: not delivered

class RttEstimator {
  public:
    RttEstimator() = default;
    explicit RttEstimator(Duration initial_rto) : rto_(std::max(initial_rto, kRtoMin)) {}

    // A round trip measured on a datagram that was sent once (Karn: never a resent one).
    void sample(Duration rtt) {
        rtt = std::max(rtt, Duration::zero());
        if (!srtt_) { // RFC 6298 2.2
            srtt_ = rtt;
            rttvar_ = rtt / 2;
        } else { // 2.3, alpha = 1/8, beta = 1/4
            const Duration err = *srtt_ > rtt ? *srtt_ - rtt : rtt - *srtt_;
            rttvar_ = (3 * rttvar_ + err) / 4;
            srtt_ = (7 * *srtt_ + rtt) / 8;
        }
        rto_ = std::max(kRtoMin, *srtt_ + std::max(Duration{1}, 4 * rttvar_)); // G = 1 ms
    }
    Duration rto() const { return rto_; }
    std::optional<Duration> srtt() const { return srtt_; }
    // The wait before the next resend of a datagram already sent `attempts` times (>= 1).
    Duration backoff(unsigned attempts) const {
        Duration wait = rto_;
        const Duration cap = std::max(kRtoBackoffCap, rto_);
        for (unsigned i = 1; i < attempts && wait < cap; ++i)
            wait *= 2;
        return std::min(wait, cap);
    }

  private:
    std::optional<Duration> srtt_;
    Duration rttvar_{};
    Duration rto_ = kRtoInitial;
};

} // namespace chat::proto
