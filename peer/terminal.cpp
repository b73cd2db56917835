// The interactive terminal; see terminal.hpp.
#include "terminal.hpp"

#include "render.hpp"
#include "utf8.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace chat::peer {

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) { // a non-blocking stdout that is full: wait a moment
                ::usleep(1000);
                continue;
            }
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

Terminal::Terminal(uv_loop_t* loop, Callbacks cb)
    : cb_(std::move(cb)), tty_(uv_tty_init, loop, 0, 1) {
    tty_.get()->data = this;
    uvpp::check(uv_tty_set_mode(tty_.get(), UV_TTY_MODE_RAW), "uv_tty_set_mode");
    uvpp::check(uv_read_start(reinterpret_cast<uv_stream_t*>(tty_.get()), &Terminal::on_alloc,
                              &Terminal::on_read),
                "uv_read_start");
    winch_ = std::make_unique<uvpp::Signal>(loop);
    winch_->start(SIGWINCH, [this](int) { redraw(); });
}

Terminal::~Terminal() {
    close();
}

void Terminal::close() {
    if (!open_)
        return;
    open_ = false;
    write_all(1, "\r\x1b[0K");
    uv_tty_set_mode(tty_.get(), UV_TTY_MODE_NORMAL);
    uv_tty_reset_mode();
    tty_.close();
    winch_->close();
}

void Terminal::set_prompt(std::string prompt) {
    if (prompt == prompt_)
        return;
    prompt_ = std::move(prompt);
    redraw();
}

void Terminal::print(const std::vector<std::string>& lines) {
    if (!open_ || lines.empty())
        return;
    // Autowrap off while printing: wrap_for_terminal cuts the rows, and a row the terminal
    // finds wider than we thought is cut short instead of spilling into an unmarked row.
    // One column stays free for terminals that wrap as soon as the last one is written.
    const int width = std::max(1, columns() - 1);
    std::string out = "\r\x1b[0K\x1b[?7l";
    for (const auto& l : lines)
        for (const auto& row : wrap_for_terminal(l, width))
            out += row + "\r\n";
    out += "\x1b[?7h";
    out += redraw_sequence();
    write_all(1, out);
}

void Terminal::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<Terminal*>(h->data);
    if (self == nullptr) {
        *buf = uv_buf_init(nullptr, 0);
        return;
    }
    *buf = uv_buf_init(self->buffer_, sizeof self->buffer_);
}

void Terminal::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Terminal*>(s->data);
    if (self == nullptr || !self->open_)
        return;
    if (nread < 0) {
        if (self->cb_.on_eof)
            self->cb_.on_eof();
        return;
    }
    self->handle_bytes(std::string_view(buf->base, static_cast<std::size_t>(nread)));
}

void Terminal::handle_bytes(std::string_view bytes) {
    for (auto& e : editor_.feed(bytes)) {
        if (!open_)
            return; // a callback closed us (/quit)
        switch (e.kind) {
        case EditorEvent::Kind::Line:
            if (cb_.on_line)
                cb_.on_line(std::move(e.text));
            break;
        case EditorEvent::Kind::Interrupt:
            if (cb_.on_interrupt)
                cb_.on_interrupt();
            break;
        case EditorEvent::Kind::Eof:
            if (cb_.on_eof)
                cb_.on_eof();
            break;
        case EditorEvent::Kind::Redraw:
            redraw();
            break;
        case EditorEvent::Kind::Clear:
            write_all(1, "\x1b[H\x1b[2J");
            redraw();
            break;
        }
    }
}

int Terminal::columns() const {
    winsize ws{};
    if (::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

std::string Terminal::redraw_sequence() const {
    const int prompt_width = display_width(prompt_);
    // One column stays free so the cursor after the last character never wraps the line.
    const int room = std::max(1, columns() - prompt_width - 1);
    const EditorView v = editor_.view(room);
    std::string out = "\r" + prompt_ + v.text + "\x1b[0K\r";
    const int col = prompt_width + v.cursor_column;
    if (col > 0)
        out += "\x1b[" + std::to_string(col) + "C";
    return out;
}

void Terminal::redraw() {
    if (open_)
        write_all(1, redraw_sequence());
}

} // namespace chat::peer
