// An in-memory network for simulation tests: hosts on the "internet" or behind NAT routers,
// with a one-way delay and seeded loss, so both cores (server and clients) can run together
// on a fake clock. The NATs behave like Linux MASQUERADE as measured in tests/nat: "cone"
// keeps a socket's port for every destination, "symmetric" picks a new port per destination;
// both let in only replies from the exact ip:port a host sent to, and neither hairpins.
#pragma once

#include "proto/endpoint.hpp"
#include "proto/time.hpp"

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace chat::testkit {

class Nat {
  public:
    Nat(std::array<std::uint8_t, 4> public_ip, bool symmetric)
        : ip_(public_ip), symmetric_(symmetric) {}

    proto::Endpoint outbound(const proto::Endpoint& inside, const proto::Endpoint& to) {
        const auto key = std::make_pair(inside, symmetric_ ? to : proto::Endpoint{});
        auto it = map_.find(key);
        if (it == map_.end()) {
            // Port-preserving unless another inside socket already holds that port.
            auto port = symmetric_ ? next_port_++ : inside.port();
            while (back_.contains(proto::Endpoint::v4(ip_, port)) &&
                   back_.at(proto::Endpoint::v4(ip_, port)) != inside)
                port = next_port_++;
            it = map_.emplace(key, proto::Endpoint::v4(ip_, port)).first;
            back_[it->second] = inside;
        }
        allowed_.insert({it->second, to});
        return it->second;
    }
    std::optional<proto::Endpoint> inbound(const proto::Endpoint& public_ep,
                                           const proto::Endpoint& from) const {
        if (!allowed_.contains({public_ep, from}))
            return std::nullopt;
        return back_.at(public_ep);
    }
    bool owns(const proto::Endpoint& e) const {
        return e.is_v4() && std::equal(ip_.begin(), ip_.end(), e.bytes().begin());
    }
    void flush() { // conntrack -F: every mapping forgotten
        map_.clear();
        allowed_.clear();
        back_.clear();
    }

  private:
    std::array<std::uint8_t, 4> ip_;
    bool symmetric_;
    std::uint16_t next_port_ = 30000;
    std::map<std::pair<proto::Endpoint, proto::Endpoint>, proto::Endpoint> map_;
    std::map<proto::Endpoint, proto::Endpoint> back_;
    std::set<std::pair<proto::Endpoint, proto::Endpoint>> allowed_;
};

class Net {
  public:
    using NodeId = std::size_t;
    struct Delivery {
        NodeId to;
        proto::Endpoint from; // as the receiver sees it
        std::string bytes;
    };

    explicit Net(std::uint64_t seed) : rng_(seed) {}

    NodeId add_host(const proto::Endpoint& address, Nat* nat = nullptr) {
        nodes_.push_back({address, nat, false});
        return nodes_.size() - 1;
    }
    const proto::Endpoint& address(NodeId n) const { return nodes_[n].address; }
    void set_cut(NodeId n, bool cut) { nodes_[n].cut = cut; } // drop all its traffic

    void send(NodeId from, const proto::Endpoint& to, std::string bytes, Time now) {
        ++sent_;
        const Node& src = nodes_[from];
        if (src.cut || (loss > 0 && std::uniform_real_distribution<>(0, 1)(rng_) < loss))
            return;
        if (drop_if && drop_if(from, to, bytes))
            return;
        const auto route = resolve(from, to);
        if (!route || nodes_[route->first].cut)
            return;
        const bool twice =
            duplicate > 0 && std::uniform_real_distribution<>(0, 1)(rng_) < duplicate;
        if (twice) {
            ++duplicated_;
            in_flight_.insert(
                {now + one_way_delay(), seq_++, Delivery{route->first, route->second, bytes}});
        }
        in_flight_.insert({now + one_way_delay(), seq_++,
                           Delivery{route->first, route->second, std::move(bytes)}});
    }
    std::size_t duplicated() const { return duplicated_; }
    std::optional<Time> next_delivery() const {
        return in_flight_.empty() ? std::nullopt : std::optional{in_flight_.begin()->at};
    }
    std::vector<Delivery> take_due(Time now) {
        std::vector<Delivery> due;
        while (!in_flight_.empty() && in_flight_.begin()->at <= now) {
            due.push_back(in_flight_.begin()->delivery);
            in_flight_.erase(in_flight_.begin());
        }
        return due;
    }
    std::size_t sent() const { return sent_; }

    Duration one_way{10};
    Duration jitter{0}; // extra random delay: reorders datagrams
    double loss = 0;
    double duplicate = 0; // probability that a datagram arrives twice (each copy its own delay)
    // A chosen loss: true drops this datagram (e.g. the first one carrying some message).
    std::function<bool(NodeId from, const proto::Endpoint& to, std::string_view bytes)> drop_if;

  private:
    Duration one_way_delay() {
        Duration delay = one_way;
        if (jitter > Duration::zero())
            delay += Duration{std::uniform_int_distribution<std::int64_t>(0, jitter.count())(rng_)};
        return delay;
    }
    struct Node {
        proto::Endpoint address; // inside address if behind a NAT
        Nat* nat;
        bool cut;
    };
    struct Flight {
        Time at;
        std::uint64_t seq; // ties keep send order
        Delivery delivery;
        bool operator<(const Flight& o) const { return at != o.at ? at < o.at : seq < o.seq; }
    };

    // Where `to` leads from `from`, and the source address the receiver sees.
    std::optional<std::pair<NodeId, proto::Endpoint>> resolve(NodeId from,
                                                              const proto::Endpoint& to) {
        const Node& src = nodes_[from];
        for (NodeId n = 0; n < nodes_.size(); ++n) { // the same LAN: straight across
            if (n != from && src.nat != nullptr && nodes_[n].nat == src.nat &&
                nodes_[n].address == to)
                return std::make_pair(n, src.address);
        }
        if (src.nat != nullptr && src.nat->owns(to))
            return std::nullopt; // no hairpin
        const proto::Endpoint seen = src.nat ? src.nat->outbound(src.address, to) : src.address;
        for (NodeId n = 0; n < nodes_.size(); ++n) {
            const Node& dst = nodes_[n];
            if (dst.nat == nullptr && dst.address == to)
                return std::make_pair(n, seen);
            if (dst.nat != nullptr && dst.nat->owns(to)) {
                const auto inside = dst.nat->inbound(to, seen);
                if (inside && *inside == dst.address)
                    return std::make_pair(n, seen);
            }
        }
        return std::nullopt; // a private address across the internet, or filtered
    }

    std::vector<Node> nodes_;
    std::set<Flight> in_flight_;
    std::uint64_t seq_ = 0;
    std::size_t sent_ = 0;
    std::size_t duplicated_ = 0;
    std::mt19937_64 rng_;
};

} // namespace chat::testkit
