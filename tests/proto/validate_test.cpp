// Validation: both sides of every limit on names, text, UTF-8 and tokens.
#include "proto/validate.hpp"

#include <gtest/gtest.h>

#include <string>

namespace chat::proto {
namespace {

TEST(Validate, NamesAcceptTheDocumentedAlphabetUpToThirtyTwo) {
    EXPECT_TRUE(is_valid_name("a"));
    EXPECT_TRUE(is_valid_name("Alice_B.c-9"));
    EXPECT_TRUE(is_valid_name(std::string(32, 'x')));
    EXPECT_FALSE(is_valid_name(std::string(33, 'x')));
    EXPECT_FALSE(is_valid_name(""));
    EXPECT_FALSE(is_valid_name("al ice"));
    EXPECT_FALSE(is_valid_name("bob:1"));
    EXPECT_FALSE(is_valid_name("名字"));
}

TEST(Validate, SenderIsANameOrALegacyEndpoint) {
    EXPECT_TRUE(is_valid_sender("bob"));
    EXPECT_TRUE(is_valid_sender("127.0.0.1:4000"));
    EXPECT_TRUE(is_valid_sender("[::1]:4000"));
    EXPECT_FALSE(is_valid_sender("bob 2"));
}

TEST(Validate, TextAllowsUnicodeAndTabButNoOtherControls) {
    EXPECT_TRUE(is_valid_text("你好, world\t!"));
    EXPECT_TRUE(is_valid_text(std::string(500, 'x')));
    EXPECT_FALSE(is_valid_text(std::string(501, 'x')));
    EXPECT_FALSE(is_valid_text(""));
    EXPECT_FALSE(is_valid_text("a\nb"));
    EXPECT_FALSE(is_valid_text("\x1b[2J"));
    EXPECT_FALSE(is_valid_text("del\x7f"));
}

TEST(Validate, Utf8AcceptsFourByteAndRejectsMalformed) {
    EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));  // U+1F600
    EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf")); // overlong
    EXPECT_FALSE(is_valid_utf8("\x80"));             // lone continuation
    EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
}

TEST(Validate, HexTokensNeedExactLengthAndLowercase) {
    EXPECT_TRUE(is_lower_hex("0123456789abcdef", 16));
    EXPECT_FALSE(is_lower_hex("0123456789ABCDEF", 16));
    EXPECT_FALSE(is_lower_hex("abc", 4));
}

TEST(Validate, SanitizedSampleEscapesAndTruncates) {
    EXPECT_EQ(sanitized_sample("a\x01\\"), "a\\x01\\x5c");
    EXPECT_EQ(sanitized_sample(std::string(100, 'z'), 10), std::string(10, 'z') + "...");
}

} // namespace
} // namespace chat::proto
