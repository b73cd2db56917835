// SessionToken: the hex a welcome carries decodes to the same 16 bytes and back, and a
// request's token matches exactly when its hex is the same.
#include "rendezvous/session_token.hpp"

#include <gtest/gtest.h>

namespace chat::rdv {
namespace {

const std::string kHex = "0123456789abcdef00ff7f80a5c3e1d2";

TEST(SessionToken, HexRoundTrips) {
    EXPECT_EQ(SessionToken::from_hex(kHex).hex(), kHex);
}

TEST(SessionToken, MatchesOnlyTheSameHex) {
    const auto t = SessionToken::from_hex(kHex);
    EXPECT_TRUE(t.matches(kHex));
    std::string other = kHex;
    other.back() = '3';
    EXPECT_FALSE(t.matches(other));
}

TEST(SessionToken, AnythingButLowercaseHexOfTheRightLengthMatchesNothing) {
    const auto t = SessionToken::from_hex(kHex);
    std::string upper = kHex;
    upper[10] = 'A';
    EXPECT_FALSE(t.matches(upper));
    EXPECT_FALSE(t.matches(kHex.substr(1)));
    EXPECT_FALSE(t.matches(kHex + "0"));
}

TEST(SessionToken, TheEmptyTokenMatchesNothingNotEvenZeros) {
    const SessionToken none;
    EXPECT_FALSE(none.matches(std::string(32, '0')));
    EXPECT_EQ(none.hex(), "");
}

} // namespace
} // namespace chat::rdv
