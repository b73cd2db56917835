// Starts a server binary that announces its port the way `rendezvous` does: it is given
// `--listen 127.0.0.1:0` and prints "listening on 127.0.0.1:PORT" on stdout once bound.
#pragma once

#include "process.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chat::e2e {

struct ServerProcess {
    std::unique_ptr<Process> process;
    std::uint16_t port = 0;
};

// Spawns `path --listen 127.0.0.1:0 args...` and waits up to `timeout` for the announcement.
// Throws std::runtime_error (with what was printed) if none comes; the child is then stopped.
ServerProcess start_server(const std::string& path, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = 20s);

} // namespace chat::e2e
