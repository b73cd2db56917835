// libFuzzer target: the rendezvous core fed a sequence of datagrams from a handful of
// sources, with time moving forward. Input format, repeated: [source:1][advance ms:1]
// [length:2 little-endian][bytes...]. The source byte's low 7 bits pick the source; its top
// bit makes the datagram follow the handshake as a client would: a hello then carries the
// cookie of the last retry that source was sent, and a bare #ping# the tag of the last
// welcome it got. Without that, no fuzzed source could ever pass address validation, and the
// session paths behind it would go untested. Checks the core's security invariant on every
// step: a source without a verified session is never sent more bytes than it sent in that
// datagram.
#include "rendezvous/server.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include "proto/codec.hpp"
#include "proto/heartbeat_tag.hpp"

#include <array>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

namespace {

using namespace chat;

const std::array<proto::Endpoint, 6> kSources = {
    *proto::Endpoint::parse("203.0.113.1:1000"),   *proto::Endpoint::parse("203.0.113.1:1001"),
    *proto::Endpoint::parse("203.0.113.2:2000"),   *proto::Endpoint::parse("198.51.100.9:3000"),
    *proto::Endpoint::parse("[2001:db8::1]:4000"), *proto::Endpoint::parse("[::1]:5000")};

// What each source last learnt from the server: a retry's cookie, a welcome's token.
struct Learnt {
    std::map<proto::Endpoint, std::string> cookie;
    std::map<proto::Endpoint, proto::Token> token;

    // `bytes` as a client that follows the handshake would send it from `from`: a hello with
    // the cookie it was given, a #ping# with its session's tag. Anything else is unchanged.
    std::string follow(const proto::Endpoint& from, std::string_view bytes) const {
        if (bytes == proto::kPing) {
            const auto t = token.find(from);
            return t == token.end() ? std::string(bytes)
                                    : proto::kPing + proto::heartbeat_tag(t->second);
        }
        const auto c = cookie.find(from);
        if (c == cookie.end())
            return std::string(bytes);
        auto decoded = proto::decode(bytes);
        auto* m = std::get_if<proto::Message>(&decoded);
        auto* hello = m != nullptr ? std::get_if<proto::Hello>(m) : nullptr;
        if (hello == nullptr)
            return std::string(bytes);
        hello->cookie = c->second;
        return proto::encode(*hello);
    }

    void learn(const proto::Endpoint& to, std::string_view bytes) {
        if (!bytes.starts_with("{\"v\":1,\"t\":\"retry\"") &&
            !bytes.starts_with("{\"v\":1,\"t\":\"welcome\""))
            return;
        auto decoded = proto::decode(bytes);
        const auto* m = std::get_if<proto::Message>(&decoded);
        if (m == nullptr)
            std::abort(); // the server sent bytes it cannot decode itself
        if (const auto* r = std::get_if<proto::Retry>(m))
            cookie[to] = r->cookie;
        else if (const auto* w = std::get_if<proto::Welcome>(m))
            token[to] = w->token;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    testkit::SeededRng rng(1);
    NullLogger log;
    rdv::ServerConfig cfg;
    cfg.allow_plaintext = (size % 2) == 0; // cover both modes
    cfg.max_peers = 4;
    cfg.max_rooms = 4;
    cfg.net_caps.sessions_per_host = 2; // small shares, so network_limit is reached too
    cfg.net_caps.rooms_per_host = 2;
    cfg.net_caps.joins_per_host = 3;
    Time now{};
    rdv::Server server(cfg, rng, log, now);
    std::set<proto::Endpoint> verified;
    Learnt learnt;
    std::size_t i = 0;
    while (i + 4 <= size) {
        const auto& from = kSources[(data[i] & 0x7fu) % kSources.size()];
        const bool follow = (data[i] & 0x80u) != 0;
        now += Duration{data[i + 1] * 50};
        const std::size_t declared = data[i + 2] | static_cast<std::size_t>(data[i + 3]) << 8;
        const std::size_t len = std::min(declared, size - i - 4);
        const std::string_view fuzzed(reinterpret_cast<const char*>(data + i + 4), len);
        i += 4 + len;
        const std::string bytes = follow ? learnt.follow(from, fuzzed) : std::string(fuzzed);
        auto out = server.on_datagram(from, bytes, now);
        for (const auto& d : out) {
            if (d.bytes.size() > proto::kMaxDatagram)
                std::abort(); // never send oversize
            if (d.bytes.starts_with("{\"v\":1,\"t\":\"welcome\""))
                verified.insert(d.to);
            // A source that never received a welcome (so never proved it can receive at its
            // address) must not get more bytes back than the datagram it sent: a retry
            // included.
            if (d.to == from && !verified.contains(from) && d.bytes.size() > bytes.size())
                std::abort();
            learnt.learn(d.to, d.bytes);
        }
        auto tick = server.on_tick(now);
        (void)tick;
        if (auto wake = server.next_wakeup(); wake && *wake < now)
            std::abort();
    }
    (void)server.shutdown(now);
    return 0;
}
