// The interactive terminal: stdin in raw mode through uv_tty, keys through the LineEditor,
// and output drawn the linenoise way: hide the input line, print the incoming lines, draw
// the prompt and the input line again with the cursor where it was. So a message arriving
// while the user types never clobbers the half-typed line. Long lines are cut into rows
// here (wrap_for_terminal), each row after the first marked, so text from the network never
// wraps into a row of its own that could pass for another line.
//
// Raw mode turns off the terminal's own signals: Ctrl-C arrives as byte 0x03 and Ctrl-D as
// 0x04, and both come back as callbacks. close() (also run by the destructor) restores the
// terminal with uv_tty_reset_mode; main() also registers it with atexit for the exit paths
// that skip destructors.
#pragma once

#include "line_editor.hpp"

#include "proto/uv/handle.hpp"
#include "proto/uv/timer.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chat::peer {

// Writes all of `bytes` to a file descriptor (blocking; EINTR retried). False on error.
bool write_all(int fd, std::string_view bytes);

class Terminal {
  public:
    struct Callbacks {
        std::function<void(std::string)> on_line;
        std::function<void()> on_interrupt; // Ctrl-C
        std::function<void()> on_eof;       // Ctrl-D on an empty line, or stdin closed
    };

    // Puts the terminal on fd 0 in raw mode and starts reading. Throws uvpp::UvError.
    Terminal(uv_loop_t* loop, Callbacks cb);
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;
    ~Terminal();

    void set_prompt(std::string prompt);               // plain text; redraws if it changed
    void print(const std::vector<std::string>& lines); // above the input line
    void close(); // clears the input line, restores the terminal; idempotent

  private:
    static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
    void handle_bytes(std::string_view bytes);
    std::string redraw_sequence() const;
    void redraw();
    int columns() const;

    Callbacks cb_;
    uvpp::Handle<uv_tty_t> tty_;
    std::unique_ptr<uvpp::Signal> winch_;
    LineEditor editor_;
    std::string prompt_;
    bool open_ = true;
    char buffer_[4096];
};

} // namespace chat::peer
