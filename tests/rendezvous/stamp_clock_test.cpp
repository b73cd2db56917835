// The shell's clock arithmetic on a fake nanosecond clock, alone and driving a Server: a peer
// is never evicted before its timeout has passed in real time, whatever the sub-millisecond
// phase of its last datagram, and is evicted within a millisecond after.
#include "rendezvous/stamp_clock.hpp"
#include "server_fixture.hpp"

#include <cstdint>
#include <iterator>

namespace chat::rdv::testing {
namespace {

constexpr std::uint64_t kMs = 1'000'000; // nanoseconds

TEST(StampClock, ArrivalRoundsUpTickRoundsDown) {
    StampClock c;
    EXPECT_EQ(c.arrival(5000 * kMs), time_from_millis(5000)); // exact: nothing to round
    EXPECT_EQ(c.arrival(5000 * kMs + 1), time_from_millis(5001));
    EXPECT_EQ(c.tick(5001 * kMs + kMs - 1), time_from_millis(5001));
    EXPECT_EQ(c.reading(5002 * kMs + 1), time_from_millis(5002));
}

TEST(StampClock, TickBeforeAnArrivalsRoundedUpStampWaits) {
    StampClock c;
    EXPECT_EQ(c.arrival(7000 * kMs + 400'000), time_from_millis(7001));
    EXPECT_EQ(c.tick(7000 * kMs + 900'000), std::nullopt); // floor 7000 < 7001: not yet
    EXPECT_EQ(c.reading(7000 * kMs + 900'000), time_from_millis(7001)); // never backwards
    EXPECT_EQ(c.tick(7001 * kMs), time_from_millis(7001));
}

// The case: a client's last datagram leaves at real time `sent`, a fraction of a
// millisecond into a millisecond; the server must keep it until sent + timeout.
TEST_F(ServerTest, SilentPeerIsNeverEvictedBeforeItsTimeoutInRealTime) {
    const std::uint64_t timeout = 10'000 * kMs; // ServerConfig's default
    const std::uint64_t phases[] = {0, 1, 400'000, kMs - 1};
    for (std::uint64_t i = 0; i < std::size(phases); ++i) {
        const std::uint64_t phase = phases[i];
        SCOPED_TRACE(phase);
        const std::uint64_t sent = (1000 + 20'000 * (i + 1)) * kMs + phase;
        StampClock clock;
        const auto out = send(kBob, proto::Hello{"bob", {}, std::nullopt}, clock.arrival(sent));
        ASSERT_EQ(of_type<proto::Welcome>(sent_to(out, kBob)).size(), 1u);
        bool evicted = false;
        for (std::uint64_t real = sent + timeout - 3 * kMs; real <= sent + timeout + 2 * kMs;
             real += 50'000) {
            const auto at = clock.tick(real);
            if (at)
                server_.on_tick(*at);
            if (server_.peer_count() == 0 && !evicted) {
                evicted = true;
                EXPECT_GE(real, sent + timeout)
                    << "evicted early by " << sent + timeout - real << " ns";
                EXPECT_LE(real, sent + timeout + kMs + 50'000) << "evicted late";
            }
        }
        EXPECT_TRUE(evicted);
    }
}

} // namespace
} // namespace chat::rdv::testing
