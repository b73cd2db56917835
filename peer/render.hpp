// UiEvent -> what the user sees: a text line for the terminal and the pipe mode, or one JSON
// object per line for --json (the schema is peer/JSON_EVENTS.md; change both together).
// Pure: the shell passes the wall-clock time, since the core's `now` is monotonic.
#pragma once

#include "events.hpp"

#include <cstdint>
#include <string>
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
// was validated by the codec; C1 control characters are still replaced before printing.
std::vector<std::string> render_text(const UiEvent& e, const WallClock& clock,
                                     const RenderOptions& opts);

// One JSON object, without a newline.
std::string render_json(const UiEvent& e, const WallClock& clock);

// The SGR colour code (31-36, 91-96) a name is always shown in: a hash, so everyone sees
// the same person in the same colour.
int name_color(std::string_view name);

} // namespace chat::peer
