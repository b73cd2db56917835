// End-to-end abuse of the real `rendezvous`: while two real `peer --json` processes chat (50
// numbered lines each, one to the lobby, one by /msg), a flooder sends 100,000 junk datagrams
// from 200 UDP sockets (random bytes, truncated JSON, wrong field types, 1,500-byte datagrams,
// bad UTF-8, well-formed requests with random tokens, and more), someone tries to take
// alice's name, and someone uses wrong tokens, also while claiming to be alice. The honest
// chat must lose nothing, the server must stay up, answer and stay small, and its stats line
// must account for the junk. Every figure is printed with a `measured:` prefix.
//
// The flood is seeded (kSeed) so a failure replays with the same bytes; its timing, and so
// what the kernel and the rate limiter drop, is real and varies from run to run.
#include "proto/codec.hpp"
#include "support/hello_handshake.hpp"
#include "support/json_peer_process.hpp"
#include "support/process.hpp"
#include "support/scratch_dir.hpp"
#include "support/server_process.hpp"
#include "support/udp_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stop_token>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace {

using namespace chat;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr char kRendezvous[] = CHAT_RENDEZVOUS_BIN;
constexpr char kPeer[] = CHAT_PEER_BIN;

constexpr unsigned kSeed = 20260606; // printed; the same seed sends the same bytes
constexpr int kFloodDatagrams = 100'000;
constexpr int kFloodSockets = 200; // each a source with its own rate budget
constexpr auto kFloodSpan = 12s;   // paced to ~8,300 datagrams/s, so loopback keeps up
constexpr int kHonestLines = 50;   // per honest peer
constexpr auto kLineEvery = 200ms; // 50 lines in 10 s: all of them typed during the flood

// A source without a session may send 5 datagrams/s with bursts of 10 (PROTOCOL.md, "Rate
// limits"); the flood's 200 sources stay well inside the 4,096-entry table, so none is
// forgotten and handed a fresh burst.
constexpr double kSourceRate = 5;
constexpr double kSourceBurst = 10;

// The server's state is bounded whatever arrives: 4,096 source buckets (well under 1 MiB),
// two sessions, a 64 KiB receive buffer. Such a process needs well under 16 MiB; 64 MiB is
// four times that, and a leak of one 640-byte allocation per flood datagram would cross it.
// Under AddressSanitizer the same process carries shadow memory and a quarantine of freed
// blocks that may grow to 256 MiB by default, so the bound there is 512 MiB. Measured on a
// two-core machine: about 4.5 MiB, and about 60 MiB under ASan (Debug).
#if defined(__SANITIZE_ADDRESS__)
constexpr long kPeakRssBoundKiB = 512L * 1024;
#else
constexpr long kPeakRssBoundKiB = 64L * 1024;
#endif

using e2e::json_flag;
using e2e::json_string;

// ---------------------------------------------------------------- the junk

enum class Junk : std::size_t {
    RandomBytes,   // any bytes, any size up to the limit
    TruncatedJson, // a valid request cut short
    WrongTypes,    // JSON objects whose known fields have the wrong types
    Oversize,      // 1,500 bytes: over the 1,200-byte limit
    BadUtf8,       // JSON-looking text with overlongs, surrogates, bytes above U+10FFFF
    RandomToken,   // well-formed requests carrying a guessed token
    Ping,          // #ping# from a source with no session, and near misses
    Empty,         // zero bytes
    UnknownType,   // a `t` nobody knows, or a `v` that is not 1
    ServerOnly,    // messages only a server sends (welcome, msg)
    ShortHello,    // a hello under the 256-byte minimum
    PlainText,     // a legacy client's line, while plain text is off
    Count
};
constexpr std::array<const char*, static_cast<std::size_t>(Junk::Count)> kJunkNames{
    "random", "truncated", "wrong_types", "oversize",    "bad_utf8",    "random_token",
    "ping",   "empty",     "unknown",     "server_only", "short_hello", "plain_text"};

class JunkMaker {
  public:
    explicit JunkMaker(unsigned seed) : rng_(seed) {}

    Junk pick() { return static_cast<Junk>(rng_() % static_cast<unsigned>(Junk::Count)); }

    std::string make(Junk kind) {
        switch (kind) {
        case Junk::RandomBytes:
            return bytes(rng_() % 4 == 0 ? rng_() % 1201 : rng_() % 80);
        case Junk::TruncatedJson: {
            const std::string whole = valid_request();
            return whole.substr(0, 1 + rng_() % (whole.size() - 1));
        }
        case Junk::WrongTypes:
            return wrong_types();
        case Junk::Oversize:
            return rng_() % 2 == 0
                       ? bytes(1500)
                       : R"({"v":1,"t":"say","tok":")" + hex(32) +
                             R"(","id":1,"room":"lobby","text":")" + std::string(1450, 'x') + "\"}";
        case Junk::BadUtf8: {
            static const std::array<std::string_view, 6> kBad{
                "\xC0\x80", "\xED\xA0\x80", "\xF5\x80\x80\x80", "\xE2\x82", "\xFF", "\x80\x80"};
            return R"({"v":1,"t":"say","tok":")" + hex(32) + R"(","id":)" +
                   std::to_string(rng_() % 1000) + R"(,"room":"lobby","text":"a)" +
                   std::string(kBad[rng_() % kBad.size()]) + "b\"}";
        }
        case Junk::RandomToken:
            return valid_request();
        case Junk::Ping:
            return rng_() % 2 == 0 ? std::string(proto::kPing) : "#ping" + bytes(1 + rng_() % 3);
        case Junk::Empty:
            return {};
        case Junk::UnknownType:
            return rng_() % 2 == 0 ? R"({"v":1,"t":"frobnicate","tok":")" + hex(32) + "\"}"
                                   : R"({"v":2,"t":"say","tok":")" + hex(32) + "\"}";
        case Junk::ServerOnly:
            if (rng_() % 2 == 0)
                return proto::encode(proto::Welcome{"alice", proto::Endpoint::v4({127, 0, 0, 1}, 9),
                                                    hex(32), 5000ms, 10000ms});
            return proto::encode(
                proto::RoomMessage{"lobby", "alice", "forged " + hex(8), std::nullopt, 1});
        case Junk::ShortHello:
            return R"({"v":1,"t":"hello","name":"mallory)" + std::to_string(rng_() % 1000) + "\"}";
        case Junk::PlainText:
            return "hello from the past " + hex(rng_() % 200);
        case Junk::Count:
            break;
        }
        return {};
    }

    std::string hex(std::size_t n) {
        std::string s(n, '0');
        for (auto& c : s)
            c = "0123456789abcdef"[rng_() % 16];
        return s;
    }

  private:
    std::string bytes(std::size_t n) {
        std::string s(n, '\0');
        for (auto& c : s)
            c = static_cast<char>(rng_() & 0xff);
        return s;
    }
    std::string wrong_types() {
        switch (rng_() % 5) {
        case 0:
            return R"({"v":1,"t":"say","tok":12345,"id":"seven","room":["lobby"],"text":{}})";
        case 1:
            return R"({"v":"1","t":"join","tok":")" + hex(32) + R"(","id":1,"room":"dev"})";
        case 2:
            return R"({"v":1,"t":"got","tok":")" + hex(32) + R"(","d":"all"})";
        case 3:
            return R"({"v":1,"t":"dm","tok":")" + hex(32) + R"(","id":-1,"to":"bob","text":1})";
        default:
            return R"([1,2,3,{"v":1,"t":"say"}])";
        }
    }
    // A request a client could send, with a token nobody was given.
    std::string valid_request() {
        const proto::Token tok = hex(32);
        const auto id = static_cast<proto::RequestId>(rng_());
        const proto::Stamp stamp{hex(8), static_cast<std::uint32_t>(1 + rng_() % 100), 1};
        switch (rng_() % 8) {
        case 0:
            return proto::encode(proto::Say{tok, id, "lobby", "spam " + hex(rng_() % 300), stamp});
        case 1:
            return proto::encode(
                proto::Direct{tok, id, {"alice", "bob"}, "psst " + hex(40), stamp});
        case 2:
            return proto::encode(proto::Join{tok, id, "dev"});
        case 3:
            return proto::encode(proto::Got{tok, {static_cast<proto::DeliveryId>(rng_() % 64)}});
        case 4:
            return proto::encode(proto::Connect{tok, id, "alice"});
        case 5:
            return proto::encode(proto::ListUsers{tok, id, std::nullopt, 0});
        case 6:
            return proto::encode(proto::Bye{tok});
        default:
            return proto::encode(proto::CreateRoom{tok, id, "den", {"alice", "bob"}});
        }
    }

    std::mt19937 rng_;
};

struct FloodReport {
    int sent = 0;    // accepted by our kernel
    int refused = 0; // sendto failed
    std::array<int, static_cast<std::size_t>(Junk::Count)> by_kind{};
    Seconds took{};
};

// Sends kFloodDatagrams from kFloodSockets sources, round robin, paced to fit kFloodSpan.
void flood(std::uint16_t port, const std::stop_token& stop, FloodReport& report) {
    std::vector<std::unique_ptr<e2e::UdpClient>> sources;
    for (int i = 0; i < kFloodSockets; ++i)
        sources.push_back(std::make_unique<e2e::UdpClient>());
    JunkMaker junk(kSeed);
    const auto start = Clock::now();
    const auto per_datagram =
        std::chrono::duration_cast<std::chrono::nanoseconds>(kFloodSpan) / kFloodDatagrams;
    for (int i = 0; i < kFloodDatagrams && !stop.stop_requested(); ++i) {
        if (i % 100 == 0) {
            std::this_thread::sleep_until(start + per_datagram * i);
            if (i % 20'000 == 0) // replies pile up unread otherwise; nobody reads them
                for (auto& s : sources)
                    s->drain();
        }
        const Junk kind = junk.pick();
        const std::string d = junk.make(kind);
        if (sources[static_cast<std::size_t>(i % kFloodSockets)]->send(port, d)) {
            ++report.sent;
            ++report.by_kind[static_cast<std::size_t>(kind)];
        } else {
            ++report.refused;
        }
    }
    report.took = Clock::now() - start;
}

// ---------------------------------------------------------------- what /proc and the log say

// VmHWM (peak resident set) of a live process, in KiB; -1 if it cannot be read.
long peak_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

// The kernel's count of datagrams dropped at the UDP socket bound to 127.0.0.1:`port` (its
// receive buffer was full); -1 if /proc/net/udp does not list it.
long kernel_drops(std::uint16_t port) {
    char local[32];
    std::snprintf(local, sizeof local, "0100007F:%04X", static_cast<unsigned>(port));
    std::ifstream in("/proc/net/udp");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string x; fields >> x;)
            f.push_back(x);
        if (f.size() >= 13 && f[1] == local)
            return std::stol(f.back());
    }
    return -1;
}

// The rendezvous's "stats ..." lines, oldest first.
std::vector<std::string> stats_lines(const std::string& log) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find(" stats ") != std::string::npos)
            out.push_back(line);
    return out;
}

// "drops=oversize:12,rate_limited:80000" -> {oversize: 12, rate_limited: 80000}.
std::map<std::string, long> drop_counters(const std::string& stats_line) {
    std::map<std::string, long> drops;
    const auto at = stats_line.find(" drops=");
    if (at == std::string::npos)
        return drops;
    const auto from = at + 7;
    const std::string list = stats_line.substr(from, stats_line.find(' ', from) - from);
    std::istringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
        const auto colon = item.find(':');
        if (colon == std::string::npos)
            continue;
        long n = 0;
        std::from_chars(item.data() + colon + 1, item.data() + item.size(), n);
        drops[item.substr(0, colon)] = n;
    }
    return drops;
}

long total(const std::map<std::string, long>& drops) {
    long sum = 0;
    for (const auto& [reason, n] : drops)
        sum += n;
    return sum;
}

// ---------------------------------------------------------------- the attackers

// A bare socket speaking the protocol, for the attacks that need an answer: sends `request`
// until some reply comes (a datagram can be lost to the flood), up to `tries` times.
std::optional<proto::Message> ask(e2e::UdpClient& from, std::uint16_t port,
                                  const std::string& request, std::vector<std::string>& heard,
                                  int tries = 4) {
    for (int i = 0; i < tries; ++i) {
        from.send(port, request);
        const auto deadline = Clock::now() + 1s;
        while (Clock::now() < deadline) {
            const auto reply = from.receive(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
            if (!reply)
                break;
            heard.push_back(*reply);
            auto decoded = proto::decode(*reply);
            if (auto* m = std::get_if<proto::Message>(&decoded))
                return *m;
        }
    }
    return std::nullopt;
}

std::string describe(const std::optional<proto::Message>& m) {
    if (!m)
        return "no answer";
    if (const auto* e = std::get_if<proto::Error>(&*m))
        return "error " + std::string(proto::wire_name(e->code));
    return proto::encode(*m).substr(0, 120);
}

bool is_error(const std::optional<proto::Message>& m, proto::ErrorCode code) {
    const auto* e = m ? std::get_if<proto::Error>(&*m) : nullptr;
    return e != nullptr && e->code == code;
}

// ---------------------------------------------------------------- the test

class RendezvousAbuseE2e : public ::testing::Test {
  protected:
    void TearDown() override {
        peers_.clear(); // each stops its process by PID
        if (server_.process && server_.process->running()) {
            const int status = server_.process->stop();
            // A sanitizer report (a leak found at exit, say) is a failure too.
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << "rendezvous " << e2e::describe_status(status) << server_log_tail();
        }
    }
    std::string server_log_tail(std::size_t lines = 30) const {
        const std::string log = e2e::read_text_file(server_.stderr_path);
        std::vector<std::string> all;
        std::istringstream in(log);
        for (std::string l; std::getline(in, l);)
            all.push_back(l);
        std::string s = "\nrendezvous stderr (" + server_.stderr_path + "), the last lines:";
        for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
            s += "\n  " + all[i];
        return s;
    }
    e2e::JsonPeerProcess& start_peer(const std::string& name) {
        peers_.push_back(std::make_unique<e2e::JsonPeerProcess>(
            kPeer, server_.port, name, std::vector<std::string>{}, scratch_.file(name + ".log")));
        return *peers_.back();
    }
    std::vector<e2e::JsonPeerProcess*> all() {
        std::vector<e2e::JsonPeerProcess*> v;
        for (auto& p : peers_)
            v.push_back(p.get());
        return v;
    }

    e2e::ScratchDir scratch_;
    e2e::ServerProcess server_;
    std::vector<std::unique_ptr<e2e::JsonPeerProcess>> peers_;
};

// How many times `reader` showed `text` from `from` (not its own echo).
int shown(const e2e::JsonPeerProcess& reader, const std::string& from, const std::string& text) {
    int n = 0;
    for (const auto& e : reader.events()) {
        const auto kind = json_string(e, "event");
        if ((kind == "message" || kind == "dm") && !json_flag(e, "self") &&
            json_string(e, "from") == from && json_string(e, "text") == text)
            ++n;
    }
    return n;
}

TEST_F(RendezvousAbuseE2e, HonestChatLosesNothingWhileTheServerIsFloodedAndSpoofed) {
    e2e::ServerOptions options;
    options.stderr_path = scratch_.file("rendezvous.log");
    server_ = e2e::start_server(kRendezvous, {"--stats-interval", "1"}, options);
    const std::uint16_t port = server_.port;
    auto& alice = start_peer("alice");
    ASSERT_TRUE(alice.wait_for("connection", [](const Json& j) {
        return json_string(j, "state") == "online";
    })) << alice.transcript();
    auto& bob = start_peer("bob"); // after alice is in, so that she sees him join
    ASSERT_TRUE(
        alice.wait_for("joined", [](const Json& j) { return json_string(j, "name") == "bob"; }))
        << alice.transcript() << bob.transcript();

    // The texts the honest peers type: alice to the lobby, bob to alice by /msg.
    std::vector<std::string> alice_lines;
    std::vector<std::string> bob_lines;
    for (int k = 1; k <= kHonestLines; ++k) {
        alice_lines.push_back("alice to the lobby #" + std::to_string(k));
        bob_lines.push_back("bob to alice #" + std::to_string(k));
    }

    FloodReport report;
    std::jthread flooder([&](const std::stop_token& stop) { flood(port, stop, report); });
    const auto flood_started = Clock::now();

    // The attackers' sockets, and everything they were sent back.
    e2e::UdpClient squatter; // hello{alice} without a token, from another address
    e2e::UdpClient spoofer;  // requests with a wrong token from an address with no session
    e2e::UdpClient claimer;  // hello{alice, tok: wrong} from a fresh address
    std::vector<std::string> heard_by_squatter;
    std::vector<std::string> heard_by_spoofer;
    std::vector<std::string> heard_by_claimer;
    JunkMaker guesses(kSeed + 1);
    std::optional<proto::Message> squat_answer;
    std::optional<proto::Message> spoof_answer;
    std::optional<proto::Message> claim_answer;

    for (int k = 0; k < kHonestLines; ++k) {
        const auto next = Clock::now() + kLineEvery;
        alice.type(alice_lines[static_cast<std::size_t>(k)]);
        bob.type("/msg alice " + bob_lines[static_cast<std::size_t>(k)]);
        if (k == 10)
            squat_answer = ask(squatter, port, proto::encode(proto::Hello{"alice", {}, {}}),
                               heard_by_squatter);
        if (k == 20) {
            const proto::Token wrong = guesses.hex(proto::kTokenHexChars);
            spoofer.send(port, proto::encode(proto::Bye{wrong})); // must not end alice's session
            spoofer.send(port, proto::encode(proto::Join{wrong, 1, "dev"}));
            spoofer.send(port, proto::encode(proto::Direct{wrong, 2, {"bob"}, "spoofed dm"}));
            spoof_answer = ask(
                spoofer, port,
                proto::encode(proto::Say{wrong, 3, "lobby", "spoofed: " + std::string(300, 'x')}),
                heard_by_spoofer);
        }
        if (k == 30)
            claim_answer =
                ask(claimer, port,
                    proto::encode(proto::Hello{"alice", {}, guesses.hex(proto::kTokenHexChars)}),
                    heard_by_claimer);
        for (auto* p : all())
            p->pump();
        std::this_thread::sleep_until(next);
    }
    flooder.join();
    const Seconds flood_to_last_line = Clock::now() - flood_started;

    // Every honest line arrives, however long the retransmissions take (30 s at most).
    auto everything_arrived = [&] {
        for (const auto& t : alice_lines)
            if (shown(bob, "alice", t) == 0)
                return false;
        for (const auto& t : bob_lines)
            if (shown(alice, "bob", t) == 0)
                return false;
        return true;
    };
    const bool arrived = e2e::pump_until(all(), everything_arrived, 35s);
    const Seconds settled = Clock::now() - flood_started;
    std::this_thread::sleep_for(1s); // room for a duplicate
    for (auto* p : all())
        p->pump();

    // ---- the honest chat ----
    int missing = 0;
    int duplicated = 0;
    int out_of_order = 0;
    int delivered = 0;
    int undelivered = 0;
    auto check_stream = [&](const e2e::JsonPeerProcess& reader, const std::string& from,
                            const std::vector<std::string>& texts, const std::string& kind) {
        for (const auto& t : texts) {
            const int n = shown(reader, from, t);
            missing += n == 0 ? 1 : 0;
            duplicated += n > 1 ? n - 1 : 0;
            EXPECT_EQ(n, 1) << reader.name() << " showed \"" << t << "\" " << n << " times";
        }
        std::size_t next = 0; // the order the lines were shown in must be the typing order
        for (const auto& e : reader.events()) {
            if (json_string(e, "event") != kind || json_flag(e, "self") ||
                json_string(e, "from") != from)
                continue;
            const auto it = std::find(texts.begin(), texts.end(), json_string(e, "text"));
            if (it == texts.end())
                continue;
            const auto at = static_cast<std::size_t>(it - texts.begin());
            if (at < next) {
                ++out_of_order;
                ADD_FAILURE() << reader.name() << " showed out of order: " << e.dump();
            }
            next = std::max(next, at + 1);
        }
    };
    check_stream(bob, "alice", alice_lines, "message");
    check_stream(alice, "bob", bob_lines, "dm");
    for (auto* p : all())
        for (const auto& e : p->events()) {
            if (json_string(e, "event") == "delivered")
                ++delivered;
            if (json_string(e, "event") == "error" && json_string(e, "code") == "not_delivered")
                ++undelivered;
            // Alice's session was never disturbed: no reconnect, and nobody saw her leave.
            EXPECT_FALSE(json_string(e, "event") == "connection" &&
                         json_string(e, "state") != "online")
                << p->name() << ": " << e.dump();
            EXPECT_FALSE(json_string(e, "event") == "left") << p->name() << ": " << e.dump();
            EXPECT_EQ(json_string(e, "text").find("spoofed"), std::string::npos)
                << p->name() << " showed a spoofed line: " << e.dump();
            EXPECT_EQ(json_string(e, "text").find("forged"), std::string::npos)
                << p->name() << " showed a forged line: " << e.dump();
        }

    // ---- the attackers got nothing but refusals ----
    EXPECT_TRUE(is_error(squat_answer, proto::ErrorCode::NameTaken)) << describe(squat_answer);
    EXPECT_TRUE(is_error(spoof_answer, proto::ErrorCode::NoSession)) << describe(spoof_answer);
    EXPECT_TRUE(is_error(claim_answer, proto::ErrorCode::NameTaken)) << describe(claim_answer);
    struct Attacker {
        const char* who;
        e2e::UdpClient* socket;
        std::vector<std::string>* heard;
    };
    for (const Attacker& a : {Attacker{"squatter", &squatter, &heard_by_squatter},
                              Attacker{"spoofer", &spoofer, &heard_by_spoofer},
                              Attacker{"claimer", &claimer, &heard_by_claimer}}) {
        while (const auto more = a.socket->receive(0ms))
            a.heard->push_back(*more);
        for (const auto& bytes : *a.heard) {
            auto decoded = proto::decode(bytes);
            const auto* m = std::get_if<proto::Message>(&decoded);
            EXPECT_TRUE(m != nullptr && std::holds_alternative<proto::Error>(*m))
                << a.who << " was sent more than a refusal: " << bytes.substr(0, 160);
        }
    }

    // ---- the server: up, answering, small, and its counters add up ----
    ASSERT_TRUE(server_.process->running()) << "rendezvous died" << server_log_tail();
    const long peak_kib = peak_rss_kib(server_.process->pid());
    alice.type("/users");
    const auto users = alice.wait_for("users", {}, 5s);
    ASSERT_TRUE(users) << alice.transcript();
    EXPECT_EQ((*users)["users"], Json({"alice", "bob"}));
    e2e::UdpClient newcomer; // a stranger can still register after all that, retry included
    const auto welcome = e2e::hello_with_cookie(newcomer, port, proto::Hello{"newcomer", {}, {}},
                                                e2e::HelloTries{4, 1s, 2});
    EXPECT_TRUE(welcome && std::holds_alternative<proto::Welcome>(*welcome)) << describe(welcome);

    // Stats every second: wait for two in a row with the same drop total (the backlog is
    // processed), up to 5 s.
    std::string last_stats;
    std::map<std::string, long> drops;
    for (const auto until = Clock::now() + 5s; Clock::now() < until;) {
        std::this_thread::sleep_for(1100ms);
        const auto lines = stats_lines(e2e::read_text_file(server_.stderr_path));
        if (lines.size() >= 2 && total(drop_counters(lines[lines.size() - 1])) ==
                                     total(drop_counters(lines[lines.size() - 2]))) {
            last_stats = lines.back();
            break;
        }
        if (!lines.empty())
            last_stats = lines.back();
    }
    drops = drop_counters(last_stats);
    const long dropped = total(drops);
    const long at_socket = kernel_drops(port);
    const long received = report.sent - std::max(0L, at_socket);
    // Junk that got past the rate limiter and was parsed: at most each source's burst plus its
    // refill over the flood (and a second for the backlog).
    const long parsed = dropped - drops["rate_limited"] - drops["oversize"];
    const double budget =
        kFloodSockets * (kSourceBurst + kSourceRate * (report.took.count() + 1.0));

    std::string by_kind;
    for (std::size_t i = 0; i < report.by_kind.size(); ++i)
        by_kind += std::string(by_kind.empty() ? "" : " ") + kJunkNames[i] + "=" +
                   std::to_string(report.by_kind[i]);
    std::printf("measured: flood of %d datagrams (seed %u) from %d sockets in %.1f s: %d sent, "
                "%d refused by our kernel; %s\n",
                kFloodDatagrams, kSeed, kFloodSockets, report.took.count(), report.sent,
                report.refused, by_kind.c_str());
    std::printf("measured: honest lines typed %d, shown exactly once %d, missing %d, duplicated "
                "%d, out of order %d; delivered events %d, not_delivered %d; all arrived %.1f s "
                "after the flood began (last line typed at %.1f s)\n",
                2 * kHonestLines, 2 * kHonestLines - missing, missing, duplicated, out_of_order,
                delivered, undelivered, settled.count(), flood_to_last_line.count());
    std::printf("measured: attacks: squatter got %s, spoofer got %s, claimer got %s\n",
                describe(squat_answer).c_str(), describe(spoof_answer).c_str(),
                describe(claim_answer).c_str());
    std::printf("measured: rendezvous peak RSS (VmHWM) %ld KiB, bound %ld KiB\n", peak_kib,
                kPeakRssBoundKiB);
    std::printf("measured: stats line: %s\n", last_stats.c_str());
    std::printf("measured: drops counted %ld (rate_limited %ld, parsed and refused %ld, budget "
                "%.0f); kernel dropped %ld at the server's socket; flood reaching the server %ld\n",
                dropped, drops["rate_limited"], parsed, budget, at_socket, received);

    EXPECT_TRUE(arrived) << "the honest chat did not complete" << alice.transcript()
                         << bob.transcript();
    EXPECT_EQ(missing + duplicated + out_of_order, 0);
    EXPECT_EQ(undelivered, 0);
    EXPECT_EQ(delivered, 2 * kHonestLines) << "one delivered event per line typed";

    ASSERT_GT(peak_kib, 0) << "cannot read /proc/" << server_.process->pid() << "/status";
    EXPECT_LT(peak_kib, kPeakRssBoundKiB);

    ASSERT_FALSE(last_stats.empty()) << "no stats line" << server_log_tail();
    EXPECT_GT(drops["rate_limited"], 0) << last_stats;
    EXPECT_GT(drops["oversize"], 0) << last_stats;
    EXPECT_GT(drops["not_registered"], 0) << last_stats;
    // Every junk datagram the server read was dropped under exactly one reason, so the
    // counters add up to what reached it, give or take the attackers' few and the honest
    // peers' strays (1% and 100 allowed).
    const double slack = 0.01 * report.sent + 100;
    if (at_socket >= 0) {
        EXPECT_NEAR(static_cast<double>(dropped), static_cast<double>(received), slack)
            << last_stats;
    } else { // no kernel figure: at least half of it, and never more than was sent
        EXPECT_GE(static_cast<double>(dropped), 0.5 * report.sent) << last_stats;
        EXPECT_LE(static_cast<double>(dropped), report.sent + slack) << last_stats;
    }
    EXPECT_LE(static_cast<double>(parsed), budget + 100)
        << "more junk got past the per-source rate limit than its budget allows";
}

} // namespace
