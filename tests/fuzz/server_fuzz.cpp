// libFuzzer target: the rendezvous core fed a sequence of datagrams from a handful of
// sources, with time moving forward. Input format, repeated: [source:1][advance ms:1]
// [length:2 little-endian][bytes...]. Checks the core's security invariant on every step:
// a source without a verified session is never sent more bytes than it sent in that datagram.
#include "rendezvous/server.hpp"
#include "tests/testkit/seeded_rng.hpp"

#include "proto/codec.hpp"

#include <array>
#include <set>
#include <cstdlib>

namespace {

using namespace chat;

const std::array<proto::Endpoint, 6> kSources = {
    *proto::Endpoint::parse("203.0.113.1:1000"), *proto::Endpoint::parse("203.0.113.1:1001"),
    *proto::Endpoint::parse("203.0.113.2:2000"), *proto::Endpoint::parse("198.51.100.9:3000"),
    *proto::Endpoint::parse("[2001:db8::1]:4000"), *proto::Endpoint::parse("[::1]:5000")};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    testkit::SeededRng rng(1);
    NullLogger log;
    rdv::ServerConfig cfg;
    cfg.allow_plaintext = (size % 2) == 0;  // cover both modes
    cfg.max_peers = 4;
    cfg.max_rooms = 4;
    Time now{};
    rdv::Server server(cfg, rng, log, now);
    std::set<proto::Endpoint> verified;
    std::size_t i = 0;
    while (i + 4 <= size) {
        const auto& from = kSources[data[i] % kSources.size()];
        now += Duration{data[i + 1] * 50};
        const std::size_t declared = data[i + 2] | static_cast<std::size_t>(data[i + 3]) << 8;
        const std::size_t len = std::min(declared, size - i - 4);
        const std::string_view bytes(reinterpret_cast<const char*>(data + i + 4), len);
        i += 4 + len;
        auto out = server.on_datagram(from, bytes, now);
        for (const auto& d : out) {
            if (d.bytes.size() > proto::kMaxDatagram) std::abort();  // never send oversize
            if (d.bytes.starts_with("{\"v\":1,\"t\":\"welcome\"")) verified.insert(d.to);
            // A source that never received a welcome (so never proved it can receive at its
            // address) must not get more bytes back than the datagram it sent.
            if (d.to == from && !verified.contains(from) && d.bytes.size() > bytes.size())
                std::abort();
        }
        auto tick = server.on_tick(now);
        (void)tick;
        if (auto wake = server.next_wakeup(); wake && *wake < now) std::abort();
    }
    (void)server.shutdown(now);
    return 0;
}
