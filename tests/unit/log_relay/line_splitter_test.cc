// How a VM process's stream becomes lines (jailer/line_splitter.h): whatever chunks it arrives
// in, a line is a line; a line too long is cut and the rest of it never becomes a line of its own.
#include "jailer/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bulwark::jail {
namespace {

std::vector<std::pair<std::string, bool>> split(const std::vector<std::string>& chunks, size_t max = 8) {
  LineSplitter splitter(max);
  std::vector<LineSplitter::Line> lines;
  for (const std::string& chunk : chunks) splitter.feed(chunk, lines);
  splitter.finish(lines);
  std::vector<std::pair<std::string, bool>> result;
  for (auto& line : lines) result.emplace_back(line.text, line.cut);
  return result;
}

using Lines = std::vector<std::pair<std::string, bool>>;

TEST(LineSplitter, LinesAcrossChunks) {
  EXPECT_EQ(split({"ab", "c\nde", "f\n"}), (Lines{{"abc", false}, {"def", false}}));
  EXPECT_EQ(split({"a\nb\nc\n"}), (Lines{{"a", false}, {"b", false}, {"c", false}}));
}

TEST(LineSplitter, EmptyLinesAreSkipped) { EXPECT_EQ(split({"\n\n\na\n\n"}), (Lines{{"a", false}})); }

TEST(LineSplitter, UnterminatedLastLineComesAtTheEnd) {
  LineSplitter splitter(8);
  std::vector<LineSplitter::Line> lines;
  splitter.feed("done\npart", lines);
  ASSERT_EQ(lines.size(), 1u);
  splitter.finish(lines);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].text, "part");
  EXPECT_FALSE(lines[1].cut);
}

TEST(LineSplitter, ALineOfExactlyTheLimitIsWhole) {
  EXPECT_EQ(split({"12345678\n"}), (Lines{{"12345678", false}}));
  EXPECT_EQ(split({"1234", "5678", "\n"}), (Lines{{"12345678", false}}));
}

TEST(LineSplitter, ALongerLineIsCutAndItsRestDiscardedUpToItsNewline) {
  EXPECT_EQ(split({"123456789abc\nnext\n"}), (Lines{{"12345678", true}, {"next", false}}));
  // Byte by byte, the same.
  std::vector<std::string> bytes;
  for (char c : std::string("123456789abcdefghijklmnop\nnext\n")) bytes.emplace_back(1, c);
  EXPECT_EQ(split(bytes), (Lines{{"12345678", true}, {"next", false}}));
  // A cut line that never ends: nothing more from it.
  EXPECT_EQ(split({"123456789", std::string(10000, 'z')}), (Lines{{"12345678", true}}));
}

TEST(LineSplitter, NulBytesAreTextNotEnds) {
  const std::string with_nul("a\0b\n", 4);
  EXPECT_EQ(split({with_nul}), (Lines{{std::string("a\0b", 3), false}}));
}

}  // namespace
}  // namespace bulwark::jail
