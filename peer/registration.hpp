// The peer's session with the rendezvous, as timing only: when to send hello, when to send
// #ping#, when the server counts as gone, when start-up has failed. The client asks due(now)
// and reports what it sent and what came back; this class never builds a datagram.
//
// Heartbeats go out every hb minus up to 10% jitter, never later: the server evicts after
// exactly 2 * hb, so a late heartbeat plus one lost datagram would drop a live peer. No
// #pong# (nor welcome) for kDeadAfterHeartbeats intervals means the server is gone; then
// hello is retried with backoff for ever, carrying the old token.
//
// At start-up hello goes out every second for the first 5 s, then the wait doubles up to 4 s,
// until 30 s have passed without a welcome: on a link losing a fifth of the datagrams each
// way a hello and its welcome both arrive only 64% of the time, so five tries fail for one
// peer in 170 (0.36^5), while the 13 tries in 30 s fail for about two in a million. The user is told
// after 5 s without an answer, and every 10 s after that, that we are still trying.
#pragma once

#include "events.hpp"

#include "proto/message.hpp"
#include "proto/rng.hpp"
#include "proto/time.hpp"

#include <optional>

namespace chat::peer {

using namespace std::chrono_literals;

struct RegistrationConfig {
    Duration startup_timeout = 30s;    // no welcome by then at start-up: give up (exit 1)
    Duration startup_retry = 1s;       // hello again meanwhile: one lost datagram is no failure
    Duration startup_max_retry = 4s;   // the wait doubles after still_trying_after, up to this
    Duration still_trying_after = 5s;  // no welcome by then: tell the user we keep trying
    Duration still_trying_every = 10s; // and again this often until the welcome or the timeout
    Duration first_backoff = 1s;       // after losing the server: 1, 2, 4, 8, 15, 15 ... s
    Duration max_backoff = 15s;        // one server restart costs at most this much extra wait
    Duration heartbeat = 5s;           // until a welcome says otherwise (its `hb`)
    int dead_after_heartbeats = 3;     // no pong for this many intervals: the server is gone
};

class Registration {
  public:
    enum class Due { Nothing, Hello, Ping, Lost, StillTrying, StartupFailed };

    Registration(const RegistrationConfig& cfg, Rng& rng);

    void start(Time now); // Connecting; a hello is due at once
    // The one thing to do at `now` (call again after doing it: several may be due).
    Due due(Time now) const;
    void hello_sent(Time now);
    // The user was told we are still waiting for the first welcome (after StillTrying).
    void still_trying_told();
    // How long start-up has gone without an answer when the due StillTrying was scheduled.
    Duration still_trying_for() const { return still_trying_at_ - started_at_; }
    void ping_sent(Time now);
    // A welcome: Online. Returns true if its token differs from the one we had (a new
    // session: the server restarted or evicted us, so rooms must be joined again).
    bool welcomed(const proto::Welcome& w, Time now);
    void pong(Time now);
    void lost(Time now); // Reconnecting; a hello is due at once
    void close();        // Closed: nothing is ever due again

    std::optional<Time> next_wakeup() const;
    ConnectionState state() const { return state_; }
    const std::optional<proto::Token>& token() const { return token_; }
    Duration heartbeat() const { return heartbeat_; }
    std::optional<Duration> rtt() const { return srtt_; }
    // When the server counts as gone if no pong comes (Online only).
    Time dead_at() const { return last_pong_ + dead_after_heartbeats() * heartbeat_; }
    Time last_pong() const { return last_pong_; } // or the welcome

  private:
    std::int64_t dead_after_heartbeats() const { return cfg_.dead_after_heartbeats; }
    Duration jittered(Duration d, std::int64_t fraction); // d minus up to d / fraction
    // A ping whose pong is late is sent again this soon (twice; then every heartbeat / 5):
    // the server evicts after two silent heartbeats, so a lost ping must not wait for the
    // next heartbeat to be made good.
    Duration ping_retry_wait() const;
    static constexpr unsigned kPingRetries = 2;

    RegistrationConfig cfg_;
    Rng& rng_;
    ConnectionState state_ = ConnectionState::Closed;
    std::optional<proto::Token> token_;
    Duration heartbeat_;
    Time started_at_{};
    Time startup_deadline_{};
    Time still_trying_at_{};
    Duration startup_wait_{}; // before the next start-up hello
    Time hello_at_{};
    Duration backoff_{};
    Time ping_at_{};
    std::optional<Time> ping_sent_at_; // the first ping of this heartbeat not yet answered
    unsigned pings_unanswered_ = 0;    // since the last pong
    Time last_pong_{};                 // or the welcome
    std::optional<Duration> srtt_;
};

} // namespace chat::peer
