// The rendezvous core; see server.hpp. on_datagram runs the cheap gates first (size, the
// source's rate budget), then decode, then one handle_* per message type. Replies to a
// source without a verified session go through send_unverified, which refuses to send more
// bytes than the request carried, so a spoofed source address gains no amplification.
// A chat line is encoded once and handed to Deliveries (delivery.hpp), which gives each JSON
// member its delivery id and later asks for resends and the author's ok; on_tick runs them.
#include "server.hpp"

#include "proto/limits.hpp"
#include "proto/validate.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdio>
#include <stdexcept>
#include <type_traits>

#include <sodium.h>

namespace chat::rdv {
namespace {

using proto::ErrorCode;
using proto::LeaveReason;

// A page of a list reply stops growing past this many bytes of entries, so the encoded
// reply (entries plus ~120 bytes of envelope) always fits kMaxDatagram.
constexpr std::size_t kListPageBudget = 900;

// Debug lines about drops: 10 a second, bursts of 20. A flood must not flood the log.
constexpr BucketRate kDropLogRate{10, 20};

template <typename T>
constexpr bool kIsRequest =
    std::is_same_v<T, proto::Bye> || std::is_same_v<T, proto::Join> ||
    std::is_same_v<T, proto::Leave> || std::is_same_v<T, proto::ListRooms> ||
    std::is_same_v<T, proto::ListUsers> || std::is_same_v<T, proto::CreateRoom> ||
    std::is_same_v<T, proto::Say> || std::is_same_v<T, proto::Direct> ||
    std::is_same_v<T, proto::Connect> || std::is_same_v<T, proto::Got>;

template <typename T> std::optional<proto::RequestId> request_id(const T& m) {
    if constexpr (requires { m.id; })
        return m.id;
    else
        return std::nullopt;
}

std::string seconds_text(Duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

std::string joined_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ",") + n;
    return out.empty() ? "-" : out;
}

std::string joined_names(const SmallVector<Room*, 1>& rooms) {
    std::string out;
    for (const Room* r : rooms)
        out += (out.empty() ? "" : ",") + r->name;
    return out.empty() ? "-" : out;
}

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

// The largest a member's copy of a line can be: with the longest delivery id if reliable.
std::size_t relayed_size(const std::string& json, bool reliable) {
    return json.size() + (reliable ? kDeliveryIdBytes : 0);
}

std::string too_long_text(std::size_t relayed) {
    return "line too long to relay: " + std::to_string(relayed) + " bytes as a message, over " +
           std::to_string(proto::kMaxDatagram) + ": send a shorter line or fewer recipients";
}

} // namespace

Server::Server(const ServerConfig& cfg, Rng& rng, Logger& log, Time now)
    : cfg_(cfg), rng_(rng), log_(log), hash_(rng), cookies_(rng, now), nets_(cfg.net_caps, hash_),
      peers_(hash_),
      deliveries_(
          Deliveries::Limits{cfg.max_in_flight_per_member, cfg.max_in_flight, kMaxLinesInFlight}),
      sources_(cfg.source_limiter_entries, cfg.source_datagrams_per_second, cfg.source_burst,
               hash_),
      drop_log_budget_(kDropLogRate, now), now_(now), last_stats_(now) {
    if (sodium_init() < 0)
        throw std::runtime_error("libsodium failed to initialise");
    if (cfg_.stats_every > Duration::zero())
        next_stats_ = now + cfg_.stats_every;
}

// ---------------------------------------------------------------- inputs

Outbox Server::on_datagram(const proto::Endpoint& from, std::string_view bytes, Time now) {
    now_ = std::max(now_, now);
    Outbox out;
    ++traffic_.datagrams_in;
    traffic_.bytes_in += bytes.size();
    if (bytes.size() > proto::kMaxDatagram) {
        drop(proto::DropReason::Oversize, from, std::to_string(bytes.size()) + " bytes");
        return out;
    }
    Peer* peer = peers_.find_by_endpoint(from);
    const bool json_session = peer != nullptr && !peer->plaintext;
    if (!json_session) { // a JSON session's datagrams are charged once authenticated
        const bool allowed = peer != nullptr ? peer->inbound.try_take(session_rate_, now_)
                                             : sources_.allow(from, now_);
        if (!allowed) {
            drop(proto::DropReason::RateLimited, from, "");
            return out;
        }
    }
    auto decoded = proto::decode(bytes);
    if (auto* err = std::get_if<proto::DecodeError>(&decoded)) {
        const Request rq{from, bytes.size(), out};
        if (!charge_unauthenticated(peer, rq))
            return out;
        drop(err->reason, from, err->detail + " sample=" + proto::sanitized_sample(bytes));
        if (json_session)
            explain_rejection(*err, rq);
        count_sent(out);
        return out;
    }
    dispatch(std::move(std::get<proto::Message>(decoded)), peer, Request{from, bytes.size(), out});
    count_sent(out);
    return out;
}

Outbox Server::on_tick(Time now) {
    now_ = std::max(now_, now);
    Outbox out;
    for (const PeerId id : expiry_.take_due(now_))
        evict(id, out); // first: an evicted member's deliveries are given up, not resent
    Deliveries::Output due;
    deliveries_.on_tick(now_, due);
    send_delivery_output(out, due);
    if (next_stats_ && now_ >= *next_stats_) {
        log_stats();
        next_stats_ = now_ + cfg_.stats_every;
    }
    count_sent(out);
    return out;
}

std::optional<Time> Server::next_wakeup() const {
    auto wake = expiry_.earliest();
    if (const auto d = deliveries_.next_deadline(); d && (!wake || *d < *wake))
        wake = d;
    if (next_stats_ && (!wake || *next_stats_ < *wake))
        wake = next_stats_;
    return wake;
}

Outbox Server::shutdown(Time now) {
    now_ = std::max(now_, now);
    Outbox out;
    std::size_t told = 0;
    peers_.for_each([&](Peer& p) {
        if (p.plaintext)
            send_bytes(out, p, "server\nshutting down");
        else
            send(out, p, proto::Shutdown{});
        ++told;
    });
    log_.info("shutdown peers=" + std::to_string(told));
    count_sent(out);
    return out;
}

// ---------------------------------------------------------------- dispatch

void Server::dispatch(proto::Message&& msg, Peer* peer, const Request& rq) {
    std::visit(
        [&](auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, proto::Ping>) {
                handle_ping(m, peer, rq);
            } else if constexpr (std::is_same_v<T, proto::PlainText>) {
                handle_plaintext(m, peer, rq);
            } else if constexpr (std::is_same_v<T, proto::Hello>) {
                handle_hello(m, peer, rq);
            } else if constexpr (kIsRequest<T>) {
                Peer* p = authenticate(m.token, request_id(m), peer, rq);
                if (p != nullptr)
                    handle_request(m, *p, rq);
            } else if (charge_unauthenticated(peer, rq)) {
                drop(proto::DropReason::WrongDirection, rq.from,
                     std::string(proto::type_name(msg)) + " is sent by servers, not to them");
            }
        },
        msg);
}

void Server::handle_request(const proto::Bye&, Peer& peer, const Request& rq) {
    handle_bye(peer, rq);
}
void Server::handle_request(const proto::Join& m, Peer& peer, const Request& rq) {
    handle_join(m, peer, rq);
}
void Server::handle_request(const proto::Leave& m, Peer& peer, const Request& rq) {
    handle_leave(m, peer, rq);
}
void Server::handle_request(const proto::ListRooms& m, Peer& peer, const Request& rq) {
    handle_rooms(m, peer, rq);
}
void Server::handle_request(const proto::ListUsers& m, Peer& peer, const Request& rq) {
    handle_users(m, peer, rq);
}
void Server::handle_request(const proto::CreateRoom& m, Peer& peer, const Request& rq) {
    handle_create(m, peer, rq);
}
void Server::handle_request(const proto::Say& m, Peer& peer, const Request& rq) {
    handle_say(m, peer, rq);
}
void Server::handle_request(const proto::Direct& m, Peer& peer, const Request& rq) {
    handle_direct(m, peer, rq);
}
void Server::handle_request(const proto::Connect& m, Peer& peer, const Request& rq) {
    handle_connect(m, peer, rq);
}
void Server::handle_request(const proto::Got& m, Peer& peer, const Request& rq) {
    handle_got(m, peer, rq);
}

void Server::explain_rejection(const proto::DecodeError& err, const Request& rq) {
    // A session's own client got a request wrong (an old or buggy peer): tell it which field.
    // The source address can be spoofed, so the answer is still no larger than the request.
    const bool from_a_client = err.reason == proto::DropReason::BadField ||
                               err.reason == proto::DropReason::UnknownType ||
                               err.reason == proto::DropReason::BadVersion;
    if (from_a_client)
        send_error(rq, nullptr, std::nullopt, ErrorCode::BadRequest, err.detail);
}

Peer* Server::authenticate(const proto::Token& token, std::optional<proto::RequestId> id,
                           Peer* peer, const Request& rq) {
    if (peer == nullptr || peer->plaintext) {
        drop(proto::DropReason::NotRegistered, rq.from, "request without a session");
        // Short on purpose: it goes to an unverified address, so it must not be larger than
        // the request, and the smallest requests (a join with a short room) are ~75 bytes.
        send_error(rq, nullptr, id, ErrorCode::NoSession, "hello first");
        return nullptr;
    }
    if (!peer->token.matches(token)) {
        if (charge_unauthenticated(peer, rq))
            drop(proto::DropReason::BadToken, rq.from, "token does not match " + peer->name);
        return nullptr;
    }
    if (!charge_session(*peer, rq))
        return nullptr;
    refresh(*peer);
    return peer;
}

bool Server::charge_session(Peer& peer, const Request& rq) {
    if (peer.inbound.try_take(session_rate_, now_))
        return true;
    drop(proto::DropReason::RateLimited, rq.from, "session over its budget");
    return false;
}

bool Server::charge_unauthenticated(const Peer* at_source, const Request& rq) {
    if (at_source == nullptr || at_source->plaintext)
        return true; // charged on arrival
    if (sources_.allow(rq.from, now_))
        return true;
    drop(proto::DropReason::RateLimited, rq.from, "unauthenticated, over the source's budget");
    return false;
}

// ---------------------------------------------------------------- heartbeats, legacy text

void Server::handle_ping(const proto::Ping& m, Peer* peer, const Request& rq) {
    if (peer != nullptr && !peer->plaintext) {
        // Only the session's own tag refreshes it: a #ping# forged from its address (bare, or
        // with any other tag) keeps nothing alive, and costs the session nothing.
        if (!peer->token.heartbeat_tag_matches(m.tag)) {
            if (charge_unauthenticated(peer, rq))
                drop(proto::DropReason::BadHeartbeat, rq.from,
                     m.tag.empty() ? "bare #ping# from a session" : "wrong heartbeat tag");
            return;
        }
        if (!charge_session(*peer, rq))
            return;
        refresh(*peer);
        send_bytes(rq.out, *peer, proto::kPong);
        return;
    }
    if (peer == nullptr) {
        if (!cfg_.allow_plaintext || !m.tag.empty()) {
            drop(proto::DropReason::NotRegistered, rq.from, "#ping# without a session");
            // A peer whose session is gone (we restarted, or evicted it) learns it at its next
            // ping instead of three heartbeats later; six bytes, no more than the ping.
            send_unverified(rq, proto::WhoAreYou{});
            return;
        }
        peer = register_plaintext(rq);
        if (peer == nullptr)
            return;
    }
    refresh(*peer); // a legacy plain-text client: it cannot prove more than its address
}

void Server::handle_plaintext(const proto::PlainText& m, Peer* peer, const Request& rq) {
    if (peer != nullptr && !peer->plaintext) {
        if (charge_unauthenticated(peer, rq))
            drop(proto::DropReason::WrongDirection, rq.from, "plain text from a JSON session");
        return;
    }
    if (peer == nullptr) {
        if (!cfg_.allow_plaintext) {
            drop(proto::DropReason::PlaintextOff, rq.from,
                 "plain-text client; --allow-plaintext is off");
            return;
        }
        peer = register_plaintext(rq);
        if (peer == nullptr)
            return;
    }
    refresh(*peer);
    if (!relay_room_message(rq.out, proto::kLobby, peer->name, m.text, std::nullopt, peer->id,
                            std::nullopt))
        log_.debug("dropped plain line from=" + peer->name + ": too long to relay");
}

Peer* Server::register_plaintext(const Request& rq) {
    if (peers_.plaintext_count() >= cfg_.max_plaintext_clients || peers_.size() >= cfg_.max_peers ||
        nets_.full(rq.from, NetResource::Sessions)) {
        drop(proto::DropReason::TableFull, rq.from, "no room for another plain-text client");
        return nullptr;
    }
    Peer p;
    p.name = rq.from.to_string();
    p.endpoint = rq.from;
    p.plaintext = true;
    p.inbound = TokenBucket(session_rate_, now_);
    Peer& peer = peers_.add(std::move(p));
    nets_.add(peer.endpoint, NetResource::Sessions);
    unverified_budgets_.emplace(peer.id, TokenBucket(plaintext_rate_, now_));
    sources_.forget(rq.from);
    put_in_room(peer, proto::kLobby, rq.out, std::nullopt);
    log_.info("registered name=" + peer.name + " kind=plaintext");
    return &peer;
}

// ---------------------------------------------------------------- sessions

void Server::handle_hello(const proto::Hello& m, Peer* at_source, const Request& rq) {
    Peer* holder = peers_.find_by_name(m.name);
    const bool owner = holder != nullptr && m.token && holder->token.matches(*m.token);
    if (holder != nullptr && holder->endpoint == rq.from) {
        // From the session's own address, which proved itself when the session was made: a
        // welcome that was lost. The answer goes to that address, so a spoofer never sees the
        // token; that includes a client still carrying the token of an evicted session, whose
        // new session's welcome was lost. Only the token changes anything (the candidates)
        // or keeps the session alive.
        if (owner) {
            if (!charge_session(*holder, rq))
                return;
            holder->private_endpoints = m.private_endpoints;
            refresh(*holder);
        } else if (!charge_unauthenticated(at_source, rq)) {
            return;
        }
        send(rq.out, *holder, welcome_for(*holder));
        return;
    }
    if (!charge_unauthenticated(at_source, rq))
        return;
    if (holder != nullptr && !owner) {
        send_error(rq, nullptr, std::nullopt, ErrorCode::NameTaken,
                   "name " + quoted(m.name) +
                       " is taken by a live peer: choose another --name (if it was you, "
                       "wait for the old session to time out)");
        log_.info("refused name=" + m.name + " from=" + rq.from.to_string() + " reason=name_taken");
        return;
    }
    // Creating a session, or moving one here: first the address must show it receives what
    // we send it. The retry is no larger than the hello (padded to kMinHelloSize) and leaves
    // no state behind; only a hello that echoes its cookie goes on.
    if (!m.cookie || !cookies_.valid(rq.from, *m.cookie, now_)) {
        ++traffic_.retries_sent;
        send_unverified(rq, proto::Retry{cookies_.issue(rq.from, now_)});
        return;
    }
    if (holder != nullptr) { // the owner, from a new address
        if (!migrate(*holder, at_source, rq))
            return;
        holder->private_endpoints = m.private_endpoints;
        refresh(*holder);
        send(rq.out, *holder, welcome_for(*holder));
        return;
    }
    if (at_source != nullptr && !at_source->plaintext) {
        send_error(rq, nullptr, std::nullopt, ErrorCode::BadRequest,
                   "this address already has a session as " + quoted(at_source->name) +
                       ": send bye first");
        return;
    }
    if (at_source != nullptr)
        end_session(at_source->id, LeaveReason::Quit, rq.out);
    if (peers_.size() >= cfg_.max_peers) {
        drop(proto::DropReason::TableFull, rq.from, "hello while the peer table is full");
        send_error(rq, nullptr, std::nullopt, ErrorCode::ServerFull,
                   "server full (" + std::to_string(cfg_.max_peers) + " peers): try later");
        return;
    }
    if (auto text = session_limit_text(rq.from)) {
        drop(proto::DropReason::TableFull, rq.from, "hello from a network at its session share");
        send_error(rq, nullptr, std::nullopt, ErrorCode::NetworkLimit, std::move(*text));
        return;
    }
    Peer& peer = register_peer(m, rq);
    send(rq.out, peer, welcome_for(peer));
}

std::optional<std::string> Server::session_limit_text(const proto::Endpoint& from) const {
    const auto level = nets_.full(from, NetResource::Sessions);
    if (!level)
        return std::nullopt;
    return "too many sessions from your network (" +
           std::to_string(nets_.cap(*level, NetResource::Sessions)) + " per " +
           std::string(NetLimits::prefix_text(from, *level)) + "): try later";
}

Peer& Server::register_peer(const proto::Hello& m, const Request& rq) {
    Peer p;
    p.name = m.name;
    p.endpoint = rq.from;
    // Never the client's: it must not choose.
    p.token = SessionToken::from_hex(rng_.hex(proto::kTokenHexChars));
    p.private_endpoints = m.private_endpoints;
    p.inbound = TokenBucket(session_rate_, now_);
    Peer& peer = peers_.add(std::move(p));
    nets_.add(peer.endpoint, NetResource::Sessions);
    sources_.forget(rq.from);
    refresh(peer);
    put_in_room(peer, proto::kLobby, rq.out, std::nullopt);
    log_.info("registered name=" + peer.name + " from=" + rq.from.to_string() +
              " priv=" + std::to_string(peer.private_endpoints.size()) +
              " peers=" + std::to_string(peers_.size()));
    return peer;
}

proto::Welcome Server::welcome_for(const Peer& peer) const {
    return proto::Welcome{peer.name, peer.endpoint, peer.token.hex(), cfg_.heartbeat(),
                          cfg_.timeout};
}

bool Server::migrate(Peer& peer, Peer* at_source, const Request& rq) {
    // The token proves the sender owns `peer`; whatever held this address before is stale.
    if (at_source != nullptr)
        end_session(at_source->id, LeaveReason::Quit, rq.out);
    // The session's own share is not counted against it: a NAT that rebinds it to another
    // port of the same address must not find that address full of this very session.
    nets_.remove(peer.endpoint, NetResource::Sessions);
    if (auto text = session_limit_text(rq.from)) {
        nets_.add(peer.endpoint, NetResource::Sessions);
        send_error(rq, nullptr, std::nullopt, ErrorCode::NetworkLimit, std::move(*text));
        return false;
    }
    log_.info("migrated name=" + peer.name + " from=" + peer.endpoint.to_string() +
              " to=" + rq.from.to_string());
    // Its shares move with it (rooms it created stay counted where they were created).
    nets_.remove(peer.endpoint, NetResource::Joins, joins_of(peer));
    peers_.move(peer, rq.from);
    nets_.add(peer.endpoint, NetResource::Sessions);
    nets_.add(peer.endpoint, NetResource::Joins, joins_of(peer));
    sources_.forget(rq.from);
    return true;
}

void Server::refresh(Peer& peer) {
    peer.last_heard = now_;
    expiry_.arm(peer.id, now_ + cfg_.timeout);
}

void Server::evict(PeerId id, Outbox& out) {
    Peer* peer = peers_.find(id);
    if (peer == nullptr)
        return;
    log_.info("evicted name=" + peer->name + " idle=" + seconds_text(now_ - peer->last_heard) +
              " rooms=" + joined_names(peer->rooms));
    end_session(id, LeaveReason::Timeout, out);
}

void Server::end_session(PeerId id, LeaveReason why, Outbox& out) {
    Peer* peer = peers_.find(id);
    if (peer == nullptr)
        return;
    const auto rooms = peer->rooms; // a copy: leaving changes peer->rooms
    for (const Room* room : rooms)
        take_out_of_room(*peer, room->name, why, out);
    if (why != LeaveReason::Timeout)
        log_.info("left name=" + peer->name + " reason=" + std::string(proto::wire_name(why)));
    Deliveries::Output gave_up; // its deliveries end now; its own lines owe nobody an ok
    deliveries_.end_session(id, now_, gave_up);
    send_delivery_output(out, gave_up);
    expiry_.disarm(id);
    unverified_budgets_.erase(id);
    nets_.remove(peer->endpoint, NetResource::Sessions);
    peers_.remove(id);
}

void Server::handle_bye(Peer& peer, const Request& rq) {
    end_session(peer.id, LeaveReason::Quit, rq.out);
}

// ---------------------------------------------------------------- rooms

std::optional<ErrorCode> Server::room_entry_error(const Peer& peer, std::string_view room) {
    if (peer.rooms.size() >= cfg_.max_rooms_per_peer)
        return ErrorCode::TooManyRooms;
    if (room != proto::kLobby && nets_.full(peer.endpoint, NetResource::Joins))
        return ErrorCode::NetworkLimit;
    const Room* r = rooms_.find(room);
    if (r == nullptr) {
        if (rooms_.size() >= cfg_.max_rooms)
            return ErrorCode::TooManyRooms;
        if (nets_.full(peer.endpoint, NetResource::Rooms))
            return ErrorCode::NetworkLimit;
        return std::nullopt;
    }
    if (r->members.size() >= cfg_.max_room_members)
        return ErrorCode::RoomFull;
    return std::nullopt;
}

std::string Server::room_entry_text(ErrorCode code, std::string_view room) const {
    if (code == ErrorCode::NetworkLimit)
        return "cannot enter " + quoted(room) +
               ": your network holds its share of rooms on this server (at most " +
               std::to_string(cfg_.net_caps.rooms_per_host) + " rooms created and " +
               std::to_string(cfg_.net_caps.joins_per_host) + " joined per host)";
    if (code == ErrorCode::RoomFull)
        return "room " + quoted(room) + " is full (" + std::to_string(cfg_.max_room_members) +
               " members)";
    return "cannot enter " + quoted(room) + ": at most " + std::to_string(cfg_.max_rooms_per_peer) +
           " rooms per peer and " + std::to_string(cfg_.max_rooms) + " rooms on the server";
}

void Server::put_in_room(Peer& peer, std::string_view room, Outbox& out,
                         std::optional<std::string> by) {
    enter_room(peer, room);
    announce(out, room, proto::MemberJoined{std::string(room), peer.name, std::move(by)}, peer.id);
}

Room& Server::enter_room(Peer& peer, std::string_view room) {
    const bool lobby = room == proto::kLobby;
    const bool creating = !lobby && !rooms_.exists(room);
    Room& r = rooms_.add_member(room, peer.id);
    peer.rooms.push_back(&r);
    if (creating) {
        r.creator = peer.endpoint;
        nets_.add(r.creator, NetResource::Rooms);
    }
    if (!lobby)
        nets_.add(peer.endpoint, NetResource::Joins);
    return r;
}

std::uint32_t Server::joins_of(const Peer& peer) const {
    const auto n = static_cast<std::uint32_t>(peer.rooms.size());
    return peer.in_room(proto::kLobby) ? n - 1 : n;
}

void Server::take_out_of_room(Peer& peer, std::string_view room, LeaveReason why, Outbox& out) {
    Room* r = peer.room(room);
    if (r == nullptr)
        return;
    peer.rooms.erase(r);
    const bool lobby = r->name == proto::kLobby;
    const proto::Endpoint creator = r->creator;
    if (!lobby)
        nets_.remove(peer.endpoint, NetResource::Joins);
    // `room` may be r->name, gone with the room if this empties it: only r is used after.
    if (rooms_.remove_member(*r, peer.id))
        announce(out, r->name, proto::MemberLeft{r->name, peer.name, why}, peer.id);
    else if (!lobby)
        nets_.remove(creator, NetResource::Rooms);
}

void Server::announce(Outbox& out, std::string_view room, const proto::Message& notice,
                      PeerId except) {
    // Every join or leave told to every member costs O(members) datagrams, so filling a room
    // of n costs O(n^2): 10^10 datagrams for a lobby of 100,000. Big rooms stay quiet.
    const Room* r = rooms_.find(room);
    if (r == nullptr || r->members.size() > cfg_.announce_up_to) {
        ++traffic_.notices_skipped;
        return;
    }
    broadcast(out, room, notice, except);
}

void Server::handle_join(const proto::Join& m, Peer& peer, const Request& rq) {
    if (!peer.in_room(m.room)) {
        if (const auto err = room_entry_error(peer, m.room)) {
            send_error(rq, &peer, m.id, *err, room_entry_text(*err, m.room));
            return;
        }
        put_in_room(peer, m.room, rq.out, std::nullopt);
    }
    send(rq.out, peer, proto::Ok{m.id, {}});
}

void Server::handle_leave(const proto::Leave& m, Peer& peer, const Request& rq) {
    if (!peer.in_room(m.room)) {
        const bool exists = rooms_.exists(m.room);
        send_error(rq, &peer, m.id, exists ? ErrorCode::NotInRoom : ErrorCode::NoSuchRoom,
                   (exists ? "you are not in room " : "there is no room ") + quoted(m.room));
        return;
    }
    take_out_of_room(peer, m.room, LeaveReason::Left, rq.out);
    send(rq.out, peer, proto::Ok{m.id, {}});
}

void Server::handle_rooms(const proto::ListRooms& m, Peer& peer, const Request& rq) {
    proto::RoomList reply{m.id, {}, static_cast<std::uint32_t>(rooms_.size()), std::nullopt};
    const auto& all = rooms_.all();
    auto it = all.begin();
    std::advance(it, std::min<std::size_t>(m.offset, all.size()));
    std::size_t budget = 0;
    std::uint32_t index = std::min<std::uint32_t>(m.offset, reply.total);
    for (; it != all.end(); ++it, ++index) {
        if (reply.rooms.size() >= proto::kMaxListEntries || budget > kListPageBudget) {
            reply.next = index;
            break;
        }
        reply.rooms.push_back({it->first, static_cast<std::uint32_t>(it->second.members.size())});
        budget += it->first.size() + 14; // ["name",123456],
    }
    send(rq.out, peer, reply);
}

void Server::handle_users(const proto::ListUsers& m, Peer& peer, const Request& rq) {
    std::vector<std::string> names;
    if (m.room) {
        const Room* room = rooms_.find(*m.room);
        if (room == nullptr) {
            send_error(rq, &peer, m.id, ErrorCode::NoSuchRoom,
                       "there is no room " + quoted(*m.room));
            return;
        }
        // Sorting a big room costs O(n log n) per request; the per-session rate limit bounds
        // how often one peer can ask. Issue 7 (performance) may keep rooms sorted instead.
        names.reserve(room->members.size());
        for (const PeerId id : room->members)
            if (const Peer* p = peers_.find(id))
                names.push_back(p->name);
        std::sort(names.begin(), names.end());
    }
    proto::UserList reply{m.id, m.room, {}, 0, std::nullopt};
    reply.total = static_cast<std::uint32_t>(m.room ? names.size() : peers_.size());
    std::uint32_t index = std::min<std::uint32_t>(m.offset, reply.total);
    std::size_t budget = 0;
    auto add = [&](const std::string& name) { // false once the page is full
        if (reply.users.size() >= proto::kMaxListEntries || budget > kListPageBudget) {
            reply.next = index;
            return false;
        }
        reply.users.push_back(name);
        budget += name.size() + 3;
        ++index;
        return true;
    };
    if (m.room) {
        for (auto it = names.begin() + index; it != names.end() && add(*it); ++it) {
        }
    } else { // everyone: straight from the name index, which is in order
        peers_.visit_by_name(index, [&](const Peer& p) { return add(p.name); });
    }
    send(rq.out, peer, reply);
}

void Server::handle_create(const proto::CreateRoom& m, Peer& peer, const Request& rq) {
    if (peer.last_create && peer.last_create->ok.id == m.id && peer.last_create->room == m.room &&
        peer.in_room(m.room)) {
        send(rq.out, peer, peer.last_create->ok); // a resend: its ok was lost
        return;
    }
    if (rooms_.exists(m.room)) {
        send_error(rq, &peer, m.id, ErrorCode::RoomExists,
                   "room " + quoted(m.room) + " already exists: use /join " + m.room);
        return;
    }
    if (const auto err = room_entry_error(peer, m.room)) {
        send_error(rq, &peer, m.id, *err, room_entry_text(*err, m.room));
        return;
    }
    put_in_room(peer, m.room, rq.out, std::nullopt);
    std::vector<Peer*> added;
    std::vector<std::string> unknown;
    for (const auto& name : m.members) {
        Peer* target = peers_.find_by_name(name);
        if (target == &peer)
            continue;
        if (target == nullptr || room_entry_error(*target, m.room)) {
            unknown.push_back(name); // offline, or at its own room limit
            continue;
        }
        enter_room(*target, m.room);
        added.push_back(target);
    }
    for (Peer* member : added)
        for (const Peer* x : added)
            send(rq.out, *member, proto::MemberJoined{m.room, x->name, peer.name});
    log_.info("created room=" + m.room + " by=" + peer.name +
              " members=" + std::to_string(added.size() + 1));
    peer.last_create =
        std::make_unique<LastCreate>(LastCreate{proto::Ok{m.id, std::move(unknown)}, m.room});
    send(rq.out, peer, peer.last_create->ok);
}

bool Server::answer_repeat(Peer& author, proto::RequestId id, const Request& rq) {
    // Checked before anything else: a line delivered before its author left the room is
    // still delivered, and says so again.
    switch (deliveries_.status(author.id, id)) {
    case Deliveries::Status::New:
        return false;
    case Deliveries::Status::Delivering: // the final ok comes when the last member acks
        send(rq.out, author, proto::Ok{id, {}, /*taken=*/true});
        return true;
    case Deliveries::Status::Finished:
        send(rq.out, author, proto::Ok{id, {}});
        return true;
    }
    return false;
}

void Server::handle_say(const proto::Say& m, Peer& peer, const Request& rq) {
    if (answer_repeat(peer, m.id, rq))
        return;
    if (!peer.in_room(m.room)) {
        const bool exists = rooms_.exists(m.room);
        send_error(rq, &peer, m.id, exists ? ErrorCode::NotInRoom : ErrorCode::NoSuchRoom,
                   (exists ? "you are not in room " : "there is no room ") + quoted(m.room) +
                       ": /join it first");
        return;
    }
    if (!relay_room_message(rq.out, m.room, peer.name, m.text, m.stamp, peer.id,
                            AuthorRequest{peer.id, m.id})) {
        const std::string json =
            proto::encode(proto::RoomMessage{m.room, peer.name, m.text, m.stamp, std::nullopt});
        send_error(rq, &peer, m.id, ErrorCode::BadRequest,
                   too_long_text(relayed_size(json, m.stamp.has_value())));
        return;
    }
    say_taken(peer, m.id, rq);
}

void Server::say_taken(Peer& author, proto::RequestId id, const Request& rq) {
    // Still delivering: tell the author now, so it stops resending and its RTO measures the
    // hop to us rather than the slowest member's acks. The final ok follows.
    if (deliveries_.status(author.id, id) == Deliveries::Status::Delivering)
        send(rq.out, author, proto::Ok{id, {}, /*taken=*/true});
}

// ---------------------------------------------------------------- direct, connect

void Server::handle_direct(const proto::Direct& m, Peer& peer, const Request& rq) {
    if (answer_repeat(peer, m.id, rq))
        return;
    std::vector<Peer*> targets;
    std::vector<std::string> unknown;
    for (const auto& name : m.to) {
        Peer* target = peers_.find_by_name(name);
        if (target == nullptr)
            unknown.push_back(name);
        else
            targets.push_back(target);
    }
    if (targets.empty()) {
        send_error(rq, &peer, m.id, ErrorCode::NoSuchUser,
                   "nobody online named " + joined_names(unknown));
        return;
    }
    // The dm_msg swaps the request's "tok" and "id" for "from" and "d", which can add a few
    // bytes: the client keeps kRelayHeadroom spare, and this check holds whatever it does.
    const std::string json =
        proto::encode(proto::DirectMessage{peer.name, m.to, m.text, m.stamp, std::nullopt});
    const bool reliable = m.stamp.has_value();
    if (relayed_size(json, reliable) > proto::kMaxDatagram) {
        send_error(rq, &peer, m.id, ErrorCode::BadRequest,
                   too_long_text(relayed_size(json, reliable)));
        return;
    }
    auto line =
        deliveries_.open_line(AuthorRequest{peer.id, m.id}, json, std::move(unknown), reliable);
    for (Peer* target : targets) {
        if (target->plaintext) // unreachable while names exclude ':'; never send it JSON
            send_bytes(rq.out, *target, peer.name + "\n" + m.text);
        else
            send_line(rq.out, line, *target, json);
    }
    Deliveries::Output done;
    deliveries_.close_line(std::move(line), now_, done);
    send_delivery_output(rq.out, done);
    say_taken(peer, m.id, rq);
}

void Server::handle_got(const proto::Got& m, Peer& peer, const Request& rq) {
    Deliveries::Output done;
    deliveries_.on_got(peer.id, m.d, now_, done);
    send_delivery_output(rq.out, done);
}

void Server::handle_connect(const proto::Connect& m, Peer& peer, const Request& rq) {
    Peer* target = peers_.find_by_name(m.name);
    if (target == nullptr) {
        send_error(rq, &peer, m.id, ErrorCode::NoSuchUser, "nobody online named " + m.name);
        return;
    }
    if (target == &peer) {
        send_error(rq, &peer, m.id, ErrorCode::BadRequest, "you cannot connect to yourself");
        return;
    }
    if (target->plaintext) { // unreachable while names exclude ':', but never send it JSON
        send_error(rq, &peer, m.id, ErrorCode::BadRequest,
                   m.name + " is a plain-text client: it cannot punch");
        return;
    }
    const std::string nonce = rng_.hex(proto::kNonceHexChars);
    send(rq.out, peer,
         proto::PeerInfo{target->name, target->endpoint, target->private_endpoints.list(), nonce,
                         true});
    send_exchange_to_target(
        rq.out, *target,
        proto::PeerInfo{peer.name, peer.endpoint, peer.private_endpoints.list(), nonce, false});
    log_.info("exchanged a=" + peer.name + " b=" + target->name);
}

void Server::send_exchange_to_target(Outbox& out, const Peer& target, const proto::PeerInfo& m) {
    // The initiator resends connect until its own `peer` arrives, but nothing would make good
    // a lost one to the target, which then never punches. So the target's goes like a chat
    // line with no author: with a d, resent at the target's RTO until its got (Deliveries).
    const std::string json = proto::encode(m);
    auto fanout = deliveries_.open_line(std::nullopt, json, {}, true);
    send_line(out, fanout, target, json);
    Deliveries::Output done;
    deliveries_.close_line(std::move(fanout), now_, done);
    send_delivery_output(out, done);
}

// ---------------------------------------------------------------- sending

void Server::send(Outbox& out, Peer& to, const proto::Message& msg) {
    send_bytes(out, to, proto::encode(msg));
}

void Server::send_bytes(Outbox& out, Peer& to, std::string_view bytes) {
    if (to.plaintext && !unverified_budgets_.at(to.id).try_take(
                            plaintext_rate_, now_, static_cast<double>(bytes.size()))) {
        ++traffic_.plaintext_capped;
        return;
    }
    out.add(to.endpoint, bytes);
}

void Server::send_unverified(const Request& rq, const proto::Message& msg) {
    const std::string bytes = proto::encode(msg);
    if (bytes.size() > rq.size) {
        ++traffic_.amplification_refused;
        log_.debug("refused reply=" + std::string(proto::type_name(msg)) +
                   " to=" + rq.from.to_string() + " bytes=" + std::to_string(bytes.size()) +
                   " request=" + std::to_string(rq.size));
        return;
    }
    rq.out.add(rq.from, bytes);
}

void Server::send_error(const Request& rq, Peer* peer, std::optional<proto::RequestId> id,
                        ErrorCode code, std::string text) {
    if (text.size() > proto::kMaxErrorTextBytes)
        text.resize(proto::kMaxErrorTextBytes);
    const proto::Error err{id, code, std::move(text)};
    if (peer != nullptr && !peer->plaintext)
        send(rq.out, *peer, err);
    else
        send_unverified(rq, err);
}

void Server::broadcast(Outbox& out, std::string_view room, const proto::Message& msg,
                       PeerId except) {
    const Room* r = rooms_.find(room);
    if (r == nullptr)
        return;
    const std::string bytes = proto::encode(msg); // once, not once per member
    for (const PeerId id : r->members) {
        if (id == except)
            continue;
        const Peer* p = peers_.find(id);
        if (p != nullptr && !p->plaintext)
            out.add(p->endpoint, bytes);
    }
}

bool Server::relay_room_message(Outbox& out, std::string_view room, const std::string& from,
                                const std::string& text, const std::optional<proto::Stamp>& stamp,
                                PeerId except, std::optional<AuthorRequest> request) {
    Room* r = rooms_.find(room);
    if (r == nullptr)
        return true; // unreachable: the author is a member, and the lobby always exists
    // Encoded once for every member; each gets it with its own d spliced on.
    const std::string json =
        proto::encode(proto::RoomMessage{std::string(room), from, text, stamp, std::nullopt});
    const bool reliable = stamp.has_value();
    if (relayed_size(json, reliable) > proto::kMaxDatagram)
        return false;
    auto line = deliveries_.open_line(request, json, {}, reliable);
    out.reserve(r->members.size(), r->members.size() * relayed_size(json, reliable));
    const std::string plain = from + "\n" + text; // the classic room's format
    for (const PeerId id : r->members) {
        if (id == except)
            continue;
        Peer* p = peers_.find(id);
        if (p == nullptr)
            continue;
        if (p->plaintext)
            send_bytes(out, *p, plain); // it cannot ack: never retried
        else
            send_line(out, line, *p, json);
    }
    Deliveries::Output done;
    deliveries_.close_line(std::move(line), now_, done);
    send_delivery_output(out, done);
    return true;
}

void Server::send_line(Outbox& out, Deliveries::Fanout& f, const Peer& member,
                       const std::string& json) {
    if (const auto d = deliveries_.add(f, member.id, now_))
        out.add_written(member.endpoint,
                        [&](std::string& buffer) { append_with_delivery_id(buffer, json, *d); });
    else
        out.add(member.endpoint, json);
}

void Server::send_delivery_output(Outbox& out, Deliveries::Output& d) {
    for (auto& r : d.resends)
        if (const Peer* p = peers_.find(r.member)) // always: a session's end gives up on it
            out.add(p->endpoint, r.bytes);
    for (auto& done : d.done)
        if (Peer* author = peers_.find(done.request.author))
            send(out, *author, proto::Ok{done.request.id, std::move(done.unknown)});
}

void Server::count_sent(const Outbox& out) {
    traffic_.datagrams_out += out.size();
    traffic_.bytes_out += out.total_bytes();
}

// ---------------------------------------------------------------- drops and stats

void Server::drop(proto::DropReason reason, const proto::Endpoint& from, std::string_view detail) {
    drops_.add(reason);
    if (log_.enabled(LogLevel::Debug) && drop_log_budget_.try_take(kDropLogRate, now_))
        log_.debug("dropped reason=" + std::string(proto::name(reason)) + " from=" +
                   from.to_string() + (detail.empty() ? "" : " detail=") + std::string(detail));
}

void Server::log_stats() {
    const double seconds =
        std::max(0.001, std::chrono::duration<double>(now_ - last_stats_).count());
    auto rate = [seconds](std::uint64_t now_count, std::uint64_t then_count) {
        return std::to_string(static_cast<std::uint64_t>(
            static_cast<double>(now_count - then_count) / seconds + 0.5));
    };
    std::string drops;
    for (std::size_t i = 0; i < static_cast<std::size_t>(proto::DropReason::Count); ++i) {
        const auto r = static_cast<proto::DropReason>(i);
        if (drops_[r] != 0)
            drops += (drops.empty() ? "" : ",") + std::string(proto::name(r)) + ":" +
                     std::to_string(drops_[r]);
    }
    const DeliveryCounters& dc = deliveries_.counters();
    log_.info("stats peers=" + std::to_string(peers_.size()) + " plaintext=" +
              std::to_string(peers_.plaintext_count()) + " rooms=" + std::to_string(rooms_.size()) +
              " in=" + rate(traffic_.datagrams_in, traffic_at_last_stats_.datagrams_in) + "/s" +
              " out=" + rate(traffic_.datagrams_out, traffic_at_last_stats_.datagrams_out) + "/s" +
              " drops=" + (drops.empty() ? "0" : drops) +
              " capped=" + std::to_string(traffic_.plaintext_capped) +
              " refused=" + std::to_string(traffic_.amplification_refused) +
              " deliv=" + std::to_string(dc.reliable) + " resent=" + std::to_string(dc.resent) +
              " gaveup=" + std::to_string(dc.given_up) + " unreliable=" +
              std::to_string(dc.unreliable) + " acked=" + std::to_string(dc.acked) +
              " inflight=" + std::to_string(deliveries_.in_flight()));
    traffic_at_last_stats_ = traffic_;
    last_stats_ = now_;
}

} // namespace chat::rdv
