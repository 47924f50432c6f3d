#include "jailer/line_splitter.h"

namespace bulwark::jail {

void LineSplitter::feed(std::string_view data, std::vector<Line>& lines) {
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const std::string_view part = data.substr(0, newline);
    if (!discarding_) {
      const size_t room = max_line_bytes_ - pending_.size();
      if (part.size() > room) {
        pending_.append(part.substr(0, room));
        lines.push_back({std::move(pending_), true});
        pending_.clear();
        discarding_ = true;
      } else {
        pending_.append(part);
      }
    }
    if (newline == std::string_view::npos) return;
    if (!discarding_ && !pending_.empty()) lines.push_back({std::move(pending_), false});
    pending_.clear();
    discarding_ = false;
    data.remove_prefix(newline + 1);
  }
}

void LineSplitter::finish(std::vector<Line>& lines) {
  if (!discarding_ && !pending_.empty()) lines.push_back({std::move(pending_), false});
  pending_.clear();
  discarding_ = false;
}

}  // namespace bulwark::jail
