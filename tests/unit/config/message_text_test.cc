#include "monitor/config/message_text.h"

#include <gtest/gtest.h>

#include <string>

namespace bulwark::config {
namespace {

TEST(MessageText, KeepsPrintableTextAndValidUtf8) {
  EXPECT_EQ(printable_text("vmlinux-6.1 ünïcode €𝄞"), "vmlinux-6.1 ünïcode €𝄞");
  EXPECT_EQ(quoted_text("two"), "\"two\"");
}

TEST(MessageText, EscapesControlCharactersAndQuotes) {
  EXPECT_EQ(printable_text("a\x1b[31mb\n\t\x7f"), "a\\x1b[31mb\\n\\t\\x7f");
  EXPECT_EQ(printable_text(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(quoted_text("say \"hi\" \\o/"), R"("say \"hi\" \\o/")");
}

TEST(MessageText, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(printable_text("\xff"), "\\xff");
  EXPECT_EQ(printable_text("\x80"), "\\x80");              // stray continuation byte
  EXPECT_EQ(printable_text("\xc3"), "\\xc3");              // truncated sequence
  EXPECT_EQ(printable_text("\xc0\xaf"), "\\xc0\\xaf");     // overlong '/'
  EXPECT_EQ(printable_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate U+D800
  EXPECT_EQ(printable_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable_text("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF itself
}

TEST(MessageText, TruncatesAtACharacterBoundary) {
  EXPECT_EQ(printable_text(std::string(100, 'a'), 10), std::string(10, 'a') + "...");
  EXPECT_EQ(printable_text("abcdefghi\xc3\xbc" "z", 10), "abcdefghi\xc3\xbc...");
  EXPECT_EQ(printable_text("short", 10), "short");
}

}  // namespace
}  // namespace bulwark::config
