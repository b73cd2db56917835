// Process and run_to_exit; see process.hpp. Everything the child gets is set up with
// posix_spawn file actions: no code runs between fork and exec.
#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace chat::e2e {

namespace {

using Clock = std::chrono::steady_clock;

int millis_until(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left);
}

// A pipe whose ends are closed in any child we spawn later (the child gets dup2'ed copies).
void make_pipe(int fds[2]) {
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
}

// Spawns path+args with stdin from in_fd (/dev/null if negative) and stdout (and stderr if
// err_fd >= 0) onto the given descriptors; otherwise stderr is appended to err_path if that
// is not empty, and inherited if it is.
pid_t spawn(const std::string& path, const std::vector<std::string>& args, int in_fd, int out_fd,
            int err_fd, const std::string& err_path = {}) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, in_fd, STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    if (err_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
    else if (!err_path.empty())
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        throw std::runtime_error("cannot spawn " + path + ": " + std::strerror(rc));
    return pid;
}

} // namespace

Process::Process(const std::string& path, const std::vector<std::string>& args, Stdin stdin_mode,
                 const std::string& stderr_path) {
    int out[2];
    int in[2] = {-1, -1};
    make_pipe(out);
    try {
        if (stdin_mode == Stdin::Pipe) {
            std::signal(SIGPIPE, SIG_IGN); // a child that exited must not kill the test
            make_pipe(in);
        }
        pid_ = spawn(path, args, in[0], out[1], -1, stderr_path);
    } catch (...) {
        for (const int fd : {out[0], out[1], in[0], in[1]})
            if (fd >= 0)
                ::close(fd);
        throw;
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
    if (in[0] >= 0)
        ::close(in[0]);
    stdin_fd_ = in[1];
}

Process::~Process() {
    close_stdin();
    stop();
    if (stdout_fd_ >= 0)
        ::close(stdout_fd_);
}

bool Process::write_line(std::string_view line) {
    if (stdin_fd_ < 0)
        return false;
    std::string data(line);
    data += '\n';
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(stdin_fd_, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void Process::close_stdin() {
    if (stdin_fd_ >= 0)
        ::close(stdin_fd_);
    stdin_fd_ = -1;
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (const auto nl = buffered_.find('\n'); nl != std::string::npos) {
            std::string line = buffered_.substr(0, nl);
            buffered_.erase(0, nl + 1);
            return line;
        }
        if (stdout_fd_ < 0)
            return std::nullopt;
        pollfd p{stdout_fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, millis_until(deadline));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return std::nullopt;
        char buf[4096];
        const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { // end of output: nothing more will come
            ::close(stdout_fd_);
            stdout_fd_ = -1;
            return std::nullopt;
        }
        buffered_.append(buf, static_cast<std::size_t>(n));
    }
}

void Process::signal(int signum) const {
    if (running())
        ::kill(pid_, signum);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
    if (status_)
        return status_;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            status_ = status;
            return status_;
        }
        if (r < 0 && errno != EINTR) { // not our child any more: nothing to wait for
            status_ = -1;
            return status_;
        }
        if (Clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
}

int Process::stop(std::chrono::milliseconds grace) {
    if (status_)
        return *status_;
    signal(SIGTERM);
    if (const auto s = wait_exit(grace))
        return *s;
    signal(SIGKILL);
    return wait_exit(60s).value_or(-1);
}

RunResult run_to_exit(const std::string& path, const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout) {
    int out[2];
    int err[2];
    make_pipe(out);
    make_pipe(err);
    pid_t pid = -1;
    try {
        pid = spawn(path, args, -1, out[1], err[1]);
    } catch (...) {
        for (const int fd : {out[0], out[1], err[0], err[1]})
            ::close(fd);
        throw;
    }
    ::close(out[1]);
    ::close(err[1]);

    RunResult result;
    auto deadline = Clock::now() + timeout;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_fds = 2;
    bool killed = false;
    while (open_fds > 0) {
        const int ready = ::poll(fds, 2, millis_until(deadline));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) { // timed out: kill it; its pipes then reach end of file
            ::kill(pid, SIGKILL);
            killed = true;
            deadline = Clock::now() + 10s;
            continue;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char buf[4096];
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = !killed && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string describe_status(int wait_status) {
    if (wait_status == -1)
        return "not reaped";
    if (WIFEXITED(wait_status))
        return "exited with " + std::to_string(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status))
        return "killed by signal " + std::to_string(WTERMSIG(wait_status));
    return "status " + std::to_string(wait_status);
}

} // namespace chat::e2e
