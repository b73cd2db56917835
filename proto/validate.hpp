// Field validation shared by the codec, the cores and the command parser: names, UTF-8,
// chat text and hex tokens. Pure functions on strings; each returns true when valid.
#pragma once

#include <string>
#include <string_view>

namespace chat::proto {

// A user or room name: 1-32 of [A-Za-z0-9_.-].
bool is_valid_name(std::string_view s);
// Well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s);
// A message author: a valid name, or a legacy plain-text client's "ip:port".
bool is_valid_sender(std::string_view s);
// A chat line: 1..kMaxTextBytes of valid UTF-8 without control characters except tab.
bool is_valid_text(std::string_view s);
// Exactly `length` lowercase hex digits.
bool is_lower_hex(std::string_view s, std::size_t length);
// A short, printable, escaped sample of untrusted bytes for a log line.
std::string sanitized_sample(std::string_view bytes, std::size_t max_chars = 40);

// The human-readable rule for names, for error messages.
inline constexpr std::string_view kNameRule = "use 1-32 letters, digits, '_', '.' or '-'";

} // namespace chat::proto
