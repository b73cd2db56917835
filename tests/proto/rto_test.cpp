// RttEstimator: the RFC 6298 arithmetic, the 200 ms floor and the capped backoff.
#include "proto/rto.hpp"

#include <gtest/gtest.h>

namespace chat::proto {
namespace {

using namespace std::chrono_literals;

TEST(RttEstimator, StartsAtTheInitialRtoAndTakesTheFirstSampleWhole) {
    RttEstimator r;
    EXPECT_EQ(r.rto(), 1000ms);
    EXPECT_FALSE(r.srtt());
    r.sample(100ms); // SRTT = 100, RTTVAR = 50, RTO = 100 + 200
    EXPECT_EQ(*r.srtt(), 100ms);
    EXPECT_EQ(r.rto(), 300ms);
}

TEST(RttEstimator, SmoothsLaterSamplesWithAnEighthAndAQuarter) {
    RttEstimator r;
    r.sample(100ms);
    r.sample(180ms); // RTTVAR = (3*50 + 80)/4 = 57.5, SRTT = (700 + 180)/8 = 110
    EXPECT_EQ(*r.srtt(), 110ms);
    EXPECT_EQ(r.rto(), 110ms + 4 * 57ms);
}

TEST(RttEstimator, NeverGoesBelowTheFloor) {
    RttEstimator r;
    for (int i = 0; i < 20; ++i)
        r.sample(1ms);
    EXPECT_EQ(r.rto(), kRtoMin);
    EXPECT_EQ(RttEstimator(10ms).rto(), kRtoMin);
}

TEST(RttEstimator, BackoffDoublesUpToOneSecondOrTheRto) {
    RttEstimator r;
    r.sample(50ms); // RTO = max(200, 50 + 100) = 200
    EXPECT_EQ(r.backoff(1), 200ms);
    EXPECT_EQ(r.backoff(2), 400ms);
    EXPECT_EQ(r.backoff(3), 800ms);
    EXPECT_EQ(r.backoff(4), 1000ms);
    EXPECT_EQ(r.backoff(40), 1000ms);
    RttEstimator slow;
    slow.sample(900ms); // RTO = 900 + 1800: a slow path is never resent faster than its RTO
    EXPECT_EQ(slow.backoff(1), 2700ms);
    EXPECT_EQ(slow.backoff(5), 2700ms);
}

} // namespace
} // namespace chat::proto
