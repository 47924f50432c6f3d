// Splits the byte stream a VM's jailed process writes to its stderr (tenant-influenced: a guest
// can make a device or the monitor log what it likes) into lines without trusting it: a line
// longer than the limit is cut there and the rest of it, up to its newline, discarded, so the
// launcher holds at most one line's worth per process whatever the process writes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::jail {

class LineSplitter {
 public:
  struct Line {
    std::string text;  // without its newline
    bool cut = false;  // the line went on beyond max_line_bytes; this is its start
  };

  explicit LineSplitter(size_t max_line_bytes) : max_line_bytes_(max_line_bytes == 0 ? 1 : max_line_bytes) {}

  // Appends to `lines` every line `data` completes. Empty lines are skipped: they say nothing.
  void feed(std::string_view data, std::vector<Line>& lines);
  // End of the stream: its unterminated last line, if any.
  void finish(std::vector<Line>& lines);

 private:
  size_t max_line_bytes_;
  std::string pending_;
  bool discarding_ = false;  // the rest of a cut line, up to its newline
};

}  // namespace bulwark::jail
