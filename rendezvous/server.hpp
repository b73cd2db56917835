// The rendezvous core: registration, liveness, rooms, relay (acknowledged by each member:
// see delivery.hpp) and endpoint exchange, with no I/O of its own. The caller passes every datagram
// with its source and a monotonic `now`, sends what comes back in the Outbox, and calls on_tick()
// at next_wakeup(). There are no sockets, clocks, threads or prints in here; logging goes through
// the injected Logger.
#pragma once

#include "cookie_jar.hpp"
#include "delivery.hpp"
#include "expiry_index.hpp"
#include "keyed_hash.hpp"
#include "net_limits.hpp"
#include "outbox.hpp"
#include "peer_table.hpp"
#include "rate_limit.hpp"
#include "rooms.hpp"

#include "proto/codec.hpp"
#include "proto/drop_reason.hpp"
#include "proto/logger.hpp"
#include "proto/message.hpp"
#include "proto/rng.hpp"
#include "proto/time.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chat::rdv {

using namespace std::chrono_literals;

struct ServerConfig {
    Duration timeout = proto::kEvictAfter;  // silence after which a peer is evicted
    std::size_t max_peers = 100'000;        // sessions, plain-text clients included
    std::size_t max_rooms = 10'000;         // rooms on the server, lobby included
    std::size_t max_room_members = 100'000; // the lobby holds everyone, so as many as peers
    std::size_t max_rooms_per_peer = 32;
    NetCaps net_caps; // shares per host and per network (net_limits.hpp)
    std::size_t announce_up_to = 1000; // rooms bigger than this get no joined/left notices
    bool allow_plaintext = false;      // legacy clients that cannot prove their address
    std::size_t max_plaintext_clients = 256;
    // What an unverified plain-text address may be sent: a chat's worth, not a flood.
    double plaintext_bytes_per_second = 2048;
    double plaintext_burst_bytes = 8192;
    double session_datagrams_per_second = 20; // heartbeats are 0.2/s; typing is bursty
    double session_burst = 50;
    std::size_t source_limiter_entries = 4096; // sources without a session
    double source_datagrams_per_second = 5;
    double source_burst = 10;
    // Reliable fan-out bounds (PROTOCOL.md): beyond either, a line goes once, without d.
    std::size_t max_in_flight_per_member = kMaxInFlightPerMember;
    std::size_t max_in_flight = kMaxInFlight;
    Duration stats_every = 60s; // 0: no stats lines

    Duration heartbeat() const { return timeout / 2; }
};

struct TrafficCounters {
    std::uint64_t datagrams_in = 0;
    std::uint64_t datagrams_out = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t plaintext_capped = 0;      // datagrams not sent: over the unverified byte cap
    std::uint64_t amplification_refused = 0; // replies larger than their request: not sent
    std::uint64_t retries_sent = 0; // hellos answered with a cookie to prove the address
    std::uint64_t notices_skipped = 0; // joined/left not sent: the room is over announce_up_to
    DeliveryCounters delivery;         // reliable fan-out: deliveries, resends, give-ups, acks
};

class Server {
  public:
    Server(const ServerConfig& cfg, Rng& rng, Logger& log, Time now);

    Outbox on_datagram(const proto::Endpoint& from, std::string_view bytes, Time now);
    Outbox on_datagram(const proto::Endpoint& from, std::span<const std::byte> bytes, Time now) {
        return on_datagram(
            from, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), now);
    }
    Outbox on_tick(Time now);                // harmless if early: nothing is due yet
    std::optional<Time> next_wakeup() const; // earliest deadline; nullopt if none
    Outbox shutdown(Time now);               // a goodbye to every registered peer

    std::size_t peer_count() const { return peers_.size(); }
    std::size_t room_count() const { return rooms_.size(); }
    const proto::DropCounters& drops() const { return drops_; }
    TrafficCounters traffic() const {
        TrafficCounters t = traffic_;
        t.delivery = deliveries_.counters();
        return t;
    }
    const Deliveries& deliveries() const { return deliveries_; }
    const ServerConfig& config() const { return cfg_; }

  private:
    // One datagram's context while it is being handled.
    struct Request {
        const proto::Endpoint& from;
        std::size_t size; // bytes of the datagram: the most an unverified source may get
        Outbox& out;
    };

    void dispatch(proto::Message&& msg, Peer* peer, const Request& rq);
    void explain_rejection(const proto::DecodeError& err, const Request& rq);
    // The session a request's token proves, refreshed; nullptr (counted, maybe answered).
    Peer* authenticate(const proto::Token& token, std::optional<proto::RequestId> id, Peer* peer,
                       const Request& rq);
    void handle_request(const proto::Bye& m, Peer& peer, const Request& rq);
    void handle_request(const proto::Join& m, Peer& peer, const Request& rq);
    void handle_request(const proto::Leave& m, Peer& peer, const Request& rq);
    void handle_request(const proto::ListRooms& m, Peer& peer, const Request& rq);
    void handle_request(const proto::ListUsers& m, Peer& peer, const Request& rq);
    void handle_request(const proto::CreateRoom& m, Peer& peer, const Request& rq);
    void handle_request(const proto::Say& m, Peer& peer, const Request& rq);
    void handle_request(const proto::Direct& m, Peer& peer, const Request& rq);
    void handle_request(const proto::Connect& m, Peer& peer, const Request& rq);
    void handle_request(const proto::Got& m, Peer& peer, const Request& rq);

    // Budgets. A datagram from a source without a JSON session is charged to the source's
    // budget on arrival; one from a JSON session's address only once it has proven to be the
    // session's (its token or heartbeat tag): the session's budget if it has, the source's if
    // it has not, so junk forged from a session's address cannot spend the session's budget.
    bool charge_session(Peer& peer, const Request& rq);
    bool charge_unauthenticated(const Peer* at_source, const Request& rq);

    void handle_ping(const proto::Ping& m, Peer* peer, const Request& rq);
    void handle_plaintext(const proto::PlainText& m, Peer* peer, const Request& rq);
    void handle_hello(const proto::Hello& m, Peer* at_source, const Request& rq);
    void handle_bye(Peer& peer, const Request& rq);
    void handle_join(const proto::Join& m, Peer& peer, const Request& rq);
    void handle_leave(const proto::Leave& m, Peer& peer, const Request& rq);
    void handle_rooms(const proto::ListRooms& m, Peer& peer, const Request& rq);
    void handle_users(const proto::ListUsers& m, Peer& peer, const Request& rq);
    void handle_create(const proto::CreateRoom& m, Peer& peer, const Request& rq);
    void handle_say(const proto::Say& m, Peer& peer, const Request& rq);
    void handle_direct(const proto::Direct& m, Peer& peer, const Request& rq);
    void say_taken(Peer& author, proto::RequestId id, const Request& rq);
    void handle_got(const proto::Got& m, Peer& peer, const Request& rq);
    // A say/dm whose id is being delivered (ignored) or was delivered (ok again): true if
    // handled here.
    bool answer_repeat(Peer& author, proto::RequestId id, const Request& rq);
    void handle_connect(const proto::Connect& m, Peer& peer, const Request& rq);
    // The target's half of an exchange, sent reliably (acked by got): see handle_connect.
    void send_exchange_to_target(Outbox& out, const Peer& target, const proto::PeerInfo& m);

    // Sessions.
    Peer& register_peer(const proto::Hello& m, const Request& rq);
    Peer* register_plaintext(const Request& rq);
    proto::Welcome welcome_for(const Peer& peer) const;
    // Moves `peer` to rq.from; false (and an error sent) if that network holds its share.
    bool migrate(Peer& peer, Peer* at_source, const Request& rq);
    std::optional<std::string> session_limit_text(const proto::Endpoint& from) const;
    void refresh(Peer& peer); // heard from it now: push its deadline back
    void evict(PeerId id, Outbox& out);
    void end_session(PeerId id, proto::LeaveReason why, Outbox& out);

    // Rooms. Entry limits are checked by the caller, which knows which error to send.
    std::optional<proto::ErrorCode> room_entry_error(const Peer& peer, std::string_view room);
    std::string room_entry_text(proto::ErrorCode code, std::string_view room) const;
    void put_in_room(Peer& peer, std::string_view room, Outbox& out, std::optional<std::string> by);
    Room& enter_room(Peer& peer, std::string_view room); // membership and network shares
    std::uint32_t joins_of(const Peer& peer) const;      // rooms beyond the lobby
    void take_out_of_room(Peer& peer, std::string_view room, proto::LeaveReason why, Outbox& out);

    // Sending. Plain-text peers are unverified: send_bytes caps what they are sent.
    void send(Outbox& out, Peer& to, const proto::Message& msg);
    void send_bytes(Outbox& out, Peer& to, std::string_view bytes);
    void send_unverified(const Request& rq, const proto::Message& msg);
    void send_error(const Request& rq, Peer* peer, std::optional<proto::RequestId> id,
                    proto::ErrorCode code, std::string text);
    void broadcast(Outbox& out, std::string_view room, const proto::Message& msg, PeerId except);
    // A joined/left notice: broadcast unless the room is too big for notices.
    void announce(Outbox& out, std::string_view room, const proto::Message& notice, PeerId except);
    // A chat line to every other member of `room`: JSON members reliably when it has a stamp
    // (see delivery.hpp), plain-text members as "FROM\nTEXT". The author's ok is sent when
    // due. False, and nothing sent, if the msg would not fit a datagram.
    bool relay_room_message(Outbox& out, std::string_view room, const std::string& from,
                            const std::string& text, const std::optional<proto::Stamp>& stamp,
                            PeerId except, std::optional<AuthorRequest> request);
    // Sends one member its copy: with the line's next delivery id when there is one.
    void send_line(Outbox& out, Deliveries::Fanout& f, const Peer& member, const std::string& json);
    // The datagrams and oks the delivery bookkeeping asked for.
    void send_delivery_output(Outbox& out, Deliveries::Output& d);
    void count_sent(const Outbox& out);

    void drop(proto::DropReason reason, const proto::Endpoint& from, std::string_view detail);
    void log_stats();

    ServerConfig cfg_;
    Rng& rng_;
    Logger& log_;
    KeyedHash hash_; // for every table keyed by what a sender chooses
    CookieJar cookies_;
    NetLimits nets_;
    PeerTable peers_;
    ExpiryIndex expiry_;
    Deliveries deliveries_; // lines in flight to members, until acked or given up
    Rooms rooms_;
    // Each session's inbound datagrams, and the bytes each (unverified) plain-text client
    // may be sent.
    BucketRate session_rate_{cfg_.session_datagrams_per_second, cfg_.session_burst};
    BucketRate plaintext_rate_{cfg_.plaintext_bytes_per_second, cfg_.plaintext_burst_bytes};
    // Plain-text clients only (<= max_plaintext_clients): what each may still be sent. Kept
    // here, not in Peer, where it would cost every JSON peer 8 bytes.
    std::unordered_map<PeerId, TokenBucket> unverified_budgets_;
    SourceLimiter sources_;
    proto::DropCounters drops_;
    TrafficCounters traffic_;
    TrafficCounters traffic_at_last_stats_;
    TokenBucket drop_log_budget_; // debug lines about drops: a flood must not flood the log
    Time now_;                    // the latest `now` passed in; never goes back
    std::optional<Time> next_stats_;
    Time last_stats_;
};

} // namespace chat::rdv
