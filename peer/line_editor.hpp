// The input line of the terminal UI as a pure state machine: raw bytes from the keyboard in,
// editor events out (a finished line, Ctrl-C, Ctrl-D, "redraw me"), plus what to show. It
// knows UTF-8 (the cursor moves by code point, CJK characters take two columns) and keeps a
// history for up/down. It never touches the terminal: terminal.cpp draws view().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chat::peer {

struct EditorEvent {
    enum class Kind {
        Line,      // Enter: `text` is the finished line (also added to the history)
        Interrupt, // Ctrl-C
        Eof,       // Ctrl-D on an empty line
        Redraw,    // the line or the cursor changed
        Clear,     // Ctrl-L: clear the screen, then redraw
    };
    Kind kind;
    std::string text; // Line only
    friend bool operator==(const EditorEvent&, const EditorEvent&) = default;
};

// What to draw: a slice of the line that fits the given width, and the cursor column
// within that slice (0-based, in terminal columns).
struct EditorView {
    std::string text;
    int cursor_column = 0;
};

class LineEditor {
  public:
    static constexpr std::size_t kMaxHistory = 500;    // lines kept for up/down
    static constexpr std::size_t kMaxLineBytes = 8000; // typing or pasting past this is ignored

    // Feeds keyboard bytes (any split: an escape sequence or a UTF-8 character may arrive
    // in pieces). Returns the events in order.
    std::vector<EditorEvent> feed(std::string_view bytes);

    const std::string& line() const { return line_; }
    std::size_t cursor() const { return cursor_; } // byte offset, on a code point boundary
    int cursor_column() const;                     // display columns before the cursor
    // The part of the line to show in `width` columns (width >= 1), scrolled so the cursor
    // is visible.
    EditorView view(int width) const;
    const std::vector<std::string>& history() const { return history_; }

  private:
    enum class State { Normal, Escape, Csi, Ss3 };
    void key(unsigned char c, std::vector<EditorEvent>& out);
    void control(unsigned char c, std::vector<EditorEvent>& out);
    void csi(char final_byte, std::vector<EditorEvent>& out);
    void insert(std::string_view bytes, std::vector<EditorEvent>& out);
    void move_to(std::size_t pos, std::vector<EditorEvent>& out);
    void move_left(std::vector<EditorEvent>& out);
    void move_right(std::vector<EditorEvent>& out);
    void backspace(std::vector<EditorEvent>& out);
    void delete_at_cursor(std::vector<EditorEvent>& out);
    void delete_word_before(std::vector<EditorEvent>& out);
    void history_step(int direction, std::vector<EditorEvent>& out);
    void set_line(std::string text, std::vector<EditorEvent>& out);
    void finish_line(std::vector<EditorEvent>& out);

    std::string line_;
    std::size_t cursor_ = 0;
    std::vector<std::string> history_;
    std::size_t history_pos_ = 0; // == history_.size(): editing a new line
    std::string draft_;           // the new line, kept while browsing the history
    State state_ = State::Normal;
    std::string params_;       // CSI parameter bytes so far
    std::string pending_;      // a UTF-8 character not yet complete
    bool last_was_cr_ = false; // "\r\n" is one Enter
};

} // namespace chat::peer
