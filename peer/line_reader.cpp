// Plain line input; see line_reader.hpp.
#include "line_reader.hpp"

#include <unistd.h>

#include <cerrno>

namespace chat::peer {

LineReader::LineReader(uv_loop_t* loop, std::function<void(std::string)> on_line,
                       std::function<void()> on_eof)
    : loop_(loop), on_line_(std::move(on_line)), on_eof_(std::move(on_eof)) {}

void LineReader::start() {
    if (uv_guess_handle(0) != UV_FILE) {
        try {
            poll_ = std::make_unique<uvpp::Handle<uv_poll_t>>(uv_poll_init, loop_, 0);
            poll_->get()->data = this;
            uvpp::check(
                uv_poll_start(poll_->get(), UV_READABLE | UV_DISCONNECT, &LineReader::on_poll),
                "uv_poll_start");
            return;
        } catch (const uvpp::UvError&) {
            poll_.reset(); // not pollable: fall back to reading it whole
        }
    }
    while (!done_)
        read_available();
}

void LineReader::close() {
    done_ = true;
    poll_.reset();
}

void LineReader::on_poll(uv_poll_t* p, int status, int) {
    auto* self = static_cast<LineReader*>(p->data);
    if (self == nullptr || self->done_)
        return;
    if (status < 0) {
        self->finish();
        return;
    }
    self->read_available();
}

void LineReader::read_available() {
    char buf[4096];
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n > 0) {
        take(std::string_view(buf, static_cast<std::size_t>(n)));
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    finish(); // end of input, or an error that will not go away
}

void LineReader::take(std::string_view bytes) {
    while (!bytes.empty() && !done_) {
        const auto nl = bytes.find('\n');
        partial_.append(bytes.substr(0, nl));
        if (partial_.size() > kMaxLineBytes)
            partial_.resize(kMaxLineBytes);
        if (nl == std::string_view::npos)
            return;
        bytes.remove_prefix(nl + 1);
        std::string line = std::move(partial_);
        partial_.clear();
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        on_line_(std::move(line));
    }
}

void LineReader::finish() {
    if (done_)
        return;
    if (!partial_.empty()) {
        std::string line = std::move(partial_);
        partial_.clear();
        on_line_(std::move(line));
    }
    if (done_)
        return;
    done_ = true;
    if (poll_)
        poll_->get()->data = nullptr;
    poll_.reset();
    on_eof_();
}

} // namespace chat::peer
