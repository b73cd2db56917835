// The peer core: the chat client with no I/O of its own. The shell passes every datagram,
// every command the user typed and a monotonic `now` in, sends the datagrams that come back,
// shows the UiEvents, and calls on_tick() at next_wakeup(). No sockets, clocks, terminals or
// prints in here; logging goes through the injected Logger, randomness through the Rng.
//
// Registration and heartbeat timing live in Registration; this class owns what is said:
// requests (each resent until answered) and their answers, rooms, the current target, and
// chat lines: every line typed goes into OutgoingLines and is sent (over the direct path when
// one is up for a single recipient, else relayed) and resent until it is settled; every line
// received goes through IncomingLines, which shows each once and in order (see "Reliable
// delivery", PROTOCOL.md).
#pragma once

#include "commands.hpp"
#include "direct_path.hpp"
#include "events.hpp"
#include "incoming.hpp"
#include "outgoing.hpp"
#include "probe_budget.hpp"
#include "registration.hpp"
#include "send_pacer.hpp"

#include "proto/logger.hpp"
#include "proto/message.hpp"
#include "proto/rng.hpp"
#include "proto/rto.hpp"
#include "proto/time.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace chat::peer {

struct ClientConfig {
    std::string name;                               // valid name
    std::string room = "lobby";                     // the first target; joined if not the lobby
    proto::Endpoint server;                         // the rendezvous
    std::vector<proto::Endpoint> private_endpoints; // <= 4 LAN candidates for hello
    RegistrationConfig registration;
    Duration request_timeout = 5s;
    Duration connect_resend = 1s;    // a connect unanswered this long is sent again
    std::size_t max_list_pages = 25; // /rooms and /users stop after 25 * 40 = 1000 entries
    PathConfig path;                 // hole punching and the direct path
    unsigned direct_tries = 3;       // a p2p_msg unacked after this many is relayed too
    // After a new session (the server restarted) lines wait one heartbeat plus this before
    // going out, so the other members, who lost their sessions too, have registered again:
    // an idle member learns of the restart at its next ping (`#who?#`), a heartbeat later
    // at most.
    Duration regroup_margin = 1s;
    std::size_t max_chunks = 16; // a line longer than 16 * 500 bytes is refused: the
                                 // server's burst of 50 datagrams must cover it
    // Endpoint exchanges other peers start (their /connect) cost us probes, so they are
    // bounded (PROTOCOL.md, "Peer to peer"); an exchange past a bound is ignored and counted.
    std::size_t max_paths = 64;   // remote names with a path; an idle relayed one gives way
    std::size_t max_punching = 8; // paths punching at once: a ninth exchange is ignored
};

// Peer-to-peer input refused by the bounds above, by reason.
struct P2pDrops {
    std::uint64_t exchanges_ignored = 0;  // past max_paths, max_punching or a name's limit
    std::uint64_t probes_over_budget = 0; // probes and probe_acks past ProbeBudget
    std::uint64_t texts_repeated = 0;     // unstamped p2p_msg already shown (acked again)
};

class Client {
  public:
    Client(ClientConfig cfg, Rng& rng, Logger& log);

    Outbox start(Time now); // sends the first hello
    Outbox on_datagram(const proto::Endpoint& from, std::string_view bytes, Time now);
    Outbox on_command(const Command& c, Time now);
    Outbox on_tick(Time now); // harmless if early
    std::optional<Time> next_wakeup() const;
    Outbox shutdown(Time now); // bye to the server if we have a session; then Closed

    ConnectionState state() const { return reg_.state(); }
    const std::set<std::string>& rooms() const { return rooms_; }
    const Target& target() const { return target_; }
    std::optional<proto::Endpoint> public_endpoint() const { return public_endpoint_; }
    std::optional<Duration> rtt() const { return reg_.rtt(); }
    const Registration& registration() const { return reg_; }
    bool has_pending() const { return !pending_.empty(); }           // requests awaiting an answer
    std::size_t unsettled_lines() const { return outgoing_.size(); } // chat lines in flight
    const IncomingLines& incoming() const { return incoming_; }
    const P2pDrops& p2p_drops() const { return p2p_drops_; }
    std::size_t path_count() const { return paths_.size(); }
    // Requests whose answer changes the target or prints something (everything but chat
    // lines): the terminal holds the next typed line until they are answered, so a paste of
    // "/join dev" and "hi" says hi in dev.
    bool awaiting_answer() const;
    // Whether the next command may be taken at `now`: not over the server's rate limit (see
    // SendPacer), and no line waiting for room in a direct path's window (a paste of 500
    // lines to a peer would otherwise be "typed" at once and its tail reported undelivered
    // 30 s later while it still waits its turn). The shell holds input back until then.
    bool ready_for_input(Time now) const {
        return pacer_.ready(now) && !waiting_for_direct_window(now);
    }
    // When ready_for_input becomes true by itself; nullopt when only an ack can make it (a
    // datagram, or a line's own resend timer, wakes the shell then).
    std::optional<Time> input_ready_at(Time now) const {
        if (waiting_for_direct_window(now))
            return std::nullopt;
        return pacer_.ready_at(now);
    }

  private:
    struct Pending {
        enum class Kind {
            Join,
            Rejoin,
            Leave,
            Unjoin,
            Rooms,
            Users,
            Create,
            Connect,
            Reconnect // a fresh endpoint exchange asked for by a path, not by the user
        };
        // Every field has a default, so each request names only what it uses.
        Kind kind = Kind::Join;
        Time deadline{};
        std::string room{};               // Join, Rejoin, Leave, Unjoin, Say, Users, Create
        std::vector<std::string> names{}; // Create members, Connect name
        std::vector<proto::RoomInfo> room_pages{};
        std::vector<std::string> user_pages{};
        std::size_t pages = 0;
        bool users_in_room = false;
        // Every request is sent again at this time until answered or `deadline`: one lost
        // datagram, either way, must not cost the user a no_answer (or a direct path). Each
        // request is harmless to repeat at the server (PROTOCOL.md, "Requests are resent").
        std::optional<Time> resend_at{};
        std::string wire{}; // the request as first sent, for the resends
        unsigned sends = 0; // so far, the first included
    };

    // Commands.
    void command(const cmd::Say& c, Time now, Outbox& out);
    void command(const cmd::Help& c, Time now, Outbox& out);
    void command(const cmd::Join& c, Time now, Outbox& out);
    void command(const cmd::Leave& c, Time now, Outbox& out);
    void command(const cmd::Rooms& c, Time now, Outbox& out);
    void command(const cmd::Users& c, Time now, Outbox& out);
    void command(const cmd::Msg& c, Time now, Outbox& out);
    void command(const cmd::Create& c, Time now, Outbox& out);
    void command(const cmd::Room& c, Time now, Outbox& out);
    void command(const cmd::Status& c, Time now, Outbox& out);
    void command(const cmd::Quit& c, Time now, Outbox& out);
    void command(const cmd::Connect& c, Time now, Outbox& out);
    void command(const cmd::Disconnect& c, Time now, Outbox& out);
    bool require_online(Outbox& out) const;
    // Splits text into chunks whose say/dm fits a datagram with the relay's headroom;
    // nullopt (and an error event) if too long.
    std::optional<std::vector<std::string>> chunks(const std::string& text,
                                                   const std::optional<std::string>& room,
                                                   const std::vector<std::string>& to,
                                                   Outbox& out) const;

    // Chat lines (OutgoingLines): typed -> sent -> resent -> settled.
    void type_line(std::optional<std::string> room, std::vector<std::string> to,
                   const std::string& text, Time now, Outbox& out);
    void pump_lines(Time now, Outbox& out);
    void pump_line(OutLine& line, Time now, Outbox& out);
    bool direct_usable(const OutLine& line, Time now) const;
    bool waiting_for_direct_window(Time now) const;
    void send_p2p(OutLine& line, Time now, Outbox& out);
    void send_relayed(OutLine& line, Time now, Outbox& out);
    void line_delivered(const OutLine& line, Outbox& out);
    void line_failed(const OutLine& line, std::string code, std::string_view why, Outbox& out);
    proto::RttEstimator& direct_rtt(const std::string& peer);
    // Lines received: acked (delivery ids) and passed through IncomingLines.
    void receive_line(const std::string& author, const std::string& stream,
                      const std::optional<proto::Stamp>& st, std::optional<proto::DeliveryId> d,
                      UiEvent line, Time now, Outbox& out);
    void send_acks(Time now, Outbox& out);

    // Messages from the server.
    void handle(const proto::Welcome& m, Time now, Outbox& out);
    void handle(const proto::Retry& m, Outbox& out);
    void handle(const proto::Ok& m, Time now, Outbox& out);
    void handle(const proto::Error& m, Time now, Outbox& out);
    void handle(const proto::RoomList& m, Time now, Outbox& out);
    void handle(const proto::UserList& m, Time now, Outbox& out);
    void handle(const proto::RoomMessage& m, Time now, Outbox& out);
    void handle(const proto::DirectMessage& m, Time now, Outbox& out);
    void handle(const proto::MemberJoined& m, Outbox& out);
    void handle(const proto::MemberLeft& m, Outbox& out);
    void handle(const proto::PeerInfo& m, Time now, Outbox& out);

    // The direct path (P2P): datagrams from peers, and the paths' timers.
    void on_peer_datagram(const proto::Endpoint& from, const proto::Message& msg, Time now,
                          Outbox& out);
    void on_peer_text(const proto::Endpoint& from, const proto::PeerText& m, DirectPath& path,
                      Time now, Outbox& out);
    void on_peer_ack(const proto::Endpoint& from, const proto::PeerAck& m, Time now, Outbox& out);
    bool admit_exchange(const proto::PeerInfo& m, Time now, Outbox& out);
    bool evict_idle_path(Time now);
    void apply(const PathOutput& po, Outbox& out, Time now);
    void run_paths(Time now, Outbox& out);
    void startup_refused(const proto::Error& m, Outbox& out);

    // The session.
    void run_timers(Time now, Outbox& out);
    void send_hello(Outbox& out);
    void session_lost(Time now, std::string_view why, Outbox& out);
    void expire_requests(Time now, Outbox& out);
    void fail_request(const Pending& p, std::string code, std::string_view why, Outbox& out);

    // Requests: request() files it under a fresh id, send_request() sends it and arms the
    // resend; expire_requests() resends and finally fails it.
    proto::RequestId request(Pending p, Time now);
    void send_request(proto::RequestId id, const proto::Message& m, Time now, Outbox& out);
    Duration resend_wait(const Pending& p);
    proto::RttEstimator& relay_rtt(); // seeded from the heartbeat's RTT until it has a sample
    void answered(Pending p, const std::vector<std::string>& unknown, Outbox& out);
    bool is_repeat_answer(const Pending& p, proto::ErrorCode code) const;
    void send(const proto::Message& m, Outbox& out) const;
    void set_target(Target t, Outbox& out);
    void retarget_after_leaving(const std::string& room, Outbox& out);
    ui::Status status(Time now) const;

    ClientConfig cfg_;
    Logger& log_;
    Registration reg_;
    std::set<std::string> rooms_; // rooms we are in, as far as we know
    Target target_;
    std::string last_room_; // where /disconnect returns to
    std::optional<proto::Endpoint> public_endpoint_;
    // The server's proof that we receive at our address: every hello echoes the last one
    // (PROTOCOL.md, address validation). Empty until the first retry.
    std::optional<std::string> cookie_;
    std::string heartbeat_tag_; // what follows #ping#, from the session token
    std::map<proto::RequestId, Pending> pending_;
    proto::RequestId next_id_ = 1;
    std::map<std::string, DirectPath> paths_; // by remote name; <= max_paths
    OutgoingLines outgoing_;                  // our lines until settled
    IncomingLines incoming_;                  // others' lines: once, in order
    PendingAcks acks_;                        // delivery ids to ack with `got`
    proto::RttEstimator server_rtt_;          // say/dm -> ok (includes the fan-out)
    bool server_rtt_seeded_ = false;
    std::map<std::string, proto::RttEstimator> direct_rtt_; // p2p_msg -> p2p_ack, per peer
    std::uint32_t next_text_id_ = 1;
    SendPacer pacer_{Time{}};
    std::size_t relayed_lines_typed_ = 0; // by the command being run, for the pacer
    Time relay_hold_until_{};             // see ClientConfig::regroup_margin
    // While reconnecting: the last refusal of our hello we told the user (each said once).
    std::optional<proto::ErrorCode> told_while_reconnecting_;
    ProbeBudget probe_budget_{Time{}};
    P2pDrops p2p_drops_;
    bool told_exchange_ignored_ = false; // the first ignored exchange is shown, no more
    bool closed_ = false;
};

} // namespace chat::peer
