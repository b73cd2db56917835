// One remote peer's path: hole punching to every candidate the rendezvous gave us, choosing
// the first candidate that answers both ways (a LAN one if both peers share a NAT), then
// keepalives and RTT on it. Whether the path is direct is computed from the last time we
// heard the remote and `now`: there is no flag to go stale. Pure: datagrams out, no I/O.
// The remote chose its candidates, so a path is careful where it sends: a private candidate
// must be a local-network address, every other one unicast, loopback only when the
// rendezvous is on loopback too, and one exchange sends at most max_punch_probes probes.
// Deliberately left out: port prediction for symmetric NATs (a symmetric NAT on either side
// means the peers stay relayed, and the UI says so).
#pragma once

#include "proto/endpoint.hpp"
#include "proto/message.hpp"
#include "proto/time.hpp"

#include <optional>
#include <string>
#include <vector>

namespace chat::peer {

using namespace std::chrono_literals;

struct PathConfig {
    Duration probe_every = 200ms;  // pace of punches per candidate while punching
    Duration punch_for = 5s;       // no answer by then: stay relayed and say so
    Duration settle_for = 500ms;   // after a public path answers, how long a LAN one may win
    Duration keepalive_every = 2s; // far under the ~30 s after which NAT mappings expire
    Duration dead_after = 6s;      // three keepalives unanswered: the path is gone
    Duration retry_every = 20s;    // while relayed, how often to try punching again
    // Probes one exchange may send while punching: 25 rounds (punch_for / probe_every) to
    // two candidates, the usual public + one LAN address. More candidates use it up sooner.
    std::size_t max_punch_probes = 50;
    // Exchanges one remote may start in `exchange_window`: the initiator's connect is resent
    // each second for up to 5 s, each answer a fresh exchange, so 5 is what one /connect
    // needs at worst; beyond, restart() is refused (may_restart) until the oldest ages out.
    std::size_t max_exchanges = 5;
    Duration exchange_window = 20s; // = retry_every: a background retry always fits
    bool allow_loopback = false;    // loopback candidates: only when the rendezvous is local
};

enum class PathState { Punching, Direct, Relayed };

// A change the UI must show: direct path up (via, rtt), or relayed (with the reason).
struct PathEvent {
    std::string peer;
    PathState state;
    std::optional<proto::Endpoint> via;
    std::optional<Duration> rtt;
    std::string reason; // why relayed: "no direct path found", "direct path went silent"
};

struct PathOutput {
    std::vector<std::pair<proto::Endpoint, std::string>> datagrams; // to, bytes
    std::vector<PathEvent> events;
    // The peer to ask the rendezvous a fresh exchange for (connect again), if any.
    std::optional<std::string> wants_exchange;
};

class DirectPath {
  public:
    DirectPath(std::string self, const proto::PeerInfo& info, const PathConfig& cfg, Time now,
               PathOutput& out);

    // Fresh endpoints and nonce from a new exchange: punch again (a working path is kept
    // until the new nonce proves a path of its own). Call only when may_restart(now).
    void restart(const proto::PeerInfo& info, Time now, PathOutput& out);
    // Whether this remote has started fewer than max_exchanges exchanges (the first one
    // included) in the last exchange_window.
    bool may_restart(Time now) const;
    // Whether the candidate would be probed: see the top of this file.
    static bool is_probeable(const proto::Endpoint& e, bool is_private, bool allow_loopback);
    // For a p2p_msg without a stamp (nothing else identifies a resend): true the first time
    // `id` is seen among the last kRememberedTexts.
    bool first_sight_of_text(std::uint32_t id);
    // True if `nonce` belongs to this path (the current or the previous exchange).
    bool accepts(std::string_view nonce) const;
    void on_probe(const proto::Endpoint& from, const proto::Probe& m, Time now, PathOutput& out);
    void on_probe_ack(const proto::Endpoint& from, const proto::ProbeAck& m, Time now,
                      PathOutput& out);
    // Any other authenticated datagram from the remote (chat, acks) proves the path is alive.
    void on_heard(const proto::Endpoint& from, Time now);
    void on_tick(Time now, PathOutput& out);
    std::optional<Time> next_wakeup() const;

    PathState state(Time now) const;
    bool is_direct(Time now) const { return state(now) == PathState::Direct; }
    std::optional<proto::Endpoint> via() const { return selected_; }
    std::optional<Duration> rtt() const { return rtt_; }
    std::optional<Time> last_heard() const { return last_heard_; }
    const std::string& remote() const { return remote_; }
    const std::string& nonce() const { return nonce_; }
    bool initiator() const { return initiator_; }
    bool punching(Time now) const;
    std::size_t candidate_count() const { return candidates_.size(); }
    // The last time anything happened on this path: an exchange, or a datagram heard.
    Time last_active() const { return last_active_; }

    static constexpr std::size_t kMaxReflexive = 4;      // learnt from probes' sources
    static constexpr std::size_t kRememberedTexts = 256; // unstamped p2p_msg ids

  private:
    enum class Kind { Private, Public, Reflexive }; // Reflexive: learnt from a probe's source
    struct Candidate {
        proto::Endpoint endpoint;
        Kind kind;
    };
    struct SentProbe {
        std::uint32_t seq;
        proto::Endpoint to;
        Time at;
    };

    void add_candidate(const proto::Endpoint& e, Kind kind);
    void send_probe(const proto::Endpoint& to, Time now, PathOutput& out);
    void select(const proto::Endpoint& e, Kind kind, Time now, PathOutput& out);
    void end_punching(Time now, PathOutput& out);
    Kind kind_of(const proto::Endpoint& e) const;
    static int rank(Kind kind);

    std::string self_;
    std::string remote_;
    std::string nonce_;
    std::string previous_nonce_;
    bool initiator_ = false;
    PathConfig cfg_;
    std::vector<Candidate> candidates_;     // <= 1 + kMaxPrivateEndpoints + kMaxReflexive
    std::vector<SentProbe> in_flight_;      // recent probes, for RTT; bounded
    std::size_t punch_probes_left_ = 0;     // of max_punch_probes, for the current exchange
    std::vector<Time> exchanges_;           // when the last <= max_exchanges began
    std::vector<std::uint32_t> texts_seen_; // <= kRememberedTexts, oldest first
    Time last_active_{};
    std::uint32_t next_seq_ = 1;
    std::optional<Time> punch_until_; // set while punching
    std::optional<Time> next_probe_;
    std::optional<proto::Endpoint> selected_;
    std::optional<Kind> selected_kind_;
    std::optional<Time> selected_at_;
    std::optional<Time> last_heard_; // last authenticated datagram on the selected path
    std::optional<Duration> rtt_;
    std::optional<Time> next_keepalive_;
    std::optional<Time> next_retry_; // while relayed (initiator only)
    bool announced_relayed_ = false;
};

} // namespace chat::peer
