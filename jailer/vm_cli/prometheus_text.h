// GET /metrics answers (Prometheus text exposition format 0.0.4) to a JSON object for
// `bulwark vm metrics --json`. The text is bulwark-api's (jailed, maybe compromised): every
// line is checked and a malformed one is an error naming its line, never a guess.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/common/result.h"

namespace bulwark::vm_cli {

// {"series": value, ...}: the key is the metric name with its labels as written
// (`bulwark_net_rx_bytes{iface="eth0"}`); the value a JSON integer when the sample is one, a
// number otherwise, and the string "NaN", "+Inf" or "-Inf" for those. Comment (# HELP, # TYPE)
// and blank lines are skipped; a timestamp after the value is dropped. A series given twice is
// an error.
Result<nlohmann::json> prometheus_text_to_json(std::string_view text);

}  // namespace bulwark::vm_cli
