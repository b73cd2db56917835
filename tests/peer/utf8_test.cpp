// UTF-8 helpers: code point stepping, display width, splitting at code point boundaries.
#include "peer/utf8.hpp"

#include "proto/validate.hpp"

#include <gtest/gtest.h>

namespace chat::peer {
namespace {

TEST(Utf8, CodePointLengths) {
    const std::string s = "a\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80"; // a é 你 😀
    EXPECT_EQ(code_point_length(s, 0), 1u);
    EXPECT_EQ(code_point_length(s, 1), 2u);
    EXPECT_EQ(code_point_length(s, 3), 3u);
    EXPECT_EQ(code_point_length(s, 6), 4u);
    EXPECT_EQ(previous_code_point(s, 10), 6u);
    EXPECT_EQ(previous_code_point(s, 6), 3u);
    EXPECT_EQ(previous_code_point(s, 3), 1u);
    EXPECT_EQ(previous_code_point(s, 1), 0u);
}

TEST(Utf8, MalformedBytesStepByOne) {
    const std::string s = "\xE4\xBD"; // truncated
    EXPECT_EQ(code_point_length(s, 0), 1u);
    EXPECT_EQ(code_point_at(s, 0), U'\uFFFD');
}

TEST(Utf8, DisplayWidthCountsCjkAsTwoColumns) {
    EXPECT_EQ(display_width("abc"), 3);
    EXPECT_EQ(display_width("你好"), 4);
    EXPECT_EQ(display_width("한국어"), 6);
    EXPECT_EQ(display_width("ｆｕｌｌ"), 8);
    EXPECT_EQ(display_width("e\xCC\x81"), 1); // e + combining acute
    EXPECT_EQ(display_width("é"), 1);
}

TEST(Utf8, SplitKeepsChunksWithinLimitAndCodePointsWhole) {
    std::string text;
    for (int i = 0; i < 400; ++i)
        text += "你"; // 1200 bytes, 3 per character
    const auto parts = split_utf8(text, 500);
    ASSERT_EQ(parts.size(), 3u);
    std::string joined;
    for (const auto& p : parts) {
        EXPECT_LE(p.size(), 500u);
        EXPECT_TRUE(proto::is_valid_utf8(p));
        joined += p;
    }
    EXPECT_EQ(parts[0].size(), 498u); // 166 characters; a 167th would need 501 bytes
    EXPECT_EQ(joined, text);
}

TEST(Utf8, SplitOfShortTextIsTheText) {
    EXPECT_EQ(split_utf8("hi", 500), std::vector<std::string>{"hi"});
    EXPECT_EQ(split_utf8(std::string(500, 'x'), 500).size(), 1u);
    EXPECT_EQ(split_utf8(std::string(501, 'x'), 500).size(), 2u);
}

} // namespace
} // namespace chat::peer
