// UiEvent -> what the user sees: a text line for the terminal and the pipe mode, or one JSON
// object per line for --json (the schema is peer/JSON_EVENTS.md; change both together).
// Pure: the shell passes the wall-clock time, since the core's `now` is monotonic.
#pragma once

#include "events.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chat::peer {

struct WallClock {
    std::int64_t unix_ms = 0; // for JSON "ts"
    int hour = 0;             // local time, for the HH:MM prefix
    int minute = 0;
};

struct RenderOptions {
    bool color = false; // ANSI colours: a colour per sender name, dim notices, red errors
};

// Zero or more lines, without newlines (ui::Quit renders as none). Text from the network
// was validated by the codec (no control characters but tab); `printable` still neutralises
// what could act on the terminal or reorder the line before it is shown.
std::vector<std::string> render_text(const UiEvent& e, const WallClock& clock,
                                     const RenderOptions& opts);

// Text from the network, made safe to show: C0 (but tab) and C1 controls, bidi embeddings,
// overrides and isolates (U+202A..U+202E, U+2066..U+2069) and the line and paragraph
// separators (U+2028, U+2029) become U+FFFD; the direction marks U+200E, U+200F and U+061C
// are dropped. Everything else is kept as it is.
std::string printable(std::string_view s);

// What starts every row of a line after its first on the terminal: only lines the client
// begins itself start in column 0, so a long message cannot wrap into a row that looks
// like a line of its own ("09:05 [lobby] carol: ...").
inline constexpr std::string_view kContinuation = "      | ";

// Cuts one rendered line into rows of at most `columns` terminal columns, each row after
// the first starting with kContinuation. The client's own SGR colour sequences take no
// width and are closed at a row's end and reopened after the mark; a tab becomes spaces to
// the next multiple of 8. A wide character that does not fit goes to the next row. The
// terminal prints the rows with autowrap off, so where its idea of a character's width
// differs from display_width() the row is cut short, never wrapped into a new row.
std::vector<std::string> wrap_for_terminal(std::string_view line, int columns);

// One JSON object, without a newline.
std::string render_json(const UiEvent& e, const WallClock& clock);

// The SGR colour code (31-36, 91-96) a name is always shown in: a hash, so everyone sees
// the same person in the same colour.
int name_color(std::string_view name);

} // namespace chat::peer
