// Validation of untrusted strings; see validate.hpp. UTF-8 rules follow RFC 3629 section 4.
#include "validate.hpp"

#include "endpoint.hpp"
#include "limits.hpp"

#include <cstdint>

namespace chat::proto {

bool is_valid_name(std::string_view s) {
    if (s.empty() || s.size() > kMaxNameBytes)
        return false;
    for (const char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

bool is_valid_sender(std::string_view s) {
    return is_valid_name(s) || (s.size() <= 64 && Endpoint::parse(s).has_value());
}

bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    auto byte = [&s](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
    while (i < n) {
        const std::uint8_t b0 = byte(i);
        if (b0 < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint8_t lo = 0x80, hi = 0xBF; // allowed range of the second byte
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            len = 2;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            len = 3;
            if (b0 == 0xE0)
                lo = 0xA0; // no overlongs
            if (b0 == 0xED)
                hi = 0x9F; // no surrogates
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            len = 4;
            if (b0 == 0xF0)
                lo = 0x90; // no overlongs
            if (b0 == 0xF4)
                hi = 0x8F; // nothing above U+10FFFF
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        if (byte(i + 1) < lo || byte(i + 1) > hi)
            return false;
        for (std::size_t k = 2; k < len; ++k)
            if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
                return false;
        i += len;
    }
    return true;
}

bool is_valid_text(std::string_view s) {
    if (s.empty() || s.size() > kMaxTextBytes || !is_valid_utf8(s))
        return false;
    for (const char c : s) {
        const auto b = static_cast<std::uint8_t>(c);
        if ((b < 0x20 && b != '\t') || b == 0x7f)
            return false;
    }
    return true;
}

bool is_lower_hex(std::string_view s, std::size_t length) {
    if (s.size() != length)
        return false;
    for (const char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

std::string sanitized_sample(std::string_view bytes, std::size_t max_chars) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && out.size() < max_chars; ++i) {
        const auto b = static_cast<std::uint8_t>(bytes[i]);
        if (b >= 0x20 && b < 0x7f && b != '\\') {
            out += static_cast<char>(b);
        } else {
            out += "\\x";
            out += kHex[b >> 4];
            out += kHex[b & 0xf];
        }
    }
    if (out.size() >= max_chars && bytes.size() > max_chars)
        out += "...";
    return out;
}

} // namespace chat::proto
