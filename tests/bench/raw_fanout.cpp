// raw_fanout: the room-relay baseline. A datagram "J" makes its source a member (answered
// "j"); any other datagram from a member goes to every other member with sendmmsg, and
// the sender gets a one-byte "k" as the rendezvous acks a say. Nothing else: no parsing,
// no per-member lookups, no copies beyond the kernel's.
#include "raw_server.hpp"

#include <unordered_set>
#include <vector>

int main(int argc, char** argv) {
    using namespace chat::bench;
    RawServer s = start_raw_server(argc, argv, "raw_fanout");
    BatchSocket& sock = *s.socket;
    std::vector<Addr> members;
    std::unordered_set<std::uint64_t> known;
    auto key = [](const Addr& a) { return (std::uint64_t{a.ip} << 16) | a.port; };
    while (!s.stopping()) {
        const std::size_t n = sock.receive(100);
        for (std::size_t i = 0; i < n; ++i) {
            const Received& r = sock.at(i);
            if (r.bytes == "J") {
                if (known.insert(key(r.from)).second) members.push_back(r.from);
                sock.add(r.from, "j");
                continue;
            }
            if (!known.contains(key(r.from))) continue;
            for (const Addr& m : members)
                if (!(m == r.from)) sock.add(m, r.bytes);
            sock.add(r.from, "k");
        }
        sock.flush();
    }
    return 0;
}
