// The line editor; see line_editor.hpp. Key bindings follow readline/linenoise: Ctrl-A/E
// home/end, Ctrl-B/F left/right, Ctrl-P/N history, Ctrl-K/U/W kill, Ctrl-L clear screen.
#include "line_editor.hpp"

#include "utf8.hpp"

namespace chat::peer {
namespace {

constexpr unsigned char ctrl(char c) {
    return static_cast<unsigned char>(c & 0x1F);
}

// Expected length of a UTF-8 sequence from its lead byte; 0 for a byte that cannot lead.
std::size_t sequence_length(unsigned char lead) {
    if (lead < 0x80U)
        return 1;
    if (lead >= 0xC2U && lead <= 0xDFU)
        return 2;
    if (lead >= 0xE0U && lead <= 0xEFU)
        return 3;
    if (lead >= 0xF0U && lead <= 0xF4U)
        return 4;
    return 0;
}

} // namespace

std::vector<EditorEvent> LineEditor::feed(std::string_view bytes) {
    std::vector<EditorEvent> out;
    for (const char ch : bytes)
        key(static_cast<unsigned char>(ch), out);
    // Several edits in one read need only one redraw, placed after the last line event.
    std::vector<EditorEvent> merged;
    for (auto& e : out) {
        if (e.kind == EditorEvent::Kind::Redraw && !merged.empty() &&
            merged.back().kind == EditorEvent::Kind::Redraw)
            continue;
        merged.push_back(std::move(e));
    }
    return merged;
}

void LineEditor::key(unsigned char c, std::vector<EditorEvent>& out) {
    switch (state_) {
    case State::Escape:
        if (c == '[') {
            state_ = State::Csi;
            params_.clear();
        } else if (c == 'O') {
            state_ = State::Ss3;
        } else {
            state_ = State::Normal; // Alt+key and lone ESC: ignored
        }
        return;
    case State::Csi:
        if (c >= 0x40U && c <= 0x7EU) {
            state_ = State::Normal;
            csi(static_cast<char>(c), out);
        } else if (params_.size() < 16) {
            params_ += static_cast<char>(c);
        } else {
            state_ = State::Normal; // a runaway sequence: give up on it
        }
        return;
    case State::Ss3:
        state_ = State::Normal;
        params_.clear();
        csi(static_cast<char>(c), out); // ESC O A .. ESC O F mean the same as ESC [ A ..
        return;
    case State::Normal:
        break;
    }

    if (!pending_.empty()) {
        if ((c & 0xC0U) == 0x80U) {
            pending_ += static_cast<char>(c);
            if (pending_.size() == sequence_length(static_cast<unsigned char>(pending_[0]))) {
                insert(pending_, out);
                pending_.clear();
            }
            return;
        }
        pending_.clear(); // a broken sequence: drop it, then handle this byte afresh
    }
    const bool cr = c == '\r';
    if (c == '\n' && last_was_cr_) {
        last_was_cr_ = false;
        return;
    }
    last_was_cr_ = cr;
    if (c < 0x20U || c == 0x7FU) {
        control(c, out);
        return;
    }
    const std::size_t n = sequence_length(c);
    if (n == 1) {
        insert(std::string_view(reinterpret_cast<const char*>(&c), 1), out);
    } else if (n > 1) {
        pending_ = static_cast<char>(c);
    } // n == 0: a byte that cannot start a character; ignored
}

void LineEditor::control(unsigned char c, std::vector<EditorEvent>& out) {
    if (c == '\r' || c == '\n')
        finish_line(out);
    else if (c == ctrl('C'))
        out.push_back({EditorEvent::Kind::Interrupt, {}});
    else if (c == ctrl('D')) {
        if (line_.empty())
            out.push_back({EditorEvent::Kind::Eof, {}});
        else
            delete_at_cursor(out);
    } else if (c == 0x7FU || c == ctrl('H'))
        backspace(out);
    else if (c == ctrl('A'))
        move_to(0, out);
    else if (c == ctrl('E'))
        move_to(line_.size(), out);
    else if (c == ctrl('B'))
        move_left(out);
    else if (c == ctrl('F'))
        move_right(out);
    else if (c == ctrl('P'))
        history_step(-1, out);
    else if (c == ctrl('N'))
        history_step(+1, out);
    else if (c == ctrl('K')) {
        line_.resize(cursor_);
        out.push_back({EditorEvent::Kind::Redraw, {}});
    } else if (c == ctrl('U')) {
        line_.erase(0, cursor_);
        cursor_ = 0;
        out.push_back({EditorEvent::Kind::Redraw, {}});
    } else if (c == ctrl('W'))
        delete_word_before(out);
    else if (c == ctrl('L'))
        out.push_back({EditorEvent::Kind::Clear, {}});
    else if (c == 0x1BU)
        state_ = State::Escape;
    // Tab and the other control keys are ignored: a chat line has no use for them.
}

void LineEditor::csi(char final_byte, std::vector<EditorEvent>& out) {
    switch (final_byte) {
    case 'A':
        history_step(-1, out);
        break;
    case 'B':
        history_step(+1, out);
        break;
    case 'C':
        move_right(out);
        break;
    case 'D':
        move_left(out);
        break;
    case 'H':
        move_to(0, out);
        break;
    case 'F':
        move_to(line_.size(), out);
        break;
    case '~': // ESC [ n ~ : 1/7 home, 4/8 end, 3 delete
        if (params_ == "1" || params_ == "7")
            move_to(0, out);
        else if (params_ == "4" || params_ == "8")
            move_to(line_.size(), out);
        else if (params_ == "3")
            delete_at_cursor(out);
        break;
    default:
        break; // function keys, bracketed paste markers, ...: ignored
    }
}

void LineEditor::insert(std::string_view bytes, std::vector<EditorEvent>& out) {
    if (line_.size() + bytes.size() > kMaxLineBytes)
        return;
    line_.insert(cursor_, bytes);
    cursor_ += bytes.size();
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::move_to(std::size_t pos, std::vector<EditorEvent>& out) {
    if (pos == cursor_)
        return;
    cursor_ = pos;
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::move_left(std::vector<EditorEvent>& out) {
    if (cursor_ == 0)
        return;
    cursor_ = previous_code_point(line_, cursor_);
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::move_right(std::vector<EditorEvent>& out) {
    if (cursor_ >= line_.size())
        return;
    cursor_ += code_point_length(line_, cursor_);
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::backspace(std::vector<EditorEvent>& out) {
    if (cursor_ == 0)
        return;
    const std::size_t start = previous_code_point(line_, cursor_);
    line_.erase(start, cursor_ - start);
    cursor_ = start;
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::delete_at_cursor(std::vector<EditorEvent>& out) {
    if (cursor_ >= line_.size())
        return;
    line_.erase(cursor_, code_point_length(line_, cursor_));
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::delete_word_before(std::vector<EditorEvent>& out) {
    std::size_t start = cursor_;
    while (start > 0 && line_[start - 1] == ' ')
        --start;
    while (start > 0 && line_[start - 1] != ' ')
        start = previous_code_point(line_, start);
    if (start == cursor_)
        return;
    line_.erase(start, cursor_ - start);
    cursor_ = start;
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::history_step(int direction, std::vector<EditorEvent>& out) {
    if (direction < 0) {
        if (history_pos_ == 0)
            return;
        if (history_pos_ == history_.size())
            draft_ = line_;
        --history_pos_;
        set_line(history_[history_pos_], out);
    } else {
        if (history_pos_ >= history_.size())
            return;
        ++history_pos_;
        set_line(history_pos_ == history_.size() ? draft_ : history_[history_pos_], out);
    }
}

void LineEditor::set_line(std::string text, std::vector<EditorEvent>& out) {
    line_ = std::move(text);
    cursor_ = line_.size();
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

void LineEditor::finish_line(std::vector<EditorEvent>& out) {
    std::string done = std::move(line_);
    line_.clear();
    cursor_ = 0;
    draft_.clear();
    if (!done.empty() && (history_.empty() || history_.back() != done)) {
        history_.push_back(done);
        if (history_.size() > kMaxHistory)
            history_.erase(history_.begin());
    }
    history_pos_ = history_.size();
    out.push_back({EditorEvent::Kind::Line, std::move(done)});
    out.push_back({EditorEvent::Kind::Redraw, {}});
}

int LineEditor::cursor_column() const {
    return display_width(std::string_view(line_).substr(0, cursor_));
}

EditorView LineEditor::view(int width) const {
    if (width < 1)
        width = 1;
    // Start as far left as possible such that the cursor (one column past the text before
    // it) is still visible, then take as many characters as fit.
    std::size_t start = 0;
    int before = cursor_column();
    while (before >= width && start < cursor_) {
        before -= display_width(code_point_at(line_, start));
        start += code_point_length(line_, start);
    }
    EditorView v;
    v.cursor_column = before;
    int used = 0;
    for (std::size_t i = start; i < line_.size();) {
        const std::size_t n = code_point_length(line_, i);
        const int w = display_width(code_point_at(line_, i));
        if (used + w > width)
            break;
        v.text.append(line_, i, n);
        used += w;
        i += n;
    }
    return v;
}

} // namespace chat::peer
