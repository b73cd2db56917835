// start_server; see server_process.hpp.
#include "server_process.hpp"

#include <charconv>
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

} // namespace chat::e2e
