// LineEditor: editing keys, history, UTF-8 and CJK widths, events, and the scrolled view.
#include "peer/line_editor.hpp"

#include <gtest/gtest.h>

namespace chat::peer {
namespace {

using Kind = EditorEvent::Kind;

constexpr char kLeft[] = "\x1b[D";
constexpr char kRight[] = "\x1b[C";
constexpr char kUp[] = "\x1b[A";
constexpr char kDown[] = "\x1b[B";
constexpr char kHome[] = "\x1b[H";
constexpr char kEnd[] = "\x1b[F";
constexpr char kDelete[] = "\x1b[3~";
constexpr char kBackspace[] = "\x7f";

std::vector<std::string> lines_of(const std::vector<EditorEvent>& events) {
    std::vector<std::string> lines;
    for (const auto& e : events)
        if (e.kind == Kind::Line)
            lines.push_back(e.text);
    return lines;
}

TEST(LineEditor, TypingAndEnterGiveALine) {
    LineEditor ed;
    EXPECT_TRUE(lines_of(ed.feed("hello")).empty());
    EXPECT_EQ(ed.line(), "hello");
    EXPECT_EQ(lines_of(ed.feed("\r")), std::vector<std::string>{"hello"});
    EXPECT_EQ(ed.line(), "");
    EXPECT_EQ(ed.cursor(), 0u);
}

TEST(LineEditor, CrLfIsOneEnter) {
    LineEditor ed;
    EXPECT_EQ(lines_of(ed.feed("a\r\nb\n")), (std::vector<std::string>{"a", "b"}));
}

TEST(LineEditor, EditsRequestOneRedrawPerFeed) {
    LineEditor ed;
    const auto events = ed.feed("abc");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::Redraw);
}

TEST(LineEditor, LeftRightInsertInTheMiddle) {
    LineEditor ed;
    ed.feed("ac");
    ed.feed(kLeft);
    ed.feed("b");
    EXPECT_EQ(ed.line(), "abc");
    EXPECT_EQ(ed.cursor(), 2u);
    ed.feed(kRight);
    ed.feed(kRight); // at the end already: nothing
    EXPECT_EQ(ed.cursor(), 3u);
}

TEST(LineEditor, BackspaceAndDelete) {
    LineEditor ed;
    ed.feed("abcd");
    ed.feed(kBackspace);
    EXPECT_EQ(ed.line(), "abc");
    ed.feed(kHome);
    ed.feed(kDelete);
    EXPECT_EQ(ed.line(), "bc");
    ed.feed(kBackspace); // at the start: nothing
    EXPECT_EQ(ed.line(), "bc");
    ed.feed("\x08"); // Ctrl-H is backspace too
    EXPECT_EQ(ed.line(), "bc");
}

TEST(LineEditor, HomeEndAndCtrlAE) {
    LineEditor ed;
    ed.feed("word");
    ed.feed(kHome);
    EXPECT_EQ(ed.cursor(), 0u);
    ed.feed(kEnd);
    EXPECT_EQ(ed.cursor(), 4u);
    ed.feed("\x01");
    EXPECT_EQ(ed.cursor(), 0u);
    ed.feed("\x05");
    EXPECT_EQ(ed.cursor(), 4u);
    ed.feed("\x1b[1~"); // the other spellings of Home and End
    EXPECT_EQ(ed.cursor(), 0u);
    ed.feed("\x1bOF");
    EXPECT_EQ(ed.cursor(), 4u);
}

TEST(LineEditor, KillKeys) {
    LineEditor ed;
    ed.feed("one two three");
    ed.feed("\x17"); // Ctrl-W
    EXPECT_EQ(ed.line(), "one two ");
    ed.feed("\x01\x06\x06\x06\x0b"); // home, right x3, Ctrl-K
    EXPECT_EQ(ed.line(), "one");
    ed.feed("\x15"); // Ctrl-U
    EXPECT_EQ(ed.line(), "");
}

TEST(LineEditor, HistoryUpDownKeepsTheDraft) {
    LineEditor ed;
    ed.feed("first\r");
    ed.feed("second\r");
    ed.feed("draft");
    ed.feed(kUp);
    EXPECT_EQ(ed.line(), "second");
    ed.feed(kUp);
    EXPECT_EQ(ed.line(), "first");
    ed.feed(kUp); // oldest: stays
    EXPECT_EQ(ed.line(), "first");
    ed.feed(kDown);
    EXPECT_EQ(ed.line(), "second");
    ed.feed(kDown);
    EXPECT_EQ(ed.line(), "draft");
    EXPECT_EQ(ed.cursor(), 5u);
}

TEST(LineEditor, HistorySkipsEmptyAndRepeatedLines) {
    LineEditor ed;
    ed.feed("a\r\ra\rb\r");
    EXPECT_EQ(ed.history(), (std::vector<std::string>{"a", "b"}));
}

TEST(LineEditor, RecalledLineCanBeEditedAndSent) {
    LineEditor ed;
    ed.feed("hello\r");
    ed.feed(kUp);
    EXPECT_EQ(lines_of(ed.feed("!\r")), std::vector<std::string>{"hello!"});
}

TEST(LineEditor, CursorMovesByCodePoint) {
    LineEditor ed;
    ed.feed("a你b");
    ed.feed(kLeft);
    ed.feed(kLeft);
    EXPECT_EQ(ed.cursor(), 1u); // before 你, not inside it
    ed.feed(kDelete);
    EXPECT_EQ(ed.line(), "ab");
}

TEST(LineEditor, BackspaceRemovesAWholeCjkCharacter) {
    LineEditor ed;
    ed.feed("你好");
    ed.feed(kBackspace);
    EXPECT_EQ(ed.line(), "你");
    EXPECT_EQ(ed.cursor_column(), 2);
}

TEST(LineEditor, CjkCharactersTakeTwoColumns) {
    LineEditor ed;
    ed.feed("ab你好");
    EXPECT_EQ(ed.cursor_column(), 6);
    ed.feed(kLeft);
    EXPECT_EQ(ed.cursor_column(), 4);
}

TEST(LineEditor, Utf8SplitAcrossReadsIsAssembled) {
    LineEditor ed;
    const std::string ni = "你";
    ed.feed(ni.substr(0, 1));
    EXPECT_EQ(ed.line(), "");
    ed.feed(ni.substr(1));
    EXPECT_EQ(ed.line(), "你");
}

TEST(LineEditor, EscapeSequenceSplitAcrossReadsIsAssembled) {
    LineEditor ed;
    ed.feed("ab");
    ed.feed("\x1b");
    ed.feed("[");
    ed.feed("D");
    EXPECT_EQ(ed.cursor(), 1u);
    EXPECT_EQ(ed.line(), "ab");
}

TEST(LineEditor, InvalidBytesAreIgnored) {
    LineEditor ed;
    ed.feed("a\xff\x80z");
    EXPECT_EQ(ed.line(), "az");
}

TEST(LineEditor, CtrlCIsInterrupt) {
    LineEditor ed;
    ed.feed("typing");
    const auto events = ed.feed("\x03");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, Kind::Interrupt);
}

TEST(LineEditor, CtrlDOnEmptyLineIsEofElseDeletes) {
    LineEditor ed;
    EXPECT_EQ(ed.feed("\x04").at(0).kind, Kind::Eof);
    ed.feed("ab\x01\x04");
    EXPECT_EQ(ed.line(), "b");
}

TEST(LineEditor, CtrlLAsksToClear) {
    LineEditor ed;
    EXPECT_EQ(ed.feed("\x0c").at(0).kind, Kind::Clear);
}

TEST(LineEditor, ViewScrollsToKeepTheCursorVisible) {
    LineEditor ed;
    ed.feed("0123456789");
    auto v = ed.view(5);
    EXPECT_EQ(v.cursor_column, 4);
    EXPECT_EQ(v.text, "6789");
    ed.feed(kHome);
    v = ed.view(5);
    EXPECT_EQ(v.text, "01234");
    EXPECT_EQ(v.cursor_column, 0);
}

TEST(LineEditor, ViewNeverCutsAWideCharacterInHalf) {
    LineEditor ed;
    ed.feed("你好世界");
    ed.feed(kHome);
    const auto v = ed.view(5);
    EXPECT_EQ(v.text, "你好"); // 4 columns; the third would need 6
}

} // namespace
} // namespace chat::peer
