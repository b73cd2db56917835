// PeerTable: the three lookups agree after add, move and remove; a freed slot comes back
// under a new id, so an old id finds nothing; everyone can be listed in name order.
#include "rendezvous/peer_table.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chat::rdv {
namespace {

proto::Endpoint ep(std::uint8_t host, std::uint16_t port) {
    return proto::Endpoint::v4({192, 0, 2, host}, port);
}

Peer make(const std::string& name, const proto::Endpoint& at) {
    Peer p;
    p.name = name;
    p.endpoint = at;
    return p;
}

TEST(PeerTable, FindsAPeerByIdEndpointAndName) {
    PeerTable t;
    const PeerId bob = t.add(make("bob", ep(2, 2))).id;
    const PeerId alice = t.add(make("alice", ep(1, 1))).id;
    EXPECT_NE(alice, bob);
    EXPECT_EQ(t.find(alice)->name, "alice");
    EXPECT_EQ(t.find_by_endpoint(ep(2, 2))->id, bob);
    EXPECT_EQ(t.find_by_name("alice")->id, alice);
    EXPECT_EQ(t.find_by_name("carol"), nullptr);
    EXPECT_EQ(t.find_by_endpoint(ep(2, 3)), nullptr);
    EXPECT_EQ(t.size(), 2u);
}

TEST(PeerTable, MoveChangesOnlyTheEndpointLookup) {
    PeerTable t;
    Peer& alice = t.add(make("alice", ep(1, 1)));
    t.move(alice, ep(1, 9));
    EXPECT_EQ(t.find_by_endpoint(ep(1, 1)), nullptr);
    EXPECT_EQ(t.find_by_endpoint(ep(1, 9)), &alice);
    EXPECT_EQ(t.find_by_name("alice"), &alice);
}

TEST(PeerTable, AReusedSlotGetsANewIdAndTheOldIdFindsNothing) {
    PeerTable t;
    const PeerId old = t.add(make("alice", ep(1, 1))).id;
    t.remove(old);
    EXPECT_EQ(t.find(old), nullptr);
    EXPECT_EQ(t.find_by_name("alice"), nullptr);
    EXPECT_EQ(t.find_by_endpoint(ep(1, 1)), nullptr);
    const PeerId again = t.add(make("alice", ep(1, 1))).id;
    EXPECT_EQ(slot_of(again), slot_of(old));
    EXPECT_NE(again, old);
    EXPECT_EQ(t.find(old), nullptr);
    EXPECT_EQ(t.find(again)->name, "alice");
    EXPECT_EQ(t.size(), 1u);
}

TEST(PeerTable, RecordsStayPutWhileTheTableGrows) {
    PeerTable t;
    Peer& first = t.add(make("p0", ep(0, 1)));
    for (std::uint16_t i = 1; i < 3000; ++i)
        t.add(make("p" + std::to_string(i), ep(static_cast<std::uint8_t>(i % 256), i)));
    EXPECT_EQ(t.find_by_name("p0"), &first);
    EXPECT_EQ(t.size(), 3000u);
}

TEST(PeerTable, ListsEveryoneInNameOrderFromAnOffset) {
    PeerTable t;
    for (const char* n : {"dave", "alice", "carol", "bob"})
        t.add(make(n, ep(static_cast<std::uint8_t>(n[0]), 1)));
    t.remove(t.find_by_name("carol")->id);
    std::vector<std::string> names;
    t.visit_by_name(1, [&](const Peer& p) {
        names.push_back(p.name);
        return true;
    });
    EXPECT_EQ(names, (std::vector<std::string>{"bob", "dave"}));
}

} // namespace
} // namespace chat::rdv
