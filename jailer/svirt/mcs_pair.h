// sVirt MCS category pairs: each VM's processes and files carry two distinct categories cA,cB;
// SELinux lets a process touch a file only if the file's categories are a subset of its own,
// so VMs with different pairs cannot reach each other's images. A single category would be a
// subset of every pair containing it, so a VM always gets two. Identical pairs between live VMs
// are prevented host-wide by lock-file reservations; pairs sharing one category are fine.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "bulwark/common/result.h"
#include "jailer/ids/host_reservation.h"

namespace bulwark::jailer {

inline constexpr uint16_t kMaxMcsCategory = 1023;

struct McsPair {
  uint16_t low = 0;   // always < high
  uint16_t high = 1;
  // "c3,c17"
  std::string categories() const;
  bool operator==(const McsPair&) const = default;
};

enum class McsOrder { kRandom, kSequential };

struct McsConfig {
  std::filesystem::path run_dir = "/run/bulwark/mcs";
  uint16_t first_category = 0;
  uint16_t last_category = kMaxMcsCategory;  // inclusive
  McsOrder order = McsOrder::kRandom;
};

// At least two categories, all within c0..c1023.
Status validate_mcs_config(const McsConfig& config);

// A reserved pair; the reservation (lock file <run_dir>/c<low>,c<high>.lock) lasts as long as
// this object in the process that made it.
class McsReservation {
 public:
  const McsPair& pair() const { return pair_; }
  const HostReservation& reservation() const { return reservation_; }

 private:
  friend Result<McsReservation> allocate_mcs_pair(const McsConfig&, std::string_view);
  McsReservation(McsPair pair, HostReservation reservation)
      : pair_(pair), reservation_(std::move(reservation)) {}
  McsPair pair_;
  HostReservation reservation_;
};

// A pair not held by any live VM: random (a few random draws, then a scan from a random start)
// or the first free one in order. Error when every pair in the range is held.
Result<McsReservation> allocate_mcs_pair(const McsConfig& config, std::string_view vm_id);

}  // namespace bulwark::jailer
