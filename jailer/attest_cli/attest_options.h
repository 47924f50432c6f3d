// The `--flag VALUE` words of `bulwark attest <command>` (the operator's or the tenant's command
// line): each flag once unless repeatable, every flag known, every value present.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/common/result.h"

namespace bulwark::attest_cli {

struct AttestOptions {
  std::map<std::string, std::vector<std::string>> values;
  bool has(const std::string& flag) const { return values.contains(flag); }
  // The flag's (first) value, or `fallback`.
  std::string get(const std::string& flag, const std::string& fallback = "") const {
    auto it = values.find(flag);
    return it == values.end() ? fallback : it->second.front();
  }
};

Result<AttestOptions> parse_attest_options(const std::vector<std::string_view>& args,
                                           const std::set<std::string>& flags, const std::set<std::string>& repeatable,
                                           const std::set<std::string>& required);

}  // namespace bulwark::attest_cli
