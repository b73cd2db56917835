// UTF-8 helpers; see utf8.hpp.
#include "utf8.hpp"

#include <array>
#include <utility>

namespace chat::peer {
namespace {

bool is_continuation(unsigned char c) {
    return (c & 0xC0U) == 0x80U;
}

// Half-open ranges of East Asian Wide (W) and Fullwidth (F) code points, after Unicode's
// EastAsianWidth.txt, coarsened to blocks: good enough to keep the cursor in place.
constexpr std::array<std::pair<char32_t, char32_t>, 17> kWide{{
    {0x1100, 0x1160},   // Hangul Jamo initial consonants
    {0x2E80, 0x303F},   // CJK radicals, Kangxi, CJK symbols and punctuation
    {0x3040, 0xA4D0},   // Hiragana .. Yi (CJK unified ideographs included)
    {0xA960, 0xA980},   // Hangul Jamo extended-A
    {0xAC00, 0xD7A4},   // Hangul syllables
    {0xF900, 0xFB00},   // CJK compatibility ideographs
    {0xFE10, 0xFE20},   // vertical forms
    {0xFE30, 0xFE70},   // CJK compatibility forms, small form variants
    {0xFF00, 0xFF61},   // fullwidth ASCII forms
    {0xFFE0, 0xFFE7},   // fullwidth signs
    {0x16FE0, 0x18D09}, // Tangut and friends
    {0x1B000, 0x1B300}, // Kana supplement and extensions
    {0x1F300, 0x1F650}, // misc symbols and pictographs, emoticons
    {0x1F680, 0x1F700}, // transport and map symbols
    {0x1F900, 0x1FA00}, // supplemental symbols and pictographs
    {0x20000, 0x2FFFE}, // CJK extension B..F
    {0x30000, 0x3FFFE}, // CJK extension G..
}};

constexpr std::array<std::pair<char32_t, char32_t>, 5> kZeroWidth{{
    {0x0300, 0x0370}, // combining diacritical marks
    {0x200B, 0x2010}, // zero-width space, joiners, direction marks
    {0x20D0, 0x2100}, // combining marks for symbols
    {0xFE00, 0xFE10}, // variation selectors
    {0xFE20, 0xFE30}, // combining half marks
}};

template <std::size_t N>
bool in_ranges(const std::array<std::pair<char32_t, char32_t>, N>& ranges, char32_t cp) {
    for (const auto& [lo, hi] : ranges)
        if (cp >= lo && cp < hi)
            return true;
    return false;
}

} // namespace

std::size_t code_point_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 1;
    if (c >= 0xF0U && c <= 0xF4U)
        n = 4;
    else if (c >= 0xE0U)
        n = c <= 0xEFU ? 3 : 1;
    else if (c >= 0xC2U)
        n = 2;
    if (i + n > s.size())
        return 1;
    for (std::size_t k = 1; k < n; ++k)
        if (!is_continuation(static_cast<unsigned char>(s[i + k])))
            return 1;
    return n;
}

char32_t code_point_at(std::string_view s, std::size_t i) {
    const std::size_t n = code_point_length(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 1)
        return c < 0x80U ? char32_t{c} : char32_t{0xFFFD};
    char32_t cp = c & (n == 2 ? 0x1FU : n == 3 ? 0x0FU : 0x07U);
    for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3FU);
    return cp;
}

std::size_t previous_code_point(std::string_view s, std::size_t i) {
    if (i == 0)
        return 0;
    std::size_t j = i - 1;
    // Back over at most three continuation bytes, then check the lead byte spans to i.
    while (j > 0 && i - j < 4 && is_continuation(static_cast<unsigned char>(s[j])))
        --j;
    return j + code_point_length(s, j) == i ? j : i - 1;
}

int display_width(char32_t cp) {
    if (in_ranges(kZeroWidth, cp))
        return 0;
    if (in_ranges(kWide, cp))
        return 2;
    return 1;
}

int display_width(std::string_view s) {
    int w = 0;
    for (std::size_t i = 0; i < s.size(); i += code_point_length(s, i))
        w += display_width(code_point_at(s, i));
    return w;
}

std::vector<std::string> split_utf8(std::string_view text, std::size_t max_bytes) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (text.size() - start > max_bytes) {
        std::size_t cut = start;
        for (std::size_t i = start; i < text.size();) {
            const std::size_t n = code_point_length(text, i);
            if (i + n - start > max_bytes)
                break;
            i += n;
            cut = i;
        }
        if (cut == start)
            cut = start + max_bytes; // cannot happen for max_bytes >= 4; never loop forever
        out.emplace_back(text.substr(start, cut - start));
        start = cut;
    }
    if (start < text.size() || out.empty())
        out.emplace_back(text.substr(start));
    return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string s;
    for (const auto& part : parts) {
        if (!s.empty())
            s += sep;
        s += part;
    }
    return s;
}

} // namespace chat::peer
