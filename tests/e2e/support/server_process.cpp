// start_server; see server_process.hpp.
#include "server_process.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <random>
#include <stdexcept>

namespace chat::e2e {

ServerProcess start_server(const std::string& path, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout) {
    ServerOptions options;
    options.timeout = timeout;
    return start_server(path, args, options);
}

ServerProcess start_server(const std::string& path, const std::vector<std::string>& args,
                           const ServerOptions& options) {
    std::vector<std::string> argv{"--listen", "127.0.0.1:" + std::to_string(options.port)};
    argv.insert(argv.end(), args.begin(), args.end());
    ServerProcess s{std::make_unique<Process>(path, argv, Stdin::Null, options.stderr_path), 0,
                    options.stderr_path};
    const auto line = s.process->read_line(options.timeout);
    constexpr std::string_view kPrefix = "listening on 127.0.0.1:";
    if (!line || !line->starts_with(kPrefix)) {
        const int status = s.process->stop();
        throw std::runtime_error(path + " did not announce its port: " +
                                 (line ? "printed \"" + *line + "\"" : "printed nothing") + ", " +
                                 describe_status(status));
    }
    const std::string_view digits = std::string_view(*line).substr(kPrefix.size());
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 65535 ||
        (options.port != 0 && value != options.port)) {
        s.process->stop();
        throw std::runtime_error(path + " announced a bad port: \"" + *line + "\"");
    }
    s.port = static_cast<std::uint16_t>(value);
    return s;
}

ServerProcess start_restartable_server(const std::string& path,
                                       const std::vector<std::string>& args,
                                       ServerOptions options) {
    unsigned ephemeral_low = 32768; // Linux's default, if the file cannot be read
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
    if (ephemeral_low <= 2048) { // no room below it: fall back to any free port
        options.port = 0;
        return start_server(path, args, options);
    }
    const unsigned lowest = std::max(1024u, ephemeral_low / 3);
    std::mt19937 gen{std::random_device{}()}; // not a test input: any free port will do
    std::uniform_int_distribution<unsigned> pick(lowest, ephemeral_low - 1);
    std::string last_error;
    for (int attempt = 0; attempt < 20; ++attempt) {
        options.port = static_cast<std::uint16_t>(pick(gen));
        try {
            return start_server(path, args, options);
        } catch (const std::runtime_error& e) {
            last_error = e.what(); // most likely the port is taken: try another
        }
    }
    throw std::runtime_error("no free port below the ephemeral range in 20 tries; last: " +
                             last_error);
}

} // namespace chat::e2e
