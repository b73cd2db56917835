// UTF-8 helpers for the peer: where code points start, how wide they are on a terminal, and
// how to cut a long line into chunks the protocol accepts. Pure functions on bytes; they
// assume nothing about the input and never split a code point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::peer {

// Byte length of the code point starting at s[i] (1 for a stray continuation byte or a
// truncated sequence, so a caller always makes progress). i must be < s.size().
std::size_t code_point_length(std::string_view s, std::size_t i);
// The code point starting at s[i]; U+FFFD for malformed bytes.
char32_t code_point_at(std::string_view s, std::size_t i);
// Offset of the code point before position i (0 if i is 0).
std::size_t previous_code_point(std::string_view s, std::size_t i);

// Terminal columns one code point takes: 2 for East Asian wide and fullwidth characters
// (CJK, Hangul, fullwidth forms, most emoji), 0 for combining marks, 1 otherwise. A short
// table rather than wcwidth(), whose answer depends on the locale the user happens to run.
int display_width(char32_t cp);
// Sum of display_width over a string.
int display_width(std::string_view s);

// Splits `text` into pieces of at most `max_bytes` bytes, cutting only between code points
// (max_bytes >= 4). Invalid UTF-8 is cut anywhere (the caller validates first).
std::vector<std::string> split_utf8(std::string_view text, std::size_t max_bytes);

// The strings one after another with `sep` between them ("alice, bob").
std::string join(const std::vector<std::string>& parts, std::string_view sep = ", ");

} // namespace chat::peer
