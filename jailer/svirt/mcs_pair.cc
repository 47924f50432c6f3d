#include "jailer/svirt/mcs_pair.h"

#include <sys/random.h>

#include <cerrno>

namespace bulwark::jailer {
namespace {

// Random draws before falling back to a full scan; on a lightly used host the first succeeds.
constexpr int kRandomDraws = 32;

std::string lock_name(const McsPair& pair) { return pair.categories() + ".lock"; }

Result<uint64_t> random_below(uint64_t bound) {
  uint64_t value = 0;
  size_t got = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&value);
  while (got < sizeof(value)) {
    const ssize_t n = ::getrandom(bytes + got, sizeof(value) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("getrandom", errno);
    }
    got += static_cast<size_t>(n);
  }
  return value % bound;  // the bias is irrelevant here: uniqueness comes from the locks
}

// Pairs in order: (f,f+1), (f,f+2) ... (f,l), (f+1,f+2) ... (l-1,l).
McsPair pair_at(const McsConfig& c, uint64_t index) {
  uint16_t low = c.first_category;
  uint64_t row = c.last_category - low;  // pairs whose low category is `low`
  while (index >= row) {
    index -= row;
    ++low;
    --row;
  }
  return McsPair{low, static_cast<uint16_t>(low + 1 + index)};
}

McsPair next_pair(const McsConfig& c, McsPair p) {
  if (p.high < c.last_category) return {p.low, static_cast<uint16_t>(p.high + 1)};
  if (p.low + 2 <= c.last_category)
    return {static_cast<uint16_t>(p.low + 1), static_cast<uint16_t>(p.low + 2)};
  return {c.first_category, static_cast<uint16_t>(c.first_category + 1)};
}

}  // namespace

std::string McsPair::categories() const {
  return "c" + std::to_string(low) + ",c" + std::to_string(high);
}

Status validate_mcs_config(const McsConfig& config) {
  const std::string range =
      "c" + std::to_string(config.first_category) + "..c" + std::to_string(config.last_category);
  if (config.last_category > kMaxMcsCategory)
    return Error("MCS category range " + range + " goes beyond c1023");
  if (config.last_category <= config.first_category)
    return Error("MCS category range " + range + " has fewer than two categories");
  return ok_status();
}

Result<McsReservation> allocate_mcs_pair(const McsConfig& config, std::string_view vm_id) {
  BULWARK_TRY(validate_mcs_config(config));
  BULWARK_TRY(validate_vm_id(vm_id));
  auto dir = ReservationDirectory::open_or_create(config.run_dir);
  if (!dir) return dir.error().wrap("MCS pair");
  const uint64_t categories = uint64_t{config.last_category} - config.first_category + 1;
  const uint64_t total = categories * (categories - 1) / 2;

  auto try_pair = [&](McsPair pair) -> Result<std::optional<McsReservation>> {
    auto claimed = HostReservation::try_claim(*dir, lock_name(pair), vm_id);
    if (!claimed) return claimed.error().wrap("MCS pair");
    if (!claimed->has_value()) return std::optional<McsReservation>();
    return std::optional<McsReservation>(McsReservation(pair, std::move(**claimed)));
  };

  uint64_t start = 0;
  if (config.order == McsOrder::kRandom) {
    for (int draw = 0; draw < kRandomDraws; ++draw) {
      auto index = random_below(total);
      if (!index) return index.error().wrap("MCS pair");
      auto got = try_pair(pair_at(config, *index));
      if (!got) return got.error();
      if (got->has_value()) return std::move(**got);
    }
    auto index = random_below(total);
    if (!index) return index.error().wrap("MCS pair");
    start = *index;
  }
  McsPair pair = pair_at(config, start);
  for (uint64_t n = 0; n < total; ++n, pair = next_pair(config, pair)) {
    auto got = try_pair(pair);
    if (!got) return got.error();
    if (got->has_value()) return std::move(**got);
  }
  return Error("MCS pair: no free category pair in c" + std::to_string(config.first_category) +
               "..c" + std::to_string(config.last_category) + ": all " + std::to_string(total) +
               " pairs are held by live VMs (reservations in " + config.run_dir.string() + ")");
}

}  // namespace bulwark::jailer
