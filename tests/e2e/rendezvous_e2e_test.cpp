// End-to-end tests of the real `rendezvous` binary: each test starts it on 127.0.0.1 port 0,
// learns the port from its "listening on" line, and talks to it with real UDP sockets, using
// proto::encode/decode for every well-formed message. Timing is real here (the 10 s eviction
// is measured and printed); the fake-clock unit tests in tests/rendezvous/ cover the logic.
#include "proto/codec.hpp"
#include "support/hello_handshake.hpp"
#include "support/process.hpp"
#include "support/server_process.hpp"
#include "support/udp_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <random>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace chat;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr char kRendezvous[] = CHAT_RENDEZVOUS_BIN;
constexpr auto kReplyWithin = 3s; // generous: sanitizer builds on a loaded two-core machine

template <typename T> std::optional<T> decode_as(std::string_view bytes) {
    auto decoded = proto::decode(bytes);
    if (const auto* m = std::get_if<proto::Message>(&decoded))
        if (const auto* t = std::get_if<T>(m))
            return *t;
    return std::nullopt;
}

// A JSON peer as the real client would be: its own socket, a name, and the session token
// from `welcome`, which it earns by answering the server's retry with its cookie, and whose
// tag its heartbeats carry (support/hello_handshake.hpp). Waiting for one kind of message
// skips the others (notices, pongs), but keeps a short note of them for the failure message.
// Every msg/dm_msg it receives with a delivery id is acked at once with `got`, so authors get
// their ok.
class JsonPeer {
  public:
    JsonPeer(std::uint16_t server_port, std::string name)
        : server_(server_port), name_(std::move(name)) {}

    const std::string& name() const { return name_; }
    const proto::Token& token() const { return token_; }
    Clock::time_point last_sent() const { return last_sent_; }
    e2e::UdpClient& socket() { return socket_; }

    void send(const proto::Message& m) { send_bytes(proto::encode(m)); }
    // The clock is read just before sending: a read after it may come arbitrarily late on a
    // busy machine (the server may have stamped the datagram meanwhile), so only a read
    // before it bounds "timeout after the last datagram" from below.
    void send_bytes(std::string_view bytes) {
        last_sent_ = Clock::now();
        socket_.send(server_, bytes);
    }
    // The session's heartbeat; a bare #ping# before there is a session.
    void ping() { send_bytes(token_.empty() ? std::string(proto::kPing) : e2e::heartbeat(token_)); }

    // hello -> retry -> hello{cookie} -> welcome, optionally resuming a session by its token.
    // Returns the welcome, or nullopt (an error or silence).
    std::optional<proto::Welcome> register_now(std::optional<proto::Token> resume = {}) {
        const proto::Endpoint self = proto::Endpoint::v4({127, 0, 0, 1}, socket_.port());
        last_sent_ = Clock::now();
        const auto answer = e2e::hello_with_cookie(
            socket_, server_, proto::Hello{name_, {self}, std::move(resume)},
            e2e::HelloTries{1, kReplyWithin, 2}, [this](const std::string& bytes) {
                ack_if_delivery(bytes);
                note_skipped(bytes);
            });
        const auto* w = answer ? std::get_if<proto::Welcome>(&*answer) : nullptr;
        if (w == nullptr) {
            if (answer)
                note_skipped(proto::encode(*answer));
            return std::nullopt;
        }
        token_ = w->token;
        return *w;
    }

    proto::RequestId say(const std::string& room, const std::string& text) {
        const proto::RequestId id = next_id_++;
        send(proto::Say{token_, id, room, text, proto::Stamp{"0e2e0001", id, id}});
        return id;
    }
    proto::RequestId join(const std::string& room) {
        const proto::RequestId id = next_id_++;
        send(proto::Join{token_, id, room});
        return id;
    }

    // The first T that satisfies `match` (any T if it is empty) within `timeout`; everything
    // else is skipped.
    template <typename T>
    std::optional<T> wait_for(const std::function<bool(const T&)>& match = {},
                              std::chrono::milliseconds timeout = kReplyWithin) {
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left <= 0ms)
                return std::nullopt;
            const auto bytes = socket_.receive(left);
            if (!bytes)
                return std::nullopt;
            ack_if_delivery(*bytes);
            if (auto m = decode_as<T>(*bytes); m && (!match || match(*m)))
                return m;
            note_skipped(*bytes);
        }
    }

    // Pings until a #pong# comes back (a datagram can be lost under a flood); false if none
    // of `tries` gets one within a second.
    bool ping_until_pong(int tries = 5) {
        for (int i = 0; i < tries; ++i) {
            ping();
            const auto deadline = Clock::now() + 1s;
            while (Clock::now() < deadline) {
                const auto bytes = socket_.receive(
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
                if (!bytes)
                    break;
                ack_if_delivery(*bytes);
                if (*bytes == proto::kPong)
                    return true;
                note_skipped(*bytes);
            }
        }
        return false;
    }

    // What was skipped while waiting, for assertion messages.
    std::string skipped() const {
        std::string s;
        for (const auto& b : skipped_)
            s += "\n  " + b;
        return s.empty() ? " (nothing)" : s;
    }

  private:
    void ack_if_delivery(std::string_view bytes) {
        std::optional<proto::DeliveryId> d;
        if (const auto m = decode_as<proto::RoomMessage>(bytes))
            d = m->d;
        else if (const auto dm = decode_as<proto::DirectMessage>(bytes))
            d = dm->d;
        if (d)
            send(proto::Got{token_, {*d}});
    }
    void note_skipped(const std::string& bytes) {
        if (skipped_.size() == 20)
            skipped_.erase(skipped_.begin());
        skipped_.push_back(bytes.substr(0, 160));
    }

    e2e::UdpClient socket_;
    std::uint16_t server_;
    std::string name_;
    proto::Token token_;
    proto::RequestId next_id_ = 1;
    Clock::time_point last_sent_{};
    std::vector<std::string> skipped_;
};

// A legacy plain-text client is only a socket: it sends "#ping#" and raw lines.
std::optional<std::string> receive_plain(e2e::UdpClient& c, std::string_view expected,
                                         std::chrono::milliseconds timeout = kReplyWithin) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto bytes = c.receive(
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        if (!bytes || *bytes == expected)
            return bytes;
    }
    return std::nullopt;
}

auto from_is(const std::string& name, const std::string& text) {
    return [name, text](const proto::RoomMessage& m) { return m.from == name && m.text == text; };
}

class RendezvousE2e : public ::testing::Test {
  protected:
    // Starts the server with `--listen 127.0.0.1:0 args...`; call through
    // ASSERT_NO_FATAL_FAILURE.
    void start(const std::vector<std::string>& args) {
        try {
            server_ = e2e::start_server(kRendezvous, args);
        } catch (const std::exception& e) {
            FAIL() << e.what();
        }
    }
    std::uint16_t port() const { return server_.port; }
    e2e::Process& process() { return *server_.process; }

    void TearDown() override {
        if (server_.process) {
            const int status = server_.process->stop();
            // A sanitizer report or a crash on the way out is a failure too.
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << "rendezvous " << e2e::describe_status(status);
        }
    }

    e2e::ServerProcess server_;
};

// ---------------------------------------------------------------- chat

TEST_F(RendezvousE2e, JsonPeersChatBothWaysInLobby) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    ASSERT_TRUE(alice.register_now());
    ASSERT_TRUE(bob.register_now());

    const auto id = alice.say("lobby", "hello bob");
    const auto got = bob.wait_for<proto::RoomMessage>(from_is("alice", "hello bob"));
    ASSERT_TRUE(got) << "bob skipped:" << bob.skipped();
    EXPECT_EQ(got->room, "lobby");
    // Not ok{taken} (the server has the line) but the final ok: bob acked it.
    EXPECT_TRUE(alice.wait_for<proto::Ok>([id](const proto::Ok& ok) {
        return ok.id == id && !ok.taken;
    })) << "alice skipped:"
        << alice.skipped();

    bob.say("lobby", "hi alice");
    EXPECT_TRUE(alice.wait_for<proto::RoomMessage>(from_is("bob", "hi alice")))
        << "alice skipped:" << alice.skipped();
}

TEST_F(RendezvousE2e, PlainTextClientAndJsonPeersChatBothWays) {
    ASSERT_NO_FATAL_FAILURE(start({"--allow-plaintext"}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    ASSERT_TRUE(alice.register_now());
    ASSERT_TRUE(bob.register_now());
    e2e::UdpClient carol; // speaks the classic protocol: #ping# and raw lines
    const std::string carol_name = carol.address();
    carol.send(port(), proto::kPing);
    ASSERT_TRUE(alice.wait_for<proto::MemberJoined>([&](const proto::MemberJoined& j) {
        return j.room == "lobby" && j.name == carol_name;
    })) << "alice skipped:"
        << alice.skipped();

    // JSON -> everyone: bob gets JSON, carol gets "NAME\nTEXT".
    alice.say("lobby", "hello from json");
    EXPECT_TRUE(bob.wait_for<proto::RoomMessage>(from_is("alice", "hello from json")))
        << "bob skipped:" << bob.skipped();
    EXPECT_EQ(receive_plain(carol, "alice\nhello from json"), "alice\nhello from json");

    // Plain text -> everyone: both JSON peers see it as a lobby message from "ip:port".
    carol.send(port(), "hello from plain text\n");
    const auto at_alice =
        alice.wait_for<proto::RoomMessage>(from_is(carol_name, "hello from plain text"));
    ASSERT_TRUE(at_alice) << "alice skipped:" << alice.skipped();
    EXPECT_EQ(at_alice->room, "lobby");
    EXPECT_TRUE(bob.wait_for<proto::RoomMessage>(from_is(carol_name, "hello from plain text")))
        << "bob skipped:" << bob.skipped();

    // And back: bob's reply reaches carol as plain text; her own line never echoes back.
    bob.say("lobby", "welcome, carol");
    EXPECT_EQ(receive_plain(carol, "bob\nwelcome, carol"), "bob\nwelcome, carol");
    EXPECT_EQ(carol.receive(300ms), std::nullopt);
}

TEST_F(RendezvousE2e, PlainTextClientNeverGetsPongOrJson) {
    ASSERT_NO_FATAL_FAILURE(start({"--allow-plaintext"}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    e2e::UdpClient carol;
    carol.send(port(), proto::kPing);
    ASSERT_TRUE(alice.wait_for<proto::MemberJoined>(
        [&](const proto::MemberJoined& j) { return j.name == carol.address(); }));
    carol.send(port(), proto::kPing);
    alice.join("dev"); // a notice carol must not see: she is only in lobby, and only text
    EXPECT_EQ(carol.receive(500ms), std::nullopt);
}

TEST_F(RendezvousE2e, PlainTextIsIgnoredWithoutAllowPlaintext) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    e2e::UdpClient carol;
    carol.send(port(), proto::kPing);
    carol.send(port(), "hello, anyone?");
    EXPECT_EQ(alice.wait_for<proto::RoomMessage>({}, 500ms), std::nullopt);
    // Her ping only learns there is no session here (#who?#, no larger than the ping); her
    // line gets nothing at all.
    EXPECT_EQ(carol.receive(200ms), std::string(proto::kWhoAreYou));
    EXPECT_EQ(carol.receive(200ms), std::nullopt);
}

TEST_F(RendezvousE2e, NameHeldByLivePeerIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    JsonPeer impostor(port(), "alice");
    impostor.send(proto::Hello{"alice", {}, std::nullopt});
    const auto err = impostor.wait_for<proto::Error>();
    ASSERT_TRUE(err) << "impostor skipped:" << impostor.skipped();
    EXPECT_EQ(err->code, proto::ErrorCode::NameTaken);
}

TEST_F(RendezvousE2e, HelloWithTokenFromNewAddressMovesTheSession) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    ASSERT_TRUE(alice.register_now());
    ASSERT_TRUE(bob.register_now());
    JsonPeer moved(port(), "alice"); // the same client after a NAT rebinding: a new port
    const auto w = moved.register_now(alice.token());
    ASSERT_TRUE(w) << "moved skipped:" << moved.skipped();
    EXPECT_EQ(w->token, alice.token());
    EXPECT_EQ(w->public_endpoint.to_string(), moved.socket().address());

    moved.say("lobby", "from my new address");
    EXPECT_TRUE(bob.wait_for<proto::RoomMessage>(from_is("alice", "from my new address")))
        << "bob skipped:" << bob.skipped();
    alice.say("lobby", std::string(300, 'x')); // the old address has no session any more
    const auto err = alice.wait_for<proto::Error>();
    ASSERT_TRUE(err) << "alice skipped:" << alice.skipped();
    EXPECT_EQ(err->code, proto::ErrorCode::NoSession);
}

TEST_F(RendezvousE2e, DirectMessageReachesOnlineNamesAndReportsUnknownOnes) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    ASSERT_TRUE(alice.register_now());
    ASSERT_TRUE(bob.register_now());
    alice.send(
        proto::Direct{alice.token(), 42, {"bob", "zed"}, "psst", proto::Stamp{"0e2e0001", 1, 1}});
    const auto dm = bob.wait_for<proto::DirectMessage>();
    ASSERT_TRUE(dm) << "bob skipped:" << bob.skipped();
    EXPECT_EQ(dm->from, "alice");
    EXPECT_EQ(dm->text, "psst");
    const auto ok =
        alice.wait_for<proto::Ok>([](const proto::Ok& o) { return o.id == 42 && !o.taken; });
    ASSERT_TRUE(ok) << "alice skipped:" << alice.skipped();
    EXPECT_EQ(ok->unknown, std::vector<std::string>{"zed"});
}

TEST_F(RendezvousE2e, ConnectGivesBothSidesTheOthersObservedEndpointAndOneNonce) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    ASSERT_TRUE(alice.register_now());
    ASSERT_TRUE(bob.register_now());
    alice.send(proto::Connect{alice.token(), 9, "bob"});
    const auto at_alice = alice.wait_for<proto::PeerInfo>();
    const auto at_bob = bob.wait_for<proto::PeerInfo>();
    ASSERT_TRUE(at_alice) << "alice skipped:" << alice.skipped();
    ASSERT_TRUE(at_bob) << "bob skipped:" << bob.skipped();
    EXPECT_EQ(at_alice->name, "bob");
    EXPECT_EQ(at_alice->public_endpoint.to_string(), bob.socket().address());
    EXPECT_TRUE(at_alice->initiator);
    EXPECT_EQ(at_bob->name, "alice");
    EXPECT_EQ(at_bob->public_endpoint.to_string(), alice.socket().address());
    EXPECT_FALSE(at_bob->initiator);
    EXPECT_EQ(at_alice->nonce, at_bob->nonce);
    EXPECT_EQ(at_alice->nonce.size(), proto::kNonceHexChars);
}

TEST_F(RendezvousE2e, ConnectToPlainTextClientIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start({"--allow-plaintext"}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    e2e::UdpClient carol;
    carol.send(port(), proto::kPing);
    ASSERT_TRUE(alice.wait_for<proto::MemberJoined>(
        [&](const proto::MemberJoined& j) { return j.name == carol.address(); }));
    alice.send(proto::Connect{alice.token(), 10, carol.address()});
    const auto err = alice.wait_for<proto::Error>();
    ASSERT_TRUE(err) << "alice skipped:" << alice.skipped();
    EXPECT_EQ(err->code, proto::ErrorCode::BadRequest);
    EXPECT_EQ(carol.receive(300ms), std::nullopt);
}

// Every socket here is 127.0.0.1, one host: its third session is over a share of two.
TEST_F(RendezvousE2e, SessionsOverTheHostsShareAreRefusedWithNetworkLimit) {
    ASSERT_NO_FATAL_FAILURE(start({"--max-sessions-per-host", "2"}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    JsonPeer carol(port(), "carol");
    ASSERT_TRUE(alice.register_now());
    ASSERT_TRUE(bob.register_now());
    const auto answer =
        e2e::hello_with_cookie(carol.socket(), port(), proto::Hello{"carol", {}, std::nullopt});
    ASSERT_TRUE(answer) << "carol got no answer";
    const auto* err = std::get_if<proto::Error>(&*answer);
    ASSERT_NE(err, nullptr) << proto::encode(*answer);
    EXPECT_EQ(err->code, proto::ErrorCode::NetworkLimit) << err->text;
    // A session that ends gives its share back.
    bob.send(proto::Bye{bob.token()});
    EXPECT_TRUE(carol.register_now()) << "carol skipped:" << carol.skipped();
}

// ---------------------------------------------------------------- eviction

TEST_F(RendezvousE2e, SilentPeerIsEvictedAfterTenSecondsAndItsRoomsAreTold) {
    ASSERT_NO_FATAL_FAILURE(start({})); // the real default: --timeout 10
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    const auto welcome = alice.register_now();
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->timeout, 10s);
    EXPECT_EQ(welcome->heartbeat, 5s);
    ASSERT_TRUE(bob.register_now());
    bob.join("dev");
    alice.join("dev");
    ASSERT_TRUE(alice.wait_for<proto::Ok>());
    // Heartbeats keep bob alive; then he falls silent. His last datagram starts the clock.
    ASSERT_TRUE(bob.ping_until_pong());
    std::this_thread::sleep_for(1s);
    ASSERT_TRUE(bob.ping_until_pong());
    const Clock::time_point silent_since = bob.last_sent();

    // Alice keeps pinging every second and collects bob's timeout notices.
    std::vector<std::string> rooms_told;
    std::optional<Seconds> first_notice;
    const auto give_up = silent_since + 15s;
    auto next_ping = Clock::now();
    while (rooms_told.size() < 2 && Clock::now() < give_up) {
        if (Clock::now() >= next_ping) {
            alice.ping();
            next_ping += 1s;
        }
        const auto left = alice.wait_for<proto::MemberLeft>(
            [](const proto::MemberLeft& l) { return l.name == "bob"; }, 100ms);
        if (!left)
            continue;
        if (!first_notice)
            first_notice = Clock::now() - silent_since;
        EXPECT_EQ(left->reason, proto::LeaveReason::Timeout) << "room " << left->room;
        rooms_told.push_back(left->room);
    }
    ASSERT_TRUE(first_notice) << "no left{bob} within 15 s; alice skipped:" << alice.skipped();
    std::printf("measured: eviction after %.2f s (the timeout is 10 s; %.0f ms late)\n",
                first_notice->count(), (first_notice->count() - 10.0) * 1000.0);
    RecordProperty("eviction_seconds", std::to_string(first_notice->count()));
    EXPECT_GE(*first_notice, Seconds(10.0)) << "evicted before its 10 s were up";
    EXPECT_LT(*first_notice, Seconds(10.5)) << "evicted more than 0.5 s after expiry";
    std::sort(rooms_told.begin(), rooms_told.end());
    EXPECT_EQ(rooms_told, (std::vector<std::string>{"dev", "lobby"}));

    // Alice, who kept talking, is still there; bob is gone and is told so.
    EXPECT_TRUE(alice.ping_until_pong());
    bob.say("lobby", std::string(300, 'x')); // longer than the reply: no amplification refusal
    const auto err = bob.wait_for<proto::Error>();
    ASSERT_TRUE(err) << "bob skipped:" << bob.skipped();
    EXPECT_EQ(err->code, proto::ErrorCode::NoSession);
}

// A bare #ping# is all a spoofer of bob's address could send (it cannot see his token): it
// gets no #pong# and keeps nothing alive, while alice's tagged heartbeats keep her.
TEST_F(RendezvousE2e, BarePingFromASessionsAddressKeepsNothingAlive) {
    ASSERT_NO_FATAL_FAILURE(start({"--timeout", "2"}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    ASSERT_TRUE(alice.register_now());
    const auto since = Clock::now(); // before bob's hello: his session cannot be older
    ASSERT_TRUE(bob.register_now());
    std::optional<proto::MemberLeft> left;
    int pongs_to_bob = 0;
    while (!left && Clock::now() < since + 6s) {
        alice.ping(); // every 0.5 s: well inside her 2 s
        bob.socket().send(port(), proto::kPing);
        left = alice.wait_for<proto::MemberLeft>(
            [](const proto::MemberLeft& l) { return l.name == "bob"; }, 500ms);
        while (const auto d = bob.socket().receive(0ms))
            pongs_to_bob += *d == proto::kPong ? 1 : 0;
    }
    ASSERT_TRUE(left) << "bob outlived his timeout on bare pings; alice skipped:"
                      << alice.skipped();
    EXPECT_EQ(left->reason, proto::LeaveReason::Timeout);
    EXPECT_GE(Clock::now() - since, 2s);
    EXPECT_EQ(pongs_to_bob, 0);
    EXPECT_TRUE(alice.ping_until_pong());
}

TEST_F(RendezvousE2e, SilentPlainTextClientIsEvictedToo) {
    ASSERT_NO_FATAL_FAILURE(start({"--allow-plaintext", "--timeout", "2"}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    e2e::UdpClient carol;
    const auto since = Clock::now(); // before the send: see JsonPeer::send_bytes
    carol.send(port(), proto::kPing);
    ASSERT_TRUE(alice.wait_for<proto::MemberJoined>(
        [&](const proto::MemberJoined& j) { return j.name == carol.address(); }));
    std::optional<proto::MemberLeft> left;
    while (!left && Clock::now() < since + 6s) {
        alice.ping(); // every 0.5 s: well inside alice's own 2 s
        left = alice.wait_for<proto::MemberLeft>(
            [&](const proto::MemberLeft& l) { return l.name == carol.address(); }, 500ms);
    }
    ASSERT_TRUE(left) << "alice skipped:" << alice.skipped();
    EXPECT_EQ(left->reason, proto::LeaveReason::Timeout);
    EXPECT_GE(Clock::now() - since, 2s);
}

// ---------------------------------------------------------------- abuse

TEST_F(RendezvousE2e, GarbageFloodLeavesItAnswering) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    JsonPeer bob(port(), "bob");
    ASSERT_TRUE(alice.register_now());
    ASSERT_TRUE(bob.register_now());

    constexpr unsigned kSeed = 20261123; // a failure replays with the same bytes
    constexpr int kDatagrams = 20000;
    constexpr int kSockets = 64; // many sources: each has its own small rate budget
    std::mt19937 rng(kSeed);
    std::vector<std::unique_ptr<e2e::UdpClient>> flooders;
    for (int i = 0; i < kSockets; ++i)
        flooders.push_back(std::make_unique<e2e::UdpClient>());
    auto random_bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (auto& c : s)
            c = static_cast<char>(rng() & 0xff);
        return s;
    };
    auto random_hex = [&](std::size_t n) {
        std::string s(n, '0');
        for (auto& c : s)
            c = "0123456789abcdef"[rng() % 16];
        return s;
    };
    // Sizes: mostly small, many up to the limit, some over it.
    auto random_size = [&]() -> std::size_t {
        const auto r = rng() % 10;
        return r < 4 ? rng() % 64 : r < 8 ? 64 + rng() % 1137 : 1200 + rng() % 300;
    };

    const auto flood_start = Clock::now();
    int refused = 0;
    for (int i = 0; i < kDatagrams; ++i) {
        std::string d;
        switch (rng() % 6) {
        case 0: // random bytes
        case 1:
            d = random_bytes(random_size());
            break;
        case 2: // looks like JSON, is not (deliberately malformed, so hand-written)
            d = "{\"v\":1,\"t\":\"say\",\"tok\":\"" + random_hex(32) + "\"," +
                random_bytes(rng() % 200);
            break;
        case 3: // well-formed requests with a guessed token, from addresses with no session
            d = proto::encode(proto::Say{random_hex(32), static_cast<proto::RequestId>(rng()),
                                         "lobby", "spam " + random_hex(1 + rng() % 400)});
            break;
        case 4: // heartbeats and near misses
            d = rng() % 2 ? std::string(proto::kPing) : "#ping" + random_bytes(rng() % 4);
            break;
        default: // valid UTF-8 text: plain-text lines, which are off by default
            d = "hello " + random_hex(rng() % 600);
            break;
        }
        if (!flooders[static_cast<std::size_t>(i) % kSockets]->send(port(), d))
            ++refused;
        if (i % 2000 == 0)
            alice.ping(); // a flood of any length must not get alice evicted
    }
    const auto flood_took = Clock::now() - flood_start;
    ASSERT_TRUE(process().running()) << "rendezvous died during the flood";

    // Pongs to alice's pings during the flood must not count: let the backlog clear first.
    alice.socket().drain();
    std::this_thread::sleep_for(200ms);
    alice.socket().drain();
    const auto probe = Clock::now();
    ASSERT_TRUE(alice.ping_until_pong()) << "no #pong# after the flood";
    const auto pong_after = Clock::now() - probe;
    std::printf(
        "measured: flood of %d datagrams (seed %u) from %d sockets in %.0f ms, %d refused by the "
        "kernel; #pong# %.0f ms after it\n",
        kDatagrams, kSeed, kSockets, std::chrono::duration<double, std::milli>(flood_took).count(),
        refused, std::chrono::duration<double, std::milli>(pong_after).count());

    // Relay still works, and the junk reached neither peer.
    alice.say("lobby", "still here");
    EXPECT_TRUE(bob.wait_for<proto::RoomMessage>(from_is("alice", "still here")))
        << "bob skipped:" << bob.skipped();
    EXPECT_EQ(bob.wait_for<proto::RoomMessage>({}, 300ms), std::nullopt);
}

TEST_F(RendezvousE2e, RepliesToUnverifiedSourcesAreNeverLargerThanTheRequest) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    const proto::Token guess(proto::kTokenHexChars, 'a');
    const std::vector<std::string> requests = {
        proto::encode(proto::Hello{"alice", {}, std::nullopt}), // name_taken
        proto::encode(proto::Hello{"alice", {}, guess}),        // wrong token for the name
        proto::encode(proto::Hello{"zed", {}, std::nullopt}),   // a new name: retry{cookie}
        proto::encode(proto::Hello{"zed", {}, std::nullopt, std::string(32, '0')}), // forged
        proto::encode(proto::Join{guess, 1, "dev"}),
        proto::encode(proto::Leave{guess, 2, "lobby"}),
        proto::encode(proto::ListRooms{guess, 3, 0}),
        proto::encode(proto::ListUsers{guess, 4, std::nullopt, 0}),
        proto::encode(proto::CreateRoom{guess, 5, "dev", {"alice"}}),
        proto::encode(proto::Say{guess, 6, "lobby", "x"}),
        proto::encode(proto::Say{guess, 7, "lobby", std::string(400, 'x')}),
        proto::encode(proto::Direct{guess, 8, {"alice"}, "hi"}),
        proto::encode(proto::Connect{guess, 9, "alice"}),
        proto::encode(proto::Bye{guess}),
        std::string(proto::kPing),
        "hello in plain text",
        "{\"v\":1,\"t\":\"say\"", // deliberately malformed
    };
    std::vector<std::unique_ptr<e2e::UdpClient>> sources;
    for (const auto& r : requests) {
        sources.push_back(std::make_unique<e2e::UdpClient>());
        sources.back()->send(port(), r);
    }
    std::this_thread::sleep_for(500ms);
    int replies = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        while (const auto reply = sources[i]->receive(0ms)) {
            ++replies;
            EXPECT_LE(reply->size(), requests[i].size())
                << "request: " << requests[i].substr(0, 80) << "\nreply: " << *reply;
        }
    }
    std::printf("measured: %d replies to %zu requests from unverified sources\n", replies,
                requests.size());
    EXPECT_GT(replies, 0) << "not even the name_taken error came back";
}

TEST_F(RendezvousE2e, PlainTextClientIsSentNoMoreThanItsByteCap) {
    ASSERT_NO_FATAL_FAILURE(start({"--allow-plaintext"}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    e2e::UdpClient carol; // or a victim whose address someone forged a #ping# from
    carol.send(port(), proto::kPing);
    ASSERT_TRUE(alice.wait_for<proto::MemberJoined>(
        [&](const proto::MemberJoined& j) { return j.name == carol.address(); }));
    const auto start_at = Clock::now();
    for (int i = 0; i < 40; ++i) // 40 x ~400 bytes: twice the 8 KiB burst, inside alice's 50
        alice.say("lobby", std::to_string(i) + std::string(394, 'x'));
    std::size_t bytes = 0;
    while (const auto d = carol.receive(500ms))
        bytes += d->size();
    const double elapsed = Seconds(Clock::now() - start_at).count();
    std::printf("measured: plain-text client got %zu bytes of ~16 KiB in %.2f s\n", bytes, elapsed);
    EXPECT_GT(bytes, 0u);
    EXPECT_LE(static_cast<double>(bytes), 8192 + 2048 * elapsed);
}

TEST_F(RendezvousE2e, SessionOverItsRateIsThrottled) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    JsonPeer alice(port(), "alice");
    ASSERT_TRUE(alice.register_now());
    const auto start_at = Clock::now();
    for (int i = 0; i < 200; ++i)
        alice.ping();
    int pongs = 0;
    while (const auto d = alice.socket().receive(300ms))
        pongs += *d == proto::kPong ? 1 : 0;
    const double elapsed = Seconds(Clock::now() - start_at).count();
    // 20 datagrams/s with bursts of 50; the hello took one token.
    EXPECT_GE(pongs, 40);
    EXPECT_LE(pongs, 50 + static_cast<int>(20 * elapsed) + 1);
}

// ---------------------------------------------------------------- lifecycle

TEST_F(RendezvousE2e, SigtermTellsEveryPeerShutdownAndExitsZero) {
    ASSERT_NO_FATAL_FAILURE(start({}));
    std::vector<std::unique_ptr<JsonPeer>> peers;
    for (const char* name : {"alice", "bob", "carol"}) {
        peers.push_back(std::make_unique<JsonPeer>(port(), name));
        ASSERT_TRUE(peers.back()->register_now()) << name;
    }
    process().signal(SIGTERM);
    for (auto& p : peers)
        EXPECT_TRUE(p->wait_for<proto::Shutdown>()) << p->name() << " skipped:" << p->skipped();
    const auto status = process().wait_exit(10s);
    ASSERT_TRUE(status) << "still running 10 s after SIGTERM";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << e2e::describe_status(*status);
}

// ---------------------------------------------------------------- on the wire

// The server sets DF on what it sends (BatchedUdpSocket::set_dont_fragment), so its datagrams
// are never fragmented and, being atomic, carry IP ID 0 (RFC 6864). Read off the loopback
// interface with a packet socket, which needs CAP_NET_RAW: without it the test says SKIPPED.
// A classic BPF program for a SOCK_DGRAM packet socket (its data starts at the IP header):
// keep only UDP datagrams from port `from` to port `to`. The kernel filters, so other traffic
// on lo (on a busy machine, other tests' floods) can neither fill the socket's buffer and
// push the one datagram we want out, nor keep the test reading others' frames past its wait.
std::vector<sock_filter> udp_ports_filter(std::uint16_t from, std::uint16_t to) {
    return {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9), // IP protocol
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0), // X = IP header length
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),  // UDP source port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, from, 0, 3),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2), // UDP destination port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, to, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
}

TEST_F(RendezvousE2e, DatagramsLeaveWithDontFragmentSet) {
    // Protocol 0: the socket sees nothing until it is bound, after its filter is attached.
    const int sniffer = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sniffer < 0)
        GTEST_SKIP() << "SKIPPED: reading packets off lo needs root (CAP_NET_RAW): "
                     << std::strerror(errno);
    ASSERT_NO_FATAL_FAILURE(start({}));
    e2e::UdpClient client;
    auto filter = udp_ports_filter(port(), client.port());
    const sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
    ASSERT_EQ(::setsockopt(sniffer, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program), 0)
        << std::strerror(errno);
    sockaddr_ll lo{};
    lo.sll_family = AF_PACKET;
    lo.sll_protocol = htons(ETH_P_IP);
    lo.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    const timeval tick{0, 200'000};
    ASSERT_EQ(::bind(sniffer, reinterpret_cast<const sockaddr*>(&lo), sizeof lo), 0);
    ASSERT_EQ(::setsockopt(sniffer, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick), 0);
    ASSERT_TRUE(client.send(port(), proto::kPing));
    ASSERT_TRUE(client.receive(kReplyWithin)); // #who?#: the server does not know us
    // The reply's IPv4 header, seen on lo (each loopback datagram shows up twice).
    std::optional<std::pair<std::uint16_t, std::uint16_t>> id_and_flags;
    const auto give_up = Clock::now() + kReplyWithin;
    std::array<unsigned char, 2048> frame{};
    while (!id_and_flags && Clock::now() < give_up) {
        const ssize_t n = ::recv(sniffer, frame.data(), frame.size(), 0);
        if (n < 28 || (frame[0] >> 4) != 4 || frame[9] != IPPROTO_UDP)
            continue;
        const std::size_t udp = (frame[0] & 0x0fu) * 4u;
        const auto u16 = [&](std::size_t at) {
            return static_cast<std::uint16_t>(frame[at] << 8 | frame[at + 1]);
        };
        if (static_cast<std::size_t>(n) >= udp + 4 && u16(udp) == port() &&
            u16(udp + 2) == client.port())
            id_and_flags = std::pair{u16(4), u16(6)};
    }
    ::close(sniffer);
    ASSERT_TRUE(id_and_flags) << "the reply was not seen on lo";
    EXPECT_NE(id_and_flags->second & 0x4000, 0) << "DF is not set";
    EXPECT_EQ(id_and_flags->first, 0) << "an atomic datagram from it should have IP ID 0";
}

TEST(RendezvousCli, HelpListsEveryOptionAndExitsZero) {
    const auto r = e2e::run_to_exit(kRendezvous, {"--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* option :
         {"--listen", "--timeout", "--max-peers", "--max-sessions-per-host",
          "--max-sessions-per-net", "--max-rooms-per-host", "--max-rooms-per-net",
          "--max-joins-per-host", "--max-joins-per-net", "--allow-plaintext", "--session-rate",
          "--stats-interval", "--log-level", "--help", "--version"})
        EXPECT_NE(r.out.find(option), std::string::npos) << option << " missing from:\n" << r.out;
}

TEST(RendezvousCli, VersionPrintsNameAndVersion) {
    const auto r = e2e::run_to_exit(kRendezvous, {"--version"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("rendezvous ", 0), 0u) << r.out;
}

TEST(RendezvousCli, BadOptionExitsNonZeroWithUsage) {
    // Each but the --listen cases also names a loopback address, so that a bad option the
    // binary wrongly accepted would not open the default 0.0.0.0:7777.
    const std::vector<std::vector<std::string>> bad = {
        {"--listen", "localhost:7777"},
        {"--listen", "127.0.0.1"},
        {"--listen", "127.0.0.1:0", "--no-such-option"},
        {"--listen", "127.0.0.1:0", "--timeout", "-1"},
        {"--listen", "127.0.0.1:0", "--timeout", "soon"},
        {"--listen", "127.0.0.1:0", "--max-peers", "0"},
        {"--listen", "127.0.0.1:0", "--max-sessions-per-host", "0"},
        {"--listen", "127.0.0.1:0", "--max-joins-per-net", "many"},
        {"--listen", "127.0.0.1:0", "--log-level", "chatty"},
        {"--listen", "127.0.0.1:0", "stray-argument"},
    };
    for (const auto& args : bad) {
        std::string joined;
        for (const auto& a : args)
            joined += " " + a;
        SCOPED_TRACE("rendezvous" + joined);
        const auto r = e2e::run_to_exit(kRendezvous, args, 5s);
        EXPECT_NE(r.exit_code, 0);
        EXPECT_NE(r.err.find("Usage"), std::string::npos) << "stderr:\n" << r.err;
        EXPECT_EQ(r.out.find("listening on"), std::string::npos) << "it started anyway";
    }
}

} // namespace
