// End-to-end tests of the real `peer` binary against the real `rendezvous` on loopback:
// peers driven through --json (one JSON event per line, peer/JSON_EVENTS.md) and through
// plain pipes, a legacy plain-text client on a bare UDP socket, SIGKILLed peers and a
// rendezvous killed and restarted. Timing is real here; the logic is unit-tested in
// tests/peer/ on a fake clock. Every process is started here and stopped by PID.
#include "support/process.hpp"
#include "support/server_process.hpp"
#include "support/udp_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace {

using namespace chat;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr char kRendezvous[] = CHAT_RENDEZVOUS_BIN;
constexpr char kPeer[] = CHAT_PEER_BIN;
constexpr auto kWithin = 5s; // generous: sanitizer builds on a loaded two-core machine

std::string address(std::uint16_t port) {
    return "127.0.0.1:" + std::to_string(port);
}

// A `peer` process. In --json mode wait_for() parses each stdout line; in pipe mode
// wait_for_line() matches plain text. Everything read is kept for failure messages.
class PeerProcess {
  public:
    PeerProcess(std::uint16_t server_port, std::string name, bool json_mode = true,
                std::vector<std::string> extra = {})
        : name_(std::move(name)) {
        std::vector<std::string> args{"--rendezvous", address(server_port), "--name", name_};
        if (json_mode)
            args.emplace_back("--json");
        for (auto& a : extra)
            args.push_back(std::move(a));
        proc_ = std::make_unique<e2e::Process>(kPeer, args, e2e::Stdin::Pipe);
    }

    const std::string& name() const { return name_; }
    e2e::Process& process() { return *proc_; }
    void type(std::string_view line) { proc_->write_line(line); }

    // The first event (from now on) with event == `kind` for which `match` holds.
    std::optional<json> wait_for(const std::string& kind,
                                 const std::function<bool(const json&)>& match = {},
                                 std::chrono::milliseconds timeout = kWithin) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            const auto line = proc_->read_line(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
            if (!line)
                break;
            seen_.push_back(*line);
            const json j = json::parse(*line, nullptr, false);
            EXPECT_FALSE(j.is_discarded()) << name_ << " printed a non-JSON line: " << *line;
            if (j.is_object() && j.value("event", "") == kind && (!match || match(j)))
                return j;
        }
        return std::nullopt;
    }

    // Plain mode: the first line containing `needle`.
    std::optional<std::string> wait_for_line(const std::string& needle,
                                             std::chrono::milliseconds timeout = kWithin) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            const auto line = proc_->read_line(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
            if (!line)
                break;
            seen_.push_back(*line);
            if (line->find(needle) != std::string::npos)
                return line;
        }
        return std::nullopt;
    }

    bool wait_online() {
        return wait_for("connection", [](const json& j) { return j["state"] == "online"; })
            .has_value();
    }

    std::string seen() const {
        std::string s = "\n" + name_ + " printed:";
        for (const auto& l : seen_)
            s += "\n  " + l;
        return s;
    }
    const std::vector<std::string>& lines() const { return seen_; }

  private:
    std::string name_;
    std::unique_ptr<e2e::Process> proc_;
    std::vector<std::string> seen_;
};

auto message_from(const std::string& from, const std::string& text, const std::string& room) {
    return
        [=](const json& j) { return j["from"] == from && j["text"] == text && j["room"] == room; };
}

class PeerE2E : public ::testing::Test {
  protected:
    void start_server(std::vector<std::string> args = {"--allow-plaintext"}) {
        server_ = e2e::start_restartable_server(kRendezvous, args); // some tests restart it
        port_ = server_.port;
    }
    void TearDown() override {
        peers_.clear(); // each stops its process by PID
        if (server_.process)
            server_.process->stop();
        if (restarted_)
            restarted_->stop();
    }
    PeerProcess& peer(const std::string& name, bool json_mode = true,
                      std::vector<std::string> extra = {}) {
        peers_.push_back(std::make_unique<PeerProcess>(port_, name, json_mode, std::move(extra)));
        return *peers_.back();
    }
    PeerProcess& online_peer(const std::string& name, std::vector<std::string> extra = {}) {
        auto& p = peer(name, true, std::move(extra));
        EXPECT_TRUE(p.wait_online()) << p.seen();
        return p;
    }
    // Restarts the rendezvous on the same port after it died.
    void restart_server(std::vector<std::string> args) {
        std::vector<std::string> all{"--listen", address(port_)};
        all.insert(all.end(), args.begin(), args.end());
        restarted_ = std::make_unique<e2e::Process>(kRendezvous, all);
        const auto line = restarted_->read_line(10s);
        ASSERT_TRUE(line.has_value()) << "the restarted rendezvous said nothing";
        ASSERT_EQ(*line, "listening on " + address(port_));
    }

    e2e::ServerProcess server_;
    std::unique_ptr<e2e::Process> restarted_;
    std::uint16_t port_ = 0;
    std::vector<std::unique_ptr<PeerProcess>> peers_;
};

// ---- Chat through --json ----

TEST_F(PeerE2E, ThreePeersAndAPlainTextClientChatInTheLobby) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& alice = online_peer("alice");
    auto& bob = online_peer("bob");
    auto& carol = online_peer("carol");
    e2e::UdpClient legacy;
    legacy.send(port_, "hello from the old days");
    const auto legacy_line = alice.wait_for(
        "message", message_from(legacy.address(), "hello from the old days", "lobby"));
    ASSERT_TRUE(legacy_line) << alice.seen();

    alice.type("hi lobby, 你好");
    for (auto* p : {&bob, &carol})
        EXPECT_TRUE(p->wait_for("message", message_from("alice", "hi lobby, 你好", "lobby")))
            << p->seen();
    bool legacy_got_it = false;
    for (int i = 0; i < 10 && !legacy_got_it; ++i) {
        const auto bytes = legacy.receive(kWithin);
        legacy_got_it = bytes && *bytes == "alice\nhi lobby, 你好";
    }
    EXPECT_TRUE(legacy_got_it) << "the plain-text client never got alice's line";
}

TEST_F(PeerE2E, PeersChatInACreatedRoomTheLobbyDoesNotSee) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& alice = online_peer("alice");
    auto& bob = online_peer("bob");
    auto& carol = online_peer("carol");
    auto& dave = online_peer("dave"); // stays in the lobby only

    alice.type("/create dev bob,carol");
    ASSERT_TRUE(alice.wait_for("target", [](const json& j) { return j["name"] == "dev"; }))
        << alice.seen();
    for (auto* p : {&bob, &carol}) {
        const auto added = p->wait_for("joined", [&](const json& j) {
            return j["room"] == "dev" && j["name"] == p->name() && j["self"] == true;
        });
        ASSERT_TRUE(added) << p->seen();
        EXPECT_EQ((*added)["by"], "alice");
    }
    alice.type("only for dev");
    for (auto* p : {&bob, &carol})
        EXPECT_TRUE(p->wait_for("message", message_from("alice", "only for dev", "dev")))
            << p->seen();
    bob.type("/room dev");
    bob.type("bob in dev");
    EXPECT_TRUE(alice.wait_for("message", message_from("bob", "bob in dev", "dev")))
        << alice.seen();
    EXPECT_FALSE(dave.wait_for("message", {}, 1s)) << dave.seen();
}

TEST_F(PeerE2E, UsersRoomsAndMsgToTwo) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& alice = online_peer("alice");
    auto& bob = online_peer("bob");
    auto& carol = online_peer("carol", {"--room", "ops"});

    alice.type("/users");
    const auto users = alice.wait_for("users");
    ASSERT_TRUE(users) << alice.seen();
    EXPECT_EQ((*users)["users"], json({"alice", "bob", "carol"}));
    EXPECT_TRUE((*users)["room"].is_null());

    alice.type("/who ops");
    const auto in_ops = alice.wait_for("users");
    ASSERT_TRUE(in_ops) << alice.seen();
    EXPECT_EQ((*in_ops)["users"], json({"carol"}));
    EXPECT_EQ((*in_ops)["room"], "ops");

    alice.type("/rooms");
    const auto rooms = alice.wait_for("rooms");
    ASSERT_TRUE(rooms) << alice.seen();
    EXPECT_EQ((*rooms)["rooms"], json::parse(R"([{"name":"lobby","members":3},
                                                 {"name":"ops","members":1}])"));

    alice.type("/msg bob,carol psst, both of you");
    for (auto* p : {&bob, &carol}) {
        const auto dm = p->wait_for("dm");
        ASSERT_TRUE(dm) << p->seen();
        EXPECT_EQ((*dm)["from"], "alice");
        EXPECT_EQ((*dm)["to"], json({"bob", "carol"}));
        EXPECT_EQ((*dm)["text"], "psst, both of you");
        EXPECT_EQ((*dm)["relayed"], true);
    }

    alice.type("/msg zed hello?");
    const auto err = alice.wait_for("error");
    ASSERT_TRUE(err) << alice.seen();
    EXPECT_EQ((*err)["code"], "no_such_user");
}

TEST_F(PeerE2E, ConnectRelaysPlainTextAsDirectMessages) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& alice = online_peer("alice");
    auto& bob = online_peer("bob");
    alice.type("/connect bob");
    const auto found = alice.wait_for("peer");
    ASSERT_TRUE(found) << alice.seen();
    EXPECT_EQ((*found)["initiator"], true);
    EXPECT_TRUE(bob.wait_for("peer", [](const json& j) { return j["name"] == "alice"; }))
        << bob.seen();
    alice.type("just between us");
    const auto dm = bob.wait_for("dm");
    ASSERT_TRUE(dm) << bob.seen();
    EXPECT_EQ((*dm)["text"], "just between us");
    alice.type("/disconnect");
    alice.type("back in the lobby");
    EXPECT_TRUE(bob.wait_for("message", message_from("alice", "back in the lobby", "lobby")))
        << bob.seen();
}

TEST_F(PeerE2E, UnknownCommandsSendNothing) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& alice = online_peer("alice");
    auto& bob = online_peer("bob");
    alice.type("/frobnicate now");
    alice.type("/join");
    alice.type("/msg bob");
    for (int i = 0; i < 3; ++i) {
        const auto err = alice.wait_for("error");
        ASSERT_TRUE(err) << alice.seen();
        EXPECT_EQ((*err)["code"], "usage");
    }
    EXPECT_FALSE(bob.wait_for("message", {}, 1s)) << bob.seen();
    EXPECT_FALSE(bob.wait_for("dm", {}, 0ms)) << bob.seen();
}

// ---- Plain pipes ----

TEST_F(PeerE2E, PlainPipesPrintPlainLines) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& alice = peer("alice", false);
    auto& bob = peer("bob", false);
    ASSERT_TRUE(alice.wait_for_line("connected to")) << alice.seen();
    ASSERT_TRUE(bob.wait_for_line("connected to")) << bob.seen();
    alice.type("hello through a pipe");
    const auto line = bob.wait_for_line("hello through a pipe");
    ASSERT_TRUE(line) << bob.seen();
    EXPECT_NE(line->find("[lobby] alice: hello through a pipe"), std::string::npos) << *line;
    bob.type("/users");
    EXPECT_TRUE(bob.wait_for_line("2 users online: alice, bob")) << bob.seen();
    alice.type("/quit");
    EXPECT_TRUE(bob.wait_for_line("alice quit (lobby)")) << bob.seen();
    for (const auto* p : {&alice, &bob})
        for (const auto& l : p->lines())
            EXPECT_EQ(l.find('\x1b'), std::string::npos) << "escape code in pipe mode: " << l;
}

TEST_F(PeerE2E, AFastScriptIsPacedSoEveryLineArrives) {
    // 60 lines at once would pass the server's 20/s (burst 50) limit, which drops silently.
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& bot = online_peer("bot");
    auto& reader = online_peer("reader");
    for (int i = 0; i < 60; ++i)
        bot.type("line " + std::to_string(i));
    for (int i = 0; i < 60; ++i)
        ASSERT_TRUE(
            reader.wait_for("message", message_from("bot", "line " + std::to_string(i), "lobby")))
            << "line " << i << reader.seen();
    EXPECT_FALSE(bot.wait_for("error", {}, 500ms)) << bot.seen();
}

// ---- Leaving ----

TEST_F(PeerE2E, QuitEndOfInputAndSigtermExitZeroAndSayBye) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& watcher = online_peer("watcher");
    auto& q = online_peer("q");
    auto& d = online_peer("d");
    auto& t = online_peer("t");
    q.type("/quit");
    d.process().close_stdin();
    t.process().signal(SIGTERM);
    for (auto* p : {&q, &d, &t}) {
        const auto status = p->process().wait_exit(kWithin);
        ASSERT_TRUE(status.has_value()) << p->name() << " did not exit";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
            << p->name() << " " << e2e::describe_status(*status);
    }
    std::set<std::string> gone; // in whatever order the byes arrived
    while (gone.size() < 3) {
        const auto left = watcher.wait_for("left");
        ASSERT_TRUE(left) << watcher.seen();
        EXPECT_EQ((*left)["reason"], "quit") << left->dump();
        gone.insert((*left)["name"].get<std::string>());
    }
    EXPECT_EQ(gone, (std::set<std::string>{"d", "q", "t"}));
}

TEST_F(PeerE2E, KilledPeerIsReportedAsTimedOutWithinTenSeconds) {
    ASSERT_NO_FATAL_FAILURE(start_server({}));
    auto& alice = online_peer("alice");
    auto& bob = online_peer("bob");
    (void)bob;
    std::this_thread::sleep_for(1s);
    const auto killed = Clock::now();
    peers_.back()->process().signal(SIGKILL);
    const auto left = alice.wait_for(
        "left", [](const json& j) { return j["name"] == "bob"; }, 15s);
    ASSERT_TRUE(left) << alice.seen();
    EXPECT_EQ((*left)["reason"], "timeout");
    // Evicted 10 s after bob was last heard, which was up to one heartbeat (5 s) before
    // the kill: 5-10 s after it.
    const Seconds after = Clock::now() - killed;
    std::printf("timeout reported %.1f s after SIGKILL\n", after.count());
    EXPECT_GE(after.count(), 4.5);
    EXPECT_LE(after.count(), 11.0);
}

// ---- The rendezvous goes away ----

TEST_F(PeerE2E, PeersComeBackAfterTheRendezvousIsKilledAndRestarted) {
    // A 4 s timeout (2 s heartbeats) so the peers notice the dead server in 6 s, not 15.
    ASSERT_NO_FATAL_FAILURE(start_server({"--timeout", "4"}));
    auto& alice = online_peer("alice", {"--room", "dev"});
    auto& bob = online_peer("bob", {"--room", "dev"});
    ASSERT_TRUE(alice.wait_for("joined", [](const json& j) { return j["name"] == "bob"; }))
        << alice.seen();

    server_.process->signal(SIGKILL);
    server_.process->wait_exit(kWithin);
    const auto died = Clock::now();
    ASSERT_NO_FATAL_FAILURE(restart_server({"--timeout", "4"}));

    for (auto* p : {&alice, &bob}) {
        EXPECT_TRUE(p->wait_for(
            "connection", [](const json& j) { return j["state"] == "reconnecting"; }, 15s))
            << p->seen();
        const auto back = p->wait_for(
            "connection", [](const json& j) { return j["state"] == "online"; }, 20s);
        ASSERT_TRUE(back) << p->seen();
        EXPECT_NE((*back)["text"].get<std::string>().find("rejoined dev"), std::string::npos);
    }
    std::printf("both back %.1f s after the rendezvous died\n",
                Seconds(Clock::now() - died).count());
    alice.type("we are back");
    EXPECT_TRUE(bob.wait_for("message", message_from("alice", "we are back", "dev"))) << bob.seen();
    bob.type("/rooms");
    const auto rooms = bob.wait_for("rooms");
    ASSERT_TRUE(rooms) << bob.seen();
    EXPECT_EQ((*rooms)["rooms"], json::parse(R"([{"name":"dev","members":2},
                                                 {"name":"lobby","members":2}])"));
}

TEST_F(PeerE2E, PeersComeBackAfterAGracefulRestart) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    auto& alice = online_peer("alice");
    auto& bob = online_peer("bob");
    server_.process->signal(SIGTERM); // the server says shutdown to everyone
    const auto status = server_.process->wait_exit(kWithin);
    ASSERT_TRUE(status.has_value());
    for (auto* p : {&alice, &bob})
        EXPECT_TRUE(p->wait_for(
            "connection", [](const json& j) { return j["state"] == "reconnecting"; }, 2s))
            << p->seen();
    ASSERT_NO_FATAL_FAILURE(restart_server({}));
    for (auto* p : {&alice, &bob})
        EXPECT_TRUE(p->wait_for(
            "connection", [](const json& j) { return j["state"] == "online"; }, 20s))
            << p->seen();
    alice.type("after the restart"); // a new session: held a heartbeat and a second
    EXPECT_TRUE(bob.wait_for("message", message_from("alice", "after the restart", "lobby"), 12s))
        << bob.seen();
}

// ---- Start-up failures: one line, non-zero exit ----

TEST_F(PeerE2E, BadOptionsExitTwoWithUsage) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--bogus"},
          {"--name", "alice"},
          {"--rendezvous", "127.0.0.1:7777"},
          {"--rendezvous", "127.0.0.1", "--name", "alice"},
          {"--rendezvous", "127.0.0.1:7777", "--name", "al ice"},
          {"--rendezvous", "127.0.0.1:7777", "--name", "alice", "--bind", "nowhere"},
          {"--rendezvous", "127.0.0.1:7777", "--name", "alice", "--connect-timeout", "0"},
          {"--rendezvous", "127.0.0.1:7777", "--name", "alice", "--connect-timeout", "soon"}}) {
        const auto r = e2e::run_to_exit(kPeer, args);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("peer: "), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

TEST_F(PeerE2E, HelpAndVersionExitZero) {
    EXPECT_EQ(e2e::run_to_exit(kPeer, {"--help"}).exit_code, 0);
    const auto v = e2e::run_to_exit(kPeer, {"--version"});
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_EQ(v.out.rfind("peer ", 0), 0u) << v.out;
}

TEST_F(PeerE2E, TakenNameExitsOneWithOneLine) {
    ASSERT_NO_FATAL_FAILURE(start_server());
    online_peer("alice");
    const auto r = e2e::run_to_exit(kPeer, {"--rendezvous", address(port_), "--name", "alice"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("taken"), std::string::npos) << r.err;
}

TEST_F(PeerE2E, SilentServerIsRetriedWithNoticesThenExitsOneAtTheConnectTimeout) {
    e2e::UdpClient silent; // a bound port where nobody answers
    const auto start = Clock::now();
    const auto r = e2e::run_to_exit(
        kPeer, {"--rendezvous", silent.address(), "--name", "alice", "--connect-timeout", "6"},
        30s);
    const double took = Seconds(Clock::now() - start).count();
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no answer from the rendezvous at " + silent.address() + " within 6 s"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.out.find("still trying " + silent.address() + " (no answer for 5 s)..."),
              std::string::npos)
        << r.out;
    EXPECT_GE(took, 6.0);
    EXPECT_LE(took, 20.0); // a loaded machine may be slow to start and stop it
}

} // namespace
