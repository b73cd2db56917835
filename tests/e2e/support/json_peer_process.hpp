// A real `peer --json` for end-to-end tests: commands typed on its stdin, every event it
// prints on stdout parsed and kept in order, so a test can both wait for one event and, at
// the end, look at everything a peer showed (counting lines, duplicates, order). The process
// is stopped by PID when this object goes (Process does that).
// Nothing here knows the chat's rules: tests/e2e/*_test.cpp hold those.
#pragma once

#include "process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat::e2e {

// A peer event's string field, or "" when it is missing or not a string.
std::string json_string(const nlohmann::json& event, const char* key);
// A peer event's boolean field; false when it is missing or not a boolean.
bool json_flag(const nlohmann::json& event, const char* key);

class JsonPeerProcess {
  public:
    using Json = nlohmann::json;
    using Match = std::function<bool(const Json&)>;

    // Spawns `peer_bin --rendezvous 127.0.0.1:PORT --name NAME --json extra...`, with
    // `--log-file log_file` too when that is not empty.
    JsonPeerProcess(const std::string& peer_bin, std::uint16_t server_port, std::string name,
                    const std::vector<std::string>& extra = {}, const std::string& log_file = {});

    const std::string& name() const { return name_; }
    Process& process() { return *proc_; }
    bool type(std::string_view line) { return proc_->write_line(line); }

    // Reads every line already printed, without waiting; returns how many there were. A line
    // that is not a JSON object is kept in non_json() (the schema promises there are none).
    std::size_t pump();

    // The first event from the cursor on (the cursor starts at the first event and moves
    // past each match) with event == `kind` for which `match` holds, waiting up to `timeout`.
    std::optional<Json> wait_for(std::string_view kind, const Match& match = {},
                                 std::chrono::milliseconds timeout = 5s);

    const std::vector<Json>& events() const { return events_; }
    const std::vector<std::string>& non_json() const { return non_json_; }

    // The last `n` raw lines, one per line with the name in front, for failure messages.
    std::string transcript(std::size_t n = 40) const;

  private:
    std::string name_;
    std::unique_ptr<Process> proc_;
    std::vector<Json> events_;
    std::vector<std::string> raw_;
    std::vector<std::string> non_json_;
    std::size_t cursor_ = 0;
};

// Pumps every peer until `done()` holds or `timeout` passes; true if it held. Polls every
// 20 ms: these tests measure seconds, not milliseconds.
bool pump_until(const std::vector<JsonPeerProcess*>& peers, const std::function<bool()>& done,
                std::chrono::milliseconds timeout);

} // namespace chat::e2e
