// Registration and heartbeat timing; see registration.hpp.
#include "registration.hpp"

#include <algorithm>

namespace chat::peer {

Registration::Registration(const RegistrationConfig& cfg, Rng& rng)
    : cfg_(cfg), rng_(rng), heartbeat_(cfg.heartbeat) {}

void Registration::start(Time now) {
    state_ = ConnectionState::Connecting;
    started_at_ = now;
    startup_deadline_ = now + cfg_.startup_timeout;
    still_trying_at_ = now + cfg_.still_trying_after;
    startup_wait_ = cfg_.startup_retry;
    hello_at_ = now;
}

Registration::Due Registration::due(Time now) const {
    switch (state_) {
    case ConnectionState::Connecting:
        if (now >= startup_deadline_)
            return Due::StartupFailed;
        if (now >= still_trying_at_)
            return Due::StillTrying;
        return now >= hello_at_ ? Due::Hello : Due::Nothing;
    case ConnectionState::Online:
        if (now >= dead_at())
            return Due::Lost;
        return now >= ping_at_ ? Due::Ping : Due::Nothing;
    case ConnectionState::Reconnecting:
        return now >= hello_at_ ? Due::Hello : Due::Nothing;
    case ConnectionState::Closed:
        break;
    }
    return Due::Nothing;
}

Duration Registration::jittered(Duration d, std::int64_t fraction) {
    const auto spread = static_cast<std::uint64_t>(d.count() / fraction);
    return d - Duration{static_cast<std::int64_t>(rng_.below(spread + 1))};
}

void Registration::hello_sent(Time now) {
    if (state_ == ConnectionState::Connecting) {
        // No jitter here: peers start one by one, unlike peers that lost the same server.
        hello_at_ = now + startup_wait_;
        if (now - started_at_ >= cfg_.still_trying_after)
            startup_wait_ =
                std::min(startup_wait_ * 2, std::max(cfg_.startup_max_retry, cfg_.startup_retry));
        return;
    }
    // Reconnecting: 1, 2, 4 ... s, each minus up to a quarter, so peers that lost the same
    // server do not all come back in the same millisecond.
    hello_at_ = now + jittered(backoff_, 4);
    backoff_ = std::min(backoff_ * 2, cfg_.max_backoff);
}

void Registration::still_trying_told() {
    still_trying_at_ += cfg_.still_trying_every;
}

void Registration::ping_sent(Time now) {
    if (!ping_sent_at_)
        ping_sent_at_ = now; // the heartbeat's cadence runs from its first ping
    ++pings_unanswered_;
    // Unanswered: try again soon, then about once a second until a pong or the server counts
    // as lost. The server hears nothing from us but these, and it evicts after 10 s.
    ping_at_ =
        now + (pings_unanswered_ <= kPingRetries ? ping_retry_wait()
                                                 : std::max(ping_retry_wait(), heartbeat_ / 5));
}

Duration Registration::ping_retry_wait() const {
    const Duration guess = srtt_ ? 4 * *srtt_ : Duration{1s};
    return std::clamp(guess, Duration{300ms}, std::max(Duration{300ms}, heartbeat_ / 4));
}

bool Registration::welcomed(const proto::Welcome& w, Time now) {
    const bool new_session = !token_ || *token_ != w.token;
    token_ = w.token;
    // A server with a shorter timeout asks for faster heartbeats; never slower than ours
    // would be pointless, but trust it within sane bounds.
    heartbeat_ = std::clamp(w.heartbeat, Duration{200ms}, Duration{60s});
    state_ = ConnectionState::Online;
    last_pong_ = now;
    ping_sent_at_.reset();
    pings_unanswered_ = 0;
    ping_at_ = now + jittered(heartbeat_, 10);
    backoff_ = cfg_.first_backoff;
    return new_session;
}

void Registration::pong(Time now) {
    if (state_ != ConnectionState::Online)
        return;
    last_pong_ = now;
    if (ping_sent_at_) {
        if (pings_unanswered_ == 1) { // Karn: a retried ping's pong is ambiguous
            const Duration sample = now - *ping_sent_at_;
            // Smoothed as TCP does (RFC 6298): 7/8 of the old estimate, 1/8 of the new sample.
            srtt_ = srtt_ ? (*srtt_ * 7 + sample) / 8 : sample;
        }
        ping_at_ = *ping_sent_at_ + jittered(heartbeat_, 10);
        ping_sent_at_.reset();
    }
    pings_unanswered_ = 0;
}

void Registration::lost(Time now) {
    state_ = ConnectionState::Reconnecting;
    hello_at_ = now;
    backoff_ = cfg_.first_backoff;
    ping_sent_at_.reset();
    pings_unanswered_ = 0;
    srtt_.reset();
}

void Registration::close() {
    state_ = ConnectionState::Closed;
}

std::optional<Time> Registration::next_wakeup() const {
    switch (state_) {
    case ConnectionState::Connecting:
        return std::min({hello_at_, still_trying_at_, startup_deadline_});
    case ConnectionState::Online:
        return std::min(ping_at_, dead_at());
    case ConnectionState::Reconnecting:
        return hello_at_;
    case ConnectionState::Closed:
        break;
    }
    return std::nullopt;
}

} // namespace chat::peer
