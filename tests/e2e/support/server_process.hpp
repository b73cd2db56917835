// Starts a server binary that announces its port the way `rendezvous` does: it is given
// `--listen 127.0.0.1:PORT` (port 0 unless told otherwise) and prints
// "listening on 127.0.0.1:PORT" on stdout once bound.
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
    std::string stderr_path; // the file its stderr is appended to; empty: inherited
};

struct ServerOptions {
    std::uint16_t port = 0;  // 0: a free port the kernel picks; else this one (a restart)
    std::string stderr_path; // append the server's stderr (its log) here; empty: inherit it
    std::chrono::milliseconds timeout = 20s; // for the announcement
};

// Spawns `path --listen 127.0.0.1:0 args...` and waits up to `timeout` for the announcement.
// Throws std::runtime_error (with what was printed) if none comes; the child is then stopped.
ServerProcess start_server(const std::string& path, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = 20s);

// The same with a chosen port and where its stderr goes: `path --listen 127.0.0.1:PORT
// args...`. The announcement must name that port when it is not 0.
ServerProcess start_server(const std::string& path, const std::vector<std::string>& args,
                           const ServerOptions& options);

// For a server the test will kill and restart on the same port: a random port below the
// kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), which bind(0) never
// hands out, so no other socket on a busy machine takes it while the server is down.
// `options.port` is ignored; a port in use is skipped (up to 20 tries). Throws as above.
ServerProcess start_restartable_server(const std::string& path,
                                       const std::vector<std::string>& args,
                                       ServerOptions options = {});

} // namespace chat::e2e
