// A child process for end-to-end tests: spawned with posix_spawn, its stdout on a pipe we read
// line by line with a timeout, its stdin /dev/null or a pipe we write lines to, its stderr
// passed through (so ctest shows the program's log) or appended to a file the test reads,
// stopped by PID and always reaped. Also run_to_exit() for one-shot runs like `--help`.
// POSIX only; no shell is involved, so arguments need no quoting.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace chat::e2e {

using namespace std::chrono_literals;

enum class Stdin { Null, Pipe };

class Process {
  public:
    // Starts `path` with `args` (argv[1..]). Its stderr is ours, or appended to `stderr_path`
    // (created if needed) when that is not empty: a file, not a pipe, so a chatty child can
    // never block on a pipe nobody reads. Throws std::runtime_error if it cannot be spawned.
    Process(const std::string& path, const std::vector<std::string>& args,
            Stdin stdin_mode = Stdin::Null, const std::string& stderr_path = {});
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process(); // stop(), then close the pipe

    pid_t pid() const { return pid_; }

    // The next line of the child's stdout without its '\n', or nullopt on timeout or end of
    // output (the child exited or closed stdout).
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);

    // With Stdin::Pipe: writes `line` and a '\n'. False if the child no longer reads (it
    // exited); SIGPIPE is ignored in this process so that is not fatal.
    bool write_line(std::string_view line);
    void close_stdin(); // end of input, as Ctrl-D at a terminal

    void signal(int signum) const; // no-op once reaped

    // Waits up to `timeout` for the child to exit; reaps it. The wait status as from
    // waitpid(), or nullopt if it is still running.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

    // SIGTERM, up to `grace` to exit, then SIGKILL; reaps it. Returns the wait status.
    // Idempotent: a second call returns the status of the first.
    int stop(std::chrono::milliseconds grace = 5s);

    bool running() const { return !status_.has_value(); }

  private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    int stdin_fd_ = -1;
    std::string buffered_; // read from the pipe but not yet returned as a line
    std::optional<int> status_;
};

// What a one-shot run printed and how it ended.
struct RunResult {
    int exit_code = -1; // -1 if killed by a signal (or by the timeout)
    std::string out;
    std::string err;
};

// Runs `path args...` with stdin from /dev/null to completion (SIGKILL after `timeout`),
// capturing stdout and stderr.
RunResult run_to_exit(const std::string& path, const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = 10s);

// "exited with 0", "killed by signal 9": for assertion messages.
std::string describe_status(int wait_status);

} // namespace chat::e2e
