// apply_boot_plan: the only place boot code writes guest memory.
#include <algorithm>
#include <cstring>
#include <string>

#include "bulwark/common/byte_reader.h"
#include "monitor/boot/boot_plan.h"
#include "monitor/boot/hex_format.h"

namespace bulwark::boot {
namespace {

struct Piece {
  std::string name;  // for error messages
  uint64_t guest_addr;
  std::span<const uint8_t> bytes;
  uint64_t mem_size;  // >= bytes.size(); the rest is zero-filled
};

std::vector<Piece> pieces_of(const BootPlan& plan) {
  std::vector<Piece> pieces;
  for (size_t i = 0; i < plan.kernel_segments.size(); ++i) {
    const LoadSegment& s = plan.kernel_segments[i];
    pieces.push_back({"kernel segment " + std::to_string(i), s.guest_addr, s.file_bytes, s.mem_size});
  }
  for (size_t i = 0; i < plan.writes.size(); ++i) {
    const GuestWrite& w = plan.writes[i];
    pieces.push_back({"boot write " + std::to_string(i), w.guest_addr, w.bytes, w.bytes.size()});
  }
  if (!plan.initrd.empty()) pieces.push_back({"initrd", plan.initrd_addr, plan.initrd, plan.initrd.size()});
  return pieces;
}

Status check_pieces(std::vector<Piece> pieces) {
  for (const Piece& p : pieces) {
    if (p.bytes.size() > p.mem_size)
      return Error("boot plan: " + p.name + " has " + hex(p.bytes.size()) + " bytes but mem_size " +
                   hex(p.mem_size));
    if (!checked_add(p.guest_addr, p.mem_size))
      return Error("boot plan: " + p.name + " at " + hex(p.guest_addr) + " + " + hex(p.mem_size) +
                   " wraps past the top of the address space");
  }
  std::erase_if(pieces, [](const Piece& p) { return p.mem_size == 0; });
  std::sort(pieces.begin(), pieces.end(),
            [](const Piece& a, const Piece& b) { return a.guest_addr < b.guest_addr; });
  // Sorted by start, any overlap shows up against the piece reaching furthest so far.
  const Piece* furthest = nullptr;
  for (const Piece& p : pieces) {
    if (furthest && p.guest_addr < furthest->guest_addr + furthest->mem_size)
      return Error("boot plan: " + p.name + " at " + hex(p.guest_addr) + " overlaps " +
                   furthest->name + " at " + hex(furthest->guest_addr) + ".." +
                   hex(furthest->guest_addr + furthest->mem_size));
    if (!furthest || p.guest_addr + p.mem_size > furthest->guest_addr + furthest->mem_size) furthest = &p;
  }
  return ok_status();
}

}  // namespace

Status apply_boot_plan(const BootPlan& plan, const GuestSpanProvider& guest_span) {
  const std::vector<Piece> pieces = pieces_of(plan);
  BULWARK_TRY(check_pieces(pieces));

  // Resolve every destination before writing, so a refused plan leaves guest memory untouched.
  std::vector<std::span<uint8_t>> targets;
  for (const Piece& p : pieces) {
    const auto target = guest_span(p.guest_addr, p.mem_size);
    if (!target)
      return Error("boot plan: " + p.name + " at " + hex(p.guest_addr) + ".." +
                   hex(p.guest_addr + p.mem_size) + " is not guest RAM");
    if (target->size() != p.mem_size)
      return Error("boot plan: guest memory returned " + hex(target->size()) + " bytes for " +
                   p.name + ", which needs " + hex(p.mem_size));
    targets.push_back(*target);
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    if (!p.bytes.empty()) std::memcpy(targets[i].data(), p.bytes.data(), p.bytes.size());
    std::memset(targets[i].data() + p.bytes.size(), 0, p.mem_size - p.bytes.size());
  }
  return ok_status();
}

}  // namespace bulwark::boot
