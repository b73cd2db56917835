// stdin as plain lines, for the pipe mode and --json: no raw mode, no echo handling, no
// escapes. A pipe, socket or terminal is watched with uv_poll and read when readable; a
// regular file (peer < script.txt), which epoll cannot watch, is read whole at start().
#pragma once

#include "proto/uv/handle.hpp"

#include <functional>
#include <memory>
#include <string>

namespace chat::peer {

class LineReader {
  public:
    static constexpr std::size_t kMaxLineBytes = 64 * 1024; // longer is cut (the core
                                                            // refuses > 8000 anyway)
    LineReader(uv_loop_t* loop, std::function<void(std::string)> on_line,
               std::function<void()> on_eof);
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    void start(); // may deliver lines (and EOF) before it returns, for a regular file
    void close(); // idempotent

  private:
    static void on_poll(uv_poll_t* p, int status, int events);
    void read_available(); // false at end of input
    void take(std::string_view bytes);
    void finish();

    uv_loop_t* loop_;
    std::function<void(std::string)> on_line_;
    std::function<void()> on_eof_;
    std::unique_ptr<uvpp::Handle<uv_poll_t>> poll_;
    std::string partial_;
    bool done_ = false;
};

} // namespace chat::peer
