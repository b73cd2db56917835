// tests/sim: the rendezvous core and several peer cores together on testkit::Net, on a fake
// clock that hops from wake-up to wake-up (no sleeps, no sockets). Shared by the scenario
// files in this directory.
#pragma once

#include "peer/client.hpp"
#include "rendezvous/server.hpp"
#include "tests/testkit/capturing_logger.hpp"
#include "tests/testkit/net.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include "proto/codec.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace chat::sim {

using namespace std::chrono_literals;
using proto::Endpoint;
using testkit::Nat;
using testkit::Net;

inline Endpoint ep(const char* s) {
    return *Endpoint::parse(s);
}

inline const Endpoint kServerAddress = ep("203.0.113.10:7777");

struct SimPeer {
    Net::NodeId node;
    std::unique_ptr<peer::Client> client;
    std::vector<peer::UiEvent> events;
    bool running = true;
};

class Sim {
  public:
    explicit Sim(std::uint64_t seed = 1, rdv::ServerConfig cfg = {})
        : net(seed), rng_(seed), cfg_(cfg) {
        server_node_ = net.add_host(kServerAddress);
        start_server();
    }

    void start_server() { server_ = std::make_unique<rdv::Server>(cfg_, rng_, log_, now); }
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
    // As the shell feeds a paste or a script: the next command waits (driving the world on)
    // until the client is ready for input (its pacer, its direct windows).
    void type(const std::string& name, const peer::Command& c) {
        for (int i = 0; i < 100'000 && !client(name).ready_for_input(now); ++i)
            drive_for(10ms);
        command(name, c);
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
    Net::NodeId server_node() const { return server_node_; }
    // Loses the first datagram `from` sends whose bytes contain `needle` (one chosen loss).
    void drop_first(Net::NodeId from, std::string needle) {
        chosen_losses_ = 0;
        net.drop_if = [this, from, needle = std::move(needle)](Net::NodeId f, const Endpoint&,
                                                               std::string_view bytes) {
            if (chosen_losses_ != 0 || f != from || bytes.find(needle) == std::string_view::npos)
                return false;
            ++chosen_losses_;
            return true;
        };
    }
    std::size_t chosen_losses() const { return chosen_losses_; } // so far, by drop_first

    Net net;
    Time now{};
    testkit::CapturingLogger& log() { return log_; }

  private:
    void absorb(SimPeer& p, peer::Outbox out) {
        for (auto& d : out.datagrams)
            net.send(p.node, d.to, std::move(d.bytes), now);
        for (auto& e : out.events)
            p.events.push_back(std::move(e));
    }
    void send_from_server(const rdv::Outbox& out) {
        for (const rdv::Datagram d : out)
            net.send(server_node_, d.to, std::string(d.bytes), now);
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
    rdv::ServerConfig cfg_;
    testkit::CapturingLogger log_;
    std::unique_ptr<rdv::Server> server_;
    Net::NodeId server_node_;
    std::map<std::string, SimPeer> peers_;
    std::map<std::string, std::size_t> server_seen_containing_;
    std::size_t chosen_losses_ = 0;
};

} // namespace chat::sim
