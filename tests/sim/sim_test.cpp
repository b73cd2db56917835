// The rendezvous core and several peer cores together on an in-memory network with NATs,
// on a fake clock that hops from wake-up to wake-up (no sleeps, no sockets). Each test is a
// whole-system scenario: chat through the server, a direct path through cone NATs, relay
// through symmetric ones, a server restart, a peer that vanishes.
#include "peer/client.hpp"
#include "rendezvous/server.hpp"
#include "tests/testkit/capturing_logger.hpp"
#include "tests/testkit/net.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include "proto/codec.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace chat {
namespace {

using namespace std::chrono_literals;
using proto::Endpoint;
using testkit::Nat;
using testkit::Net;

Endpoint ep(const char* s) {
    return *Endpoint::parse(s);
}

const Endpoint kServerAddress = ep("203.0.113.10:7777");

struct SimPeer {
    Net::NodeId node;
    std::unique_ptr<peer::Client> client;
    std::vector<peer::UiEvent> events;
    bool running = true;
};

class Sim {
  public:
    explicit Sim(std::uint64_t seed = 1) : net(seed), rng_(seed) {
        server_node_ = net.add_host(kServerAddress);
        start_server();
    }

    void start_server() {
        server_ = std::make_unique<rdv::Server>(rdv::ServerConfig{}, rng_, log_, now);
    }
    void stop_server() { server_.reset(); }

    SimPeer& add_peer(const std::string& name, const Endpoint& inside, Nat* nat = nullptr) {
        peer::ClientConfig cfg;
        cfg.name = name;
        cfg.server = kServerAddress;
        cfg.private_endpoints = {inside};
        auto& p = peers_[name];
        p.node = net.add_host(inside, nat);
        p.client = std::make_unique<peer::Client>(cfg, rng_, log_);
        absorb(p, p.client->start(now));
        return p;
    }
    void command(const std::string& name, const peer::Command& c) {
        auto& p = peers_.at(name);
        absorb(p, p.client->on_command(c, now));
    }
    void stop_peer(const std::string& name) { peers_.at(name).running = false; } // SIGKILL

    // Runs every core and the network until `until`, hopping to each wake-up or delivery.
    void drive_until(Time until) {
        for (int step = 0; step < 1'000'000; ++step) {
            std::optional<Time> next = net.next_delivery();
            auto consider = [&next](std::optional<Time> t) {
                if (t && (!next || *t < *next))
                    next = t;
            };
            if (server_)
                consider(server_->next_wakeup());
            for (auto& [name, p] : peers_)
                if (p.running)
                    consider(p.client->next_wakeup());
            if (!next || *next > until)
                break;
            now = std::max(now, *next);
            for (auto& d : net.take_due(now))
                deliver(d);
            if (server_)
                send_from_server(server_->on_tick(now));
            for (auto& [name, p] : peers_)
                if (p.running)
                    absorb(p, p.client->on_tick(now));
        }
        now = std::max(now, until);
    }
    void drive_for(Duration d) { drive_until(now + d); }

    template <typename T> std::vector<T> events(const std::string& name) const {
        std::vector<T> v;
        for (const auto& e : peers_.at(name).events)
            if (const auto* t = std::get_if<T>(&e))
                v.push_back(*t);
        return v;
    }
    peer::Client& client(const std::string& name) { return *peers_.at(name).client; }
    rdv::Server* server() { return server_.get(); }
    std::size_t datagrams_to_server_with(std::string_view needle) const {
        return server_seen_containing_.count(std::string(needle)) != 0
                   ? server_seen_containing_.at(std::string(needle))
                   : 0;
    }
    void watch_server_for(const std::string& needle) { server_seen_containing_[needle] = 0; }

    Net net;
    Time now{};

  private:
    void absorb(SimPeer& p, peer::Outbox out) {
        for (auto& d : out.datagrams)
            net.send(p.node, d.to, std::move(d.bytes), now);
        for (auto& e : out.events)
            p.events.push_back(std::move(e));
    }
    void send_from_server(rdv::Outbox out) {
        for (auto& d : out.datagrams)
            net.send(server_node_, d.to, std::move(d.bytes), now);
    }
    void deliver(const Net::Delivery& d) {
        if (d.to == server_node_) {
            for (auto& [needle, count] : server_seen_containing_)
                if (d.bytes.find(needle) != std::string::npos)
                    ++count;
            if (server_)
                send_from_server(server_->on_datagram(d.from, d.bytes, now));
            return;
        }
        for (auto& [name, p] : peers_)
            if (p.node == d.to && p.running)
                absorb(p, p.client->on_datagram(d.from, d.bytes, now));
    }

    testkit::SeededRng rng_;
    testkit::CapturingLogger log_;
    std::unique_ptr<rdv::Server> server_;
    Net::NodeId server_node_;
    std::map<std::string, SimPeer> peers_;
    std::map<std::string, std::size_t> server_seen_containing_;
};

std::vector<std::string> texts(const std::vector<peer::ui::Message>& msgs) {
    std::vector<std::string> v;
    for (const auto& m : msgs)
        if (!m.self)
            v.push_back(m.from + ":" + m.text);
    return v;
}

TEST(Sim, ThreePeersBehindNatsChatInTheLobbyAndInACreatedRoom) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, true);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.add_peer("carol", ep("203.0.113.50:5000"));
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Say{"hello lobby"});
    sim.command("bob", peer::cmd::Create{"team", {"alice"}});
    sim.drive_for(1s);
    sim.command("bob", peer::cmd::Say{"team only"});
    sim.drive_for(1s);
    EXPECT_EQ(texts(sim.events<peer::ui::Message>("carol")),
              std::vector<std::string>{"alice:hello lobby"});
    EXPECT_EQ(texts(sim.events<peer::ui::Message>("alice")),
              std::vector<std::string>{"bob:team only"});
}

TEST(Sim, ConeNatsGetADirectPathAndChatBypassesTheServer) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, false);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"bob"});
    sim.drive_for(2s);
    ASSERT_FALSE(sim.events<peer::ui::PathChanged>("alice").empty());
    EXPECT_EQ(sim.events<peer::ui::PathChanged>("alice").back().state, peer::PathState::Direct);
    EXPECT_EQ(sim.events<peer::ui::PathChanged>("bob").back().state, peer::PathState::Direct);
    sim.watch_server_for("secret words");
    sim.command("alice", peer::cmd::Say{"secret words"});
    sim.drive_for(1s);
    const auto dms = sim.events<peer::ui::Direct>("bob");
    ASSERT_EQ(dms.size(), 1u);
    EXPECT_FALSE(dms[0].relayed);
    EXPECT_EQ(sim.datagrams_to_server_with("secret words"), 0u);
}

TEST(Sim, DirectPathSurvivesTheServerGoingAway) {
    Nat na({198, 51, 100, 1}, false), nb({198, 51, 100, 2}, false);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"bob"});
    sim.command("bob", peer::cmd::Connect{"alice"});
    sim.drive_for(2s);
    sim.stop_server();
    sim.drive_for(30s); // both notice the server is gone and keep trying to come back
    ASSERT_EQ(sim.client("alice").state(), peer::ConnectionState::Reconnecting);
    sim.command("alice", peer::cmd::Say{"still talking"});
    sim.command("bob", peer::cmd::Say{"me too"});
    sim.drive_for(1s);
    ASSERT_FALSE(sim.events<peer::ui::Direct>("bob").empty());
    EXPECT_EQ(sim.events<peer::ui::Direct>("bob").back().text, "still talking");
    EXPECT_EQ(sim.events<peer::ui::Direct>("alice").back().text, "me too");
}

TEST(Sim, SymmetricNatsStayRelayedAndMessagesStillArrive) {
    Nat na({198, 51, 100, 1}, true), nb({198, 51, 100, 2}, true);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("bob", ep("10.0.1.2:4000"), &nb);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"bob"});
    sim.drive_for(100ms); // the exchange is back: bob is the target, punching has begun
    sim.command("alice", peer::cmd::Say{"typed while punching"});
    sim.drive_for(6s);
    EXPECT_EQ(sim.events<peer::ui::PathChanged>("alice").back().state, peer::PathState::Relayed);
    sim.command("alice", peer::cmd::Say{"typed after"});
    sim.drive_for(1s);
    const auto dms = sim.events<peer::ui::Direct>("bob");
    ASSERT_EQ(dms.size(), 2u);
    EXPECT_EQ(dms[0].text, "typed while punching");
    EXPECT_TRUE(dms[1].relayed);
}

TEST(Sim, PeersBehindOneNatWithoutHairpinTalkOverTheLan) {
    Nat na({198, 51, 100, 1}, false);
    Sim sim;
    sim.add_peer("alice", ep("10.0.0.2:4000"), &na);
    sim.add_peer("alice2", ep("10.0.0.3:4000"), &na);
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Connect{"alice2"});
    sim.drive_for(2s);
    const auto paths = sim.events<peer::ui::PathChanged>("alice");
    ASSERT_FALSE(paths.empty());
    EXPECT_EQ(paths.back().state, peer::PathState::Direct);
    EXPECT_EQ(paths.back().via, ep("10.0.0.3:4000"));
}

TEST(Sim, ServerRestartPeersComeBackRejoinAndKeepChatting) {
    Sim sim;
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(1s);
    sim.command("alice", peer::cmd::Join{"dev"});
    sim.command("bob", peer::cmd::Join{"dev"});
    sim.drive_for(1s);
    sim.stop_server();
    sim.drive_for(3s);
    sim.start_server(); // a fresh process: no sessions, no rooms
    sim.drive_for(40s);
    EXPECT_EQ(sim.client("alice").state(), peer::ConnectionState::Online);
    EXPECT_EQ(sim.server()->peer_count(), 2u);
    sim.command("alice", peer::cmd::Say{"after the restart"});
    sim.drive_for(1s);
    const auto msgs = sim.events<peer::ui::Message>("bob");
    ASSERT_FALSE(msgs.empty());
    EXPECT_EQ(msgs.back().room, "dev");
    EXPECT_EQ(msgs.back().text, "after the restart");
}

TEST(Sim, APeerThatVanishesIsReportedTimedOutAfterTenSeconds) {
    Sim sim;
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(1s);
    sim.stop_peer("bob");
    sim.drive_for(9s);
    EXPECT_TRUE(sim.events<peer::ui::Left>("alice").empty());
    sim.drive_for(6s);
    const auto left = sim.events<peer::ui::Left>("alice");
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].name, "bob");
    EXPECT_EQ(left[0].reason, proto::LeaveReason::Timeout);
}

TEST(Sim, RegistrationAndChatSurviveTenPercentLoss) {
    Sim sim(7);
    sim.net.loss = 0.1;
    sim.add_peer("alice", ep("203.0.113.21:4000"));
    sim.add_peer("bob", ep("203.0.113.22:4000"));
    sim.drive_for(3s);
    EXPECT_EQ(sim.client("alice").state(), peer::ConnectionState::Online);
    EXPECT_EQ(sim.client("bob").state(), peer::ConnectionState::Online);
    sim.drive_for(120s); // two minutes of heartbeats with 10% loss: nobody is evicted
    EXPECT_EQ(sim.server()->peer_count(), 2u);
    EXPECT_TRUE(sim.events<peer::ui::Left>("alice").empty());
}

} // namespace
} // namespace chat
