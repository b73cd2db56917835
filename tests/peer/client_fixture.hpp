// A peer Client on a fake clock, facing a scripted rendezvous: the test plays the server by
// feeding encoded messages in (from_server) and decodes what the client sent (requests).
#pragma once

#include "peer/client.hpp"
#include "tests/testkit/capturing_logger.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include "proto/codec.hpp"
#include "proto/heartbeat_tag.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace chat::peer::testing {

using namespace std::chrono_literals;
using proto::Endpoint;

inline Endpoint ep(const char* text) {
    return *Endpoint::parse(text);
}

inline const Endpoint kServer = ep("203.0.113.1:7777");
inline const Endpoint kPublic = ep("198.51.100.9:40000");
inline const std::string kToken(32, 'a');
inline const std::string kToken2(32, 'b');

class ClientTest : public ::testing::Test {
  protected:
    explicit ClientTest(std::string room = "lobby") : client_(make_config(room), rng_, log_) {}

    static ClientConfig make_config(std::string room) {
        ClientConfig cfg;
        cfg.name = "alice";
        cfg.room = std::move(room);
        cfg.server = kServer;
        cfg.private_endpoints = {ep("192.168.1.5:40000")};
        return cfg;
    }

    // Every message in the outbox, decoded (the test fails on a datagram that does not decode
    // or is not addressed to the server).
    static std::vector<proto::Message> sent(const Outbox& out) {
        std::vector<proto::Message> msgs;
        for (const auto& d : out.datagrams) {
            EXPECT_EQ(d.to, kServer);
            EXPECT_LE(d.bytes.size(), proto::kMaxDatagram);
            auto r = proto::decode(d.bytes);
            if (auto* m = std::get_if<proto::Message>(&r))
                msgs.push_back(*m);
            else
                ADD_FAILURE() << "undecodable datagram: " << d.bytes;
        }
        return msgs;
    }
    template <typename T> static std::vector<T> sent_as(const Outbox& out) {
        std::vector<T> v;
        for (const auto& m : sent(out))
            if (const auto* t = std::get_if<T>(&m))
                v.push_back(*t);
        return v;
    }
    template <typename T> static std::vector<T> events_as(const Outbox& out) {
        std::vector<T> v;
        for (const auto& e : out.events)
            if (const auto* t = std::get_if<T>(&e))
                v.push_back(*t);
        return v;
    }

    Outbox from_server(const proto::Message& m) {
        if (const auto* w = std::get_if<proto::Welcome>(&m))
            session_token_ = w->token;
        return client_.on_datagram(kServer, proto::encode(m), now_);
    }
    // True for the heartbeat of the session the last welcome gave: "#ping#" and its tag.
    bool is_heartbeat(std::string_view bytes) const {
        return bytes == proto::kPing + proto::heartbeat_tag(session_token_);
    }
    Outbox command(const Command& c) { return client_.on_command(c, now_); }
    Outbox tick() { return client_.on_tick(now_); }
    // Advances the clock to `t`, ticking at every wake-up on the way (as the shell's timer
    // would), and collects everything that came out.
    Outbox run_until(Time t, bool answer_pings = false) {
        Outbox all;
        for (int guard = 0; guard < 100000; ++guard) {
            const auto wake = client_.next_wakeup();
            if (!wake || *wake > t)
                break;
            now_ = std::max(now_, *wake);
            auto out = tick();
            for (auto& d : out.datagrams) {
                if (answer_pings && is_heartbeat(d.bytes)) {
                    auto pong = client_.on_datagram(kServer, proto::kPong, now_);
                    for (auto& e : pong.events)
                        all.events.push_back(std::move(e));
                }
                all.datagrams.push_back(std::move(d));
            }
            for (auto& e : out.events)
                all.events.push_back(std::move(e));
        }
        now_ = std::max(now_, t);
        return all;
    }

    // start() and a welcome with `token`: the client is online.
    Outbox register_now(const std::string& token = kToken) {
        client_.start(now_);
        return from_server(proto::Welcome{"alice", kPublic, token, 5s, 10s});
    }

    // Answers the most recent request of type T with `reply(id)`.
    template <typename T> proto::RequestId id_of(const Outbox& out) {
        const auto v = sent_as<T>(out);
        EXPECT_FALSE(v.empty());
        return v.empty() ? 0 : v.back().id;
    }

    testkit::SeededRng rng_{11};
    testkit::CapturingLogger log_;
    Client client_;
    Time now_{};
    proto::Token session_token_; // from the last welcome fed in
};

} // namespace chat::peer::testing
