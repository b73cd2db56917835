// The peer core; see client.hpp.
#include "client.hpp"

#include "utf8.hpp"

#include "proto/codec.hpp"
#include "proto/heartbeat_tag.hpp"
#include "proto/limits.hpp"
#include "proto/validate.hpp"

#include <algorithm>

namespace chat::peer {
namespace {

std::string sample(std::string_view text) {
    constexpr std::size_t kMax = 30;
    if (text.size() <= kMax)
        return std::string(text);
    return split_utf8(text, kMax).front() + "...";
}

std::string seconds_text(Duration d) {
    const auto tenths = d.count() / 100;
    return std::to_string(tenths / 10) +
           (tenths % 10 != 0 ? "." + std::to_string(tenths % 10) : "") + " s";
}

} // namespace

// A line the server has taken is asked about again this often until its final ok: that ok
// may be lost, and a server that restarted meanwhile answers no_session.
constexpr Duration kTakenPoll = std::chrono::seconds{2};

Client::Client(ClientConfig cfg, Rng& rng, Logger& log)
    : cfg_(std::move(cfg)), log_(log), reg_(cfg_.registration, rng),
      outgoing_(rng.hex(proto::kInstHexChars)) {
    if (cfg_.private_endpoints.size() > proto::kMaxPrivateEndpoints)
        cfg_.private_endpoints.resize(proto::kMaxPrivateEndpoints);
    // Peers on loopback are only real when the rendezvous is on this machine too.
    cfg_.path.allow_loopback = cfg_.server.is_loopback();
}

// ---- Entry points ----

Outbox Client::start(Time now) {
    Outbox out;
    reg_.start(now);
    log_.info("connecting server=" + cfg_.server.to_string() + " name=" + cfg_.name);
    run_timers(now, out);
    return out;
}

Outbox Client::on_datagram(const proto::Endpoint& from, std::string_view bytes, Time now) {
    Outbox out;
    if (closed_)
        return out;
    if (from != cfg_.server) {
        auto decoded = proto::decode(bytes);
        if (const auto* msg = std::get_if<proto::Message>(&decoded))
            on_peer_datagram(from, *msg, now, out);
        else
            log_.debug("dropped from=" + from.to_string() + " reason=" +
                       std::string(proto::name(std::get<proto::DecodeError>(decoded).reason)));
        run_timers(now, out);
        return out;
    }
    auto decoded = proto::decode(bytes);
    if (const auto* err = std::get_if<proto::DecodeError>(&decoded)) {
        log_.debug("dropped from=" + from.to_string() +
                   " reason=" + std::string(proto::name(err->reason)) + " detail=" + err->detail +
                   " sample=" + proto::sanitized_sample(bytes));
        // Plain "NAME\nTEXT" lines mean the server takes us for a legacy plain-text client:
        // it restarted with --allow-plaintext and our #ping# registered us as one.
        if (reg_.state() == ConnectionState::Online && !bytes.empty() && bytes.front() != '{') {
            session_lost(now, "the server no longer knows this session", out);
            run_timers(now, out);
        }
        return out;
    }
    const auto& msg = std::get<proto::Message>(decoded);
    const bool online = reg_.state() == ConnectionState::Online;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, proto::Welcome>) {
                handle(m, now, out);
            } else if constexpr (std::is_same_v<T, proto::Retry>) {
                if (!online)
                    handle(m, out);
            } else if constexpr (std::is_same_v<T, proto::Error>) {
                handle(m, now, out);
            } else if constexpr (std::is_same_v<T, proto::Pong>) {
                reg_.pong(now);
            } else if constexpr (std::is_same_v<T, proto::WhoAreYou>) {
                if (online) // our ping reached a server without our session: it restarted
                    session_lost(now, "the server no longer knows this session", out);
            } else if constexpr (std::is_same_v<T, proto::Shutdown>) {
                if (online)
                    session_lost(now, "the server is shutting down", out);
            } else if constexpr (std::is_same_v<T, proto::PlainText>) {
                // The server takes us for a legacy plain-text client: it restarted with
                // --allow-plaintext and our #ping# registered us as one. Our session is gone.
                if (online)
                    session_lost(now, "the server no longer knows this session", out);
            } else if constexpr (std::is_same_v<T, proto::Ok> ||
                                 std::is_same_v<T, proto::RoomList> ||
                                 std::is_same_v<T, proto::UserList>) {
                if (online)
                    handle(m, now, out);
            } else if constexpr (std::is_same_v<T, proto::PeerInfo>) {
                if (online)
                    handle(m, now, out);
            } else if constexpr (std::is_same_v<T, proto::RoomMessage> ||
                                 std::is_same_v<T, proto::DirectMessage> ||
                                 std::is_same_v<T, proto::MemberJoined> ||
                                 std::is_same_v<T, proto::MemberLeft>) {
                if (online) {
                    if constexpr (std::is_same_v<T, proto::RoomMessage> ||
                                  std::is_same_v<T, proto::DirectMessage>)
                        handle(m, now, out);
                    else
                        handle(m, out);
                }
            } else {
                log_.debug("dropped from=" + from.to_string() +
                           " reason=wrong_direction type=" + std::string(proto::type_name(msg)));
            }
        },
        msg);
    run_timers(now, out);
    return out;
}

Outbox Client::on_command(const Command& c, Time now) {
    Outbox out;
    if (closed_)
        return out;
    relayed_lines_typed_ = 0;
    std::visit([&](const auto& cmd) { command(cmd, now, out); }, c);
    // Only what goes to the rendezvous counts against its rate limit; the direct path has none.
    // A line held back by the relay window still goes to the server later: it counts now.
    const auto to_server = static_cast<std::size_t>(
        std::count_if(out.datagrams.begin(), out.datagrams.end(),
                      [this](const Datagram& d) { return d.to == cfg_.server; }));
    pacer_.spend(std::max(to_server, relayed_lines_typed_), now);
    if (!closed_)
        run_timers(now, out);
    return out;
}

Outbox Client::on_tick(Time now) {
    Outbox out;
    if (closed_)
        return out;
    run_timers(now, out);
    return out;
}

bool Client::awaiting_answer() const {
    return std::any_of(pending_.begin(), pending_.end(), [](const auto& entry) {
        const auto kind = entry.second.kind;
        return kind != Pending::Kind::Rejoin && kind != Pending::Kind::Unjoin &&
               kind != Pending::Kind::Reconnect;
    });
}

std::optional<Time> Client::next_wakeup() const {
    if (closed_)
        return std::nullopt;
    auto wake = reg_.next_wakeup();
    auto consider = [&wake](std::optional<Time> t) {
        if (t && (!wake || *t < *wake))
            wake = t;
    };
    for (const auto& [id, p] : pending_) {
        consider(p.deadline);
        consider(p.resend_at);
    }
    for (const auto& [name, path] : paths_)
        consider(path.next_wakeup());
    consider(outgoing_.next_wakeup());
    if (!outgoing_.empty() && relay_hold_until_ > Time{})
        consider(relay_hold_until_);
    consider(incoming_.next_wakeup());
    if (reg_.state() == ConnectionState::Online)
        consider(acks_.next_wakeup());
    return wake;
}

Outbox Client::shutdown(Time now) {
    Outbox out;
    if (closed_)
        return out;
    if (reg_.state() == ConnectionState::Online)
        send_acks(now + PendingAcks::kDelay, out); // what we received, so it is not resent
    if (reg_.token() && reg_.state() != ConnectionState::Closed)
        send(proto::Bye{*reg_.token()}, out);
    for (const auto& [key, line] : outgoing_.lines())
        line_failed(line, "not_delivered", "not acknowledged before quitting", out);
    outgoing_.lines().clear();
    reg_.close();
    pending_.clear();
    paths_.clear();
    closed_ = true;
    log_.info("closed name=" + cfg_.name);
    return out;
}

// ---- The session ----

void Client::run_timers(Time now, Outbox& out) {
    // Each step changes the state so the same action is not due again at `now`; the bound
    // only guards against a bug turning this into a busy loop.
    for (int step = 0; step < 8 && !closed_; ++step) {
        switch (reg_.due(now)) {
        case Registration::Due::Nothing: {
            expire_requests(now, out);
            run_paths(now, out);
            pump_lines(now, out);
            incoming_.on_tick(now, out.events);
            send_acks(now, out);
            return;
        }
        case Registration::Due::Hello:
            send_hello(out);
            reg_.hello_sent(now);
            break;
        case Registration::Due::Ping:
            out.datagrams.push_back({cfg_.server, proto::encode(proto::Ping{heartbeat_tag_})});
            reg_.ping_sent(now);
            break;
        case Registration::Due::Lost:
            session_lost(
                now, "no answer from the server for " + seconds_text(now - reg_.last_pong()), out);
            break;
        case Registration::Due::StillTrying:
            out.events.emplace_back(
                ui::Connection{ConnectionState::Connecting,
                               "still trying " + cfg_.server.to_string() + " (no answer for " +
                                   seconds_text(reg_.still_trying_for()) + ")..."});
            log_.info("still_trying server=" + cfg_.server.to_string() +
                      " waited_ms=" + std::to_string(reg_.still_trying_for().count()));
            reg_.still_trying_told();
            break;
        case Registration::Due::StartupFailed:
            out.events.emplace_back(
                ui::Fatal{"no answer from the rendezvous at " + cfg_.server.to_string() +
                          " within " + seconds_text(cfg_.registration.startup_timeout) +
                          ": check the address and that the server is running"});
            log_.error("startup_failed server=" + cfg_.server.to_string() + " reason=no_welcome");
            reg_.close();
            closed_ = true;
            return;
        }
    }
}

void Client::send_hello(Outbox& out) {
    proto::Hello hello{cfg_.name, cfg_.private_endpoints, reg_.token()};
    hello.cookie = cookie_;
    send(hello, out);
}

void Client::handle(const proto::Retry& m, Outbox& out) {
    // The server wants proof that we receive at this address: the same hello again, with
    // its cookie, at once. A retry with the cookie we already sent changes nothing, so a
    // flood of forged retries cannot make us flood the server; the hello timer goes on.
    if (cookie_ == m.cookie)
        return;
    cookie_ = m.cookie;
    log_.debug("retry server=" + cfg_.server.to_string() + ": hello again with its cookie");
    send_hello(out);
}

void Client::session_lost(Time now, std::string_view why, Outbox& out) {
    log_.warn("server_lost server=" + cfg_.server.to_string() + " why=\"" + std::string(why) +
              "\"");
    out.events.emplace_back(ui::Connection{ConnectionState::Reconnecting,
                                           "lost the server " + cfg_.server.to_string() + " (" +
                                               std::string(why) + "); reconnecting..."});
    auto pending = std::move(pending_);
    pending_.clear();
    for (const auto& [id, p] : pending)
        fail_request(p, "not_delivered", "the server went away", out);
    // Lines in flight to the server wait for the next session and go again from the start;
    // a line the old server already delivered is dropped as a duplicate by its receivers.
    for (auto& [key, line] : outgoing_.lines()) {
        line.request.reset();
        line.relay_due.reset();
        line.relay_tries = 0;
        line.taken = false;
    }
    acks_.clear(); // delivery ids belong to the old session
    told_while_reconnecting_.reset();
    reg_.lost(now);
}

void Client::expire_requests(Time now, Outbox& out) {
    for (auto& [id, p] : pending_) {
        if (p.resend_at && now >= *p.resend_at && now < p.deadline &&
            reg_.state() == ConnectionState::Online) {
            out.datagrams.push_back({cfg_.server, p.wire});
            ++p.sends;
            p.resend_at = now + resend_wait(p);
        }
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline > now) {
            ++it;
            continue;
        }
        const Pending p = std::move(it->second);
        it = pending_.erase(it);
        fail_request(p, "no_answer",
                     "no answer from the server within " + seconds_text(cfg_.request_timeout), out);
    }
}

void Client::fail_request(const Pending& p, std::string code, std::string_view why, Outbox& out) {
    std::string what;
    switch (p.kind) {
    case Pending::Kind::Join:
        what = "/join " + p.room + " failed";
        break;
    case Pending::Kind::Rejoin:
        return; // the next welcome rejoins again
    case Pending::Kind::Reconnect:
        return; // the path asks again at its next retry
    case Pending::Kind::Leave:
        what = "/leave " + p.room + " failed";
        break;
    case Pending::Kind::Unjoin:
        return;
    case Pending::Kind::Rooms:
        what = "/rooms failed";
        break;
    case Pending::Kind::Users:
        what = "/users failed";
        break;
    case Pending::Kind::Create:
        what = "/create " + p.room + " failed";
        break;
    case Pending::Kind::Connect:
        what = "/connect " + join(p.names, ",") + " failed";
        break;
    }
    out.events.emplace_back(ui::Error{std::move(code), what + ": " + std::string(why)});
}

// ---- Requests ----

proto::RequestId Client::request(Pending p, Time now) {
    const proto::RequestId id = next_id_++;
    p.deadline = now + cfg_.request_timeout;
    pending_[id] = std::move(p);
    return id;
}

void Client::send_request(proto::RequestId id, const proto::Message& m, Time now, Outbox& out) {
    Pending& p = pending_.at(id);
    p.wire = proto::encode(m);
    p.sends = 1;
    p.resend_at = now + resend_wait(p);
    out.datagrams.push_back({cfg_.server, p.wire});
}

Duration Client::resend_wait(const Pending& p) {
    // Each connect the server answers starts a fresh exchange (a new nonce, both sides punch
    // again), so it is repeated no faster than a punch needs to get going.
    if (p.kind == Pending::Kind::Connect || p.kind == Pending::Kind::Reconnect)
        return cfg_.connect_resend;
    return relay_rtt().backoff(p.sends);
}

proto::RttEstimator& Client::relay_rtt() {
    if (!server_rtt_seeded_ && reg_.rtt()) {
        // Until a line has measured it, the heartbeat's round trip is the best guess at how
        // long the server takes to answer.
        server_rtt_.sample(*reg_.rtt());
        server_rtt_seeded_ = true;
    }
    return server_rtt_;
}

void Client::send(const proto::Message& m, Outbox& out) const {
    out.datagrams.push_back({cfg_.server, proto::encode(m)});
}

void Client::set_target(Target t, Outbox& out) {
    if (t == target_)
        return;
    if (t.kind == Target::Kind::Room)
        last_room_ = t.name;
    target_ = std::move(t);
    out.events.emplace_back(ui::TargetChanged{target_});
}

void Client::retarget_after_leaving(const std::string& room, Outbox& out) {
    if (last_room_ == room)
        last_room_.clear();
    if (target_.kind != Target::Kind::Room || target_.name != room)
        return;
    if (rooms_.count(proto::kLobby) != 0)
        set_target({Target::Kind::Room, proto::kLobby}, out);
    else if (!rooms_.empty())
        set_target({Target::Kind::Room, *rooms_.begin()}, out);
    else
        set_target({Target::Kind::None, {}}, out);
}

ui::Status Client::status(Time now) const {
    ui::Status s;
    s.name = cfg_.name;
    s.server = cfg_.server;
    s.public_endpoint = public_endpoint_;
    s.rtt = reg_.rtt();
    s.rooms.assign(rooms_.begin(), rooms_.end());
    s.target = target_;
    s.state = reg_.state();
    for (const auto& [name, path] : paths_) {
        ui::PeerPath pp{name, path.state(now), path.via(), path.rtt(), std::nullopt};
        if (path.last_heard() && pp.state == PathState::Direct)
            pp.since_last = now - *path.last_heard();
        s.peers.push_back(std::move(pp));
    }
    return s;
}

// ---- Commands ----

bool Client::require_online(Outbox& out) const {
    switch (reg_.state()) {
    case ConnectionState::Online:
        return true;
    case ConnectionState::Connecting:
        out.events.emplace_back(
            ui::Error{"offline", "not registered with the server yet: nothing was sent"});
        return false;
    case ConnectionState::Reconnecting:
        out.events.emplace_back(
            ui::Error{"offline", "reconnecting to the server: nothing was sent"});
        return false;
    case ConnectionState::Closed:
        break;
    }
    return false;
}

std::optional<std::vector<std::string>> Client::chunks(const std::string& text,
                                                       const std::optional<std::string>& room,
                                                       const std::vector<std::string>& to,
                                                       Outbox& out) const {
    // The largest form this piece takes on the wire: a say or dm with the biggest numbers.
    const proto::Stamp widest{outgoing_.inst(), 0xffffffffu, 0xffffffffu};
    const proto::Token token(proto::kTokenHexChars, 'f');
    auto fits = [&](const std::string& piece) {
        const auto bytes =
            room ? proto::encode(proto::Say{token, 0xffffffffu, *room, piece, widest})
                 : proto::encode(proto::Direct{token, 0xffffffffu, to, piece, widest});
        return bytes.size() <= proto::kMaxDatagram - proto::kRelayHeadroom;
    };
    std::vector<std::string> pieces;
    std::vector<std::string> todo = split_utf8(text, proto::kMaxTextBytes);
    std::reverse(todo.begin(), todo.end());
    while (!todo.empty() && pieces.size() <= cfg_.max_chunks) {
        std::string piece = std::move(todo.back());
        todo.pop_back();
        if (fits(piece) || piece.size() < 8) { // escaping-heavy text: halve until it fits
            pieces.push_back(std::move(piece));
            continue;
        }
        auto halves = split_utf8(piece, (piece.size() + 1) / 2);
        for (auto it = halves.rbegin(); it != halves.rend(); ++it)
            todo.push_back(std::move(*it));
    }
    if (pieces.size() > cfg_.max_chunks || !todo.empty()) {
        out.events.emplace_back(ui::Error{
            "usage", "line of " + std::to_string(text.size()) + " bytes is too long: at most " +
                         std::to_string(cfg_.max_chunks) + " datagrams of about " +
                         std::to_string(proto::kMaxTextBytes) + " bytes; nothing was sent"});
        return std::nullopt;
    }
    return pieces;
}

void Client::command(const cmd::Say& c, Time now, Outbox& out) {
    if (target_.kind == Target::Kind::None) {
        out.events.emplace_back(
            ui::Error{"no_room", "you are in no room: /join ROOM first; nothing was sent"});
        return;
    }
    std::optional<std::string> room;
    std::vector<std::string> to;
    if (target_.kind == Target::Kind::Room)
        room = target_.name;
    else
        to = {target_.name};
    const auto pieces = chunks(c.text, room, to, out);
    if (!pieces)
        return;
    for (const auto& piece : *pieces)
        type_line(room, to, piece, now, out);
}

void Client::command(const cmd::Help&, Time, Outbox& out) {
    for (const auto& line : help_lines())
        out.events.emplace_back(ui::Info{line});
}

void Client::command(const cmd::Join& c, Time now, Outbox& out) {
    if (!require_online(out))
        return;
    Pending p{.kind = Pending::Kind::Join, .room = c.room};
    const auto id = request(std::move(p), now);
    send_request(id, proto::Join{*reg_.token(), id, c.room}, now, out);
}

void Client::command(const cmd::Leave& c, Time now, Outbox& out) {
    std::string room;
    if (c.room)
        room = *c.room;
    else if (target_.kind == Target::Kind::Room)
        room = target_.name;
    else {
        out.events.emplace_back(
            ui::Error{"usage", "no current room to leave: use /leave ROOM (or /disconnect first)"});
        return;
    }
    if (!require_online(out))
        return;
    Pending p{.kind = Pending::Kind::Leave, .room = room};
    const auto id = request(std::move(p), now);
    send_request(id, proto::Leave{*reg_.token(), id, room}, now, out);
}

void Client::command(const cmd::Rooms&, Time now, Outbox& out) {
    if (!require_online(out))
        return;
    Pending p{.kind = Pending::Kind::Rooms, .pages = 1};
    const auto id = request(std::move(p), now);
    send_request(id, proto::ListRooms{*reg_.token(), id, 0}, now, out);
}

void Client::command(const cmd::Users& c, Time now, Outbox& out) {
    if (!require_online(out))
        return;
    Pending p{.kind = Pending::Kind::Users,
              .room = c.room.value_or(""),
              .pages = 1,
              .users_in_room = c.room.has_value()};
    const auto id = request(std::move(p), now);
    send_request(id, proto::ListUsers{*reg_.token(), id, c.room, 0}, now, out);
}

void Client::command(const cmd::Msg& c, Time now, Outbox& out) {
    // One line to one peer goes over the direct path when it is up; a line to several is
    // one relayed dm, so every recipient sees the same stream (see outgoing.hpp).
    const auto pieces = chunks(c.text, std::nullopt, c.to, out);
    if (!pieces)
        return;
    for (const auto& piece : *pieces)
        type_line(std::nullopt, c.to, piece, now, out);
}

void Client::command(const cmd::Create& c, Time now, Outbox& out) {
    if (!require_online(out))
        return;
    Pending p{.kind = Pending::Kind::Create, .room = c.room, .names = c.members};
    const auto id = request(std::move(p), now);
    send_request(id, proto::CreateRoom{*reg_.token(), id, c.room, c.members}, now, out);
}

void Client::command(const cmd::Room& c, Time, Outbox& out) {
    if (rooms_.count(c.room) == 0) {
        out.events.emplace_back(ui::Error{"not_in_room", "you are not in room " + c.room +
                                                             ": /join " + c.room + " first"});
        return;
    }
    set_target({Target::Kind::Room, c.room}, out);
}

void Client::command(const cmd::Status&, Time now, Outbox& out) {
    out.events.emplace_back(status(now));
}

void Client::command(const cmd::Quit&, Time now, Outbox& out) {
    auto bye = shutdown(now);
    for (auto& d : bye.datagrams)
        out.datagrams.push_back(std::move(d));
    for (auto& e : bye.events)
        out.events.push_back(std::move(e));
    out.events.emplace_back(ui::Quit{});
}

void Client::command(const cmd::Connect& c, Time now, Outbox& out) {
    if (c.name == cfg_.name) {
        out.events.emplace_back(ui::Error{"usage", "you cannot /connect to yourself"});
        return;
    }
    if (!require_online(out))
        return;
    Pending p{.kind = Pending::Kind::Connect, .names = {c.name}};
    const auto id = request(std::move(p), now);
    send_request(id, proto::Connect{*reg_.token(), id, c.name}, now, out);
}

void Client::command(const cmd::Disconnect&, Time, Outbox& out) {
    if (target_.kind != Target::Kind::Direct) {
        out.events.emplace_back(ui::Error{"usage", "not talking to anyone directly"});
        return;
    }
    out.events.emplace_back(ui::Info{"stopped talking to " + target_.name + " directly"});
    if (!last_room_.empty() && rooms_.count(last_room_) != 0)
        set_target({Target::Kind::Room, last_room_}, out);
    else if (!rooms_.empty())
        set_target({Target::Kind::Room,
                    rooms_.count(proto::kLobby) != 0 ? proto::kLobby : *rooms_.begin()},
                   out);
    else
        set_target({Target::Kind::None, {}}, out);
}

// ---- Messages from the server ----

void Client::handle(const proto::Welcome& m, Time now, Outbox& out) {
    const auto before = reg_.state();
    if (before == ConnectionState::Online || before == ConnectionState::Closed)
        return; // a duplicate (we resent hello before the first welcome arrived)
    const bool new_session = reg_.welcomed(m, now);
    public_endpoint_ = m.public_endpoint;
    heartbeat_tag_ = proto::heartbeat_tag(m.token);
    log_.info("registered server=" + cfg_.server.to_string() + " name=" + m.name + " public=" +
              m.public_endpoint.to_string() + " hb=" + std::to_string(m.heartbeat.count()) +
              "ms new_session=" + (new_session ? "yes" : "no"));
    if (before == ConnectionState::Connecting) {
        rooms_ = {proto::kLobby};
        out.events.emplace_back(
            ui::Connection{ConnectionState::Online, "connected to " + cfg_.server.to_string() +
                                                        " as " + m.name + " (public address " +
                                                        m.public_endpoint.to_string() + ")"});
        if (cfg_.room != proto::kLobby) {
            // Joined optimistically, so a line typed at once goes to the right room: the
            // join reaches the server before it, on the same socket.
            rooms_.insert(cfg_.room);
            Pending p{.kind = Pending::Kind::Join, .room = cfg_.room};
            const auto id = request(std::move(p), now);
            send_request(id, proto::Join{*reg_.token(), id, cfg_.room}, now, out);
        }
        set_target({Target::Kind::Room, cfg_.room}, out);
        return;
    }
    // Reconnecting: back. A new session starts in the lobby only, so restore our rooms.
    std::vector<std::string> rejoined;
    if (new_session) {
        // The server restarted (or evicted us): the other members are registering again
        // too. Lines sent before they are back would be delivered to rooms without them.
        relay_hold_until_ = now + reg_.heartbeat() + cfg_.regroup_margin;
        for (const auto& room : rooms_) {
            if (room == proto::kLobby)
                continue;
            Pending p{.kind = Pending::Kind::Rejoin, .room = room};
            const auto id = request(std::move(p), now);
            send_request(id, proto::Join{*reg_.token(), id, room}, now, out);
            rejoined.push_back(room);
        }
        if (rooms_.count(proto::kLobby) == 0) {
            Pending p{.kind = Pending::Kind::Unjoin, .room = proto::kLobby};
            const auto id = request(std::move(p), now);
            send_request(id, proto::Leave{*reg_.token(), id, proto::kLobby}, now, out);
        }
    }
    out.events.emplace_back(ui::Connection{
        ConnectionState::Online,
        "back online with " + cfg_.server.to_string() +
            (rejoined.empty() ? std::string() : "; rejoined " + join(rejoined, ", "))});
}

void Client::startup_refused(const proto::Error& m, Outbox& out) {
    out.events.emplace_back(ui::Fatal{"the rendezvous refused us: " + m.text});
    log_.error("startup_failed server=" + cfg_.server.to_string() +
               " reason=" + std::string(proto::wire_name(m.code)));
    reg_.close();
    closed_ = true;
}

void Client::handle(const proto::Error& m, Time now, Outbox& out) {
    const std::string code(proto::wire_name(m.code));
    if (reg_.state() == ConnectionState::Connecting) {
        // Answers to hello: the name is taken, the server is full, this address already has
        // a session under another name. None will change by asking again.
        startup_refused(m, out);
        return;
    }
    if (reg_.state() == ConnectionState::Reconnecting) {
        // A refusal of our hello (the name taken meanwhile, our network at its share, the
        // server full): said once per kind, as we keep trying. Answers to requests of the lost
        // session are not news.
        const bool refusal = m.code == proto::ErrorCode::NameTaken ||
                             m.code == proto::ErrorCode::NetworkLimit ||
                             m.code == proto::ErrorCode::ServerFull;
        if (refusal && told_while_reconnecting_ != m.code) {
            told_while_reconnecting_ = m.code;
            out.events.emplace_back(ui::Error{code, m.text + " (still retrying)"});
        }
        return;
    }
    if (m.code == proto::ErrorCode::NoSession) {
        // Requests fail with the session; chat lines wait and go to the next one.
        session_lost(now, "the server no longer knows this session", out);
        return;
    }
    if (OutLine* line = m.id ? outgoing_.by_request(*m.id) : nullptr) {
        line_failed(*line, code, m.text, out);
        outgoing_.settle(line->key);
        return;
    }
    std::optional<Pending> p;
    if (m.id) {
        if (auto it = pending_.find(*m.id); it != pending_.end()) {
            p = std::move(it->second);
            pending_.erase(it);
        }
    }
    if (!p) {
        out.events.emplace_back(ui::Error{code, m.text});
        return;
    }
    if (is_repeat_answer(*p, m.code)) {
        answered(std::move(*p), {}, out);
        return;
    }
    if (p->kind == Pending::Kind::Join && rooms_.count(p->room) != 0 && target_.name == p->room) {
        rooms_.erase(p->room); // the optimistic --room join failed
        retarget_after_leaving(p->room, out);
    }
    if (p->kind == Pending::Kind::Rejoin) {
        rooms_.erase(p->room);
        out.events.emplace_back(ui::Error{code, "could not rejoin " + p->room + ": " + m.text});
        retarget_after_leaving(p->room, out);
        return;
    }
    if (p->kind == Pending::Kind::Unjoin)
        return;
    fail_request(*p, code, m.text, out);
}

void Client::handle(const proto::Ok& m, Time now, Outbox& out) {
    if (OutLine* line = outgoing_.by_request(m.id)) {
        if (line->relay_tries == 1 && !line->taken) // Karn: only a line sent once measures
            server_rtt_.sample(now - line->relay_sent);
        if (m.taken) { // delivering: ask again only now and then (the server may restart)
            line->taken = true;
            line->relay_due = now + kTakenPoll;
            return;
        }
        if (!m.unknown.empty())
            out.events.emplace_back(ui::Error{"no_such_user",
                                              "not online: " + join(m.unknown, ", ") +
                                                  " (message not delivered to them)",
                                              line->text, std::nullopt, m.unknown});
        line_delivered(*line, out);
        outgoing_.settle(line->key);
        return;
    }
    auto it = pending_.find(m.id);
    if (it == pending_.end())
        return; // late (already reported as unanswered) or a duplicate
    Pending p = std::move(it->second);
    pending_.erase(it);
    answered(std::move(p), m.unknown, out);
}

void Client::answered(Pending p, const std::vector<std::string>& unknown, Outbox& out) {
    switch (p.kind) {
    case Pending::Kind::Join:
        incoming_.forget_stream(OutgoingLines::room_stream(p.room));
        rooms_.insert(p.room);
        out.events.emplace_back(ui::Joined{p.room, cfg_.name, std::nullopt, true});
        set_target({Target::Kind::Room, p.room}, out);
        break;
    case Pending::Kind::Leave:
        incoming_.forget_stream(OutgoingLines::room_stream(p.room));
        rooms_.erase(p.room);
        out.events.emplace_back(ui::Left{p.room, cfg_.name, proto::LeaveReason::Left, true});
        retarget_after_leaving(p.room, out);
        break;
    case Pending::Kind::Create:
        rooms_.insert(p.room);
        out.events.emplace_back(ui::Joined{p.room, cfg_.name, cfg_.name, true});
        set_target({Target::Kind::Room, p.room}, out);
        break;
    case Pending::Kind::Rejoin:
    case Pending::Kind::Unjoin:
    case Pending::Kind::Rooms:
    case Pending::Kind::Users:
    case Pending::Kind::Connect:
    case Pending::Kind::Reconnect:
        break;
    }
    if (!unknown.empty() && p.kind == Pending::Kind::Create)
        out.events.emplace_back(ui::Error{"no_such_user", "not online: " + join(unknown, ", ") +
                                                              " (not added to " + p.room + ")"});
}

bool Client::is_repeat_answer(const Pending& p, proto::ErrorCode code) const {
    // A resent leave whose first copy got through (its ok was lost) finds us out already.
    const bool gone = code == proto::ErrorCode::NotInRoom || code == proto::ErrorCode::NoSuchRoom;
    return p.kind == Pending::Kind::Leave && p.sends > 1 && gone && rooms_.count(p.room) != 0;
}

void Client::handle(const proto::RoomList& m, Time now, Outbox& out) {
    auto it = pending_.find(m.id);
    if (it == pending_.end() || it->second.kind != Pending::Kind::Rooms)
        return;
    Pending p = std::move(it->second);
    pending_.erase(it);
    p.room_pages.insert(p.room_pages.end(), m.rooms.begin(), m.rooms.end());
    if (m.next && p.pages < cfg_.max_list_pages) {
        ++p.pages;
        const auto id = request(std::move(p), now);
        send_request(id, proto::ListRooms{*reg_.token(), id, *m.next}, now, out);
        return;
    }
    out.events.emplace_back(ui::RoomList{std::move(p.room_pages), m.total});
}

void Client::handle(const proto::UserList& m, Time now, Outbox& out) {
    auto it = pending_.find(m.id);
    if (it == pending_.end() || it->second.kind != Pending::Kind::Users)
        return;
    Pending p = std::move(it->second);
    pending_.erase(it);
    p.user_pages.insert(p.user_pages.end(), m.users.begin(), m.users.end());
    if (m.next && p.pages < cfg_.max_list_pages) {
        ++p.pages;
        std::optional<std::string> room;
        if (p.users_in_room)
            room = p.room;
        const auto id = request(std::move(p), now);
        send_request(id, proto::ListUsers{*reg_.token(), id, room, *m.next}, now, out);
        return;
    }
    std::optional<std::string> room;
    if (p.users_in_room)
        room = p.room;
    out.events.emplace_back(ui::UserList{std::move(room), std::move(p.user_pages), m.total});
}

void Client::handle(const proto::RoomMessage& m, Time now, Outbox& out) {
    receive_line(m.from, OutgoingLines::room_stream(m.room), m.stamp, m.d,
                 ui::Message{m.room, m.from, m.text, false}, now, out);
}

void Client::handle(const proto::DirectMessage& m, Time now, Outbox& out) {
    receive_line(m.from, OutgoingLines::direct_stream(m.to), m.stamp, m.d,
                 ui::Direct{m.from, m.to, m.text, false, true}, now, out);
}

void Client::handle(const proto::MemberJoined& m, Outbox& out) {
    const bool self = m.name == cfg_.name;
    if (self)
        rooms_.insert(m.room); // someone's /create added us
    out.events.emplace_back(ui::Joined{m.room, m.name, m.by, self});
}

void Client::handle(const proto::MemberLeft& m, Outbox& out) {
    const bool self = m.name == cfg_.name;
    if (self) {
        rooms_.erase(m.room);
        retarget_after_leaving(m.room, out);
    }
    out.events.emplace_back(ui::Left{m.room, m.name, m.reason, self});
}

void Client::handle(const proto::PeerInfo& m, Time now, Outbox& out) {
    if (m.d)
        acks_.add(*m.d, now); // a resend too: the server resends until it hears an ack
    if (const auto it = paths_.find(m.name); it != paths_.end() && it->second.accepts(m.nonce))
        return; // an exchange we already have (every exchange has a fresh nonce): a resend
    std::optional<Pending::Kind> asked; // which of our requests this answers, if any
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        const auto kind = it->second.kind;
        if ((kind == Pending::Kind::Connect || kind == Pending::Kind::Reconnect) &&
            it->second.names.front() == m.name) {
            asked = kind;
            pending_.erase(it);
            break;
        }
    }
    if (!asked && !admit_exchange(m, now, out)) // what we asked for is bounded by our asking
        return;
    // A fresh exchange for a path we already have (a retry, ours or theirs) is not news.
    const bool retry = asked == Pending::Kind::Reconnect || (!asked && paths_.count(m.name) != 0);
    if (!retry)
        out.events.emplace_back(
            ui::PeerFound{m.name, m.public_endpoint, m.private_endpoints, m.initiator});
    PathOutput po;
    if (auto it = paths_.find(m.name); it != paths_.end())
        it->second.restart(m, now, po);
    else
        paths_.emplace(m.name, DirectPath(cfg_.name, m, cfg_.path, now, po));
    apply(po, out, now);
    if (asked == Pending::Kind::Connect)
        set_target({Target::Kind::Direct, m.name}, out);
}

// ---- The direct path (P2P) ----

bool Client::admit_exchange(const proto::PeerInfo& m, Time now, Outbox& out) {
    const auto it = paths_.find(m.name);
    const bool known = it != paths_.end();
    const auto punching = static_cast<std::size_t>(std::count_if(
        paths_.begin(), paths_.end(), [now](const auto& p) { return p.second.punching(now); }));
    std::string why;
    if (known && !it->second.may_restart(now))
        why = "it started " + std::to_string(cfg_.path.max_exchanges) + " exchanges in " +
              seconds_text(cfg_.path.exchange_window);
    else if (!(known && it->second.punching(now)) && punching >= cfg_.max_punching)
        why = std::to_string(punching) + " other peers are being punched to already";
    else if (!known && paths_.size() >= cfg_.max_paths && !evict_idle_path(now))
        why = std::to_string(paths_.size()) + " peers have a direct path or are punching";
    if (why.empty())
        return true;
    ++p2p_drops_.exchanges_ignored;
    log_.debug("exchange_ignored peer=" + m.name + " reason=\"" + why +
               "\" count=" + std::to_string(p2p_drops_.exchanges_ignored));
    if (!told_exchange_ignored_) {
        told_exchange_ignored_ = true;
        log_.warn("exchange_ignored peer=" + m.name + " reason=\"" + why + "\"");
        out.events.emplace_back(ui::Error{
            "exchange_ignored", "ignored a direct connection from " + m.name + ": " + why +
                                    " (messages still go through the server; further ones are "
                                    "ignored without notice)"});
    }
    return false;
}

bool Client::evict_idle_path(Time now) {
    // The path idle longest that is neither punching nor direct, and not the current target.
    auto victim = paths_.end();
    for (auto it = paths_.begin(); it != paths_.end(); ++it) {
        const DirectPath& p = it->second;
        if (p.punching(now) || p.is_direct(now) ||
            (target_.kind == Target::Kind::Direct && target_.name == it->first))
            continue;
        if (victim == paths_.end() || p.last_active() < victim->second.last_active())
            victim = it;
    }
    if (victim == paths_.end())
        return false;
    log_.debug("path_forgotten peer=" + victim->first);
    paths_.erase(victim);
    return true;
}

void Client::on_peer_datagram(const proto::Endpoint& from, const proto::Message& msg, Time now,
                              Outbox& out) {
    // Only datagrams carrying the nonce of an exchange the rendezvous made are accepted:
    // anything else from a stranger is dropped here.
    auto path_for = [this](std::string_view name, std::string_view nonce) -> DirectPath* {
        auto it = paths_.find(std::string(name));
        return it != paths_.end() && it->second.accepts(nonce) ? &it->second : nullptr;
    };
    PathOutput po;
    if (const auto* probe = std::get_if<proto::Probe>(&msg)) {
        if (DirectPath* path = path_for(probe->from, probe->nonce))
            path->on_probe(from, *probe, now, po);
    } else if (const auto* ack = std::get_if<proto::ProbeAck>(&msg)) {
        if (DirectPath* path = path_for(ack->from, ack->nonce))
            path->on_probe_ack(from, *ack, now, po);
    } else if (const auto* text = std::get_if<proto::PeerText>(&msg)) {
        if (DirectPath* path = path_for(text->from, text->nonce))
            on_peer_text(from, *text, *path, now, out);
    } else if (const auto* tack = std::get_if<proto::PeerAck>(&msg)) {
        on_peer_ack(from, *tack, now, out);
    } else {
        log_.debug("dropped from=" + from.to_string() +
                   " reason=not_the_server type=" + std::string(proto::type_name(msg)));
    }
    apply(po, out, now);
}

void Client::on_peer_text(const proto::Endpoint& from, const proto::PeerText& m, DirectPath& path,
                          Time now, Outbox& out) {
    out.datagrams.push_back({from, proto::encode(proto::PeerAck{m.nonce, m.id})});
    path.on_heard(from, now);
    if (!m.stamp && !path.first_sight_of_text(m.id)) { // only its id tells a resend
        ++p2p_drops_.texts_repeated;
        return;
    }
    receive_line(m.from, OutgoingLines::direct_stream({cfg_.name}), m.stamp, std::nullopt,
                 ui::Direct{m.from, {cfg_.name}, m.text, false, false}, now, out);
}

void Client::on_peer_ack(const proto::Endpoint& from, const proto::PeerAck& m, Time now,
                         Outbox& out) {
    OutLine* line = outgoing_.by_p2p(m.id);
    if (line == nullptr || line->to.size() != 1)
        return;
    const auto path = paths_.find(line->to.front());
    if (path == paths_.end() || !path->second.accepts(m.nonce))
        return;
    path->second.on_heard(from, now);
    if (line->p2p_tries == 1)
        direct_rtt(line->to.front()).sample(now - line->p2p_sent);
    line_delivered(*line, out);
    outgoing_.settle(line->key);
}

void Client::apply(const PathOutput& po, Outbox& out, Time now) {
    for (const auto& [to, bytes] : po.datagrams) {
        if (probe_budget_.take(now))
            out.datagrams.push_back({to, bytes});
        else
            ++p2p_drops_.probes_over_budget; // a lost probe, as far as the path can tell
    }
    for (const auto& e : po.events) {
        log_.info(std::string("path peer=") + e.peer + " state=" +
                  (e.state == PathState::Direct     ? "direct"
                   : e.state == PathState::Punching ? "punching"
                                                    : "relayed") +
                  (e.via ? " via=" + e.via->to_string() : std::string()) +
                  (e.rtt ? " rtt=" + std::to_string(e.rtt->count()) + "ms" : std::string()) +
                  (e.reason.empty() ? std::string() : " reason=\"" + e.reason + "\""));
        out.events.emplace_back(ui::PathChanged{e.peer, e.state, e.via, e.rtt, e.reason});
    }
    if (po.wants_exchange && reg_.state() == ConnectionState::Online) {
        // Ask the rendezvous for fresh endpoints: both sides get `peer` and punch together.
        const std::string& name = *po.wants_exchange;
        Pending p{.kind = Pending::Kind::Reconnect, .names = {name}};
        const auto id = request(std::move(p), now);
        send_request(id, proto::Connect{*reg_.token(), id, name}, now, out);
    }
}

void Client::run_paths(Time now, Outbox& out) {
    for (auto& [name, path] : paths_) {
        PathOutput po;
        path.on_tick(now, po);
        apply(po, out, now);
    }
}

// ---- Chat lines: typed, sent, resent, settled ----

void Client::type_line(std::optional<std::string> room, std::vector<std::string> to,
                       const std::string& text, Time now, Outbox& out) {
    if (outgoing_.full()) {
        out.events.emplace_back(
            ui::Error{"busy", std::to_string(OutgoingLines::kMaxLines) +
                                  " lines are still waiting to be delivered: nothing was sent"});
        return;
    }
    OutLine& line = outgoing_.add(std::move(room), std::move(to), text, now);
    const bool direct = direct_usable(line, now);
    if (!direct)
        ++relayed_lines_typed_;
    line.queued = !direct && reg_.state() != ConnectionState::Online;
    if (line.room)
        out.events.emplace_back(ui::Message{*line.room, cfg_.name, text, true, line.queued});
    else
        out.events.emplace_back(ui::Direct{cfg_.name, line.to, text, true, !direct, line.queued});
    pump_line(line, now, out);
}

void Client::pump_lines(Time now, Outbox& out) {
    if (now >= relay_hold_until_)
        relay_hold_until_ = Time{};  // over: next_wakeup() must not keep answering a past time
    std::vector<std::uint64_t> keys; // typing order; pump_line may settle a line
    keys.reserve(outgoing_.size());
    for (const auto& [key, line] : outgoing_.lines())
        keys.push_back(key);
    for (const auto key : keys)
        if (OutLine* line = outgoing_.find(key))
            pump_line(*line, now, out);
}

void Client::pump_line(OutLine& line, Time now, Outbox& out) {
    if (now >= line.deadline()) {
        line_failed(line, "not_delivered",
                    "no acknowledgement within " + seconds_text(proto::kDeliveryDeadline), out);
        outgoing_.settle(line.key);
        return;
    }
    // The direct path first, while it is up and has not failed this line three times.
    if (direct_usable(line, now) && !line.request && line.p2p_tries < cfg_.direct_tries) {
        if (line.p2p_tries == 0 && !outgoing_.within_direct_window(line))
            return; // the receiver holds what follows a missing line: keep that within bounds
        if (line.p2p_tries == 0 || (line.p2p_due && now >= *line.p2p_due))
            send_p2p(line, now, out);
        return;
    }
    if (line.p2p_due && now >= *line.p2p_due) { // its last try went unanswered: relay it too
        line.p2p_due.reset();
        log_.info("p2p_unacked peer=" + line.to.front() + " n=" + std::to_string(line.n) +
                  " action=relay");
    }
    if (line.p2p_due || reg_.state() != ConnectionState::Online || now < relay_hold_until_)
        return; // still waiting for a p2p_ack, or for the server (and its members)
    if (!line.request) {
        if (outgoing_.relayed_in_flight() < OutgoingLines::kRelayWindow)
            send_relayed(line, now, out);
    } else if (line.relay_due && now >= *line.relay_due) {
        send_relayed(line, now, out);
    }
}

bool Client::direct_usable(const OutLine& line, Time now) const {
    if (line.to.size() != 1)
        return false;
    const auto path = paths_.find(line.to.front());
    return path != paths_.end() && path->second.is_direct(now);
}

bool Client::waiting_for_direct_window(Time now) const {
    // A line bound for a direct path that has not gone out yet: pump_line sends it at once
    // unless the window holds it.
    for (const auto& [key, line] : outgoing_.lines())
        if (!line.request && line.p2p_tries == 0 && direct_usable(line, now))
            return true;
    return false;
}

proto::RttEstimator& Client::direct_rtt(const std::string& peer) {
    auto it = direct_rtt_.find(peer);
    if (it == direct_rtt_.end()) {
        const auto path = paths_.find(peer);
        const auto probe_rtt = path != paths_.end() ? path->second.rtt() : std::nullopt;
        proto::RttEstimator est;
        if (probe_rtt)
            est.sample(*probe_rtt);
        it = direct_rtt_.emplace(peer, est).first;
    }
    return it->second;
}

void Client::send_p2p(OutLine& line, Time now, Outbox& out) {
    const DirectPath& path = paths_.at(line.to.front());
    if (!line.p2p_id)
        line.p2p_id = next_text_id_++;
    ++line.p2p_tries;
    line.p2p_sent = now;
    line.p2p_due = now + direct_rtt(line.to.front()).backoff(line.p2p_tries);
    out.datagrams.push_back(
        {*path.via(), proto::encode(proto::PeerText{cfg_.name, path.nonce(), *line.p2p_id,
                                                    line.text, outgoing_.stamp(line)})});
}

void Client::send_relayed(OutLine& line, Time now, Outbox& out) {
    if (!line.request)
        line.request = next_id_++;
    ++line.relay_tries;
    line.relay_sent = now;
    // Taken: only a poll now and then (the final ok may be lost, or the server restart).
    line.relay_due = now + (line.taken ? kTakenPoll : relay_rtt().backoff(line.relay_tries));
    const auto stamp = outgoing_.stamp(line);
    if (line.room)
        send(proto::Say{*reg_.token(), *line.request, *line.room, line.text, stamp}, out);
    else
        send(proto::Direct{*reg_.token(), *line.request, line.to, line.text, stamp}, out);
}

void Client::line_delivered(const OutLine& line, Outbox& out) {
    out.events.emplace_back(ui::Delivered{line.room, line.to, line.text, line.queued});
}

void Client::line_failed(const OutLine& line, std::string code, std::string_view why, Outbox& out) {
    const std::string where = line.room ? *line.room : join(line.to, ",");
    log_.info("not_delivered to=" + where + " n=" + std::to_string(line.n) + " why=\"" +
              std::string(why) + "\"");
    out.events.emplace_back(ui::Error{std::move(code),
                                      "message to " + where + " not delivered (\"" +
                                          sample(line.text) + "\"): " + std::string(why),
                                      line.text, line.room, line.to});
}

void Client::receive_line(const std::string& author, const std::string& stream,
                          const std::optional<proto::Stamp>& st, std::optional<proto::DeliveryId> d,
                          UiEvent line, Time now, Outbox& out) {
    if (d)
        acks_.add(*d, now); // duplicates too: the server resends until it hears an ack
    if (st)
        incoming_.on_line(author, stream, *st, std::move(line), now, out.events);
    else if (!d || !acks_.seen_before(*d)) // a legacy client's line: only `d` identifies it
        out.events.push_back(std::move(line));
}

void Client::send_acks(Time now, Outbox& out) {
    if (reg_.state() != ConnectionState::Online || !reg_.token())
        return;
    for (auto ids = acks_.take_due(now); !ids.empty(); ids = acks_.take_due(now))
        send(proto::Got{*reg_.token(), std::move(ids)}, out);
}

} // namespace chat::peer
