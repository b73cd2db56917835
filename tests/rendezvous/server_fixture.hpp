// A rendezvous Server on a fake clock, with helpers that keep each test a short scenario:
// register_peer, send, and sent_to (what one endpoint received, decoded).
#pragma once

#include "rendezvous/server.hpp"
#include "tests/testkit/capturing_logger.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include "proto/codec.hpp"
#include "proto/heartbeat_tag.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace chat::rdv::testing {

using namespace std::chrono_literals;
using proto::Endpoint;

inline Endpoint ep(const char* text) { return *Endpoint::parse(text); }

inline const Endpoint kAlice = ep("203.0.113.10:40001");
inline const Endpoint kBob = ep("203.0.113.20:40002");
inline const Endpoint kCarol = ep("198.51.100.30:40003");
inline const Endpoint kLegacy = ep("192.0.2.50:5000");

class ServerTest : public ::testing::Test {
protected:
    explicit ServerTest(ServerConfig cfg = {}) : server_(make_config(cfg), rng_, log_, t0_) {}

    static ServerConfig make_config(ServerConfig cfg) {
        cfg.stats_every = Duration::zero();  // stats wake-ups would hide eviction deadlines
        return cfg;
    }

    // Sends `m` as a well-behaved client would: a hello without a cookie that earns a retry
    // is sent again with it (the outbox returned is the second answer), and a bare #ping#
    // from an address with a session carries that session's heartbeat tag. send_once and
    // send_raw send exactly what they are given.
    Outbox send(const Endpoint& from, const proto::Message& m, Time at) {
        if (const auto* ping = std::get_if<proto::Ping>(&m); ping && ping->tag.empty()) {
            if (const auto it = session_at_.find(from); it != session_at_.end())
                return send_once(from, proto::Ping{proto::heartbeat_tag(it->second)}, at);
        }
        Outbox out = send_once(from, m, at);
        if (const auto* hello = std::get_if<proto::Hello>(&m); hello && !hello->cookie) {
            for (const auto& r : of_type<proto::Retry>(sent_to(out, from))) {
                proto::Hello again = *hello;
                again.cookie = r.cookie;
                return send_once(from, again, at);
            }
        }
        return out;
    }
    Outbox send_once(const Endpoint& from, const proto::Message& m, Time at) {
        Outbox out = server_.on_datagram(from, proto::encode(m), at);
        for (const auto& w : of_type<proto::Welcome>(sent_to(out, from)))
            session_at_[from] = w.token;
        return out;
    }
    Outbox send_once(const Endpoint& from, const proto::Message& m) {
        return send_once(from, m, now_);
    }
    Outbox send(const Endpoint& from, const proto::Message& m) { return send(from, m, now_); }
    Outbox send_raw(const Endpoint& from, std::string_view bytes) {
        return server_.on_datagram(from, bytes, now_);
    }

    // Registers `name` from `from` and returns its token; fails the test if refused.
    proto::Token register_peer(const std::string& name, const Endpoint& from,
                               std::vector<Endpoint> priv = {}) {
        const auto out = send(from, proto::Hello{name, std::move(priv), std::nullopt});
        for (const auto& m : sent_to(out, from))
            if (const auto* w = std::get_if<proto::Welcome>(&m)) {
                tokens_[name] = w->token;
                return w->token;
            }
        ADD_FAILURE() << "no welcome for " << name;
        return {};
    }

    const proto::Token& token(const std::string& name) { return tokens_[name]; }

    static std::vector<proto::Message> sent_to(const Outbox& out, const Endpoint& to) {
        std::vector<proto::Message> msgs;
        for (const auto& d : out) {
            if (d.to != to) continue;
            auto r = proto::decode(d.bytes);
            if (auto* m = std::get_if<proto::Message>(&r))
                msgs.push_back(std::move(*m));
            else
                ADD_FAILURE() << "server sent undecodable bytes: " << d.bytes;
        }
        return msgs;
    }
    static std::vector<std::string> raw_to(const Outbox& out, const Endpoint& to) {
        std::vector<std::string> v;
        for (const auto& d : out)
            if (d.to == to) v.emplace_back(d.bytes);
        return v;
    }
    template <typename T> static std::vector<T> of_type(const std::vector<proto::Message>& msgs) {
        std::vector<T> v;
        for (const auto& m : msgs)
            if (const auto* t = std::get_if<T>(&m)) v.push_back(*t);
        return v;
    }
    template <typename T> static T only(const Outbox& out, const Endpoint& to) {
        const auto v = of_type<T>(sent_to(out, to));
        EXPECT_EQ(v.size(), 1u);
        return v.empty() ? T{} : v.front();
    }

    std::uint64_t drops(proto::DropReason r) const { return server_.drops()[r]; }

    testkit::SeededRng rng_{7};
    testkit::CapturingLogger log_;
    const Time t0_{};
    Time now_{};
    Server server_;
    std::map<std::string, proto::Token> tokens_;
    std::map<Endpoint, proto::Token> session_at_; // the last welcome each address got
};

} // namespace chat::rdv::testing
